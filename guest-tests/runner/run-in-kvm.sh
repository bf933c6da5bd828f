#!/usr/bin/env bash
# Run a command where /dev/kvm works: here, or inside the outer VM.
#
# Usage: run-in-kvm.sh STATE [--timeout SECONDS] [--name TEST] -- COMMAND [ARGS...]
#
# STATE is a directory that `kvm-env.sh up` prepared.  In direct mode the
# command runs here; in outer mode it runs inside the outer VM, in the same
# working directory (the host's root is mounted there at the same paths),
# with PATH, VMM and every VMM_* variable of this environment.  Its stdout,
# stderr and exit status come back as this script's own.  The command is
# killed (with its process group) after SECONDS (default 600).
#
# When the outer VM stops (its kernel panicked) or wedges (its agent stops
# beating, or its kernel reports a CPU stuck twice) while the command
# runs, the command's outcome is lost: this script then exits with
# status 75 and, when --name and the environment variable
# VMM_TEST_LOST_DIR are set, writes the file $VMM_TEST_LOST_DIR/TEST
# saying what happened.  That file is the only thing scripts/test.sh
# retries a test for.
set -euo pipefail

die() { echo "run-in-kvm: $*" >&2; exit 1; }

# lost WHY: the outer VM broke under the command; record it for the retry.
test_name=
lost() {
	echo "run-in-kvm: OUTER VM LOST: $*" >&2
	if [ -n "$test_name" ] && [ -n "${VMM_TEST_LOST_DIR:-}" ]; then
		mkdir -p "$VMM_TEST_LOST_DIR"
		printf '%s\n' "$*" > "$VMM_TEST_LOST_DIR/$test_name"
	fi
	exit 75
}

[ $# -ge 1 ] || die "usage: run-in-kvm.sh STATE [--timeout S] -- COMMAND..."
state=$1; shift
limit=600
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) limit=$2; shift 2 ;;
	--name) test_name=$2; shift 2 ;;
	--) shift; break ;;
	*) die "unknown option $1" ;;
	esac
