#!/usr/bin/env bash
# Run the benchmarks where /dev/kvm works, through the guest-tests KVM
# runner (direct KVM when the host's runs guests natively, else the outer
# VM), and print their tables.  docs/benchmarks.md.
#
# Usage: bench/run.sh [--outer] BUILD_DIR [-n N] [boot|footprint|startup|profile|shmbw|mapcost|virtiofs|all]...
#
#   BUILD_DIR  a configured and built tree (targets vmm, bench-exec,
#              bench-smaps, bench-kvm-shim, bench-exit-profile, kvm-probe)
#   -n N       for every benchmark chosen: runs per VMM (defaults: boot 10,
#              footprint 1, startup 20, profile 1), rounds for shmbw (20),
#              iterations per cell for mapcost (1000), rounds for
#              virtiofs (2)
#   --outer    force the outer VM (guest-tests/runner/with-kvm.sh --outer)
#
# Peers: QEMU from PATH (VMM_BENCH_QEMU=path|none), kvmtool from
# VMM_BENCH_KVMTOOL (a built checkout or its lkvm binary; unset: "not
# measured").  VMM_BENCH_PEERS limits the set (bench/lib/bench.sh lists
# the names: vmm and QEMU with the bzImage or the vmlinux, QEMU as it comes
# or tuned, kvmtool).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
outer=()
if [ "${1:-}" = --outer ]; then
	outer=(--outer)
	shift
fi
[ $# -ge 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 1; }
build=$(cd "$1" && pwd)
shift
nargs=()
if [ "${1:-}" = -n ]; then
	nargs=(-n "$2")
	shift 2
fi
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(all)
[ "${which[0]}" = all ] && which=(boot footprint startup profile shmbw mapcost virtiofs)

cmds=
for b in "${which[@]}"; do
	case $b in
	boot|footprint|startup|profile|shmbw|mapcost|virtiofs) ;;
	*) echo "bench/run.sh: unknown benchmark $b" >&2; exit 1 ;;
	esac
	cmds+=$(printf ' && bash %q %s' "$here/$b/$b.sh" "${nargs[*]}")
done

export VMM=$build/vmm/vmm VMM_BUILD_DIR=$build
exec "$src/guest-tests/runner/with-kvm.sh" "${outer[@]}" "$build" --timeout 3600 -- \
	bash -c "echo \"kvm: \$(uname -r) \$(nproc) CPUs\"$cmds"
