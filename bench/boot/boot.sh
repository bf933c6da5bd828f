#!/usr/bin/env bash
# Benchmark 1: boot and exit.  Wall time from just before execve() to the
# VMM's exit, for a guest whose init prints its marker and powers off at
# once; vmm, QEMU microvm and kvmtool interleaved run by run (the order
# rotates), same kernel, initramfs, 1 vCPU, 256 MiB.  Also vmm's own
# boot-marker time.  Prints a Markdown table.  docs/benchmarks.md.
#
# Usage: boot.sh [-n RUNS] (default 10).  Runs where /dev/kvm works: use
# bench/run.sh, which goes through the guest-tests KVM runner.
set -euo pipefail
# QEMU twice: as it comes, and with the guest told there is no PCI, as vmm
# tells it, so that the same guest work is compared too.
# shellcheck disable=SC2034 # read by bench.sh
BENCH_DEFAULT_PEERS="vmm qemu qemu-nopci kvmtool"
. "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_runs 10 "$@")

declare -A wall=()
markers=()

# one_boot PEER: runs it once; appends its wall time (and vmm's marker).
one_boot() {
	local peer=$1 res ns st out=$BENCH_TMP/$1.out err=$BENCH_TMP/$1.err m
	bench_cmd "$peer" ""
	res=$("$BENCH_EXEC" -t 300 -o "$out" -e "$err" -- "${BENCH_CMD[@]}")
	read -r _ ns _ st <<< "$res"
	if [ "$st" != 0 ] || ! grep -q '^VMMTEST: init ok' "$out"; then
		echo "--- $(bench_label "$peer"): exit status $st; stdout, stderr:" >&2
		tail -n 20 "$out" "$err" >&2
		bench_die "$(bench_label "$peer") did not boot the guest to its init and exit 0"
	fi
	wall[$peer]="${wall[$peer]:-} $ns"
	if [ "$peer" = vmm ]; then
		m=$(sed -n 's/^vmm: boot marker: \([0-9.]*\) ms since start$/\1/p' "$err")
		[ -n "$m" ] || bench_die "vmm printed no boot marker line"
		markers+=("$(awk -v m="$m" 'BEGIN { printf "%.0f", m * 1e6 }')")
	fi
}

bench_interleaved "$runs" one_boot

bench_machine
echo "boot + exit: $runs runs per VMM, interleaved; guest cmdline \"$BENCH_CMDLINE\""
echo
bench_time_table wall
med=$(bench_median "${markers[@]}")
printf '| vmm boot marker (init started) | %s | %s | %s | |\n' "$(bench_ms "$med")" \
	"$(bench_ms "$(bench_min "${markers[@]}")")" "$(bench_ms "$(bench_max "${markers[@]}")")"
