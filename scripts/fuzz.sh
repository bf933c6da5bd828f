#!/usr/bin/env bash
# Build the libFuzzer targets with clang and run each for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=${BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMM_WERROR=ON \
      -DVMM_FUZZ=ON -DVMM_TESTS=OFF -DVMM_GUEST_TESTS=OFF -DVMM_BENCH=OFF
cmake --build "$build" -j"$(nproc)"
mapfile -t targets < <(find "$build" -type f -executable -name 'fuzz_*' | sort)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz: no fuzz targets were built" >&2
  exit 1
fi
fail=0
for t in "${targets[@]}"; do
  name=$(basename "$t")
  corpus="$build/corpus/$name"
  log="$build/$name.log"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${secs}s (log: $log)"
  if "$t" -max_total_time="$secs" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $name: /"
  else
    echo "fuzz: $name FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    fail=1
  fi
done
exit "$fail"
