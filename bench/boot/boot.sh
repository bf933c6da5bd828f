#!/usr/bin/env bash
# Benchmark 1: boot and exit.  Wall time from just before execve() to the
# VMM's exit, for a guest whose init prints its marker and powers off at
# once; every VMM interleaved run by run (the order rotates), same kernel
# package, initramfs, guest command line, 1 vCPU, 256 MiB.  Beside the wall
# time, the guest's own clock when its init started (the kernel's
# /proc/uptime, printed by init), so the table shows how much of a boot is
# the guest kernel's and how much is the VMM's and the decompressor's.
# Prints Markdown tables and the target ratios.  docs/benchmarks.md.
#
# Usage: boot.sh [-n RUNS] (default 10).  Runs where /dev/kvm works: use
# bench/run.sh, which goes through the guest-tests KVM runner.
set -euo pipefail
# vmm and QEMU with both kernels (the bzImage, and the same kernel as an
# uncompressed vmlinux entered through PVH), QEMU as it comes and tuned,
# kvmtool with the bzImage (it has no PVH entry).
# shellcheck disable=SC2034 # read by bench.sh
BENCH_DEFAULT_PEERS="vmm-pvh vmm qemu qemu-tuned qemu-pvh qemu-tuned-pvh kvmtool"
. "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_runs 10 "$@")

declare -A wall=() clock=() own=()
markers=()

# one_boot PEER: runs it once; appends its wall time, the guest's clock at
# init, their difference (and vmm's boot marker).
one_boot() {
	local peer=$1 res ns st out=$BENCH_TMP/$1.out err=$BENCH_TMP/$1.err m c cns
	bench_cmd "$peer" "vmmtest.clock=1"
	res=$("$BENCH_EXEC" -t 300 -o "$out" -e "$err" -- "${BENCH_CMD[@]}")
	read -r _ ns _ st <<< "$res"
	if [ "$st" != 0 ] || ! grep -q '^VMMTEST: init ok' "$out"; then
		echo "--- $(bench_label "$peer"): exit status $st; stdout, stderr:" >&2
		tail -n 20 "$out" "$err" >&2
		bench_die "$(bench_label "$peer") did not boot the guest to its init and exit 0"
	fi
	c=$(tr -d '\r' < "$out" | sed -n 's/^VMMTEST: clock \([0-9.]*\)$/\1/p' | head -n1)
	[ -n "$c" ] || bench_die "$(bench_label "$peer"): the guest printed no clock line"
	cns=$(awk -v c="$c" 'BEGIN { printf "%.0f", c * 1e9 }')
	wall[$peer]="${wall[$peer]:-} $ns"
	clock[$peer]="${clock[$peer]:-} $cns"
	own[$peer]="${own[$peer]:-} $((ns - cns))"
	if [ "$peer" = "$ref" ]; then
		m=$(sed -n 's/^vmm: boot marker: \([0-9.]*\) ms since start$/\1/p' "$err")
		[ -n "$m" ] || bench_die "vmm printed no boot marker line"
		markers+=("$(awk -v m="$m" 'BEGIN { printf "%.0f", m * 1e6 }')")
	fi
}

# The peer the ratios are taken against: vmm with the vmlinux if measured.
ref=vmm
[[ " ${BENCH_PEERS[*]} " == *" vmm-pvh "* ]] && ref=vmm-pvh

bench_interleaved "$runs" one_boot

med() {
	# shellcheck disable=SC2086
	bench_median $1
}

bench_machine
echo "boot + exit: $runs runs per VMM, interleaved; guest cmdline \"$BENCH_CMDLINE vmmtest.clock=1\""
echo
echo "| VMM | wall median (ms) | min (ms) | max (ms) | guest clock at init (ms) | wall - guest clock (ms) | share of wall | $(bench_label "$ref") / this |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
ref_med=$(med "${wall[$ref]}")
for p in "${BENCH_PEERS[@]}"; do
	w=$(med "${wall[$p]}")
	o=$(med "${own[$p]}")
	# shellcheck disable=SC2086
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(bench_label "$p")" \
		"$(bench_ms "$w")" "$(bench_ms "$(bench_min ${wall[$p]})")" \
		"$(bench_ms "$(bench_max ${wall[$p]})")" "$(bench_ms "$(med "${clock[$p]}")")" \
		"$(bench_ms "$o")" "$(awk -v a="$o" -v b="$w" 'BEGIN { printf "%.0f%%", 100 * a / b }')" \
		"$(bench_ratio "$ref_med" "$w")"
done
bench_missing_rows " | | | | | | |"
if [ ${#markers[@]} -gt 0 ]; then
	med_m=$(bench_median "${markers[@]}")
	printf '| %s boot marker (init started, from its main()) | %s | %s | %s | | | | |\n' \
		"$(bench_label "$ref")" "$(bench_ms "$med_m")" \
		"$(bench_ms "$(bench_min "${markers[@]}")")" "$(bench_ms "$(bench_max "${markers[@]}")")"
fi

# The targets: vmm with the vmlinux against QEMU's fastest configuration
# with the bzImage, and with the same vmlinux; vmm's own share.
fastest() {
	local p best= bestv=
	for p in "$@"; do
		[ -n "${wall[$p]:-}" ] || continue
		v=$(med "${wall[$p]}")
		if [ -z "$bestv" ] || [ "$v" -lt "$bestv" ]; then
			best=$p
			bestv=$v
		fi
	done
	echo "$best"
}
echo
if [ -n "${wall[vmm-pvh]:-}" ]; then
	qb=$(fastest qemu qemu-tuned)
	qv=$(fastest qemu-pvh qemu-tuned-pvh)
	[ -z "$qb" ] || echo "vmm (vmlinux) / fastest QEMU with the bzImage ($(bench_label "$qb")): $(bench_ratio "$ref_med" "$(med "${wall[$qb]}")") (target <= 0.30x)"
	[ -z "$qv" ] || echo "vmm (vmlinux) / fastest QEMU with the vmlinux ($(bench_label "$qv")): $(bench_ratio "$ref_med" "$(med "${wall[$qv]}")") (target <= 0.60x)"
	echo "vmm (vmlinux): wall - guest clock = $(bench_ms "$(med "${own[vmm-pvh]}")") ms, $(awk -v a="$(med "${own[vmm-pvh]}")" -v b="$ref_med" 'BEGIN { printf "%.1f%%", 100 * a / b }') of its wall time (target < 10%)"
fi
if [ -n "${wall[vmm]:-}" ] && [ -n "${wall[qemu]:-}" ]; then
	echo "vmm (bzImage) / QEMU microvm (bzImage), the same guest command line: $(bench_ratio "$(med "${wall[vmm]}")" "$(med "${wall[qemu]}")")"
fi
