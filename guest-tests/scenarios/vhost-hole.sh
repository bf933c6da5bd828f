#!/usr/bin/env bash
# Hole access: a guest read of a shared-memory page that the back-end maps
# a second later waits for it and goes on (a remap or a file being fixed
# up looks like that); a read of a page no back-end ever maps stops vmm
# within seconds with exit status 5 and one diagnostic line naming the
# vCPU, its RIP and every region with its mapping count.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend ex0 --shm 0:2M
start_guest hole "vmmtest=vu-hole" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x1000 11 ro
wait_out '^VMMTEST: ready' 90
to_guest go
wait_out '^VMMTEST: touching a page mapped late' 30
sleep 1
map_ok ex0 0 0x20000 0x1000 12 ro
wait_out '^VMMTEST: read the page mapped late' 30
t0=$(date +%s.%N)
end_guest
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "vmm stopped $took s after the guest read the page mapped late"
expect_status 5 "guest accessed unmapped shared memory"
expect_no_out 'still running after the hole' "the guest did not go on"
expect_no_out 'failed:' "the mapped pages verified before the hole"
expect_out '^VMMTEST: read the page mapped late$' "the guest waited for a page mapped late"
re='^vmm: guest shared memory fault: vCPU [0-9]+ rip 0x[0-9a-f]+: access to unmapped shared memory.*; regions: ex0 shm0 0x[0-9a-f]+\+0x200000 2 mappings$'
[ "$(count_err "$re")" -eq 1 ] || fail "no single diagnostic line matching '$re'"
expect_err_lines 1
awk -v t="$took" 'BEGIN { exit !(t < 20) }' || fail "vmm took $took s to stop"
pass "a page mapped late was waited for; the hole stopped vmm (5) in $took s: $(cat "$ERR")"
