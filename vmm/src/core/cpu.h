/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: creation, CPUID (KVM's supported set, per-vCPU APIC ids), boot
 * MSRs, LAPIC LINT0/LINT1, and the 64-bit boot state of the BSP.
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

/*
 * BSP registers for the 64-bit entry: long mode on the GDT and page tables
 * of boot/lowmem.h, rip = @entry, rsi = @zero_page.
 */
int vcpu_set_boot_state(struct vcpu *cpu, uint64_t entry, uint64_t zero_page);

#endif /* VMM_CORE_CPU_H */
