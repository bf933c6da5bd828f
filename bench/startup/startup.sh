#!/usr/bin/env bash
# Benchmark 5: start-up.  Time from just before execve() to the VMM's first
# KVM_RUN ioctl (any vCPU), recorded by the LD_PRELOAD shim, which then
# ends the process; vmm, QEMU microvm and kvmtool interleaved.  Also each
# VMM's binary size.  Prints Markdown tables.  docs/benchmarks.md.
#
# Then, when vmm-pvh is among the peers, the start-up profile of vmm
# booting the vmlinux: min(RUNS, 5) whole boots under the shim's trace,
# split at the steps of building the VM, the first KVM_RUN, the start of
# the guest kernel's clock and init.
#
# Usage: startup.sh [-n RUNS] (default 20).  Use bench/run.sh.
set -euo pipefail
# shellcheck disable=SC2034 # read by bench.sh
BENCH_DEFAULT_PEERS="vmm-pvh vmm qemu kvmtool"
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
	# vmm-pvh runs the same binary as vmm.
	[ "$p" != vmm-pvh ] || [[ " ${BENCH_PEERS[*]} " != *" vmm "* ]] || continue
	bin=$(readlink -f "$(bench_binary "$p")")
	strip -o "$BENCH_TMP/stripped" "$bin"
	sz=$(size -d "$bin" | awk 'NR == 2 { print $4 }')
	libs=$(readelf -d "$bin" | grep -c '(NEEDED)' || true)
	printf '| %s | `%s` | %d | %d | %d | %d |\n' "$(bench_label "$p")" "$bin" \
		$(( $(stat -c %s "$bin") / 1024 )) \
		$(( $(stat -c %s "$BENCH_TMP/stripped") / 1024 )) $((sz / 1024)) "$libs"
done
bench_missing_rows " | | | | |"

[[ " ${BENCH_PEERS[*]} " == *" vmm-pvh "* ]] || exit 0

# The start-up profile: vmm with the vmlinux, booted to init and powered
# off under the shim's trace.  Each step's time is taken from the previous
# one; "main" is taken as the shim's load (nothing of vmm runs before it),
# the guest kernel's clock start as main + boot marker - guest clock.
prof_runs=$((runs < 5 ? runs : 5))
steps=(loaded KVM_CREATE_VM KVM_SET_USER_MEMORY_REGION KVM_CREATE_VCPU KVM_SET_REGS run clock init exit)
declare -A at=()
for ((r = 1; r <= prof_runs; r++)); do
	log=$BENCH_TMP/trace.$r out=$BENCH_TMP/trace.out err=$BENCH_TMP/trace.err
	bench_cmd vmm-pvh "vmmtest.clock=1"
	res=$(VMM_BENCH_SHIM_LOG=$log VMM_BENCH_SHIM_TRACE=1 LD_PRELOAD=$BENCH_SHIM \
		"$BENCH_EXEC" -t 300 -o "$out" -e "$err" -- "${BENCH_CMD[@]}")
	read -r _ wall _ st <<< "$res"
	if [ "$st" != 0 ] || ! grep -q '^VMMTEST: init ok' "$out"; then
		tail -n 20 "$out" "$err" >&2
		bench_die "vmm (vmlinux) did not boot to init under the shim's trace (exit status $st)"
	fi
	m=$(sed -n 's/^vmm: boot marker: \([0-9.]*\) ms since start$/\1/p' "$err")
	c=$(tr -d '\r' < "$out" | sed -n 's/^VMMTEST: clock \([0-9.]*\)$/\1/p' | head -n1)
	[ -n "$m" ] && [ -n "$c" ] || bench_die "no boot marker or guest clock line"
	# The last of each step (vmm registers RAM in up to two slots).
	for s in loaded KVM_CREATE_VM KVM_SET_USER_MEMORY_REGION KVM_CREATE_VCPU KVM_SET_REGS; do
		v=$(awk -v s="$s" '$1 == "trace" && $2 == s { v = $3 } END { print v }' "$log")
		[ -n "$v" ] || bench_die "the shim's trace has no $s"
		at[$s]="${at[$s]:-} $v"
	done
	v=$(sed -n 's/^first_kvm_run_ns //p' "$log")
	at[run]="${at[run]:-} $v"
	main=$(awk '$2 == "loaded" { print $3 }' "$log")
	at[init]="${at[init]:-} $(awk -v a="$main" -v m="$m" 'BEGIN { printf "%.0f", a + m * 1e6 }')"
	at[clock]="${at[clock]:-} $(awk -v a="$main" -v m="$m" -v c="$c" 'BEGIN { printf "%.0f", a + m * 1e6 - c * 1e9 }')"
	at[exit]="${at[exit]:-} $wall"
done

label() {
	case $1 in
	loaded) echo "exec to vmm loaded (dynamic loader, libc)" ;;
	KVM_CREATE_VM) echo "to KVM_CREATE_VM (options; kernel headers read and checked; /dev/kvm opened, capabilities)" ;;
	KVM_SET_USER_MEMORY_REGION) echo "to guest RAM registered (irqchip, PIT, RAM mapped)" ;;
	KVM_CREATE_VCPU) echo "to KVM_CREATE_VCPU (kernel segments and initrd read into RAM, boot tables, ACPI, devices)" ;;
	KVM_SET_REGS) echo "to the boot vCPU's registers (CPUID, MSRs, LAPIC, PVH entry state)" ;;
	run) echo "to the first KVM_RUN (console, vCPU thread)" ;;
	clock) echo "to the guest kernel's clock starting (PVH entry to kvm-clock)" ;;
	init) echo "to init (the guest kernel's own clock)" ;;
	exit) echo "to vmm's exit (init's lines, power-off, teardown)" ;;
	esac
}

echo
echo "start-up profile: vmm, vmlinux (PVH); $prof_runs boot(s) to init and power-off under the shim's trace; medians of each step"
echo
echo "| step | median (ms) | min (ms) | max (ms) | at (ms, median) |"
echo "|---|---:|---:|---:|---:|"
# One awk for the whole table: every shell $(...) is a process, and in
# the outer VM each costs a good part of a second.
for s in "${steps[@]}"; do
	printf '%s\t%s\t%s\n' "$s" "$(label "$s")" "${at[$s]}"
done | awk -F'\t' '
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		n = split($3, cur, " ")
		for (r = 1; r <= n; r++) {
			d[r] = cur[r] - (NR > 1 ? prev[r] : 0)
			prev[r] = cur[r]
		}
		dm = med(d, n); lo = d[1]; hi = d[n]
		printf "| %s | %.1f | %.1f | %.1f | %.1f |\n", $2, dm / 1e6, lo / 1e6,
			hi / 1e6, med(cur, n) / 1e6
	}'
