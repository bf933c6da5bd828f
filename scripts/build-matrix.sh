#!/usr/bin/env bash
# The builds a packager would try, each with warnings as errors: Release,
# Debug and RelWithDebInfo with gcc and clang (gcc RelWithDebInfo is the
# test build of scripts/test.sh and is skipped here unless asked for).
# Tests are compiled, not run. Usage: scripts/build-matrix.sh [--all]
set -euo pipefail
cd "$(dirname "$0")/.."
root=${BUILD_DIR:-build-matrix}
combos=(gcc:Release gcc:Debug clang:Release clang:Debug clang:RelWithDebInfo)
[ "${1:-}" = --all ] && combos+=(gcc:RelWithDebInfo)
mkdir -p "$root"
for c in "${combos[@]}"; do
	cc=${c%%:*} type=${c#*:}
	dir=$root/$cc-$type
	start=$(date +%s)
	CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DVMM_WERROR=ON \
		-DVMM_GUEST_TESTS=OFF > "$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; echo "build-matrix: $cc $type: configure failed" >&2; exit 1; }
	cmake --build "$dir" -j"$(nproc)" > "$dir.build.log" 2>&1 ||
		{ grep -E 'error|warning' "$dir.build.log" | head -40
		  echo "build-matrix: $cc $type: build failed (log: $dir.build.log)" >&2; exit 1; }
	echo "build-matrix: $cc $type: ok ($(( $(date +%s) - start )) s)"
done
