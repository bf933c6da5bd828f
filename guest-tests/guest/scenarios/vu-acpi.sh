# Load virtio_mmio (ACPI LNRO0005 discovery) and list the virtio devices
# with their device ids, in one line.
. /lib/vmmtest.sh
vmmtest_modprobe virtio_mmio || exit 1
list=
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d/device" ] && list="$list $(basename "$d")=$(cat "$d/device")"
done
vmmtest_say "virtio devices:${list:- none}"
