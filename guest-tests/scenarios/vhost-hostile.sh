#!/usr/bin/env bash
# Hostile back-end: every invalid SHMEM_MAP/UNMAP gets the failure reply of
# the one rule it breaks, and one line from vmm naming it, while the VM
# keeps running and the valid mappings stay visible to the
# guest; a GET_SHMEM_CONFIG reply with 300 regions is refused with one
# line and exit status 1.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend bad --shm 0:2M --bad-shmem-config
run_guest config300 "" --vhost-user "socket=$SCEN_TMP/bad.sock,virtio-id=63,name=bad"
expect_status 1 "a back-end that breaks the protocol is bad input"
expect_err '^vmm: vhost-user bad: GET_SHMEM_CONFIG refused \(nregions 300\)' "the 300-region reply named"
expect_err_lines 1
expect_no_out 'VMMTEST: init ok' "no guest started"

backend ex0 --shm 0:2M --shm 1:1M
start_guest hostile "vmmtest=vu-hostile" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x2000 11 ro
map_ok ex0 1 0x3000 0x1000 13 ro
# Each kind breaks one rule (docs/vhost-user.md): the reply must be that
# rule's errno, and vmm's one refusal line must give that rule's reason.
declare -A want=(
	[unaligned]="22|SHMEM_MAP .* refused: shm_offset 0x[0-9a-f]+ or len 0x1000 is not aligned to page size"
	[overflow]="75|SHMEM_MAP .* refused: shm_offset 0xfffffffffffff000 \+ len 0x2000 overflows"
	[beyond]="34|SHMEM_MAP .* refused: shm_offset 0x200000 \+ len 0x1000 is beyond the region size"
	[unknown-shmid]="2|SHMEM_MAP shmid 255 .* refused: no region with shmid 255"
	[overlap]="17|SHMEM_MAP .* refused: shm_offset 0x0 len 0x1000 overlaps the mapping at 0x0"
	[no-fd]="74|back-end SHMEM_MAP \(9\) malformed"
	[two-fds]="74|back-end SHMEM_MAP \(9\) malformed"
	[bad-flags]="22|SHMEM_MAP .* refused: unknown flag bits 0x80"
	[unmap-unknown]="2|SHMEM_UNMAP .* refused: shm_offset 0x[0-9a-f]+ len 0x1000 is not one live mapping"
)
kinds="unaligned overflow beyond unknown-shmid overlap no-fd two-fds bad-flags unmap-unknown"
replies=
for kind in $kinds; do
	ctl ex0 hostile "$kind" 0 || fail "hostile $kind: '$CTL_ANSWER'"
	errno=${want[$kind]%%|*}
	[ "$CTL_ANSWER" = "reply $errno" ] ||
		fail "hostile $kind answered '$CTL_ANSWER', want 'reply $errno'"
	replies="$replies $kind=$errno"
done
ctl_ok ex0 status
case $CTL_ANSWER in
*" maps=2"*) ;;
*) fail "back-end should still be connected with its 2 mappings: $CTL_ANSWER" ;;
esac
wait_out '^VMMTEST: ready' 90
to_guest go
end_guest
for kind in $kinds; do
	expect_err "^vmm: (vhost-user )?ex0: ${want[$kind]#*|}" "vmm's refusal line for hostile $kind"
done
n=$(count_err 'refused|malformed')
[ "$n" -eq 9 ] || fail "expected 9 refusal lines from vmm, got $n"
expect_out '^VMMTEST: valid mappings verified$' "valid mappings still visible"
expect_out '^VMMTEST: scenario vu-hostile exit 0$' "every guest check passed"
expect_status 0 "guest powered off"
pass "9 invalid requests refused, each by its rule (replies:$replies), the guest still verified both valid mappings; 300 regions refused: $(cat "$SCEN_TMP/config300.err")"
