#!/usr/bin/env bash
# Build the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DVMM_SANITIZE=ON -DVMM_WERROR=ON \
      -DVMM_GUEST_TESTS=OFF -DVMM_BENCH=OFF
cmake --build "$build" -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build" --output-on-failure -L unit