done
[ $# -ge 1 ] || die "no command"

mode=$(cat "$state/mode" 2>/dev/null) ||
	die "no KVM environment in $state (the guest.kvm.up fixture, kvm-env.sh up, did not run or failed)"

report_timeout() {
	echo "run-in-kvm: '$*' did not finish within $limit s; killed" >&2
}

if [ "$mode" = direct ]; then
	rc=0
	timeout -k 10 "$limit" "$@" || rc=$?
	[ "$rc" -ne 124 ] || report_timeout "$@"
	exit "$rc"
fi

[ -f "$state/link" ] && state=$(cat "$state/link")
# As kvm-env.sh spelled it on QEMU's command line, where `pid` looks for it.
state=$(cd "$state" && pwd)
req=$state/chan/req
here=$(cd "$(dirname "$0")" && pwd)
# Seconds without a heartbeat from the agent (chan/alive, rewritten every
# second) after which the outer VM counts as wedged.
stall=${VMM_TEST_OUTER_STALL_TIMEOUT:-90}

# running: the outer VM's QEMU pid, if it still runs.
running() { "$here/kvm-env.sh" pid "$state"; }

# recorded_pid: the QEMU pid in STATE, or nothing: QEMU removes its pid
# file when it exits by itself (a panicked kernel with panic=-1 and
# -no-reboot), and leaves it behind when killed.
recorded_pid() { cat "$state/qemu.pid" 2>/dev/null || true; }

# restart_outer OLD_PID WHY: boot a new outer VM in place of a dead or
# wedged one, unless a concurrent run already did (the recorded pid
# changed from OLD_PID, which recorded_pid gave).
restart_outer() {
	local old=$1 why=$2
	echo "run-in-kvm: $why; restarting the outer VM" >&2
	(
		flock 9
		if [ "$(recorded_pid)" != "$old" ] && running > /dev/null; then
			exit 0
		fi
		# 9>&-: the new QEMU daemonizes and would hold the lock forever.
		"$here/kvm-env.sh" restart "$state" >&2 9>&-
	) 9> "$state/restart.lock" || die "could not restart the outer VM"
	pid=$(running) || die "the restarted outer VM of $state is not running"
}

# silent: how long the agent has not written its heartbeat, in seconds.
silent() {
	local m
	m=$(stat -c %Y "$state/chan/alive" 2>/dev/null) || { echo 0; return; }
	echo $(( $(date +%s) - m ))
}

# submit: drop the request for the agent; sets id, and console0 (the size
# of the outer VM's console log, whose later lines outer_kernel_stuck reads).
submit() {
	id=$(date +%s%N)-$$
	console0=$(stat -c %s "$state/console.log" 2>/dev/null || echo 0)
	{
		echo "# timeout $limit"
		printf 'cd %q || exit 125\n' "$PWD"
		printf 'export PATH=%q\n' "$PATH"
		while IFS='=' read -r name _; do
			printf 'export %s=%q\n' "$name" "${!name}"
		done < <(env | grep -E '^VMM(_[A-Za-z0-9_]*)?=' || true)
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} > "$req/$id.tmp"
	mv "$req/$id.tmp" "$req/$id.cmd"
}

# claimed: wait until the agent has taken the request (renamed it), at
# most VMM_TEST_CLAIM_TIMEOUT seconds.  An agent that does not even take a
# request has stopped answering (the outer VM wedged), and every later
# test would wait out its whole timeout.
claimed() {
	local deadline=$(( $(date +%s) + ${VMM_TEST_CLAIM_TIMEOUT:-120} ))
	while [ -f "$req/$id.cmd" ]; do
		kill -0 "$pid" 2>/dev/null || return 0
		if [ "$(date +%s)" -ge "$deadline" ]; then
			rm -f "$req/$id.cmd"
			[ ! -f "$req/$id.run" ] || return 0
			return 1
		fi
		sleep 0.1
	done
}

# A test after one that brought the outer VM down (its kernel panicked,
# say) gets a new one rather than failing at once.
pid=$(running) ||
	restart_outer "$(recorded_pid)" \
		"the outer VM of $state is not running (it stopped during an earlier command)"
submit "$@"
if ! claimed; then
	restart_outer "$pid" "the outer VM's agent did not take '$*' within ${VMM_TEST_CLAIM_TIMEOUT:-120} s"
	submit "$@"
	claimed || die "the restarted outer VM's agent did not take '$*' either"
fi

# outer_kernel_stuck: how many times, since this command was sent, the outer
# kernel reported one of its CPUs stuck (soft lockup) or an RCU stall. Seen
# once, it may be the host starving the emulator; reported again (the
# watchdog repeats every 20-60 s while it lasts), the outer VM is broken
# even if its agent still beats: in a boot soak, CPU 1 was reported stuck
# in a bash for 56, 112, 138 and 171 s and CPU 0 stalling RCU, while the
# heartbeat went on and the command never ended (docs/testing.md).
outer_kernel_stuck() {
	tail -c +"$((console0 + 1))" "$state/console.log" 2>/dev/null |
		grep -cE 'soft lockup - CPU|detected stalls on CPUs' || true
}

# While it runs: the VM may stop (its kernel panicked) or wedge (the agent
# stops beating, or the outer kernel says it is stuck).  Either way this
# command's outcome is lost and it fails; a wedged VM is replaced now, so
# that the next command does not wait.
deadline=$(( $(date +%s) + limit + 30 ))
next_check=0
while [ ! -f "$req/$id.rc" ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		tail -n 30 "$state/console.log" 2>/dev/null | tr -d '\r' >&2
		lost "the outer VM stopped while running '$*'"
	fi
	now=$(date +%s)
	if [ "$now" -ge "$next_check" ]; then
		next_check=$((now + 5))
		quiet=$(silent)
		if [ "$quiet" -ge "$stall" ]; then
			rm -f "$req/$id.cmd"
			tail -n 30 "$state/console.log" 2>/dev/null | tr -d '\r' >&2
			restart_outer "$pid" "the outer VM's agent has not been heard from for $quiet s while running '$*'"
			lost "the outer VM wedged while running '$*'"
		fi
		if [ "$(outer_kernel_stuck)" -ge 2 ]; then
			rm -f "$req/$id.cmd"
			tail -c +"$((console0 + 1))" "$state/console.log" | tr -d '\r' |
				grep -E 'soft lockup|stall' | tail -n 5 >&2
			restart_outer "$pid" "the outer VM's kernel reports a CPU stuck while running '$*'"
			lost "the outer VM wedged (its kernel reports a CPU stuck) while running '$*'"
		fi
	fi
	if [ "$now" -ge "$deadline" ]; then
		rm -f "$req/$id.cmd"
		die "no answer from the outer VM's agent for '$*' within $((limit + 30)) s"
	fi
	sleep 0.1
done
rc=$(cat "$req/$id.rc")
cat "$req/$id.out"
cat "$req/$id.err" >&2
rm -f "$req/$id".*
[ "$rc" -ne 124 ] || report_timeout "$@"
exit "$rc"
