#!/usr/bin/env bash
# Build the unit tests with ThreadSanitizer and run them (label unit; the
# three that cannot run under it are named below).
# Criterion needs a small helper under ThreadSanitizer: see
# scripts/tsan/criterion-arena.c, linked into every executable of this build.
# Usage: scripts/test-tsan.sh [--build-only]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-tsan}
build_only=0
[ "${1:-}" != --build-only ] || build_only=1
mkdir -p "$build"
build=$(cd "$build" && pwd)
cc=${CC:-cc}
"$cc" -c -O2 -fPIC -Wall -Wextra -Werror -o "$build/criterion-arena.o" \
	scripts/tsan/criterion-arena.c
# -Wno-tsan: GCC warns that ThreadSanitizer does not model a standalone
# atomic_thread_fence (the back-end library's notify has one); the
# accesses around it are atomics, which it does model.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMM_WERROR=ON \
      -DVMM_GUEST_TESTS=OFF -DVMM_BENCH=OFF \
      -DCMAKE_C_FLAGS="-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread $build/criterion-arena.o -ldl"
cmake --build "$build" -j"$(nproc)"
[ "$build_only" = 0 ] || exit 0
# Left out, because ThreadSanitizer's own shadow mappings change what they
# check and they run one thread: shmem_region and shmem_scale compare the
# whole /proc/self/maps before and after; vmm_install builds a consumer of
# the installed library without the sanitizer's runtime. All three run in
# the plain and the ASan/UBSan builds.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$build" --output-on-failure -L unit \
	-E '^(shmem_region|shmem_scale|vmm_install)$'
