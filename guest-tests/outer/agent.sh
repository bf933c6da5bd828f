#!/bin/bash
# Command agent inside the outer VM (runs in the chroot of the host's root).
#
# Usage: agent.sh CHANDIR KVM_PROBE
#
# It runs with the host's bash, whose builtins keep the polling loop from
# forking (every exec is slow under the emulator).
#
# The host side (run-in-kvm.sh) drops CHANDIR/req/ID.cmd, a shell script
# whose first line is "# timeout SECONDS".  The agent claims it (renames it
# to ID.run), runs it in the background with that timeout, and leaves
# ID.out (stdout), ID.err (stderr) and finally ID.rc (exit status); the
# script runs with bash (the host's).
# CHANDIR/ready holds the agent's KVM probe result once it is serving;
# CHANDIR/failed replaces it when the outer VM has no usable /dev/kvm.
# CHANDIR/alive is rewritten every second while the agent's loop runs: the
# host side reads its age to tell a busy outer VM from a wedged one.
set -u
chan=$1
req=$chan/req
probe=$2

run_request() {
	local id=$1 rc
	local first t=600
	read -r first < "$req/$id.run" || true
	[[ $first =~ ^#\ timeout\ ([0-9]+)$ ]] && t=${BASH_REMATCH[1]}
	timeout -k 10 "$t" /bin/bash "$req/$id.run" >"$req/$id.out" 2>"$req/$id.err" </dev/null
	rc=$?
	echo "$id $rc" >>"$chan/served"
	echo $rc >"$req/$id.rc.tmp"
	mv "$req/$id.rc.tmp" "$req/$id.rc"
}

if out=$("$probe" 2>&1); then
	echo "$out" >"$chan/ready.tmp"
	mv "$chan/ready.tmp" "$chan/ready"
else
	echo "$out" >"$chan/failed"
	echo "VMMOUTER: no usable /dev/kvm: $out"
	exit 1
fi
# An idle VM held open for the agent's lifetime, so that the tests' VMs do
# not make the kernel patch its own text (tools/kvm-hold.c says why).
hold=${probe%/*}/kvm-hold
hold_pid=
if [ -x "$hold" ]; then
	"$hold" &
	hold_pid=$!
else
	echo "VMMOUTER: $hold not built; the tests' VMs will patch kernel text"
fi
echo "VMMOUTER: agent ready"

# A FIFO nobody writes to: `read -t` on it is a sleep without a fork.
nap=$(mktemp -u /tmp/agent-nap.XXXXXX)
mkfifo "$nap"
exec 3<>"$nap"
rm -f "$nap"
shopt -s nullglob
beat=-1
while :; do
	if [ "$SECONDS" != "$beat" ]; then
		beat=$SECONDS
		echo "$beat" >"$chan/alive"
	fi
	for f in "$req"/*.cmd; do
		id=${f##*/}
		id=${id%.cmd}
		mv "$f" "$req/$id.run" 2>/dev/null || continue
		run_request "$id" &
	done
	[ -e "$chan/shutdown" ] && break
	read -r -t 0.1 -u 3 _ || true
done
echo "VMMOUTER: agent shutting down"
# The holder never exits by itself; the wait is for running requests.
[ -z "$hold_pid" ] || kill "$hold_pid" 2>/dev/null
wait
exit 0
