# virtio-fs workload, the same for every daemon: its results (commands,
# their output and exit status) go to /tmp/res and, at the end, to
# results.txt in the share, where the host compares them.  Only a few
# console lines: each one is slow inside the outer VM.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
tag=$(vmmtest_param vfs.tag)
M=/mnt
R=/tmp/res
: > $R

# run CMD...: the command, its output (stdout and stderr) and its status.
run() {
	echo "\$ $*" >> $R
	"$@" >> $R 2>&1
	echo "= $?" >> $R
}

# Attributes without times (new files get the time of the run).
attrs() {
	find "$@" | sort | while read -r f; do
		stat -c '%n %F %s %a %u:%g %h' "$f"
	done
}

mkdir -p $M
run mount -t virtiofs "$tag" $M || exit 1
grep -q "^$tag $M virtiofs" /proc/mounts || { vmmtest_say "not mounted"; exit 1; }
ts=$(date +%s)

# The prepared tree, as ls sees it (times were set by the host).
run ls -laR $M/tree
run attrs $M/tree
run cat $M/tree/a.txt $M/tree/sub/b.txt
run md5sum $M/tree/sub/deep/c.bin
run readlink $M/tree/link
run cat $M/tree/link
run cat $M/tree/nope

# Write, append, truncate.
run mkdir $M/work
echo '$ echo first line > w.txt; echo appended >> w.txt' >> $R
echo "first line" > $M/work/w.txt; echo "= $?" >> $R
echo "appended" >> $M/work/w.txt; echo "= $?" >> $R
run cat $M/work/w.txt
run truncate -s 5 $M/work/w.txt
run cat $M/work/w.txt
run truncate -s 100000 $M/work/w.txt
run wc -c $M/work/w.txt
run md5sum $M/work/w.txt

t0=$(date +%s)
# 100 MiB round trip: a pattern written in 1 MiB writes (with its
# checksum), the page cache dropped, read back and compared; the host
# checks the file on its side too.
run vfs-bench fill $M/work/big 100 4242
sync
echo 3 > /proc/sys/vm/drop_caches
run vfs-bench check $M/work/big 4242
t1=$(date +%s)

# Directories and links.
run mkdir $M/work/d1 $M/work/d1/inner
run rmdir $M/work/d1
run rmdir $M/work/d1/inner
run rmdir $M/work/d1
run rmdir $M/work/d1
run mv $M/work/w.txt $M/work/renamed.txt
run mkdir $M/work/d2
run mv $M/work/renamed.txt $M/work/d2/
run ln $M/work/d2/renamed.txt $M/work/hard.txt
run ln -s d2/renamed.txt $M/work/soft
run ln -s /etc/passwd $M/work/abs
run readlink $M/work/soft
run readlink $M/work/abs
run ls $M/work/abs/x
run head -c 5 $M/work/soft
run mkfifo $M/work/fifo

# Attributes.
run chmod 640 $M/work/hard.txt
run chown 1234:5678 $M/work/hard.txt
run touch -d "2021-03-04 05:06:07" $M/work/hard.txt
run stat -c '%a %u %g %Y %h' $M/work/hard.txt $M/work/d2/renamed.txt
run chmod 4755 $M/work/d2
run stat -c '%a' $M/work/d2
run touch -d "1999-12-31 23:59:59" $M/work/d2
run stat -c '%Y' $M/work/d2
run stat -f -c 'type %t namelen %l' $M

# Remount: what was written is there.
run umount $M
run mount -t virtiofs "$tag" $M
run attrs $M/work
run head -c 5 $M/work/soft
run ls -la $M/tree/sub

cp $R $M/results.txt || { vmmtest_say "cannot write results"; exit 1; }
umount $M || { vmmtest_say "umount failed"; exit 1; }
grep -q " $M virtiofs" /proc/mounts && { vmmtest_say "still mounted"; exit 1; }
vmmtest_say "workload done: $(wc -l < $R) result lines, 100 MiB round trip $((t1 - t0)) s, all $(($(date +%s) - ts)) s"
