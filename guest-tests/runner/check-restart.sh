#!/usr/bin/env bash
# Self-check of the runner's recovery: an outer VM that dies (QEMU was
# killed, or its kernel panicked) or wedges (its agent stopped) is
# replaced, so that one crash of the emulated machine fails at most the
# command it was running, never every test after it.
#
# Usage: check-restart.sh STATE
#
# STATE must be an outer VM (the guest.outer fixture); a borrowed one is
# restarted in the state it belongs to.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
in_kvm() { "$here/run-in-kvm.sh" "$state" --timeout 60 -- "$@"; }

[ "$(cat "$state/mode" 2>/dev/null)" = outer ] || fail "$state is not an outer VM"
real=$state
[ -f "$state/link" ] && real=$(cat "$state/link")
qemu_pid() { cat "$real/qemu.pid"; }

# 1. The VM is gone before a command: the command gets a new one.
old=$(qemu_pid)
kill -9 "$old"
while kill -0 "$old" 2>/dev/null; do sleep 0.1; done
rc=0
in_kvm printf "after-kill\n" > "$tmp/out" 2> "$tmp/err" || rc=$?
echo "after a killed outer VM: status $rc, stdout '$(cat "$tmp/out")'"
[ "$rc" -eq 0 ] || fail "status $rc after the outer VM was killed: $(tail -n 5 "$tmp/err")"
[ "$(cat "$tmp/out")" = after-kill ] || fail "stdout not relayed after the restart"
grep -q 'is not running.*restarting the outer VM' "$tmp/err" ||
	fail "no restart message: $(tail -n 5 "$tmp/err")"
[ "$(qemu_pid)" != "$old" ] || fail "the outer VM was not replaced"

# 2. The outer kernel panics while a command runs: QEMU exits by itself
# and removes its pid file.  That command fails, saying so, and the next
# one gets a new VM.
old=$(qemu_pid)
rc=0
VMM_TEST_LOST_DIR=$tmp/lost "$here/run-in-kvm.sh" "$state" --timeout 60 \
	--name check.panic -- sh -c 'echo c > /proc/sysrq-trigger; sleep 30' \
	> /dev/null 2> "$tmp/err" || rc=$?
echo "panicked outer VM: status $rc"
[ "$rc" -eq 75 ] || fail "a command that panicked the outer VM gave status $rc, not 75"
grep -q 'stopped while running' "$tmp/err" || fail "no message about the stopped VM: $(tail -n 5 "$tmp/err")"
grep -qs 'stopped while running' "$tmp/lost/check.panic" ||
	fail "no record of the lost outer VM for the retry ($tmp/lost/check.panic)"
rc=0
in_kvm printf "after-panic\n" > "$tmp/out" 2> "$tmp/err" || rc=$?
echo "after a panicked outer VM: status $rc, stdout '$(cat "$tmp/out")'"
[ "$rc" -eq 0 ] || fail "status $rc after the outer VM panicked: $(tail -n 5 "$tmp/err")"
[ "$(cat "$tmp/out")" = after-panic ] || fail "stdout not relayed after the panic"
[ "$(qemu_pid)" != "$old" ] || fail "the panicked outer VM was not replaced"

# 3. The VM wedges while a command runs: that command fails soon, with a
# message, and the next one runs in a new VM.
old=$(qemu_pid)
VMM_TEST_LOST_DIR=$tmp/lost VMM_TEST_OUTER_STALL_TIMEOUT=10 \
	"$here/run-in-kvm.sh" "$state" --timeout 120 --name check.wedge -- \
	sleep 100 > /dev/null 2> "$tmp/err" &
runner=$!
for _ in $(seq 300); do
	compgen -G "$real/chan/req/*.run" > /dev/null && break
	sleep 0.1
