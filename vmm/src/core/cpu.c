// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/why.h"
#include "common/x86.h"

#include "base/layout.h"
#include "core/cpu.h"

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_IA32_TSC		0x10
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MISC_ENABLE_FAST_STRING	1ULL
#define MTRR_ENABLE		(1ULL << 11)
#define MTRR_TYPE_WB		6ULL

#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_MODE_NMI	0x4
#define APIC_MODE_EXTINT 0x7

#define CPUID_HYPERVISOR (1u << 31)

static void set_apic_id(struct kvm_cpuid_entry2 *e, unsigned int id,
			unsigned int ncpus)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffff) | (ncpus << 16) | (id << 24);
		e->ecx |= CPUID_HYPERVISOR;
		break;
	case 0xb:
	case 0x1f:
		e->edx = id;
		break;
	default:
		break;
	}
}

static int vcpu_set_cpuid(struct vcpu *cpu, const struct kvm *kvm,
			  unsigned int ncpus)
{
	const struct kvm_cpuid2 *src = kvm->cpuid;
	size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c;
	unsigned int i;
	int ret = 0;

	c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, src, sz);
	for (i = 0; i < c->nent; i++)
		set_apic_id(&c->entries[i], cpu->id, ncpus);
	if (ioctl(cpu->fd, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

static int vcpu_set_msrs(struct vcpu *cpu)
{
	static const uint32_t zeroed[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_IA32_TSC,
	};
	const unsigned int max = sizeof(zeroed) / sizeof(zeroed[0]) + 2;
	struct kvm_msrs *m;
	unsigned int i, n = 0;
	int ret = 0;

	m = calloc(1, sizeof(*m) + max * sizeof(m->entries[0]));
	if (!m)
		return -ENOMEM;
	for (i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		m->entries[n++].index = zeroed[i];
	m->entries[n].index = MSR_IA32_MISC_ENABLE;
	m->entries[n++].data = MISC_ENABLE_FAST_STRING;
	/* Default memory type write-back: without it RAM may be uncached. */
	m->entries[n].index = MSR_MTRR_DEF_TYPE;
	m->entries[n++].data = MTRR_ENABLE | MTRR_TYPE_WB;
	m->nmsrs = n;
	if (ioctl(cpu->fd, KVM_SET_MSRS, m) != (int)n)
		ret = -EIO;
	free(m);
	return ret;
}

static uint32_t lvt_mode(uint32_t lvt, uint32_t mode)
{
	return (lvt & ~0x700u) | (mode << 8);
}

static int vcpu_set_lint(struct vcpu *cpu)
{
	struct kvm_lapic_state l;
	uint32_t *lvt0 = (uint32_t *)&l.regs[APIC_LVT0];
	uint32_t *lvt1 = (uint32_t *)&l.regs[APIC_LVT1];

	if (ioctl(cpu->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	*lvt0 = lvt_mode(*lvt0, APIC_MODE_EXTINT);
	*lvt1 = lvt_mode(*lvt1, APIC_MODE_NMI);
	if (ioctl(cpu->fd, KVM_SET_LAPIC, &l) < 0)
		return -errno;
	return 0;
}

static int vcpu_set_fpu(struct vcpu *cpu)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(cpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

static int vcpu_setup(struct vcpu *cpu, struct kvm *kvm, unsigned int ncpus,
		      char *why, size_t whylen)
{
	int ret;

	ret = vcpu_set_cpuid(cpu, kvm, ncpus);
	if (ret)
		return why_fail(why, whylen, ret, "KVM_SET_CPUID2: %s",
				strerror(-ret));
	ret = vcpu_set_msrs(cpu);
	if (ret)
		return why_fail(why, whylen, ret, "KVM_SET_MSRS failed");
	ret = vcpu_set_lint(cpu);
	if (!ret)
		ret = vcpu_set_fpu(cpu);
	if (ret)
		return why_fail(why, whylen, ret, "vCPU %u LAPIC/FPU setup: %s",
				cpu->id, strerror(-ret));
	return 0;
}

int vcpu_create(struct vcpu *cpu, struct kvm *kvm, unsigned int id,
		unsigned int ncpus, char *why, size_t whylen)
{
	void *run;
	int ret;

	memset(cpu, 0, sizeof(*cpu));
	cpu->id = id;
	cpu->fd = -1;
	cpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, id);
	if (cpu->fd < 0) {
		ret = -errno;
		cpu->fd = -1;
		return why_fail(why, whylen, ret, "KVM_CREATE_VCPU %u: %s", id,
				strerror(-ret));
	}
	run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   cpu->fd, 0);
	if (run == MAP_FAILED) {
		ret = why_fail(why, whylen, -errno, "mmap of kvm_run: %s",
			       strerror(errno));
		goto err;
	}
	cpu->run = run;
	cpu->run_size = kvm->run_size;
	ret = vcpu_setup(cpu, kvm, ncpus, why, whylen);
	if (ret)
		goto err;
	return 0;
err:
	vcpu_destroy(cpu);
	return ret;
}

void vcpu_destroy(struct vcpu *cpu)
{
	if (cpu->run)
		munmap(cpu->run, cpu->run_size);
	if (cpu->fd >= 0)
		close(cpu->fd);
	cpu->run = NULL;
	cpu->fd = -1;
}

int vcpu_set_boot_state(struct vcpu *cpu, const struct boot_entry *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	if (e->mode == BOOT_MODE_PVH)
		x86_protected_mode_sregs(&sregs, BOOT_GDT_ADDR);
	else
		x86_long_mode_sregs(&sregs, BOOT_GDT_ADDR, BOOT_PML4_ADDR);
	if (ioctl(cpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = e->rip;
	if (e->mode == BOOT_MODE_PVH)
		regs.rbx = e->arg;
	else
		regs.rsi = e->arg;
	if (ioctl(cpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}
