#!/usr/bin/env bash
# The same scripted workload (guest/scenarios/vfs-workload.sh) through
# vmm-virtiofsd and through Debian's virtiofsd, one boot each, on two
# identical prepared trees: mount, ls -laR, read, write, append, truncate,
# a 100 MiB round trip with checksums, directories, links, attributes,
# statfs, remount, umount.  The guest's results and the trees the host
# sees afterwards must be identical.
# Each boot moves 100 MiB each way through emulated hardware.
: "${VMM_GUEST_TIMEOUT:=300}"
export VMM_GUEST_TIMEOUT
. "$(dirname "$0")/../lib/scenario.sh"
. "$(dirname "$0")/../lib/vhost.sh"

OURS=$VMM_BUILD_DIR/virtiofs/vmm-virtiofsd
[ -x "$OURS" ] || fail "vmm-virtiofsd is not built: $OURS"
[ -x "$VIRTIOFSD" ] || fail "virtiofsd not found: $VIRTIOFSD (qemu-system-common)"

# prepare DIR: the tree the guest lists, with fixed times and owners.
prepare() {
	local d=$1/tree
	mkdir -p "$d/sub/deep" "$d/empty"
	echo alpha > "$d/a.txt"
	echo beta > "$d/sub/b.txt"
	seq 1 20000 > "$d/sub/deep/c.bin"
	truncate -s 65536 "$d/sub/deep/c.bin"
	ln "$d/sub/b.txt" "$d/sub/b.hard"
	ln -s sub/b.txt "$d/link"
	echo private > "$d/mode600"
	chmod 600 "$d/mode600"
	echo theirs > "$d/owned"
	chown 1000:1000 "$d/owned"
	chmod 2775 "$d/empty"
	find "$1" -depth -exec touch -h -d "2020-01-02 03:04:05" {} +
}

# tree DIR: what the host sees after the run (no times of new files; the
# 100 MiB file is random, checked on its own).
tree() {
	(cd "$1" && find . ! -name results.txt -printf '%p %y %s %m %U:%G %n %l\n' | sort &&
	 find . -type f ! -name results.txt -exec md5sum {} + | sort)
}

# round_trip DIR: the host reads the guest's 100 MiB as the guest wrote
# it (the same program checks the pattern), with the guest's checksum.
round_trip() {
	local host guest
	host=$("$VMM_BUILD_DIR/guest-tests/guest-programs/vfs-bench" check "$1/work/big" 4242) ||
		fail "$1: the host does not read back what the guest wrote"
	guest=$(grep -m1 '^pattern 4242 ' "$1/results.txt")
	[ "$host" = "$guest" ] || fail "$1: 100 MiB round trip: guest '$guest', host '$host'"
	[ "$host" = "pattern 4242 bytes $((100 << 20)) sum ${host##* }" ] || fail "$1: $host"
}

# workload LABEL DAEMON...: one boot against the daemon, results kept.
workload() {
	local label=$1
	shift
	spawn "$label" "$@"
	wait_for "$SCEN_TMP/$label.sock" 20
	run_guest "$label" "vmmtest=vfs-workload vfs.tag=share" --memory 512M \
		--vhost-user "socket=$SCEN_TMP/$label.sock,type=fs,tag=share"
	show_log "$label"
	expect_out '^VMMTEST: scenario vfs-workload exit 0$' "$label: every guest step ran"
	expect_status 0 "$label: guest powered off"
	[ -f "$SCEN_TMP/$label/results.txt" ] || fail "$label: no results.txt"
	SUMMARY[$label]=$(guest_value "workload done:")
}

declare -A SUMMARY
mkdir "$SCEN_TMP/ours" "$SCEN_TMP/peer"
prepare "$SCEN_TMP/ours"
prepare "$SCEN_TMP/peer"
workload ours "$OURS" --socket-path "$SCEN_TMP/ours.sock" \
	--shared-dir "$SCEN_TMP/ours"
workload peer "$VIRTIOFSD" --socket-path="$SCEN_TMP/peer.sock" \
	-o source="$SCEN_TMP/peer" -o sandbox=chroot

echo "--- results of vmm-virtiofsd:"
sed 's/^/  | /' "$SCEN_TMP/ours/results.txt"
if ! diff -u "$SCEN_TMP/peer/results.txt" "$SCEN_TMP/ours/results.txt"; then
	fail "the guest's results differ (- virtiofsd, + vmm-virtiofsd)"
fi
tree "$SCEN_TMP/ours" > "$SCEN_TMP/ours.tree"
tree "$SCEN_TMP/peer" > "$SCEN_TMP/peer.tree"
if ! diff -u "$SCEN_TMP/peer.tree" "$SCEN_TMP/ours.tree"; then
	fail "the trees left on the host differ (- virtiofsd, + vmm-virtiofsd)"
fi
round_trip "$SCEN_TMP/ours"
round_trip "$SCEN_TMP/peer"
pass "identical results ($(wc -l < "$SCEN_TMP/ours/results.txt") lines) and trees; vmm-virtiofsd: ${SUMMARY[ours]}; virtiofsd: ${SUMMARY[peer]}"
