#!/usr/bin/env bash
# Run one command where /dev/kvm works, outside ctest: builds the guest
# images (the guest.images test), brings up direct KVM or an outer VM,
# runs the command there, and tears the outer VM down again.
#
# Usage: with-kvm.sh [--outer] BUILD_DIR [--timeout S] -- COMMAND [ARGS...]
#
# Inside, VMM_GUEST_IMAGES names the image directory and VMM_BUILD_DIR the
# build tree (unless already set), as the benchmark scripts expect.  Example:
#   guest-tests/runner/with-kvm.sh build -- bash -c \
#     'build/vmm/vmm run --kernel $VMM_GUEST_IMAGES/bzImage \
#        --initrd $VMM_GUEST_IMAGES/initramfs.cpio.gz --cmdline console=ttyS0'
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
outer=()
if [ "${1:-}" = --outer ]; then
	outer=(--outer)
	shift
fi
[ $# -ge 3 ] || { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 1; }
build=$(cd "$1" && pwd)
shift
timeout_args=()
if [ "$1" = --timeout ]; then
	timeout_args=(--timeout "$2")
	shift 2
fi
[ "$1" = -- ] || { echo "with-kvm: expected -- before the command" >&2; exit 1; }
shift

gt=$build/guest-tests
state=$gt/kvm-adhoc
ctest --test-dir "$build" -R '^guest\.images$' --output-on-failure >&2
"$here/kvm-env.sh" up "$state" --images "$gt/images" --rw "$build" \
	--probe "$gt/kvm-probe" "${outer[@]}" >&2
rc=0
VMM_GUEST_IMAGES=$gt/images VMM_BUILD_DIR=${VMM_BUILD_DIR:-$build} \
	"$here/run-in-kvm.sh" "$state" "${timeout_args[@]}" -- "$@" || rc=$?
"$here/kvm-env.sh" down "$state" >&2 || true
exit "$rc"