done
compgen -G "$real/chan/req/*.run" > /dev/null || fail "the agent did not take the command"
start=$(date +%s)
kill -STOP "$old"
wait "$runner"
rc=$?
took=$(( $(date +%s) - start ))
echo "wedged outer VM: status $rc after $took s"
[ "$rc" -eq 75 ] || fail "a command in a wedged outer VM gave status $rc, not 75"
grep -q 'wedged while running' "$tmp/err" || fail "no wedge message: $(tail -n 5 "$tmp/err")"
grep -qs 'wedged while running' "$tmp/lost/check.wedge" ||
	fail "no record of the wedged outer VM for the retry"
[ "$(qemu_pid)" != "$old" ] || fail "the wedged outer VM was not replaced"
kill -0 "$old" 2>/dev/null && fail "the wedged QEMU $old still runs"
in_kvm echo after-wedge > "$tmp/out" 2> "$tmp/err" || fail "no command ran after the wedge: $(tail -n 5 "$tmp/err")"
[ "$(cat "$tmp/out")" = after-wedge ] || fail "stdout not relayed after the wedge"
# 4. The outer kernel reports a CPU stuck once (the host may have starved
# the emulator for a while): the command runs on, with its own status,
# in the same VM. The report is written into the kernel log from inside.
old=$(qemu_pid)
rc=0
VMM_TEST_LOST_DIR=$tmp/lost "$here/run-in-kvm.sh" "$state" --timeout 60 \
	--name check.stuck1 -- sh -c '
		echo "<0>watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [check-restart]" > /dev/kmsg
		sleep 12; exit 3' > /dev/null 2> "$tmp/err" || rc=$?
echo "outer kernel reporting a stuck CPU once: status $rc"
[ "$rc" -eq 3 ] || fail "one stuck-CPU report made the command's status $rc, not its own 3: $(tail -n 5 "$tmp/err")"
[ ! -e "$tmp/lost/check.stuck1" ] || fail "one stuck-CPU report was recorded as a lost VM"
[ "$(qemu_pid)" = "$old" ] || fail "one stuck-CPU report replaced the outer VM"

# 5. The outer kernel reports a CPU stuck again and again while the agent
# still beats (as when one CPU waits forever for an IPI the other never
# takes): the command fails as lost and the next one runs in a new VM
# (whose console no longer holds the reports above).
rc=0
VMM_TEST_LOST_DIR=$tmp/lost "$here/run-in-kvm.sh" "$state" --timeout 120 \
	--name check.stuck -- sh -c 'for i in 1 2; do
		echo "<0>watchdog: BUG: soft lockup - CPU#1 stuck for 99s! [check-restart]" > /dev/kmsg
	done; sleep 100' > /dev/null 2> "$tmp/err" || rc=$?
echo "outer kernel reporting a stuck CPU: status $rc"
[ "$rc" -eq 75 ] || fail "a command whose outer kernel reported a stuck CPU gave status $rc, not 75"
grep -qs 'reports a CPU stuck' "$tmp/lost/check.stuck" ||
	fail "no record of the stuck outer VM: $(tail -n 5 "$tmp/err")"
[ "$(qemu_pid)" != "$old" ] || fail "the stuck outer VM was not replaced"
in_kvm echo after-stuck > "$tmp/out" 2> "$tmp/err" || fail "no command ran after the stuck VM: $(tail -n 5 "$tmp/err")"
[ "$(cat "$tmp/out")" = after-stuck ] || fail "stdout not relayed after the stuck VM"

# 6. A command that fails by itself leaves no record: it is never retried.
rc=0
VMM_TEST_LOST_DIR=$tmp/lost "$here/run-in-kvm.sh" "$state" --timeout 60 \
	--name check.false -- sh -c 'exit 4' > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 4 ] || fail "a failing command's status 4 came back as $rc"
[ ! -e "$tmp/lost/check.false" ] || fail "a command's own failure was recorded as a lost VM"
echo "PASS: a killed and a panicked outer VM were replaced before the next command; a wedged one failed its command after $took s and was replaced; one whose kernel reported a CPU stuck once ran on, one whose kernel reported it twice was replaced; lost commands exit 75 with a record for the retry, a failing one does not"
