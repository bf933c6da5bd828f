#!/usr/bin/env bash
# Benchmark 3: guest access to shared memory.  The example vhost-user
# back-end maps a memfd of SIZE MiB read-write at offset 0 of its shared
# memory region 0; in the guest, shmem-bw times sequential reads and
# writes over that mapping and over guest RAM, interleaved, in one run,
# after checking that the mapping is write-back.  Prints Markdown tables.
# docs/benchmarks.md.
#
# Usage: shmbw.sh [-n ROUNDS] [-m MIB] (default 20 rounds over 256 MiB; MIB
# even).
# Use bench/run.sh (it puts this where /dev/kvm works).
set -euo pipefail
passes=20
mib=256
while getopts n:m: o; do
	case $o in
	n) passes=$OPTARG ;;	# rounds: every buffer read, then written
	m) mib=$OPTARG ;;
	*) exit 1 ;;
	esac
done
[[ $passes =~ ^[0-9]+$ && $passes -ge 1 && $passes -le 100 ]] ||
	{ echo "shmbw: -n wants 1 to 100 rounds" >&2; exit 1; }
[[ $mib =~ ^[0-9]+$ && $mib -ge 2 && $((mib % 2)) -eq 0 ]] ||
	{ echo "shmbw: -m wants an even size in MiB (the buffers take turns every 2 MiB)" >&2; exit 1; }

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

# bw BUF read PMED PBEST CMED write PMED PBEST CMED touch-ms T huge-kib K
declare -A bw ratios
for b in shm ram ram4k; do
	bw[$b]=$(guest_value "shmbw bw $b")
	[ "$(wc -w <<< "${bw[$b]}")" -eq 12 ] || fail "no bandwidth line for $b"
done
# ratio shm/BUF read MED Q1 Q3 write MED Q1 Q3
for b in ram ram4k; do
	ratios[$b]=$(sed -n "s|^VMMTEST: shmbw ratio shm/$b ||p" "$OUT" | head -n1)
	[ "$(wc -w <<< "${ratios[$b]}")" -eq 8 ] || fail "no ratio line for $b"
done
memtype=$(guest_value "shmbw memtype")
# Guest RAM and the back-end's region are both memfds (shmem) on the host:
# whether the host backs them with huge pages is this one setting.
host_thp=$(sed -n 's/.*\[\(.*\)\].*/\1/p' \
	/sys/kernel/mm/transparent_hugepage/shmem_enabled 2> /dev/null || true)

label() {
	case $1 in
	shm) echo "shm region (\`/dev/mem\`, write-back)" ;;
	ram) echo "guest RAM" ;;
	ram4k) echo "guest RAM, 4 KiB pages" ;;
	esac
}

exec 1>&5
bench_machine
echo "shmbw: $mib MiB per buffer, $passes round(s) of reading then writing every buffer, the three taking turns every 2 MiB;" \
	"guest 1 vCPU, $guest_mib MiB; shm mapping memtype $memtype; host shmem THP: ${host_thp:-unknown}"
echo
echo "| buffer | read: pass median | pass best | 2 MiB median | write: pass median | pass best | 2 MiB median | first touch (ms) | guest huge pages (MiB) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for b in shm ram ram4k; do
	# shellcheck disable=SC2086 # the twelve words
	set -- ${bw[$b]}
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$b")" \
		"$2" "$3" "$4" "$6" "$7" "$8" "${10}" $((${12} / 1024))
done
echo
echo "Bandwidth in MB/s (10^6 bytes)."
echo
echo "| shm / this, same 2 MiB chunk and round | read median | read quartiles | write median | write quartiles |"
echo "|---|---:|---:|---:|---:|"
for b in ram ram4k; do
	# shellcheck disable=SC2086 # the eight words
	set -- ${ratios[$b]}
	printf '| %s | %s | %s-%s | %s | %s-%s |\n' "$(label "$b")" \
		"$2" "$3" "$4" "$6" "$7" "$8"
done
