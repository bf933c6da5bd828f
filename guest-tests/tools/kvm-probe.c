// SPDX-License-Identifier: MIT
/*
 * kvm-probe: is /dev/kvm usable for the guest tests?
 *
 * Usage: kvm-probe [--max-loop-ms N] [DEVICE]
 *
 * Opens /dev/kvm, checks the API version, creates a VM and runs two vCPUs
 * that each write 0x7b to port 0x3f0: one in real mode (where a vCPU
 * starts) and one in 64-bit long mode with paging (where vmm enters a
 * Linux kernel), the latter after a loop of a million iterations whose
 * wall time shows whether guest code runs natively or is emulated
 * instruction by instruction (some nested set-ups accept every ioctl but
 * run a stock kernel thousands of times slower than real hardware).
 * Exit status 0 and one line on stdout when both I/O exits arrive (and,
 * with --max-loop-ms, the loop took at most N ms); otherwise exit status 1
 * and one line on stderr naming the step that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/x86.h"

#define GUEST_MEM	0x10000UL
#define REAL_CODE	0x1000UL
#define LONG_CODE	0x1100UL
#define PML4		0x2000UL
#define PDPT		0x3000UL
#define PD		0x4000UL


struct probe {
	int kvm;
	int vm;
	int vcpu[2];
	struct kvm_run *run[2];
	size_t run_size;
	uint8_t *mem;
	const char *step;
	double loop_ms;
};

/* mov dx, 0x3f0; mov al, 0x7b; out dx, al; hlt  (16-bit code) */
static const uint8_t real_code[] = { 0xba, 0xf0, 0x03, 0xb0, 0x7b, 0xee, 0xf4 };
/*
 * mov rcx, 1000000; 1: dec rcx; jnz 1b; then the port write in 64-bit code
 * (mov dx needs an operand-size prefix).
 */
static const uint8_t long_code[] = {
	0x48, 0xc7, 0xc1, 0x40, 0x42, 0x0f, 0x00,
	0x48, 0xff, 0xc9, 0x75, 0xfb,
	0x66, 0xba, 0xf0, 0x03, 0xb0, 0x7b, 0xee, 0xf4,
};

static int probe_vm(struct probe *p, const char *dev)
{
	struct kvm_userspace_memory_region region = { 0 };
	int ret;

	p->step = "open";
	p->kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (p->kvm < 0)
		return -errno;
	p->step = "KVM_GET_API_VERSION";
	ret = ioctl(p->kvm, KVM_GET_API_VERSION, 0);
	if (ret < 0)
		return -errno;
	if (ret != KVM_API_VERSION)
		return -EPROTO;
	p->step = "KVM_CREATE_VM";
	p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
	if (p->vm < 0)
		return -errno;
	p->step = "guest memory";
	p->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -errno;
	}
	memcpy(p->mem + REAL_CODE, real_code, sizeof(real_code));
	memcpy(p->mem + LONG_CODE, long_code, sizeof(long_code));
	/* identity map of the first 2 MiB with one large page */
	x86_put64(p->mem + PML4, PDPT | X86_PTE_P | X86_PTE_RW);
	x86_put64(p->mem + PDPT, PD | X86_PTE_P | X86_PTE_RW);
	x86_put64(p->mem + PD, X86_PTE_P | X86_PTE_RW | X86_PTE_PS);
	region.memory_size = GUEST_MEM;
	region.userspace_addr = (unsigned long)p->mem;
	p->step = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	return 0;
}

static int probe_vcpu(struct probe *p, int i, int long_mode)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	p->step = "KVM_CREATE_VCPU";
	p->vcpu[i] = ioctl(p->vm, KVM_CREATE_VCPU, i);
	if (p->vcpu[i] < 0)
		return -errno;
	p->step = "mmap kvm_run";
	p->run[i] = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 p->vcpu[i], 0);
	if (p->run[i] == MAP_FAILED) {
		p->run[i] = NULL;
		return -errno;
	}
	p->step = "KVM_GET_SREGS";
	if (ioctl(p->vcpu[i], KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (long_mode) {
		x86_long_mode_sregs(&sregs, 0, PML4);
		regs.rip = LONG_CODE;
	} else {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		regs.rip = REAL_CODE;
	}
	regs.rflags = 0x2;
	p->step = long_mode ? "KVM_SET_SREGS (long mode)" : "KVM_SET_SREGS";
	if (ioctl(p->vcpu[i], KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	p->step = "KVM_SET_REGS";
	if (ioctl(p->vcpu[i], KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static double now_ms(void)
{
	return (double)clock_now_ns() / 1e6;
}

static int probe_run(struct probe *p, int i, int long_mode)
{
	const struct kvm_run *run = p->run[i];
	double start = now_ms();

	p->step = long_mode ? "KVM_RUN (long mode)" : "KVM_RUN (real mode)";
	if (ioctl(p->vcpu[i], KVM_RUN, 0) < 0)
		return -errno;
	if (long_mode)
		p->loop_ms = now_ms() - start;
	p->step = long_mode ? "port write from long mode" :
			      "port write from real mode";
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x3f0 ||
	    run->io.size != 1 ||
	    *((const uint8_t *)run + run->io.data_offset) != 0x7b)
		return -EPROTO;
	return 0;
}

static int probe(struct probe *p, const char *dev)
{
	int ret, size, i;

	ret = probe_vm(p, dev);
	if (ret)
		return ret;
	p->step = "KVM_GET_VCPU_MMAP_SIZE";
	size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return size < 0 ? -errno : -EPROTO;
	p->run_size = size;
	for (i = 0; i < 2; i++) {
		ret = probe_vcpu(p, i, i);
		if (!ret)
			ret = probe_run(p, i, i);
		if (ret)
			return ret;
	}
	return 0;
}

static void probe_release(struct probe *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (p->run[i])
			munmap(p->run[i], p->run_size);
		if (p->vcpu[i] >= 0)
			close(p->vcpu[i]);
	}
	if (p->mem)
		munmap(p->mem, GUEST_MEM);
	if (p->vm >= 0)
		close(p->vm);
	if (p->kvm >= 0)
		close(p->kvm);
}

int main(int argc, char **argv)
{
	struct probe p = { .kvm = -1, .vm = -1, .vcpu = { -1, -1 } };
	const char *dev = "/dev/kvm";
	double max_ms = 0;
	int ret;

	if (argc > 2 && !strcmp(argv[1], "--max-loop-ms")) {
		max_ms = strtod(argv[2], NULL);
		argc -= 2;
		argv += 2;
	}
	if (argc > 1)
		dev = argv[1];
	ret = probe(&p, dev);
	if (ret) {
		fprintf(stderr, "kvm-probe: %s: %s failed: %s\n", dev, p.step,
			strerror(-ret));
	} else if (max_ms > 0 && p.loop_ms > max_ms) {
		fprintf(stderr,
			"kvm-probe: %s: guests run, but far too slowly: a loop of 1M iterations took %.0f ms (limit %.0f ms; instructions are emulated)\n",
			dev, p.loop_ms, max_ms);
		ret = -ETIMEDOUT;
	} else {
		printf("kvm-probe: %s: real-mode and 64-bit guests ran (loop of 1M iterations: %.1f ms)\n",
		       dev, p.loop_ms);
	}
	probe_release(&p);
	return ret ? 1 : 0;
}
