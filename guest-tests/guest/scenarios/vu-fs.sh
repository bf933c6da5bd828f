# virtiofsd: mount the tag, read the host's file, write one back.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
tag=$(vmmtest_param vu.tag)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || { vmmtest_say "mount $tag failed"; exit 1; }
got=$(cat /mnt/hello.txt) || { vmmtest_say "cannot read hello.txt"; exit 1; }
echo "guest got: $got" > /mnt/back.txt && umount /mnt ||
	{ vmmtest_say "cannot write back.txt"; exit 1; }
vmmtest_say "host file: $got"
