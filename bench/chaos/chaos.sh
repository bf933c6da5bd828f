#!/usr/bin/env bash
# The chaos measurement: one guest per mode of vhost-user-chaos, each with a
# healthy back-end beside the misbehaving one. vCPU 0 drives one device at
# a time (reset, negotiation, a queue, DRIVER_OK, config reads, over and
# over); vCPU 1 only measures how long it is kept from running. After the
# first healthy phase the host arms the bad back-end; then ROUNDS rounds of
# a healthy phase and a chaos phase, SECS each. Then SIGTERM, timed to
# vmm's exit. Prints one Markdown table (docs/testing.md).
#
# Usage, where KVM works (the guest-tests runner gives it):
#   guest-tests/runner/with-kvm.sh BUILD -- bash bench/chaos/chaos.sh [MODE...]
# MODE: healthy never-accept stop-reading slow close-after-owner fuse-fd
# flood (default: all). VMM_CHAOS_SECS (8), VMM_CHAOS_ROUNDS (2),
# VMM_CHAOS_MEMORY (128M). Needs root for fuse-fd (a FUSE mount).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export VMM=${VMM:-$VMM_BUILD_DIR/vmm/vmm}
. "$here/../../guest-tests/lib/scenario.sh"
. "$here/../../guest-tests/lib/vhost.sh"

CHAOS=$VMM_BUILD_DIR/vhost/vhost-user-chaos
SECS=${VMM_CHAOS_SECS:-8}
ROUNDS=${VMM_CHAOS_ROUNDS:-2}
MEMORY=${VMM_CHAOS_MEMORY:-128M}
GUEST_TIMEOUT=$((ROUNDS * 2 * (SECS + 10) + 300))
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(healthy never-accept stop-reading slow close-after-owner fuse-fd flood)
[ -x "$CHAOS" ] || fail "chaos back-end not built: $CHAOS"

max_of() { sort -n | tail -n1; }
ms() { awk '{ printf "%.0f", $1 / 1000 }'; }

rows=()
for mode in "${modes[@]}"; do
	extra=()
	case $mode in
	flood) extra=(--count 1000000) ;;
	fuse-fd) extra=(--shm 0:2097152) ;;
	esac
	spawn good "$CHAOS" --socket "$SCEN_TMP/good.sock" --mode healthy \
		--arm signal --status "$SCEN_TMP/good.status"
	good=$SPAWNED
	spawn bad "$CHAOS" --socket "$SCEN_TMP/bad.sock" --mode "$mode" \
		--arm signal --status "$SCEN_TMP/bad.status" "${extra[@]}"
	bad=$SPAWNED
	wait_for "$SCEN_TMP/good.sock" 10
	wait_for "$SCEN_TMP/bad.sock" 10
	start_guest "$mode" "vmmtest=vu-chaos vmmtest.chaos.devs=1 vmmtest.chaos.secs=$SECS vmmtest.chaos.rounds=$ROUNDS" \
		--cpus 2 --memory "$MEMORY" \
		--vhost-user "socket=$SCEN_TMP/good.sock,virtio-id=63,name=good" \
		--vhost-user "socket=$SCEN_TMP/bad.sock,virtio-id=63,name=bad"
	wait_out '^VMMTEST: armed\?' 180
	vmm_pid=$(pgrep -P "$GUEST_PID" | head -n1)
	fds0=$(ls /proc/"$vmm_pid"/fd | wc -l)
	rss0=$(awk '/^VmRSS/ { print $2 }' /proc/"$vmm_pid"/status)
	kill -USR1 "$bad"
	to_guest go
	wait_out '^VMMTEST: chaos done' $((ROUNDS * 2 * (SECS + 20) + 60))
	sleep 7		# what the last resets asked of the worker ends
	fds1=$(ls /proc/"$vmm_pid"/fd | wc -l)
	rss1=$(awk '/^VmRSS/ { print $2 }' /proc/"$vmm_pid"/status)
	# Alive: it prints another heartbeat line within 30 s.
	n=$(tr -d '\r' < "$OUT.raw" | grep -c '^VMMTEST: alive' || true)
	alive=no
	for _ in $(seq 150); do
		tr -d '\r' < "$OUT.raw" | grep -q "^VMMTEST: alive $((n + 1)) " &&
			{ alive=yes; break; }
		sleep 0.2
	done
	t0=$(date +%s%N)
	kill -TERM "$vmm_pid"
	rc=0
	wait "$GUEST_PID" || rc=$?
	stop=$(( ($(date +%s%N) - t0) / 1000000 ))
	exec 3>&-
	tr -d '\r' < "$OUT.raw" > "$OUT"
	echo "--- $mode: exit status $rc, $stop ms after SIGTERM; back-end: $(cat "$SCEN_TMP/bad.status")" >&2
	grep '^VMMTEST: \(healthy\|chaos\)' "$OUT" >&2
	h=$(sed -n 's/^VMMTEST: healthy: .*max_gap_us \([0-9]*\).*/\1/p' "$OUT" | max_of | ms)
	c=$(sed -n 's/^VMMTEST: chaos 1: .*max_gap_us \([0-9]*\).*/\1/p' "$OUT" | max_of | ms)
	a=$(sed -n 's/^VMMTEST: chaos 1: .*max_access_us \([0-9]*\).*/\1/p' "$OUT" | max_of | ms)
	[ "$rc" -eq 143 ] || alive="no (exit $rc)"
	rows+=("| $mode | $h | $c | $a | $stop | $alive | $fds0 → $fds1 | $rss0 → $rss1 |")
	kill -TERM "$good" "$bad" 2>/dev/null || true
	wait "$good" "$bad" 2>/dev/null || true
	rm -f "$SCEN_TMP"/*.sock "$SCEN_TMP"/*.status "$SCEN_TMP"/*.in
done

echo "chaos: $ROUNDS rounds of $SECS s per phase, guest $MEMORY, 2 vCPUs; vCPU 1 never touches a device"
echo "| mode | vCPU 1 longest stall, healthy phases (ms) | vCPU 1 longest stall, chaos phases (ms) | vCPU 0 longest register access, chaos phases (ms) | SIGTERM to exit (ms) | guest alive | vmm fds before → after | vmm RSS KiB before → after |"
echo "|---|---:|---:|---:|---:|---|---|---|"
printf '%s\n' "${rows[@]}"
