/* SPDX-License-Identifier: MIT */
/* /dev/kvm: API version, capabilities, the VM fd, memslot numbers. */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <pthread.h>
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
 * create the VM with its in-kernel irqchip and PIT. On error fills @why with
 * one line and returns -errno (-ENODEV no /dev/kvm, -ENOSYS capability
 * missing, ...); nothing is left open.
 */
int kvm_init(struct kvm *kvm, char *why, size_t whylen);
void kvm_exit(struct kvm *kvm);

/* Memslot numbers: thread-safe. */
int kvm_slot_alloc(struct kvm *kvm, uint32_t *slot);
void kvm_slot_free(struct kvm *kvm, uint32_t slot);

/* KVM_SET_USER_MEMORY_REGION; size 0 deletes the slot. */
int kvm_set_memory(struct kvm *kvm, uint32_t slot, uint64_t gpa,
		   uint64_t size, void *hva);

#endif /* VMM_KVM_H */
