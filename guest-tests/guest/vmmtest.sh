# shellcheck shell=dash
# Helpers for /init and the in-guest scenario scripts (busybox sh).

# Value of NAME=VALUE on the kernel command line (empty when absent).
vmmtest_param() {
	local word
	for word in $(cat /proc/cmdline); do
		case $word in
		"$1"=*) echo "${word#*=}"; return 0 ;;
		esac
	done
	return 1
}

# Write the boot marker: 123 to I/O port 0x3f0 (1008), through /dev/port.
vmmtest_marker() {
	printf '\173' | dd of=/dev/port bs=1 seek=1008 count=1 conv=notrunc 2>/dev/null
}

# Print a line for the harness.
vmmtest_say() {
	echo "VMMTEST: $*"
}

# Load kernel modules (and what they depend on) present in the initramfs.
vmmtest_modprobe() {
	local m
	for m in "$@"; do
		modprobe "$m" || { vmmtest_say "modprobe $m failed"; return 1; }
	done
}
