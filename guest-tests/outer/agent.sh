#!/bin/sh
# Command agent inside the outer VM (runs in the chroot of the host's root).
#
# Usage: agent.sh CHANDIR KVM_PROBE
#
# The host side (run-in-kvm.sh) drops CHANDIR/req/ID.cmd, a shell script
# whose first line is "# timeout SECONDS".  The agent claims it (renames it
# to ID.run), runs it in the background with that timeout, and leaves
# ID.out (stdout), ID.err (stderr) and finally ID.rc (exit status); the
# script runs with bash (the host's).
# CHANDIR/ready holds the agent's KVM probe result once it is serving;
# CHANDIR/failed replaces it when the outer VM has no usable /dev/kvm.
set -u
chan=$1
req=$chan/req
probe=$2

run_request() {
	id=$1
	t=$(sed -n '1s/^# timeout \([0-9][0-9]*\)$/\1/p' "$req/$id.run")
	[ -n "$t" ] || t=600
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
echo "VMMOUTER: agent ready"

while :; do
	for f in "$req"/*.cmd; do
		[ -e "$f" ] || continue
		id=$(basename "$f" .cmd)
		mv "$f" "$req/$id.run" 2>/dev/null || continue
		run_request "$id" &
	done
	[ -e "$chan/shutdown" ] && break
	sleep 0.1
done
echo "VMMOUTER: agent shutting down"
wait
exit 0
