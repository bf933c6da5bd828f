#!/usr/bin/env bash
# Benchmark 2: footprint.  The VMM's own memory while its guest idles at a
# shell: /proc/PID/smaps summed over every mapping that is not guest memory
# (guest memory = any mapping overlapping a range the VMM registered with
# KVM_SET_USER_MEMORY_REGION, as the LD_PRELOAD shim recorded; the shim's
# own mappings are left out).  vmm, QEMU microvm and kvmtool, interleaved.
# Prints a Markdown table of medians.  docs/benchmarks.md.
#
# Usage: footprint.sh [-n RUNS] (default 1).  Use bench/run.sh.
set -euo pipefail
. "$(dirname "$0")/../lib/bench.sh"
runs=$(bench_runs 1 "$@")

declare -A pss=() rss=() priv=() grss=()

# The pid bench-exec started (its only child).
child_of() {
	local c
	for _ in $(seq 100); do
		read -r c _ < "/proc/$1/task/$1/children" 2>/dev/null || true
		[ -n "${c:-}" ] && { echo "$c"; return 0; }
		sleep 0.1
	done
	return 1
}

# Waits until the guest's shell is up and the console has been quiet 2 s.
wait_idle() {
	local out=$1 pid=$2 size=-1 quiet=0
	for _ in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || return 1
		if grep -q '^VMMTEST: shell' "$out"; then
			if [ "$(stat -c %s "$out")" = "$size" ]; then
				quiet=$((quiet + 1))
				[ $quiet -ge 4 ] && return 0
			else
				quiet=0
				size=$(stat -c %s "$out")
			fi
		fi
		sleep 0.5
	done
	return 1
}

one_footprint() {
	local peer=$1 d=$BENCH_TMP/$1 bpid pid res k
	local -a f
	rm -rf "$d" && mkdir -p "$d"
	mkfifo "$d/in"
	exec 3<> "$d/in"
	bench_cmd "$peer" "vmmtest=shell vmmtest.marker=0"
	VMM_BENCH_SHIM_LOG=$d/shim LD_PRELOAD=$BENCH_SHIM "$BENCH_EXEC" -t 600 \
		-i "$d/in" -o "$d/out" -e "$d/err" -- "${BENCH_CMD[@]}" > "$d/res" &
	bpid=$!
	pid=$(child_of "$bpid") || bench_die "$(bench_label "$peer") did not start"
	if ! wait_idle "$d/out" "$pid"; then
		tail -n 20 "$d/out" "$d/err" >&2
		bench_die "$(bench_label "$peer"): the guest's shell did not come up"
	fi
	res=$("$BENCH_SMAPS" "$pid" "$d/shim" "$BENCH_SHIM")
	# The same end for every VMM: SIGTERM (kvmtool did not pass a typed
	# "exit" from a pipe on to the guest's shell).  It must be gone in 30 s.
	kill -TERM "$pid"
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && bench_die "$(bench_label "$peer") ignored SIGTERM for 30 s"
	wait "$bpid" || true
	exec 3>&-
	read -ra f <<< "$res"
	for ((k = 0; k < ${#f[@]}; k += 2)); do
		case ${f[k]} in
		own_rss) rss[$peer]="${rss[$peer]:-} ${f[k + 1]}" ;;
		own_pss) pss[$peer]="${pss[$peer]:-} ${f[k + 1]}" ;;
		own_private) priv[$peer]="${priv[$peer]:-} ${f[k + 1]}" ;;
		guest_rss) grss[$peer]="${grss[$peer]:-} ${f[k + 1]}" ;;
		esac
	done
}

bench_interleaved "$runs" one_footprint

bench_machine
echo "footprint: guest idle at a shell, medians of $runs runs per VMM; own = every mapping except guest memory"
echo
echo "| VMM | own PSS (MiB) | own RSS (MiB) | own private (MiB) | guest RAM resident (MiB) | vmm / this (PSS) |"
echo "|---|---:|---:|---:|---:|---:|"
# shellcheck disable=SC2086
vmm_pss=$(bench_median ${pss[vmm]})
for p in "${BENCH_PEERS[@]}"; do
	# shellcheck disable=SC2086
	printf '| %s | %s | %s | %s | %s | %s |\n' "$(bench_label "$p")" \
		"$(bench_mib "$(bench_median ${pss[$p]})")" \
		"$(bench_mib "$(bench_median ${rss[$p]})")" \
		"$(bench_mib "$(bench_median ${priv[$p]})")" \
		"$(bench_mib "$(bench_median ${grss[$p]})")" \
		"$(bench_ratio "$vmm_pss" "$(bench_median ${pss[$p]})")"
done
bench_missing_rows " | | | | |"
