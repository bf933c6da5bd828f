/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: creation, CPUID (KVM's supported set, per-vCPU APIC ids), boot
 * MSRs, LAPIC LINT0/LINT1, and the boot state of the BSP (64-bit or PVH).
 */
#ifndef VMM_CORE_CPU_H
#define VMM_CORE_CPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/kvm.h"

struct vcpu {
	unsigned int id;	/* also its APIC id */
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	void *vm;		/* back pointer for the run loop */
};

/* Create vCPU @id with CPUID, MSRs and LAPIC set up (APs wait for SIPI). */
int vcpu_create(struct vcpu *cpu, struct kvm *kvm, unsigned int id,
		unsigned int ncpus, char *why, size_t whylen);
void vcpu_destroy(struct vcpu *cpu);

/* How the boot vCPU enters the kernel (core/load.c decides). */
enum boot_mode {
	BOOT_MODE_64BIT,	/* a bzImage: 64-bit entry, rsi = zero page */
	BOOT_MODE_PVH,		/* an ELF vmlinux: 32-bit PVH, ebx = start_info */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t arg;		/* rsi (64-bit) or ebx (PVH) */
};

/*
 * BSP registers for @e. 64-bit: long mode on the GDT and page tables of
 * boot/lowmem.h. PVH: 32-bit protected mode, paging off, flat segments
 * from the same GDT (x86_protected_mode_sregs()).
 */
int vcpu_set_boot_state(struct vcpu *cpu, const struct boot_entry *e);

#endif /* VMM_CORE_CPU_H */
