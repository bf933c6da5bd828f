#!/usr/bin/env bash
# Build the libFuzzer targets with clang, run each for a bounded time, then
# prove each reached what it is there to test.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Each target runs from its corpus in BUILD/corpus/NAME plus, when there is
# one, the seeds in */fuzz/corpus/NAME/ (read only). Afterwards the corpus is
# replayed once through a second build of the targets with clang's
# source-based coverage (-fprofile-instr-generate), and every function
# named on the target source's "fuzz-reach:" line must have run at least
# once: a target whose inputs never get past an early check fails here
# instead of reporting a clean run. The report gives, per target, the
# executions and the run count of each of those functions.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${BUILD_DIR:-build-fuzz}
cov=${COV_BUILD_DIR:-$build-cov}

profdata=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
[ -n "$profdata" ] ||
	{ echo "fuzz: llvm-profdata not found (Debian package llvm)" >&2; exit 1; }

configure() {	# DIR [cmake args...]
	local dir=$1
	shift
	CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVMM_WERROR=ON -DVMM_FUZZ=ON -DVMM_TESTS=OFF -DVMM_GUEST_TESTS=OFF \
		-DVMM_BENCH=OFF "$@" > "$dir/configure.log" 2>&1 ||
		{ cat "$dir/configure.log" >&2; return 1; }
}
mkdir -p "$build" "$cov"
configure "$build"
configure "$cov" -DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
	-DCMAKE_EXE_LINKER_FLAGS=-fprofile-instr-generate
cmake --build "$build" -j"$(nproc)"
cmake --build "$cov" -j"$(nproc)" > "$cov/build.log" 2>&1 ||
	{ tail -n 30 "$cov/build.log" >&2; exit 1; }

mapfile -t targets < <(find "$build" -type f -executable -name 'fuzz_*' | sort)
if [ "${#targets[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets were built" >&2
	exit 1
fi

# reach NAME PROFDATA FUNCTIONS...: print each function's run count; fail
# if one never ran. Static functions appear as FILE:NAME in the profile.
reach() {
	local name=$1 data=$2
	shift 2
	"$profdata" show --all-functions --counts "$data" 2>/dev/null |
	awk -v want="$*" -v name="$name" '
		BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) count[w[i]] = -1 }
		/^  [^ ].*:$/ {
			f = substr($0, 3, length($0) - 3)
			sub(/^.*:/, "", f)
			cur = f
		}
		/^    Function count: / {
			if (cur in count) count[cur] += $3 + (count[cur] < 0)
		}
		END {
			bad = 0; line = ""
			for (i = 1; i <= n; i++) {
				c = count[w[i]]
				line = line " " w[i] "=" (c < 0 ? "absent" : c)
				if (c <= 0) bad = 1
			}
			print "fuzz: " name " reached:" line
			exit bad
		}'
}

fail=0
for t in "${targets[@]}"; do
	name=$(basename "$t")
	corpus="$build/corpus/$name"
	log="$build/$name.log"
	src=$(find . -path ./build\* -prune -o -path "*/fuzz/$name.c" -print | head -n 1)
	seeds=$(find . -path ./build\* -prune -o -type d -path "*/fuzz/corpus/$name" -print | head -n 1)
	dirs=("$corpus")
	[ -z "$seeds" ] || dirs+=("$seeds")
	mkdir -p "$corpus"
	echo "fuzz: $name for ${secs}s (log: $log${seeds:+; seeds: $seeds})"
	if "$t" -max_total_time="$secs" -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $name: /"
	else
		echo "fuzz: $name FAILED; the end of its log:" >&2
		tail -n 60 "$log" >&2
		fail=1
		continue
	fi

	# What must have been reached, from the target's own source.
	[ -n "$src" ] || { echo "fuzz: no source found for $name" >&2; fail=1; continue; }
	want=$(sed -n 's/^.*fuzz-reach: *//p' "$src" | head -n 1)
	if [ -z "$want" ]; then
		echo "fuzz: $src has no 'fuzz-reach:' line naming what $name must reach" >&2
		fail=1
		continue
	fi
	rm -f "$cov/$name".prof*
	if ! LLVM_PROFILE_FILE="$cov/$name.profraw" "$cov/$(realpath --relative-to="$build" "$t")" \
		-runs=0 "${dirs[@]}" > "$cov/$name.replay.log" 2>&1; then
		echo "fuzz: replaying $name's corpus with coverage failed:" >&2
		tail -n 30 "$cov/$name.replay.log" >&2
		fail=1
		continue
	fi
	"$profdata" merge -sparse -o "$cov/$name.profdata" "$cov/$name.profraw"
	# shellcheck disable=SC2086 # one word per function
	if ! reach "$name" "$cov/$name.profdata" $want; then
		echo "fuzz: $name never reached a function it exists to test (count 0 or absent above)" >&2
		fail=1
	fi
done
exit "$fail"
