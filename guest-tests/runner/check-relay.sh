#!/usr/bin/env bash
# Self-check of the runner: a command run through run-in-kvm.sh must hand
# back its own stdout, stderr and exit status, or every scenario's verdict
# would be meaningless.  Also checks that the command sees the same
# working directory and a working /dev/kvm.
# Usage: check-relay.sh STATE PROBE
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$1 probe=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$here/run-in-kvm.sh" "$state" --timeout 60 -- \
	bash -c 'echo "out $PWD"; echo "err $VMM_RELAY_CHECK" >&2; exit 7' \
	> "$tmp/out" 2> "$tmp/err"
rc=$?
echo "status $rc; stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"
[ "$rc" -eq 7 ] || fail "exit status $rc, expected 7"
[ "$(cat "$tmp/out")" = "out $PWD" ] || fail "stdout or working directory not relayed"
[ "$(cat "$tmp/err")" = "err ${VMM_RELAY_CHECK:-}" ] || fail "stderr or VMM_* environment not relayed"

"$here/run-in-kvm.sh" "$state" --timeout 60 -- "$probe" || fail "no usable /dev/kvm where scenarios run"

"$here/run-in-kvm.sh" "$state" --timeout 3 -- sleep 30 > /dev/null 2> "$tmp/err"
rc=$?
[ "$rc" -eq 124 ] || fail "a command over its timeout gave status $rc, expected 124"
grep -q 'did not finish within 3 s' "$tmp/err" || fail "no timeout message: $(cat "$tmp/err")"
echo "PASS: status, stdout, stderr, environment and timeouts are relayed"
