# Two vCPUs, two vhost-user devices: the example back-end's shared memory
# (read and filled from CPU 1 through /dev/mem, before virtio_mmio claims
# the windows and resets the devices, which drops the mappings) and
# virtiofsd's file system.
. /lib/vmmtest.sh
vmmtest_say "ready"
read -r _
if ! taskset -c 1 sh -c 'shmem-probe verify 63 0 0 0x1000 11 &&
	shmem-probe fill 63 0 0x1000 0x1000 22' > /tmp/probe.log 2>&1; then
	sed 's/^/VMMTEST: probe: /' /tmp/probe.log
	vmmtest_say "shared memory failed"
	exit 1
fi
vmmtest_say "shm verified and filled on CPU 1"
read -r _
vmmtest_modprobe virtio_mmio virtiofs || exit 1
ids=$(cat /sys/bus/virtio/devices/*/device | sort | tr '\n' ' ')
tag=$(vmmtest_param vu.tag)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || { vmmtest_say "mount $tag failed"; exit 1; }
got=$(cat /mnt/hello.txt) || { vmmtest_say "cannot read hello.txt"; exit 1; }
echo "guest got: $got" > /mnt/back.txt && umount /mnt ||
	{ vmmtest_say "cannot write back.txt"; exit 1; }
vmmtest_say "cpus $(nproc); devices ${ids}; host file: $got"
read -r _
