#!/usr/bin/env bash
# Data path end to end: the example back-end maps memfds holding known
# patterns into two shared memory regions; the guest finds the regions
# through the SHM registers and verifies the patterns through /dev/mem,
# fills a read-write mapping that the back-end then checks in its memfd;
# the back-end replaces one mapping with another file and the guest sees
# the new contents.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

backend ex0 --shm 0:2M --shm 1:1M
start_guest data "vmmtest=vu-data" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x2000 11 ro
map_ok ex0 0 0x10000 0x1000 12 rw
map_ok ex0 1 0x3000 0x1000 13 ro
map_ok ex0 1 0x8000 0x1000 0 rw
wait_out '^VMMTEST: ready' 90
to_guest go
wait_out '^VMMTEST: verified 3 mappings, filled' 60
ctl_ok ex0 check 1 0x8000 0 0x1000 21
ctl_ok ex0 unmap 0 0x10000 0x1000
ctl_ok ex0 map 0 0x10000 0x1000 14 ro
to_guest go
end_guest
expect_out '^VMMTEST: scenario vu-data exit 0$' "every guest check passed"
expect_out '^VMMTEST: replaced mapping verified$' "guest sees the new file"
expect_status 0 "guest powered off"
pass "guest verified 3 patterns in 2 regions, its writes reached the back-end's memfd, and it saw the replacement mapping"
