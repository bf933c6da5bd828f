# The initramfs carries the kernel modules later scenarios need, and
# modprobe resolves their dependencies.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio virtiofs || exit 1
vmmtest_say "modules $(cut -d' ' -f1 /proc/modules | sort | tr '\n' ' ')"
