# The virtio-fs daemon is killed and a new one started while the share is
# mounted: the guest resets the device (unbind), gets errors from the dead
# mount, unmounts it, binds the device again and mounts the new daemon.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
tag=$(vmmtest_param vfs.tag)
drv=/sys/bus/virtio/drivers/virtiofs
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || { vmmtest_say "mount failed"; exit 1; }
vmmtest_say "before: $(cat /mnt/hello.txt)"
vmmtest_say "ready"
read -r _
dev=$(cd $drv && echo virtio*)
[ -e "$drv/$dev" ] || { vmmtest_say "no virtiofs device bound"; exit 1; }
echo "$dev" > $drv/unbind || { vmmtest_say "unbind failed"; exit 1; }
vmmtest_say "after: $(cat /mnt/hello.txt 2>&1)"
umount /mnt || { vmmtest_say "umount of the dead mount failed"; exit 1; }
echo "$dev" > $drv/bind || { vmmtest_say "bind failed"; exit 1; }
mount -t virtiofs "$tag" /mnt || { vmmtest_say "mount of the new daemon failed"; exit 1; }
vmmtest_say "new daemon: $(cat /mnt/hello2.txt)"
echo "written after the restart" > /mnt/back.txt && umount /mnt ||
	{ vmmtest_say "cannot write back.txt"; exit 1; }
vmmtest_say "remounted"
