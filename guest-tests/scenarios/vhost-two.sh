#!/usr/bin/env bash
# Two vCPUs and two vhost-user devices at once: virtiofsd and the example
# back-end.  The guest verifies and fills shared memory from CPU 1 (checked
# here in the back-end's memfd), then loads virtio_mmio and virtiofs and
# mounts the file system; both devices work in one boot.
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

[ -x "$VIRTIOFSD" ] || fail "virtiofsd not found: $VIRTIOFSD (qemu-system-common)"
mkdir "$SCEN_TMP/share"
token="two devices $RANDOM$RANDOM"
echo "$token" > "$SCEN_TMP/share/hello.txt"
spawn virtiofsd "$VIRTIOFSD" --socket-path="$SCEN_TMP/fs.sock" \
	-o source="$SCEN_TMP/share" -o sandbox=chroot
wait_for "$SCEN_TMP/fs.sock" 20
backend ex0 --shm 0:2M
start_guest two "vmmtest=vu-two vu.tag=hostshare" --cpus 2 \
	--vhost-user "socket=$SCEN_TMP/fs.sock,type=fs,tag=hostshare" \
	--vhost-user "socket=$SCEN_TMP/ex0.sock,virtio-id=63,name=ex0"
wait_connected ex0 60
map_ok ex0 0 0 0x1000 11 ro
map_ok ex0 0 0x1000 0x1000 0 rw
wait_out '^VMMTEST: ready' 90
to_guest go
wait_out '^VMMTEST: shm verified and filled on CPU 1$' 60
ctl_ok ex0 check 0 0x1000 0 0x1000 22
to_guest go
wait_out '^VMMTEST: cpus ' 90
back=$(cat "$SCEN_TMP/share/back.txt" 2>/dev/null) || fail "the guest wrote no back.txt"
to_guest finish
end_guest
expect_out "^VMMTEST: cpus 2; devices 0x001a 0x003f ; host file: $token\$" "both devices on 2 CPUs"
expect_out '^VMMTEST: scenario vu-two exit 0$' "every guest step passed"
expect_status 0 "guest powered off"
[ "$back" = "guest got: $token" ] || fail "back.txt says '$back'"
pass "2 vCPUs; example back-end's memfd holds the guest's pattern; virtiofsd file read back '$back'"
