// SPDX-License-Identifier: MIT
/*
 * kvm-hold: keep one idle VM open, so that the kernel's code is not
 * patched each time a test's VM comes and goes.
 *
 * Usage: kvm-hold [DEVICE]
 *
 * Creating the first VM and destroying the last one flip static keys in
 * KVM (the preempt notifiers that __schedule() tests, the local APIC's
 * hw/sw-disabled keys), and every flip rewrites kernel text with
 * text_poke_bp(): int3 over the site, an IPI to every CPU, the new bytes,
 * the int3 removed. QEMU's multi-threaded TCG has been seen to keep
 * executing a stale translation of such a site after the int3 was taken
 * out again: both vCPUs of the outer VM then loop in __schedule -> int3 ->
 * kprobe_int3_handler ("the breakpoint was removed, run the original
 * instruction") -> __schedule, for ever (read off the QEMU monitor of a
 * wedged outer VM). The start-up benchmark, which creates a VM and exits
 * sixty times in a row, wedged it within a minute.
 *
 * This program creates a VM with an in-kernel irqchip and one vCPU that
 * never runs, prints "kvm-hold: holding" and sleeps until it is killed.
 * While it lives, those keys stay enabled and the tests' VMs no longer
 * patch the kernel. Exit status 1 with one line on stderr if any step
 * fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *dev, const char *step)
{
	fprintf(stderr, "kvm-hold: %s: %s failed: %s\n", dev, step,
		strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	int kvm, vm, vcpu;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail(dev, "open");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail(dev, "KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail(dev, "KVM_CREATE_IRQCHIP");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail(dev, "KVM_CREATE_VCPU");
	printf("kvm-hold: holding\n");
	fflush(stdout);
	for (;;)
		pause();
}
