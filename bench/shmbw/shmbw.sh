#!/usr/bin/env bash
# Benchmark 3: guest access to shared memory.  The example vhost-user
# back-end maps a memfd of SIZE MiB read-write at offset 0 of its shared
# memory region 0; in the guest, shmem-bw times sequential reads and
# writes over that mapping and over guest RAM, interleaved, in one run,
# after checking that the mapping is write-back.  Prints Markdown tables.
# docs/benchmarks.md.
#
# Usage: shmbw.sh [-n PASSES] [-m MIB] (default 10 passes over 256 MiB).
# Use bench/run.sh (it puts this where /dev/kvm works).
set -euo pipefail
passes=10
mib=256
while getopts n:m: o; do
	case $o in
	n) passes=$OPTARG ;;
	m) mib=$OPTARG ;;
	*) exit 1 ;;
	esac
done
[[ $passes =~ ^[0-9]+$ && $passes -ge 1 && $passes -le 100 ]] ||
	{ echo "shmbw: -n wants 1 to 100 passes" >&2; exit 1; }
[[ $mib =~ ^[0-9]+$ && $mib -ge 1 ]] ||
	{ echo "shmbw: -m wants a size in MiB" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib/bench.sh
. "$here/../lib/bench.sh"
: "${VMM_GUEST_TIMEOUT:=1800}"	# the whole guest run, boot to power-off
export VMM_GUEST_TIMEOUT
# shellcheck source=../../guest-tests/lib/scenario.sh
. "$here/../../guest-tests/lib/scenario.sh"
# shellcheck source=../../guest-tests/lib/vhost.sh
. "$here/../../guest-tests/lib/vhost.sh"

# Everything but the tables goes to a log, shown only when a step fails.
log=$BENCH_TMP/shmbw.log
exec 5>&1 1> "$log"
# shellcheck disable=SC2317 # called by the trap
shmbw_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "--- shmbw: the run that failed:" >&2
		cat "$log" >&2
	fi
	scen_cleanup
	rm -rf "$BENCH_TMP"
	exit "$rc"
}
trap shmbw_exit EXIT

seed=7
bytes=$((mib << 20))
# Room for the two RAM buffers, the kernel and the initramfs.
guest_mib=$((2 * mib + 512))
backend bw --shm "0:${mib}M"
start_guest shmbw "vmmtest=shmbw shmbw.mib=$mib shmbw.passes=$passes shmbw.seed=$seed" \
	--memory "${guest_mib}M" --cpus 1 \
	--vhost-user "socket=$SCEN_TMP/bw.sock,virtio-id=63,name=bw"
wait_connected bw 300
# The back-end fills the memfd with its pattern, then sends SHMEM_MAP.
map_ok bw 0 0 "$bytes" "$seed" rw
wait_out '^VMMTEST: ready' 600
to_guest go
end_guest
expect_status 0 "guest powered off"
expect_out '^VMMTEST: shmbw memtype 0x[0-9a-f]+-0x[0-9a-f]+ write-back$' \
	"the shm mapping is write-back (PAT memtype list)"
expect_out '^VMMTEST: shmbw pattern ok$' "the guest reads the back-end's memfd"
expect_out '^VMMTEST: scenario shmbw exit 0$' "shmem-bw finished"

# bw BUF read MED BEST write MED BEST touch-ms T huge-kib K
declare -A rmed rbest wmed wbest touch huge
for b in shm ram ram4k; do
	line=$(guest_value "shmbw bw $b")
	read -r _ rmed[$b] rbest[$b] _ wmed[$b] wbest[$b] _ touch[$b] _ huge[$b] <<< "$line"
	[ -n "${huge[$b]}" ] || fail "no bandwidth line for $b"
done
memtype=$(guest_value "shmbw memtype")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# Guest RAM and the back-end's region are both memfds (shmem) on the host:
# whether the host backs them with huge pages is this one setting.
host_thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' \
	/sys/kernel/mm/transparent_hugepage/shmem_enabled 2> /dev/null || true)

exec 1>&5
bench_machine
echo "shmbw: $mib MiB per buffer, $passes pass(es) of read then write over each, buffers interleaved;" \
	"guest 1 vCPU, $guest_mib MiB; shm mapping memtype $memtype; host shmem THP: ${host_thp:-unknown}"
echo
echo "| buffer | read median (MB/s) | read best (MB/s) | write median (MB/s) | write best (MB/s) | first touch (ms) | guest huge pages (MiB) | shm / this, read | shm / this, write |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for b in shm ram ram4k; do
	case $b in
	shm) label="shm region (\`/dev/mem\`, write-back)" ;;
	ram) label="guest RAM" ;;
	ram4k) label="guest RAM, 4 KiB pages" ;;
	esac
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" \
		"${rmed[$b]}" "${rbest[$b]}" "${wmed[$b]}" "${wbest[$b]}" \
		"${touch[$b]}" $((huge[$b] / 1024)) \
		"$(ratio "${rmed[shm]}" "${rmed[$b]}")" "$(ratio "${wmed[shm]}" "${wmed[$b]}")"
done
