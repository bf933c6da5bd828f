#!/usr/bin/env bash
# Back-ends that hang, crawl, drop every connection, never accept, flood
# and send an fd on a hung FUSE mount, all attached to one guest beside a
# healthy one: the guest keeps running, the vCPU that drives none of them
# is not held up, no fd leaks, and SIGTERM ends vmm within a second.
# The full measurement, one boot per mode: bench/chaos/chaos.sh.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

CHAOS=$VMM_BUILD_DIR/vhost/vhost-user-chaos
SECS=${VMM_CHAOS_SECS:-3}
modes=(slow stop-reading close-after-owner never-accept flood fuse-fd)
[ -x "$CHAOS" ] || fail "chaos back-end not built: $CHAOS"

chaos() {
	local name=$1 mode=$2
	shift 2
	spawn "$name" "$CHAOS" --socket "$SCEN_TMP/$name.sock" --mode "$mode" \
		--arm signal --status "$SCEN_TMP/$name.status" "$@"
	CHAOS_PIDS+=("$SPAWNED")
	wait_for "$SCEN_TMP/$name.sock" 10
}

CHAOS_PIDS=()
args=()
chaos good healthy
args+=(--vhost-user "socket=$SCEN_TMP/good.sock,virtio-id=63,name=good")
for m in "${modes[@]}"; do
	extra=()
	case $m in
	flood) extra=(--count 20000) ;;
	fuse-fd) extra=(--shm 0:2097152) ;;
	esac
	chaos "$m" "$m" "${extra[@]}"
	args+=(--vhost-user "socket=$SCEN_TMP/$m.sock,virtio-id=63,name=$m")
done

start_guest chaos "vmmtest=vu-chaos vmmtest.chaos.devs=${#modes[@]} vmmtest.chaos.secs=$SECS" \
	--cpus 2 --memory 128M "${args[@]}"
wait_out '^VMMTEST: armed\?' 150
vmm_pid=$(pgrep -P "$GUEST_PID" | head -n1)
[ -n "$vmm_pid" ] || fail "no vmm process under $GUEST_PID"
fds_before=$(ls /proc/"$vmm_pid"/fd | wc -l)
rss_before=$(awk '/^VmRSS/ { print $2 }' /proc/"$vmm_pid"/status)
echo "host> arming: kill -USR1 ${CHAOS_PIDS[*]:1}"
kill -USR1 "${CHAOS_PIDS[@]:1}"
to_guest go
wait_out '^VMMTEST: chaos done' $((${#modes[@]} * (SECS + 10) + 30))
# Let the workers finish what the last resets asked (a reconnect waits 5 s).
sleep 7
fds_after=$(ls /proc/"$vmm_pid"/fd | wc -l)
rss_after=$(awk '/^VmRSS/ { print $2 }' /proc/"$vmm_pid"/status)
n=$(tr -d '\r' < "$OUT.raw" | grep -c '^VMMTEST: alive' || true)
wait_out "^VMMTEST: alive $((n + 1)) " 30
echo "host> kill -TERM $vmm_pid"
t0=$(date +%s%N)
kill -TERM "$vmm_pid"
# timeout(1) exits with vmm: the shell's own wait, no polling.
rc=0
wait "$GUEST_PID" || rc=$?
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
exec 3>&-
tr -d '\r' < "$OUT.raw" > "$OUT"
echo "--- chaos: exit status $rc, $stop_ms ms after SIGTERM; stdout:"
sed 's/^/  | /' "$OUT"
echo "--- chaos: stderr (first 40 lines):"
head -n 40 "$ERR" | sed 's/^/  | /'
for m in good "${modes[@]}"; do echo "host> $m: $(cat "$SCEN_TMP/$m.status")"; done

[ "$rc" -eq 143 ] || fail "expected exit status 143 (SIGTERM), got $rc"
# Nothing in the stop path waits on a back-end: one such wait would take
# at least the 5 s reply timeout. The sub-second figure, against a
# healthy back-end in the same run, is bench/chaos/chaos.sh's.
[ "$stop_ms" -lt 5000 ] || fail "SIGTERM to exit took $stop_ms ms"
expect_out '^VMMTEST: healthy: hammer 0 ' "the healthy device was driven"
for i in $(seq ${#modes[@]}); do
	expect_out "^VMMTEST: chaos $i: hammer $i " "device $i (${modes[$((i - 1))]}) was driven"
done
expect_out '^VMMTEST: alive [0-9]+ ' "the guest kept running after the chaos"
grep -q 'result=refused' "$SCEN_TMP/fuse-fd.status" ||
	fail "the FUSE fd was not refused: $(cat "$SCEN_TMP/fuse-fd.status")"
[ "$fds_after" -le "$fds_before" ] ||
	fail "vmm had $fds_before fds before the chaos and $fds_after after"
healthy=$(sed -n 's/^VMMTEST: healthy: .*max_gap_us \([0-9]*\).*/\1/p' "$OUT")
worst=$(sed -n 's/^VMMTEST: chaos [0-9]*: .*max_gap_us \([0-9]*\).*/\1/p' "$OUT" | sort -n | tail -n1)
pass "guest alive after ${#modes[@]} chaos back-ends; SIGTERM to exit $stop_ms ms; fds $fds_before -> $fds_after; RSS $rss_before -> $rss_after KiB; longest vCPU 1 stall ${healthy} us healthy, ${worst} us under chaos"
