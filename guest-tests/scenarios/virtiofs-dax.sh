#!/usr/bin/env bash
# virtio-fs DAX: Debian's kernel mounts vmm-virtiofsd shares with
# -o dax=always, and host files are mapped straight into the guest through
# the DAX window (FUSE_SETUPMAPPING -> SHMEM_MAP). One boot, three devices
# (guest part: guest/scenarios/vfs-dax.sh):
#   dax   read-write, 8 MiB window: checksums of 4 KiB, 8 MiB and 24 MiB
#         files (the last through reclaim; VMM_DAX_BIG_MIB makes it
#         larger), vmm's /proc/PID/maps while files are mapped (inside
#         the window's reservation, nowhere else), writes inside and past
#         the end, a host write
#         seen through a guest mapping, a file truncated by the host under
#         a guest mapping, a write from a DAX-mapped buffer (EFAULT),
#         umount (nothing mapped) and remount, dax=inode, and ROUNDS rounds
#         over 5 files in 2 MiB ranges through a window of 4 ranges, each
#         access a REMOVEMAPPING and a SETUPMAPPING (SHMEM_UNMAP and
#         SHMEM_MAP of the range) under reads and writes; about 9.6 per
#         round. Inside the outer VM each costs 9 to 17 ms (1,000 rounds:
#         9,637 REMOVEMAPPINGs in 83 s; 1,100: 10,819 in 184 s on a busier
#         machine), so CI runs 60 rounds; VMM_DAX_ROUNDS=1100 gives more
#         than 10,000 by hand.
#   ro    --readonly, 4 MiB window: mapped read-only, a write refused
#   kill  6 MiB window: the daemon killed while a file is read; what is
#         mapped stays readable, the reader gets errors once the guest
#         resets the device, vmm and the guest go on, and no mapping of
#         the dead daemon's files remains
# Usage: virtiofs-dax.sh [ROUNDS]   (default 60; VMM_DAX_ROUNDS wins)
# By hand, 10,000 remaps and a 256 MiB file (4 to 6 minutes in all):
#   VMM_DAX_ROUNDS=1100 VMM_DAX_BIG_MIB=256 guest-tests/runner/with-kvm.sh \
#     build --timeout 3600 -- env VMM=build/vmm/vmm VMM_BUILD_DIR=$PWD/build \
#     bash guest-tests/scenarios/virtiofs-dax.sh
ROUNDS=${VMM_DAX_ROUNDS:-${1:-60}}
BIG_MIB=${VMM_DAX_BIG_MIB:-24}
# About a second a round inside the outer VM, on top of the rest.
: "${VMM_GUEST_TIMEOUT:=$((420 + ROUNDS))}"
export VMM_GUEST_TIMEOUT
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"
OURS=$VMM_BUILD_DIR/virtiofs/vmm-virtiofsd
TOOL=$VMM_BUILD_DIR/guest-tests/guest-programs/vfs-dax
[ -x "$OURS" ] || fail "vmm-virtiofsd is not built: $OURS"
[ -x "$TOOL" ] || fail "vfs-dax is not built: $TOOL"

S=$SCEN_TMP
mkdir -p "$S/dax/remap" "$S/ro" "$S/kill"
head -c 4096 /dev/urandom > "$S/dax/small.bin"
head -c 8M /dev/urandom > "$S/dax/mid.bin"
head -c "${BIG_MIB}M" /dev/urandom > "$S/dax/big.bin"
head -c 65536 /dev/zero > "$S/dax/w.bin"
echo "written by the host: one" > "$S/dax/note.txt"
"$TOOL" make "$S/dax/trunc.bin" $((4 << 20))
for i in 0 1 2 3 4; do
	"$TOOL" make "$S/dax/remap/r$i" $((2 << 20))
done
echo "read-only share" > "$S/ro/file.txt"
head -c 4M /dev/urandom > "$S/ro/ro.bin"
head -c 2M /dev/urandom > "$S/kill/big.bin"

spawn fsd "$OURS" --socket-path "$S/dax.sock" --shared-dir "$S/dax" --dax-window 8M
spawn fsro "$OURS" --socket-path "$S/ro.sock" --shared-dir "$S/ro" --dax-window 4M --readonly
spawn fskill "$OURS" --socket-path "$S/kill.sock" --shared-dir "$S/kill" --dax-window 6M
KILL_PID=$SPAWNED
for s in dax ro kill; do wait_for "$S/$s.sock" 20; done

