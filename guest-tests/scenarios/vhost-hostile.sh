#!/usr/bin/env bash
# Hostile back-end: every invalid SHMEM_MAP/UNMAP gets a failure reply
# while the VM keeps running and the valid mappings stay visible to the
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
replies=
for kind in unaligned overflow beyond unknown-shmid overlap no-fd two-fds \
	    bad-flags unmap-unknown; do
	ctl ex0 hostile "$kind" 0 || fail "hostile $kind: '$CTL_ANSWER'"
	case $CTL_ANSWER in
	"reply 0") fail "hostile $kind was accepted" ;;
	"reply "*) replies="$replies $kind=${CTL_ANSWER#reply }" ;;
	*) fail "hostile $kind: '$CTL_ANSWER'" ;;
	esac
done
ctl_ok ex0 status
case $CTL_ANSWER in
*" maps=2"*) ;;
*) fail "back-end should still be connected with its 2 mappings: $CTL_ANSWER" ;;
esac
wait_out '^VMMTEST: ready' 90
to_guest go
end_guest
expect_out '^VMMTEST: valid mappings verified$' "valid mappings still visible"
expect_out '^VMMTEST: scenario vu-hostile exit 0$' "every guest check passed"
expect_status 0 "guest powered off"
pass "9 invalid requests refused (replies:$replies), the guest still verified both valid mappings; 300 regions refused: $(cat "$SCEN_TMP/config300.err")"
