#!/usr/bin/env bash
# Benchmark 5: start-up.  Time from just before execve() to the VMM's first
# KVM_RUN ioctl (any vCPU), recorded by the LD_PRELOAD shim, which then
# ends the process; vmm, QEMU microvm and kvmtool interleaved.  Also each
# VMM's binary size.  Prints Markdown tables.  docs/benchmarks.md.
#
# Usage: startup.sh [-n RUNS] (default 20).  Use bench/run.sh.
set -euo pipefail
. "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_runs 20 "$@")

declare -A first=()

# one_start PEER: exec it under the shim, which exits (status 99) at the
# first KVM_RUN after logging the time since exec.
one_start() {
	local peer=$1 res st ns log=$BENCH_TMP/$1.shim err=$BENCH_TMP/$1.err
	rm -f "$log"
	bench_cmd "$peer" ""
	res=$(VMM_BENCH_SHIM_LOG=$log VMM_BENCH_EXIT_AT_RUN=1 LD_PRELOAD=$BENCH_SHIM \
		"$BENCH_EXEC" -t 300 -e "$err" -- "${BENCH_CMD[@]}")
	read -r _ _ _ st <<< "$res"
	ns=$(sed -n 's/^first_kvm_run_ns //p' "$log" 2>/dev/null)
	if [ "$st" != 99 ] || [ -z "$ns" ]; then
		tail -n 20 "$err" >&2
		bench_die "$(bench_label "$peer") did not reach KVM_RUN under the shim (exit status $st)"
	fi
	first[$peer]="${first[$peer]:-} $ns"
}

bench_interleaved "$runs" one_start

bench_machine
echo "start-up: exec to first KVM_RUN, $runs runs per VMM, interleaved"
echo
bench_time_table first

# Binary size: the file as built/installed, stripped, and its loaded
# sections (size(1): text + data + bss); shared libraries it needs.
echo
echo "| VMM | binary | file (KiB) | stripped (KiB) | text+data+bss (KiB) | shared libraries |"
echo "|---|---|---:|---:|---:|---:|"
for p in "${BENCH_PEERS[@]}"; do
	bin=$(readlink -f "$(bench_binary "$p")")
	strip -o "$BENCH_TMP/stripped" "$bin"
	sz=$(size -d "$bin" | awk 'NR == 2 { print $4 }')
	libs=$(readelf -d "$bin" | grep -c '(NEEDED)' || true)
	printf '| %s | `%s` | %d | %d | %d | %d |\n' "$(bench_label "$p")" "$bin" \
		$(( $(stat -c %s "$bin") / 1024 )) \
		$(( $(stat -c %s "$BENCH_TMP/stripped") / 1024 )) $((sz / 1024)) "$libs"
done
bench_missing_rows " | | | | |"