start_guest dax "vmmtest=vfs-dax dax.rounds=$ROUNDS" --log-level info \
	--vhost-user "socket=$S/dax.sock,type=fs,tag=dax,name=fsdax" \
	--vhost-user "socket=$S/ro.sock,type=fs,tag=ro,name=fsro" \
	--vhost-user "socket=$S/kill.sock,type=fs,tag=kill,name=fskill"
VMM_PID=
for _ in $(seq 50); do
	VMM_PID=$(pgrep -P "$GUEST_PID" -x vmm || true)
	[ -n "$VMM_PID" ] && break
	sleep 0.1
done
[ -n "$VMM_PID" ] || fail "vmm did not start"

# window NAME: "START END" of vmm's reservation for device NAME's window.
window() {
	local line hva size
	line=$(grep -m1 "vmm: $1 shm 0: guest " "$ERR") || fail "vmm did not log where $1's window is"
	hva=${line##*host }
	size=${line#*+}
	size=${size%%,*}
	echo "$((hva)) $((hva + size))"
}

# mapped DIR: vmm's mappings of files under DIR, "START END PERMS NAME".
# By device and inode: vmm's maps show paths as the daemon's sandbox saw
# them.
mapped() {
	local range perms _off dev ino path d
	declare -A name
	find "$1" -type f -printf '%D %i %P\n' > "$S/files"
	while read -r d ino path; do
		dev=$(printf '%02x:%02x' $(((d >> 8) & 0xfff)) $(((d & 0xff) | ((d >> 12) & 0xfff00))))
		name["$dev $ino"]=$path
	done < "$S/files"
	while read -r range perms _off dev ino path; do
		[ -n "${name["$dev $ino"]:-}" ] || continue
		echo "$((16#${range%-*})) $((16#${range#*-})) $perms ${name["$dev $ino"]}"
	done < "/proc/$VMM_PID/maps"
}

# inside NAME DIR: every mapping of DIR's files lies in NAME's window.
inside() {
	local lo hi n=0 start end perms path w
	w=$(window "$1")
	read -r lo hi <<< "$w"
	mapped "$2" > "$S/mapped"
	while read -r start end perms path; do
		n=$((n + 1))
		[ "$start" -ge "$lo" ] && [ "$end" -le "$hi" ] ||
			fail "$path is mapped at $start-$end, outside $1's window $lo-$hi"
		echo "host> vmm maps ${path#"$S"/} $perms inside $1's window"
		PERMS+=" $perms"
	done < "$S/mapped"
	if [ "$n" -eq 0 ]; then
		echo "--- vmm's maps:"
		sed 's/^/  | /' "/proc/$VMM_PID/maps"
		echo "--- guest so far:"
		tr -d '\r' < "$OUT.raw" | sed 's/^/  | /'
		fail "no file of $2 is mapped in vmm"
	fi
	MAPS_SEEN=$n
}

none_mapped() {
	local n
	n=$(mapped "$1" | wc -l)
	[ "$n" -eq 0 ] || { mapped "$1"; fail "$n mappings of $1 remain in vmm ($2)"; }
	echo "host> vmm maps no file of ${1#"$S"/} ($2)"
}

wait_out '^VMMTEST: mapped ready' 200
PERMS=
inside fsdax "$S/dax"
DAX_MAPS=$MAPS_SEEN
to_guest go

wait_out '^VMMTEST: watch before:' 60
printf 'written by the host: two' | dd of="$S/dax/note.txt" conv=notrunc status=none
to_guest go

wait_out '^VMMTEST: trunc ready' 60
echo "host> truncate -s 4096 trunc.bin (mapped by the guest)"
truncate -s 4096 "$S/dax/trunc.bin"
to_guest go

wait_out '^VMMTEST: umounted' 60
none_mapped "$S/dax" "after umount"
to_guest go

wait_out '^VMMTEST: ro mapped ready' "$GUEST_TIMEOUT"
PERMS=
inside fsro "$S/ro"
case $PERMS in *w*) fail "the read-only share is mapped writable:$PERMS" ;; esac
to_guest go

wait_out '^VMMTEST: kill reading' 60
inside fskill "$S/kill"
echo "host> kill -KILL $KILL_PID (the kill share's daemon)"
kill -KILL "$KILL_PID"
wait_err 'vhost-user fskill: back-end disconnected' 20
to_guest go

wait_out '^VMMTEST: kill reset' 120
kill -0 "$VMM_PID" 2>/dev/null || fail "vmm died with the daemon"
none_mapped "$S/kill" "after the device reset"
to_guest go
end_guest
show_log fsd
show_log fsro

expect_status 0 "the guest powered off: no stop, whatever was remapped or truncated"
expect_out '^VMMTEST: scenario vfs-dax exit 0$' "every guest step ran"
expect_out '^VMMTEST: mount: dax /mnt/dax virtiofs .*dax=always' "/proc/mounts shows dax=always"
expect_out '^VMMTEST: windows: 3$' "three devices with a DAX window"
for f in small.bin mid.bin big.bin; do
	want=$(md5sum < "$S/dax/$f")
	expect_out "^VMMTEST: md5 $f $want\$" "$f read through DAX matches the host's"
done
expect_out "^VMMTEST: $("$TOOL" sum "$S/dax/mid.bin")\$" "mid.bin through a guest mapping"
expect_out '^VMMTEST: mid.bin dax 1$' "files are DAX (statx)"
expect_out '^VMMTEST: writes: 65544 bytes$' "the extending write"
[ "$(dd if="$S/dax/w.bin" bs=1 skip=100 count=8 status=none)" = DAXWRITE ] ||
	fail "the host does not see the write through DAX"
[ "$(tail -c 8 "$S/dax/w.bin")" = EXTENDED ] || fail "the host does not see the extending write"
expect_out '^VMMTEST: watch before: written by the host: one$' "the guest mapping"
expect_out '^VMMTEST: watch after: written by the host: two$' "the host's write, seen through it"
expect_out '^VMMTEST: trunc after: 1 pages of data, 1023 pages of zeros, 0 other$' \
	"the truncated file: its first page, then zeros"
expect_out '^VMMTEST: efault: write from a DAX mapping returned -1, Bad address$' \
	"a request with data in the window fails cleanly"
expect_out "^VMMTEST: after efault: $(md5sum < "$S/dax/small.bin")\$" "the share still works"
expect_out '^VMMTEST: inode mode: small.bin dax 0 mid.bin dax 1 $' "dax=inode: 2 MiB files and up"
expect_out "^VMMTEST: remounted: $(md5sum < "$S/dax/small.bin")\$" "umount and remount"
expect_out "^VMMTEST: remap rounds $ROUNDS files 5 reads-behind [0-9]+ errors 0$" \
	"reads and writes right under remapping"
for i in 0 1 2 3 4; do
	expect_out "^VMMTEST: remap $("$TOOL" sum "$S/dax/remap/r$i")\$" "r$i: the host sees the guest's writes"
done
expect_out "^VMMTEST: ro md5 $(md5sum < "$S/ro/ro.bin")\$" "the read-only share reads"
expect_out '^VMMTEST: ro write refused$' "a write to the read-only share fails"
expect_out '^VMMTEST: kill still reading: [1-9][0-9]* hundred passes since$' \
	"what was mapped stays readable after the daemon died"
expect_out '^VMMTEST: kill reader: readloop: [0-9]+ passes, then ' \
	"the reader got an error once the guest reset the device"
expect_out '^VMMTEST: kill after: .*Transport endpoint is not connected' \
	"the dead mount answers ENOTCONN"
expect_out '^VMMTEST: guest alive$' "the guest went on"
destroy=$(grep 'DESTROY: .*DAX' "$S/fsd.log" | tail -n1)
[ -n "$destroy" ] || fail "no DESTROY line from the daemon"
setups=$(sed -n 's/.*DAX: [0-9]* mappings unmapped, \([0-9]*\) set up.*/\1/p' <<< "$destroy")
removes=$(sed -n 's/.* \([0-9]*\) removed.*/\1/p' <<< "$destroy")
[ "${setups:-0}" -ge $((ROUNDS * 5)) ] || fail "only ${setups:-0} mappings set up ($destroy)"
[ "${removes:-0}" -ge $((ROUNDS * 4)) ] || fail "only ${removes:-0} REMOVEMAPPINGs ($destroy)"
[ "$(count_err 'guest shared memory fault')" -eq 0 ] || fail "vmm reported a shared memory fault"
pass "DAX: $DAX_MAPS mappings seen in the window; remap rounds $(guest_value 'remap rounds'); daemon: ${destroy#*DAX: }; truncation: $(guest_value 'trunc after:'); killed daemon: $(guest_value 'kill reader:')"
