#!/usr/bin/env bash
# qemu-storage-daemon's vhost-user-blk export, a real libvhost-user peer:
# the guest sees the disk's capacity, reads the image's bytes, its write
# lands in the image after sync, and the disk works again after the daemon
# is restarted (vmm reconnects at the device reset).
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

QSD=${VMM_QSD:-qemu-storage-daemon}
command -v "$QSD" > /dev/null || fail "$QSD not found (Debian: qemu-system-common)"
img=$SCEN_TMP/disk.img
sock=$SCEN_TMP/blk.sock
head -c $((16 << 20)) /dev/urandom > "$img"
md5=$(head -c $((1 << 20)) "$img" | md5sum | cut -d' ' -f1)
token="vmm-blk-$RANDOM$RANDOM"

qsd() {
	rm -f "$sock"
	spawn qsd "$QSD" \
		--blockdev "driver=file,node-name=f,filename=$img" \
		--blockdev driver=raw,node-name=d,file=f \
		--export "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$sock,writable=on"
	QSD_PID=$SPAWNED
	wait_for "$sock" 20
}

qsd
start_guest blk "vmmtest=vu-blk vmmtest.blk.sectors=32768 vmmtest.blk.md5=$md5 vmmtest.blk.token=$token" \
	--vhost-user "socket=$sock,virtio-id=2,name=blk"
wait_out '^VMMTEST: (written|scenario vu-blk exit)' 150
if ! tr -d '\r' < "$OUT.raw" | grep -q '^VMMTEST: written'; then
	end_guest
	show_log qsd
	fail "the guest failed before its write"
fi
written=$(dd if="$img" bs=512 skip=8192 count=1 2>/dev/null | head -c ${#token} | tr -c '[:alnum:]-' '?')
echo "host> the image at 4 MiB: '$written'"
[ "$written" = "$token" ] || { to_guest go; end_guest; fail "the guest's write is not in the image"; }
echo "host> restarting qemu-storage-daemon (pid $QSD_PID)"
kill -TERM "$QSD_PID"
wait "$QSD_PID" 2>/dev/null || true
qsd
to_guest go
end_guest
show_log qsd
expect_status 0 "guest powered off"
expect_out '^VMMTEST: capacity 32768 sectors, logical block size 512$' "capacity and block size from the config space"
expect_out "^VMMTEST: first MiB md5 $md5\$" "the image's bytes"
expect_out "^VMMTEST: after the restart: read back '$token'\$" "the disk works after the daemon restarted"
expect_out '^VMMTEST: scenario vu-blk exit 0$' "every guest check passed"
expect_err '^vmm: vhost-user blk: back-end disconnected' "the restart is reported"
pass "qemu-storage-daemon disk: $(guest_value capacity); md5 $md5; write '$token' in the image; read back after a daemon restart"
