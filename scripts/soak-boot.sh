#!/usr/bin/env bash
# Boot soak: many short boots of the reference guest, to count how often a
# boot fails and to record, for each failure, where the guest was. Not part
# of CI (200 boots per configuration take hours under the outer VM).
#
# Usage: scripts/soak-boot.sh [-n BOOTS] [-c "CONFIGS"] [-o OUTDIR] [--direct] [BUILD]
#   -n BOOTS     boots per configuration (default 200)
#   -c CONFIGS   from vmm-dev, vmm, qemu (default all three; see
#                scripts/soak/one-boot.sh): vmm with the example vhost-user
#                back-end mapping from the start, vmm alone, QEMU microvm
#   -o OUTDIR    default BUILD/soak/DATE (inside BUILD: the outer VM
#                writes there)
#   --direct     use the host's /dev/kvm if it runs guests at full speed;
#                by default the boots run in an outer VM (QEMU emulating
#                AMD SVM), the machine the early triple faults were seen on
#   BUILD        the build directory (default build; vmm, the example
#                back-end and the guest images must be built)
#
# Configurations take turns, boot by boot, so each sees the same machine.
# Each boot is one command through guest-tests/runner/run-in-kvm.sh; a boot
# whose outer VM stopped or wedged (status 75) is not counted as a boot of
# its configuration but as "outer VM lost", and the runner brings up a new
# outer VM for the next one. A failed boot also keeps what the outer
# kernel printed meanwhile (outer-console.txt); one whose runner gave up
# without an answer from the outer VM is counted apart ("runner gave
# up"). Results: OUTDIR/results.tsv (one line per boot),
# OUTDIR/boots/NNNN-CONFIG/ (kept in full for failures), and a table
# printed at the end (also OUTDIR/summary.md). Interrupting prints the
# table of the boots done so far.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
boots=200
configs="vmm-dev vmm qemu"
out=
outer=(--outer)
while [ $# -gt 0 ]; do
	case $1 in
	-n) boots=$2; shift 2 ;;
	-c) configs=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	--direct) outer=(); shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "soak: unknown option $1" >&2; exit 1 ;;
	*) break ;;
	esac
done
build=$(cd "${1:-build}" && pwd)
out=${out:-$build/soak/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out/boots"
out=$(cd "$out" && pwd)
case $out/ in
"$build"/*) ;;
*) [ "${#outer[@]}" -eq 0 ] ||
	{ echo "soak: OUTDIR must be inside $build: only the build tree is writable in the outer VM" >&2; exit 1; } ;;
esac
read -r -a cfgs <<< "$configs"
for c in "${cfgs[@]}"; do
	case $c in vmm-dev|vmm|qemu) ;; *) echo "soak: unknown configuration $c" >&2; exit 1 ;; esac
done
for f in vmm/vmm vhost/vhost-user-shmem-example guest-tests/libvmm-soak-trace.so \
	 guest-tests/kvm-probe; do
	[ -e "$build/$f" ] || { echo "soak: $build/$f is not built" >&2; exit 1; }
done

gt=$build/guest-tests
state=$gt/kvm-soak
ctest --test-dir "$build" -R '^guest\.images$' --output-on-failure > "$out/images.log" 2>&1 ||
	{ cat "$out/images.log" >&2; exit 1; }
"$src/guest-tests/runner/kvm-env.sh" up "$state" --images "$gt/images" --rw "$build" \
	--probe "$gt/kvm-probe" "${outer[@]}" | tee "$out/kvm-env.log"
cat "$state/mode" > "$out/mode"
{
	echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "host $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "mode $(cat "$state/mode")"
	echo "boots per configuration $boots; configurations ${cfgs[*]}"
} > "$out/about.txt"

summary() {
	local c
	{
		echo "Soak of $(sed -n 's/^date //p' "$out/about.txt"), $(sed -n 's/^mode //p' "$out/about.txt") KVM, commit $(sed -n 's/^commit //p' "$out/about.txt")"
		echo
		echo "| configuration | boots | failures | per 100 boots | early exit 4 | hangs | runner gave up | other failures | outer VM lost |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		for c in "${cfgs[@]}"; do
			awk -F'\t' -v c="$c" '
				$2 == c && $3 == "lost" { lost++; next }
				$2 == c { n++ }
				$2 == c && $3 == "fail" {
					f++
					if ($5 ~ /exit status 4/ && $5 ~ /no init line/) e4++
					else if ($5 ~ /hang/) h++
					else if ($5 ~ /runner status/) g++
					else o++
				}
				END {
					printf "| %s | %d | %d | %.1f | %d | %d | %d | %d | %d |\n",
						c, n, f, n ? 100 * f / n : 0, e4, h, g, o, lost
				}' "$out/results.tsv"
		done
		echo
		echo "Failures (boot, configuration, what was seen; files in boots/):"
		awk -F'\t' '$3 == "fail" { printf "- %s %s: %s\n", $1, $2, $5 }' "$out/results.tsv"
	} > "$out/summary.md"
	cat "$out/summary.md"
}

stop() {
	echo "soak: interrupted; boots so far:"
	summary
	"$src/guest-tests/runner/kvm-env.sh" down "$state" > /dev/null 2>&1 || true
	exit 130
}
trap stop INT TERM

: > "$out/results.tsv"
n=${#cfgs[@]}
for i in $(seq 1 "$boots"); do
	for k in $(seq 0 $((n - 1))); do
		c=${cfgs[$(( (i + k) % n ))]}
		dir=$out/boots/$(printf '%04d' "$i")-$c
		console=$state/console.log
		[ -f "$state/link" ] && console=$(cat "$state/link")/console.log
		con0=$(stat -c %s "$console" 2>/dev/null || echo 0)
		rc=0
		line=$("$src/guest-tests/runner/run-in-kvm.sh" "$state" --timeout 300 -- \
			env VMM="$build/vmm/vmm" VMM_GUEST_IMAGES="$gt/images" \
			VMM_BUILD_DIR="$build" \
			bash "$src/scripts/soak/one-boot.sh" "$c" "$dir" 2> "$dir.runner.err") || rc=$?
		case $rc in
		0) result=pass ;;
		75) result=lost; line="soak: $c lost: $(grep -m1 'OUTER VM LOST' "$dir.runner.err")" ;;
		*) result=fail ;;
		esac
		[ "$result" = fail ] && [ -z "$line" ] && line="soak: $c fail: runner status $rc: $(tail -n 1 "$dir.runner.err")"
		[ -s "$dir.runner.err" ] || rm -f "$dir.runner.err"
		# What the outer kernel said meanwhile (its console; a restart
		# moved it to console.log.old).
		if [ "$result" != pass ]; then
			mkdir -p "$dir"
			if [ "$(stat -c %s "$console" 2>/dev/null || echo 0)" -ge "$con0" ]; then
				tail -c +"$((con0 + 1))" "$console"
			else
				tail -c +"$((con0 + 1))" "$console.old"
			fi 2>/dev/null | tr -d '\r' > "$dir/outer-console.txt"
		fi
		detail=${line#soak: "$c" }
		printf '%d\t%s\t%s\t%s\t%s\n' "$i" "$c" "$result" "$rc" "${detail#* }" >> "$out/results.tsv"
		echo "soak: $(printf '%4d' "$i")/$boots $line"
		# A passed boot keeps only its result and exits summary.
		[ "$result" != pass ] || rm -f "$dir/serial.txt" "$dir/vmm.err" "$dir/maps.log" \
			"$dir/backend.log"
	done
done
summary
"$src/guest-tests/runner/kvm-env.sh" down "$state" || true
