/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one mapping, split around the 32-bit MMIO hole into at most
 * two regions, each one KVM memslot. Shared RAM is a memfd mapped
 * MAP_SHARED, so vhost-user back-ends can map it too. Private RAM is
 * anonymous memory, 2 MiB aligned and advised for transparent huge pages,
 * so KVM can back the guest with 2 MiB pages: fewer and cheaper TLB misses
 * in the guest. Tmpfs (memfd) memory gets huge pages only where the host
 * enables them for shmem (transparent_hugepage/shmem_enabled).
 */
#ifndef VMM_CORE_MEMORY_H
#define VMM_CORE_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/e820.h"
#include "core/kvm.h"

#define RAM_MAX_REGIONS	2

/* One contiguous piece of guest RAM: what a vhost-user memory table needs. */
struct ram_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t fd_offset;	/* offset of gpa in guest_ram.memfd */
	uint8_t *hva;
	uint32_t slot;
};

struct guest_ram {
	int memfd;		/* -1: private RAM */
	uint8_t *base;		/* the whole of guest RAM, mapped once */
	uint64_t size;
	struct ram_layout layout;
	unsigned int nregions;
	struct ram_region regions[RAM_MAX_REGIONS];
};

/*
 * Create and map @size bytes (a page multiple): a memfd when @shared
 * (sealed against shrinking, growing and further seals), else private
 * anonymous memory. -errno on failure.
 */
int ram_create(struct guest_ram *ram, uint64_t size, bool shared);
/* Register every region with KVM, one slot each. */
int ram_register(struct guest_ram *ram, struct kvm *kvm);
void ram_destroy(struct guest_ram *ram);

/* The first guest-physical byte above RAM. */
uint64_t ram_end(const struct guest_ram *ram);

/* Host address of [gpa, gpa + len) if it is RAM, else NULL. */
void *ram_gpa_to_hva(const struct guest_ram *ram, uint64_t gpa, uint64_t len);
bool ram_contains(const struct guest_ram *ram, uint64_t gpa);

/*
 * Is all of guest RAM still backed? Shared RAM is sealed against shrinking
 * (a back-end that gets the fd cannot truncate it), so this stays true; it
 * tells a RAM fault apart from a shared-memory one all the same. 0, or
 * -EFAULT with what is missing worded into @why.
 */
int ram_check(const struct guest_ram *ram, char *why, size_t whylen);

#endif /* VMM_CORE_MEMORY_H */
