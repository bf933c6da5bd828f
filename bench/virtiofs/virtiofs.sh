#!/usr/bin/env bash
# Benchmark 6: vmm-virtiofsd against Debian's virtiofsd, in one run and one
# guest. Both daemons share a directory of the same host file system; the
# guest mounts both (tags "ours" and "peer") and runs the same workloads on
# each, taking turns, after an untimed warm-up write on each
# (guest-tests/guest/scenarios/vfs-bench.sh with the
# vfs-bench program): sequential write and read of MIB MiB in 1 MiB calls
# (page cache dropped before reading), and creating, stat-ing and
# unlinking FILES files. Prints a Markdown table. docs/benchmarks.md.
#
# Usage: virtiofs.sh [-n ROUNDS] [-m MIB] [-f FILES]
#        (defaults: 2 rounds, so each daemon goes first once; 256 MiB;
#        10000 files)
# Use bench/run.sh (it puts this where /dev/kvm works).
set -euo pipefail
rounds=2
mib=256
files=10000
while getopts n:m:f: o; do
	case $o in
	n) rounds=$OPTARG ;;
	m) mib=$OPTARG ;;
	f) files=$OPTARG ;;
	*) exit 1 ;;
	esac
done
for v in "$rounds" "$mib" "$files"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "virtiofs: -n, -m and -f want positive numbers" >&2; exit 1; }
done

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/bench.sh
. "$here/../lib/bench.sh"
: "${VMM_GUEST_TIMEOUT:=7200}"
export VMM_GUEST_TIMEOUT
# shellcheck source=../../guest-tests/lib/scenario.sh
. "$here/../../guest-tests/lib/scenario.sh"
# shellcheck source=../../guest-tests/lib/vhost.sh
. "$here/../../guest-tests/lib/vhost.sh"

OURS=$VMM_BUILD_DIR/virtiofs/vmm-virtiofsd
[ -x "$OURS" ] || bench_die "vmm-virtiofsd is not built: $OURS"
[ -x "$VIRTIOFSD" ] || bench_die "virtiofsd not found: $VIRTIOFSD (qemu-system-common)"

log=$BENCH_TMP/virtiofs.log
exec 5>&1 1> "$log"
# shellcheck disable=SC2317 # called by the trap
vfs_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "--- virtiofs: the run that failed:" >&2
		cat "$log" >&2
	fi
	scen_cleanup
	rm -rf "$BENCH_TMP"
	exit "$rc"
}
trap vfs_exit EXIT

# Both shares on the same file system, side by side.
mkdir "$SCEN_TMP/ours" "$SCEN_TMP/peer"
spawn ours "$OURS" --socket-path "$SCEN_TMP/ours.sock" --shared-dir "$SCEN_TMP/ours"
spawn peer "$VIRTIOFSD" --socket-path="$SCEN_TMP/peer.sock" \
	-o source="$SCEN_TMP/peer" -o sandbox=chroot
wait_for "$SCEN_TMP/ours.sock" 20
wait_for "$SCEN_TMP/peer.sock" 20
guest_mib=$((mib + 768))
run_guest vfsbench "vmmtest=vfs-bench vfsbench.tags=ours,peer vfsbench.mib=$mib vfsbench.files=$files vfsbench.rounds=$rounds" \
	--memory "${guest_mib}M" --cpus 1 \
	--vhost-user "socket=$SCEN_TMP/ours.sock,type=fs,tag=ours" \
	--vhost-user "socket=$SCEN_TMP/peer.sock,type=fs,tag=peer"
expect_status 0 "guest powered off"
expect_out '^VMMTEST: vfsbench done$' "every measurement ran"

# median of the values of one kind (field F of "vfsbench TAG OP ...").
med() {
	# shellcheck disable=SC2046
	bench_median $(sed -n "s/^VMMTEST: vfsbench $1 $2 //p" "$OUT" | awk -v f="$3" '{ print $f }')
}
rate() { awk -v n="$1" -v ns="$2" -v d="$3" 'BEGIN { printf "%.1f", n / d / (ns / 1e9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

declare -A v
for t in ours peer; do
	v[$t.write]=$(rate "$(med "$t" write 1)" "$(med "$t" write 2)" 1e6)
	v[$t.read]=$(rate "$(med "$t" read 1)" "$(med "$t" read 2)" 1e6)
	v[$t.create]=$(rate "$files" "$(med "$t" meta 2)" 1)
	v[$t.stat]=$(rate "$files" "$(med "$t" meta 3)" 1)
	v[$t.unlink]=$(rate "$files" "$(med "$t" meta 4)" 1)
	meta_ns=$(( $(med "$t" meta 2) + $(med "$t" meta 3) + $(med "$t" meta 4) ))
	v[$t.meta]=$(rate "$((3 * files))" "$meta_ns" 1)
done

exec 1>&5
bench_machine
echo "virtiofs: one guest (1 vCPU, $guest_mib MiB), both shares on $(stat -f -c %T "$SCEN_TMP") on the host;" \
	"$rounds round(s), the daemons taking turns; $mib MiB sequential, $files files; cache=auto for both;" \
	"virtiofsd: $("$VIRTIOFSD" --version 2>&1 | head -n1)"
echo
echo "| workload | vmm-virtiofsd | virtiofsd | vmm-virtiofsd / virtiofsd |"
echo "|---|---:|---:|---:|"
row() { printf '| %s | %s | %s | %s |\n' "$1" "${v[ours.$2]}" "${v[peer.$2]}" "$(ratio "${v[ours.$2]}" "${v[peer.$2]}")"; }
row "sequential write, $mib MiB (MB/s, fsync included)" write
row "sequential read, $mib MiB, cold guest cache (MB/s)" read
row "metadata: create, stat, unlink $files files (ops/s)" meta
row "  create (files/s)" create
row "  stat (files/s)" stat
row "  unlink (files/s)" unlink
