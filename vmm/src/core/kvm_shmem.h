/* SPDX-License-Identifier: MIT */
/* KVM memslots for shmem regions: struct shmem_hv_ops over struct kvm. */
#ifndef VMM_CORE_KVM_SHMEM_H
#define VMM_CORE_KVM_SHMEM_H

#include <shmem/shmem.h>

/* Pass a struct kvm * as shmem_region_config.hv. */
extern const struct shmem_hv_ops kvm_shmem_hv_ops;

#endif /* VMM_CORE_KVM_SHMEM_H */
