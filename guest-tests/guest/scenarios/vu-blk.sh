# A disk exported by qemu-storage-daemon (vhost-user-blk): the guest sees
# its capacity, reads its bytes, writes a block, and after the host
# restarts the daemon, rebinds the driver and reads the block back.
# Parameters: vmmtest.blk.sectors=N, vmmtest.blk.md5=SUM (first MiB),
# vmmtest.blk.token=WORD (written at 4 MiB).
. /lib/vmmtest.sh
sectors=$(vmmtest_param vmmtest.blk.sectors)
md5=$(vmmtest_param vmmtest.blk.md5)
token=$(vmmtest_param vmmtest.blk.token)

wait_vda() {
	for _ in $(seq 100); do
		[ -b /dev/vda ] && [ "$(cat /sys/block/vda/size 2>/dev/null)" != 0 ] && return 0
		sleep 0.1
	done
	vmmtest_say "no /dev/vda"
	return 1
}

vmmtest_modprobe virtio_mmio virtio_blk || exit 1
wait_vda || exit 1
got=$(cat /sys/block/vda/size)
bs=$(cat /sys/block/vda/queue/logical_block_size)
vmmtest_say "capacity $got sectors, logical block size $bs"
[ "$got" = "$sectors" ] || { vmmtest_say "expected $sectors sectors"; exit 1; }
sum=$(dd if=/dev/vda bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)
vmmtest_say "first MiB md5 $sum"
[ "$sum" = "$md5" ] || exit 1
printf '%s' "$token" | dd of=/dev/vda bs=512 seek=8192 conv=fsync 2>/dev/null
sync
vmmtest_say "written"
read -r _
# The host restarted the daemon: reset the device (unbind), start it anew.
dev=$(basename "$(readlink /sys/block/vda/device)")
echo "$dev" > /sys/bus/virtio/drivers/virtio_blk/unbind
echo "$dev" > /sys/bus/virtio/drivers/virtio_blk/bind
wait_vda || exit 1
back=$(dd if=/dev/vda bs=512 skip=8192 count=1 2>/dev/null | head -c ${#token})
vmmtest_say "after the restart: read back '$back'"
[ "$back" = "$token" ]
