#!/usr/bin/env bash
# Build vmm, build the reference guest (Debian 12's stock kernel and a busybox
# initramfs, from Debian packages) and boot it to a shell on the serial
# console. Leave the shell (exit, or Ctrl-D) and the guest powers off. The
# kernel is booted uncompressed, as the vmlinux taken out of Debian's
# bzImage, through its PVH entry: no decompression (docs/cli.md).
#
# Without a usable /dev/kvm the guest is booted inside an outer VM instead
# (QEMU emulating AMD SVM, see docs/testing.md); that console is not
# interactive, so the guest runs a few commands and powers off.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
images=$build/guest-tests/images
guest-tests/images/build-images.sh "$images"

# The same test as the KVM test runner: a /dev/kvm that runs guest code
# thousands of times slower than hardware (some nested set-ups) is no use.
if "$build/guest-tests/kvm-probe" --max-loop-ms "${VMM_TEST_KVM_MAX_LOOP_MS:-200}" \
	>/dev/null 2>&1; then
	echo "demo: booting Debian's kernel under vmm; 'exit' powers the guest off" >&2
	exec "$build/vmm/vmm" run --kernel "$images/vmlinux" \
		--initrd "$images/initramfs.cpio.gz" --cpus 2 --memory 512M \
		--log-level info --cmdline "console=ttyS0 quiet vmmtest=shell"
fi

echo "demo: /dev/kvm is not usable here; booting through an outer VM" >&2
exec guest-tests/runner/with-kvm.sh "$build" --timeout 300 -- \
	"$PWD/$build/vmm/vmm" run --kernel "$images/vmlinux" \
	--initrd "$images/initramfs.cpio.gz" --cpus 2 --memory 512M \
	--log-level info --cmdline "console=ttyS0 quiet vmmtest=cpus"
