# shellcheck shell=bash
# Helpers for host-side scenario scripts (bash).  A scenario script runs
# where /dev/kvm works (run-in-kvm.sh puts it there), boots guests with
# vmm, and fails (non-zero exit, a "FAIL:" line) unless what the guest
# printed and how vmm exited are what a user expects.
#
# Environment (set by the CMake registration, guest_scenario()):
#   VMM              the vmm executable
#   VMM_EMBED        the vmm-embed-example executable (may be empty)
#   VMM_GUEST_IMAGES directory made by images/build-images.sh
#   VMM_BUILD_DIR    the build tree (to find helper programs)
#   VMM_SOURCE_DIR   the source tree
#   VMM_GUEST_TIMEOUT seconds one guest may run (default 120)
#   VMM_GUEST_KERNEL the kernel file in VMM_GUEST_IMAGES: bzImage (the
#                    default, the 64-bit boot protocol) or vmlinux (PVH)
set -euo pipefail

: "${VMM:?VMM is not set}"
: "${VMM_GUEST_IMAGES:?VMM_GUEST_IMAGES is not set}"
KERNEL=$VMM_GUEST_IMAGES/${VMM_GUEST_KERNEL:-bzImage}
INITRD=$VMM_GUEST_IMAGES/initramfs.cpio.gz
# quiet: only the test's own lines and errors; panic=-1: a guest kernel
# panic reboots at once instead of hanging until the timeout.
BASE_CMDLINE="console=ttyS0 quiet panic=-1"
GUEST_TIMEOUT=${VMM_GUEST_TIMEOUT:-120}

SCEN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-scenario.XXXXXX")
SCEN_PIDS=()

scen_cleanup() {
	local pid
	for pid in "${SCEN_PIDS[@]}"; do
		kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$SCEN_TMP"
}
trap scen_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "PASS: $*"
}

need_file() {
	[ -f "$1" ] || fail "$2 not found: $1"
}

need_vmm() {
	[ -x "$VMM" ] || fail "vmm is not built: $VMM"
	need_file "$KERNEL" "guest kernel"
	need_file "$INITRD" "guest initramfs"
}

# run_cmd LABEL COMMAND...: run with the guest timeout; stdout (carriage
# returns removed) in $OUT, stderr in $ERR, exit status in $STATUS, wall
# time in $SECONDS_TAKEN.  Prints all of it for the test log.
run_cmd() {
	local label=$1 t0 t1
	shift
	OUT=$SCEN_TMP/$label.out
	ERR=$SCEN_TMP/$label.err
	echo "+ $*"
	t0=$(date +%s.%N)
	STATUS=0
	timeout -k 5 "$GUEST_TIMEOUT" "$@" > "$OUT.raw" 2> "$ERR" < /dev/null || STATUS=$?
	t1=$(date +%s.%N)
	tr -d '\r' < "$OUT.raw" > "$OUT"
	SECONDS_TAKEN=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "--- $label: exit status $STATUS after $SECONDS_TAKEN s; stdout:"
	sed 's/^/  | /' "$OUT"
	echo "--- $label: stderr:"
	sed 's/^/  | /' "$ERR"
	[ "$STATUS" -ne 124 ] || fail "$label: did not finish within $GUEST_TIMEOUT s"
	return 0
}

# run_guest LABEL EXTRA_CMDLINE [vmm options...]: boot the test guest.
run_guest() {
	local label=$1 extra=$2
	shift 2
	need_vmm
	run_cmd "$label" "$VMM" run --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline "$BASE_CMDLINE $extra" "$@"
}

expect_status() {
	[ "$STATUS" -eq "$1" ] || fail "expected exit status $1 ($2), got $STATUS"
}

# expect_out REGEX WHAT: a stdout line matches the extended regex.
expect_out() {
	grep -qE -- "$1" "$OUT" || fail "guest output has no line matching '$1' ($2)"
}

expect_no_out() {
	! grep -qE -- "$1" "$OUT" || fail "guest output has a line matching '$1' ($2)"
}

expect_err() {
	grep -qE -- "$1" "$ERR" || fail "stderr has no line matching '$1' ($2)"
}

# count_err REGEX: number of stderr lines matching.
count_err() {
	grep -cE -- "$1" "$ERR" || true
}

expect_err_lines() {
	local n
	n=$(wc -l < "$ERR")
	[ "$n" -eq "$1" ] || fail "expected $1 line(s) on stderr, got $n"
}

# The rest of a "VMMTEST: KEY rest" line the guest printed.
guest_value() {
	sed -n "s/^VMMTEST: $1 //p" "$OUT" | head -n1
}

# spawn NAME COMMAND...: start a host-side helper (a vhost-user back-end,
# virtiofsd, ...) in its own process group, output in $SCEN_TMP/NAME.log;
# it is killed when the scenario ends.  Its PID is in $SPAWNED.
spawn() {
	local name=$1
	shift
	setsid "$@" > "$SCEN_TMP/$name.log" 2>&1 < /dev/null &
	SPAWNED=$!
	SCEN_PIDS+=("$SPAWNED")
}

# wait_for PATH SECONDS: wait until PATH exists (e.g. a helper's socket).
wait_for() {
	for _ in $(seq $(($2 * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear within $2 s"
}
