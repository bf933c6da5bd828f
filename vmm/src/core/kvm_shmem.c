// SPDX-License-Identifier: MIT
/*
 * A shmem region is one reservation registered once as one memslot; the
 * slot number comes from the VM's allocator so it never collides with RAM.
 */
#include <errno.h>

#include "core/kvm.h"
#include "core/kvm_shmem.h"

static int kvm_shmem_slot_add(void *hv, uint64_t gpa, void *hva,
			      uint64_t size, uint32_t *slot)
{
	struct kvm *kvm = hv;
	uint32_t s;
	int ret;

	ret = kvm_slot_alloc(kvm, &s);
	if (ret)
		return ret;
	ret = kvm_set_memory(kvm, s, gpa, size, hva);
	if (ret) {
		kvm_slot_free(kvm, s);
		return ret;
	}
	*slot = s;
	return 0;
}

static int kvm_shmem_slot_remove(void *hv, uint32_t slot)
{
	struct kvm *kvm = hv;
	int ret;

	ret = kvm_set_memory(kvm, slot, 0, 0, NULL);
	if (ret)
		return ret;
	kvm_slot_free(kvm, slot);
	return 0;
}

const struct shmem_hv_ops kvm_shmem_hv_ops = {
	.slot_add = kvm_shmem_slot_add,
	.slot_remove = kvm_shmem_slot_remove,
};
