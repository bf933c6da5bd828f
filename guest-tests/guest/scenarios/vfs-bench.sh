# virtio-fs benchmark, guest side (bench/virtiofs/virtiofs.sh): two shares
# mounted from two daemons (tags from vfsbench.tags), the same workloads on
# each, taking turns, ROUNDS times. One line per measurement.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
mib=$(vmmtest_param vfsbench.mib)
files=$(vmmtest_param vfsbench.files)
rounds=$(vmmtest_param vfsbench.rounds)
tags=$(vmmtest_param vfsbench.tags | tr , ' ')
for t in $tags; do
	mkdir -p /mnt/$t
	mount -t virtiofs "$t" /mnt/$t || { vmmtest_say "mount $t failed"; exit 1; }
done
# Warm-up, not timed: the first writer would otherwise also pay for
# faulting in fresh guest RAM and host memory.
for t in $tags; do
	vfs-bench write /mnt/$t/warm "$mib" > /dev/null || exit 1
	rm /mnt/$t/warm
done
r=0
while [ $r -lt "$rounds" ]; do
	# Who goes first alternates from round to round.
	order=$tags
	[ $((r % 2)) -eq 1 ] && order=$(echo "$tags" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for t in $order; do
		out=$(vfs-bench write /mnt/$t/big "$mib") || exit 1
		vmmtest_say "vfsbench $t $out"
	done
	sync
	echo 3 > /proc/sys/vm/drop_caches
	for t in $order; do
		out=$(vfs-bench read /mnt/$t/big) || exit 1
		vmmtest_say "vfsbench $t $out"
		rm /mnt/$t/big
	done
	for t in $order; do
		mkdir /mnt/$t/meta
		out=$(vfs-bench meta /mnt/$t/meta "$files") || exit 1
		rmdir /mnt/$t/meta
		vmmtest_say "vfsbench $t $out"
	done
	r=$((r + 1))
done
for t in $tags; do
	umount /mnt/$t || { vmmtest_say "umount $t failed"; exit 1; }
done
vmmtest_say "vfsbench done"
