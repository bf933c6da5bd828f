#!/usr/bin/env bash
# Boot profile: where a boot's time goes.  Each VMM boots the reference
# guest once (init powers off at once) under the exit-profile LD_PRELOAD
# library, which counts its vCPU's KVM exits by kind and splits the time
# into "in KVM_RUN" (the guest running, plus the kernel's exit handling)
# and "in the VMM" (user space between two KVM_RUNs).  Prints a summary
# table and each VMM's busiest exit kinds.  docs/benchmarks.md.
#
# Usage: profile.sh [-n RUNS] (default 1).  Use bench/run.sh.
set -euo pipefail
# The same VMMs and kernels as the boot benchmark.
# shellcheck disable=SC2034 # read by bench.sh
BENCH_DEFAULT_PEERS="vmm-pvh vmm qemu qemu-tuned qemu-pvh qemu-tuned-pvh kvmtool"
. "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_runs 1 "$@")

profile_so=$VMM_BUILD_DIR/bench/libvmm-exit-profile.so
[ -e "$profile_so" ] || bench_die "$profile_so is missing (build the project first)"

declare -A summary=()

# one_profile PEER RUN: boots it once under the profile.
one_profile() {
	local peer=$1 r=$2 res ns st out=$BENCH_TMP/$1.out err=$BENCH_TMP/$1.err
	local prof=$BENCH_TMP/$1.$2.prof
	bench_cmd "$peer" ""
	res=$(VMM_EXIT_PROFILE=$prof LD_PRELOAD=$profile_so \
		"$BENCH_EXEC" -t 300 -o "$out" -e "$err" -- "${BENCH_CMD[@]}")
	read -r _ ns _ st <<< "$res"
	if [ "$st" != 0 ] || ! grep -q '^VMMTEST: init ok' "$out"; then
		tail -n 20 "$out" "$err" >&2
		bench_die "$(bench_label "$peer") did not boot the guest to its init and exit 0"
	fi
	if [ ! -s "$prof" ]; then
		summary[$peer]+="| $(bench_label "$peer") (run $r) | $(bench_ms "$ns") | no profile: the library was not loaded | | |"$'\n'
		return
	fi
	summary[$peer]+="$(awk -v name="$(bench_label "$peer") (run $r)" -v wall="$(bench_ms "$ns")" \
		'/^total:/ { printf "| %s | %s | %s | %s | %s |\n", name, wall, $2, $4, $8 }' "$prof")"$'\n'
}

bench_interleaved "$runs" one_profile

bench_machine
echo "boot profile: $runs run(s) per VMM; guest cmdline \"$BENCH_CMDLINE\""
echo
echo "| VMM | wall (ms) | vCPU exits | in KVM_RUN (s) | in the VMM (s) |"
echo "|---|---:|---:|---:|---:|"
for p in "${BENCH_PEERS[@]}"; do
	printf '%s' "${summary[$p]}"
done
bench_missing_rows " | | | |"
for p in "${BENCH_PEERS[@]}"; do
	f=$BENCH_TMP/$p.1.prof
	[ -s "$f" ] || continue
	echo
	echo "$(bench_label "$p"), run 1, busiest exit kinds (\"in run\": time in KVM_RUN that ended in this exit):"
	echo
	echo '```'
	sed -n '2,12p' "$f"
	echo '```'
done
