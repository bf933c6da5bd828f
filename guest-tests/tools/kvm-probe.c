// SPDX-License-Identifier: MIT
/*
 * kvm-probe: is /dev/kvm usable for the guest tests?
 *
 * Opens /dev/kvm, checks the API version, creates a VM with one vCPU and
 * runs a few real-mode instructions that write 0x7b to port 0x3f0.  Exit
 * status 0 and one line on stdout when that I/O exit arrives; otherwise
 * exit status 1 and one line on stderr saying which step failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM	0x10000UL
#define CODE_ADDR	0x1000UL

struct probe {
	int kvm;
	int vm;
	int vcpu;
	void *mem;
	struct kvm_run *run;
	size_t run_size;
	const char *step;
};

/* mov dx, 0x3f0; mov al, 0x7b; out dx, al; hlt */
static const unsigned char probe_code[] = {
	0xba, 0xf0, 0x03, 0xb0, 0x7b, 0xee, 0xf4,
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
	memcpy((char *)p->mem + CODE_ADDR, probe_code, sizeof(probe_code));
	region.memory_size = GUEST_MEM;
	region.userspace_addr = (unsigned long)p->mem;
	p->step = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	return 0;
}

static int probe_vcpu(struct probe *p)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	int size;

	p->step = "KVM_CREATE_VCPU";
	p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
	if (p->vcpu < 0)
		return -errno;
	p->step = "KVM_GET_VCPU_MMAP_SIZE";
	size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return size < 0 ? -errno : -EPROTO;
	p->run_size = size;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      p->vcpu, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		return -errno;
	}
	p->step = "KVM_GET_SREGS";
	if (ioctl(p->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	p->step = "KVM_SET_SREGS";
	if (ioctl(p->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	p->step = "KVM_SET_REGS";
	if (ioctl(p->vcpu, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static int probe_run(struct probe *p)
{
	const struct kvm_run *run = p->run;
	unsigned char value;

	p->step = "KVM_RUN";
	if (ioctl(p->vcpu, KVM_RUN, 0) < 0)
		return -errno;
	p->step = "KVM_RUN exit";
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x3f0 ||
	    run->io.size != 1)
		return -EPROTO;
	value = *((const unsigned char *)run + run->io.data_offset);
	if (value != 0x7b)
		return -EPROTO;
	return 0;
}

static void probe_release(struct probe *p)
{
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->vcpu >= 0)
		close(p->vcpu);
	if (p->mem)
		munmap(p->mem, GUEST_MEM);
	if (p->vm >= 0)
		close(p->vm);
	if (p->kvm >= 0)
		close(p->kvm);
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	struct probe p = { .kvm = -1, .vm = -1, .vcpu = -1 };
	int ret;

	ret = probe_vm(&p, dev);
	if (!ret)
		ret = probe_vcpu(&p);
	if (!ret)
		ret = probe_run(&p);
	if (ret)
		fprintf(stderr, "kvm-probe: %s: %s failed: %s\n", dev, p.step,
			strerror(-ret));
	else
		printf("kvm-probe: %s: a guest ran\n", dev);
	probe_release(&p);
	return ret ? 1 : 0;
}
