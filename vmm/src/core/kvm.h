/* SPDX-License-Identifier: MIT */
/*
 * /dev/kvm and the VM fd: the API version and every capability vmm relies
 * on, the in-kernel irqchip and PIT, memslot numbers, and the VM-wide
 * wiring the machine does for devices (interrupt lines, irqfds,
 * ioeventfds). Only core/ uses it; devices reach KVM through the machine.
 */
#ifndef VMM_CORE_KVM_H
#define VMM_CORE_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#define KVM_SLOTS_MAX	512	/* slot numbers vmm hands out */

struct kvm {
	int sys_fd;
	int vm_fd;
	size_t run_size;		/* mmap size of struct kvm_run */
	unsigned int max_vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	pthread_mutex_t slot_lock;
	unsigned int nr_slots;		/* usable slot numbers */
	uint64_t slot_used[KVM_SLOTS_MAX / 64];
};

/*
 * Open /dev/kvm, check the API version and every capability vmm relies on,
 * create the VM with its in-kernel irqchip and PIT. On error words one line
 * into @why and returns -errno (-ENODEV no /dev/kvm, -ENOSYS capability
 * missing, ...); nothing is left open.
 */
int kvm_init(struct kvm *kvm, char *why, size_t whylen);
void kvm_exit(struct kvm *kvm);

/* The guest's physical address width (CPUID 0x80000008), 36 to 52. */
unsigned int kvm_guest_phys_bits(const struct kvm *kvm);

/* Memslot numbers: thread-safe. */
int kvm_slot_alloc(struct kvm *kvm, uint32_t *slot);
void kvm_slot_free(struct kvm *kvm, uint32_t slot);

/* KVM_SET_USER_MEMORY_REGION; size 0 deletes the slot. */
int kvm_set_memory(struct kvm *kvm, uint32_t slot, uint64_t gpa,
		   uint64_t size, void *hva);

/* KVM_IRQ_LINE: drive IOAPIC pin @gsi. 0 or -errno; any thread. */
int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level);

/* KVM_IRQFD: a write to eventfd @fd pulses @gsi (edge). */
int kvm_irqfd(struct kvm *kvm, int fd, uint32_t gsi, bool assign);

/*
 * KVM_IOEVENTFD: a @len-byte guest write of @datamatch to MMIO @addr
 * signals eventfd @fd instead of exiting to vmm.
 */
int kvm_ioeventfd(struct kvm *kvm, uint64_t addr, uint32_t len,
		  uint64_t datamatch, int fd, bool assign);

#endif /* VMM_CORE_KVM_H */
