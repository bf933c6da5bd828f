# virtio-fs DAX through vmm-virtiofsd (host part: scenarios/virtiofs-dax.sh).
# Three devices: "dax" (read-write, 8 MiB window), "ro" (--readonly, 4 MiB)
# and "kill" (6 MiB, its daemon is killed under a read). Every line the
# host checks starts with VMMTEST:; the host answers "go" on the console
# where it has something to do or to look at.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
M=/mnt/dax
mkdir -p $M /mnt/ro /mnt/kill
say() { vmmtest_say "$*"; }
wait_host() { read -r _; }

# The device whose DAX window is LEN bytes (dmesg: "Cache len: LEN @ ...").
device_of() {
	dmesg | sed -n "s/.*virtiofs \(virtio[0-9]*\): Cache len: $1 @.*/\1/p" | head -n1
}

mount -t virtiofs -o dax=always dax $M || { say "mount failed"; exit 1; }
say "mount: $(grep " $M " /proc/mounts)"
say "windows: $(dmesg | grep -c 'Cache len')"
say "window: $(dmesg | grep -m1 'Cache len' | sed 's/^\[[^]]*\] //')"

# Files of 4 KiB and 8 MiB, and 24 MiB through the 8 MiB window (reclaim).
for f in small.bin mid.bin big.bin; do
	say "md5 $f $(md5sum < $M/$f)"
done
say "$(vfs-dax sum $M/mid.bin)"
say "$(vfs-dax isdax $M/mid.bin)"

# While ranges are mapped, the host reads vmm's /proc/PID/maps.
cat $M/small.bin $M/mid.bin > /dev/null
say "mapped ready"
wait_host

# Writes: inside the file (through DAX) and past its end (FUSE_WRITE).
printf DAXWRITE | dd of=$M/w.bin bs=1 seek=100 conv=notrunc 2>/dev/null ||
	say "write inside failed"
printf EXTENDED >> $M/w.bin || say "write past the end failed"
say "writes: $(wc -c < $M/w.bin) bytes"

# A host write seen through a guest mapping, with no request in between.
vfs-dax watch $M/note.txt | while read -r line; do say "$line"; done

# A host file truncated under the guest's mapping.
vfs-dax trunc $M/trunc.bin | while read -r line; do say "$line"; done

# A write from a DAX-mapped buffer: its data lies in the window.
: > $M/efault.out
say "$(vfs-dax efault $M/mid.bin $M/efault.out)"
say "after efault: $(cat $M/small.bin | md5sum)"

# umount: no mapping may remain in vmm; then mount again.
umount $M || say "umount failed"
say "umounted"
wait_host

# Per-file DAX: files of 2 MiB or more.
mount -t virtiofs -o dax=inode dax $M || say "mount dax=inode failed"
say "inode mode: $(vfs-dax isdax $M/small.bin $M/mid.bin | tr '\n' ' ')"
umount $M
mount -t virtiofs -o dax=always dax $M || say "remount failed"
say "remounted: $(md5sum < $M/small.bin)"

# The window reclaimed under reads and writes, over and over.
rounds=$(vmmtest_param dax.rounds)
r=$M/remap
t0=$(date +%s)
say "$(vfs-dax remap "${rounds:-60}" $r/r0 $r/r1 $r/r2 $r/r3 $r/r4 2>&1)"
say "remap took $(($(date +%s) - t0)) s"
for i in 0 1 2 3 4; do
	say "remap $(vfs-dax sum $r/r$i)"
done
umount $M || say "final umount failed"

# A read-only share: mapped read-only, a write fails.
mount -t virtiofs -o dax=always ro /mnt/ro || say "mount ro failed"
say "ro md5 $(md5sum < /mnt/ro/ro.bin)"
say "ro mapped ready"
wait_host
echo more 2> /dev/null >> /mnt/ro/file.txt && say "ro write succeeded" ||
	say "ro write refused"
umount /mnt/ro

# The daemon killed while a file is read: what is mapped stays readable;
# once the guest resets the device, the reader gets errors and the guest
# goes on. Linux 6.1 limits how: a request in flight to the dead daemon
# would hold the reset up (it waits for every request), so the reader
# makes none; and it resets the device before it stops DAX access, so
# the reader is paused over the reset (docs/virtiofs.md, DAX).
mount -t virtiofs -o dax=always kill /mnt/kill || say "mount kill failed"
dev=$(device_of 0x600000)
vfs-dax readloop /mnt/kill/big.bin > /tmp/kill.out 2>&1 &
reader=$!
until grep -q 'pass 100$' /tmp/kill.out; do sleep 1; done
say "kill reading"
wait_host
n0=$(grep -c pass /tmp/kill.out)
sleep 3
say "kill still reading: $(($(grep -c pass /tmp/kill.out) - n0)) hundred passes since"
kill -STOP $reader
echo "$dev" > /sys/bus/virtio/drivers/virtiofs/unbind ||
	say "unbind of '$dev' failed: $(dmesg | grep 'Cache len' | tr '\n' ' ')"
kill -CONT $reader
wait
say "kill reader: $(grep -v 'readloop pass' /tmp/kill.out)"
say "kill after: $(cat /mnt/kill/big.bin 2>&1 > /dev/null | head -n1)"
umount /mnt/kill || say "umount of the dead mount failed"
say "kill reset"
wait_host
say "guest alive"
