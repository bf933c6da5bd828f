// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/layout.h"
#include "common/page.h"
#include "core/memory.h"

#define RAM_HUGE_ALIGN	PAGE_SIZE_2M

static void ram_regions_init(struct guest_ram *ram)
{
	struct ram_layout *l = &ram->layout;

	ram_layout_init(l, ram->size);
	ram->regions[0] = (struct ram_region){
		.gpa = 0, .size = l->low_size, .fd_offset = 0,
		.hva = ram->base, .slot = UINT32_MAX,
	};
	ram->nregions = 1;
	if (l->high_size) {
		ram->regions[1] = (struct ram_region){
			.gpa = MMIO_HOLE_END, .size = l->high_size,
			.fd_offset = l->low_size,
			.hva = ram->base + l->low_size, .slot = UINT32_MAX,
		};
		ram->nregions = 2;
	}
}

static int ram_map_shared(struct guest_ram *ram, uint64_t size)
{
	void *p;
	int ret;

	ram->memfd = memfd_create("vmm-guest-ram",
				  MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ram->memfd < 0)
		return -errno;
	if (ftruncate(ram->memfd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	/*
	 * Back-ends get this fd: none may shrink guest RAM under the guest
	 * (KVM would fault) or grow it, and no seal may be added or lifted.
	 * Writes stay allowed: that is what sharing it is for.
	 */
	if (fcntl(ram->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		goto err_close;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, ram->memfd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	/* Effective only where the host allows huge pages for shmem. */
	madvise(p, size, MADV_HUGEPAGE);
	ram->base = p;
	return 0;

err_close:
	close(ram->memfd);
	ram->memfd = -1;
	return ret;
}

/*
 * Anonymous memory on a 2 MiB boundary: a huge page can only back a range
 * whose host and guest addresses agree modulo 2 MiB, and guest RAM starts
 * at guest physical 0.
 */
static int ram_map_private(struct guest_ram *ram, uint64_t size)
{
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint8_t *resv, *p;
	uintptr_t start;

	resv = mmap(NULL, size + RAM_HUGE_ALIGN, PROT_NONE, flags, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	start = ((uintptr_t)resv + RAM_HUGE_ALIGN - 1) & ~(RAM_HUGE_ALIGN - 1);
	p = mmap((void *)start, size, PROT_READ | PROT_WRITE,
		 flags | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;

		munmap(resv, size + RAM_HUGE_ALIGN);
		return ret;
	}
	if (p > resv)
		munmap(resv, (size_t)(p - resv));
	if (p + size < resv + size + RAM_HUGE_ALIGN)
		munmap(p + size, (size_t)(resv + RAM_HUGE_ALIGN - p));
	/* No transparent huge pages on this kernel: small pages still work. */
	madvise(p, size, MADV_HUGEPAGE);
	ram->base = p;
	return 0;
}

int ram_create(struct guest_ram *ram, uint64_t size, bool shared)
{
	int ret;

	memset(ram, 0, sizeof(*ram));
	ram->memfd = -1;
	ret = shared ? ram_map_shared(ram, size) : ram_map_private(ram, size);
	if (ret)
		return ret;
	ram->size = size;
	ram_regions_init(ram);
	return 0;
}

int ram_register(struct guest_ram *ram, struct kvm *kvm)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ram->nregions; i++) {
		struct ram_region *r = &ram->regions[i];

		ret = kvm_slot_alloc(kvm, &r->slot);
		if (ret)
			return ret;
		ret = kvm_set_memory(kvm, r->slot, r->gpa, r->size, r->hva);
		if (ret)
			return ret;
	}
	return 0;
}

void ram_destroy(struct guest_ram *ram)
{
	if (ram->base)
		munmap(ram->base, ram->size);
	if (ram->memfd >= 0)
		close(ram->memfd);
	ram->base = NULL;
	ram->memfd = -1;
}

void *ram_gpa_to_hva(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < ram->nregions; i++) {
		const struct ram_region *r = &ram->regions[i];

		if (gpa >= r->gpa && len <= r->size &&
		    gpa - r->gpa <= r->size - len)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t ram_end(const struct guest_ram *ram)
{
	uint64_t end = 0;
	unsigned int i;

	for (i = 0; i < ram->nregions; i++)
		if (ram->regions[i].gpa + ram->regions[i].size > end)
			end = ram->regions[i].gpa + ram->regions[i].size;
	return end;
}

bool ram_contains(const struct guest_ram *ram, uint64_t gpa)
{
	return ram_gpa_to_hva(ram, gpa, 1) != NULL;
}

int ram_check(const struct guest_ram *ram, char *why, size_t whylen)
{
	struct stat st;

	if (ram->memfd < 0)
		return 0;
	if (fstat(ram->memfd, &st))
		return -errno;
	if ((uint64_t)st.st_size >= ram->size)
		return 0;
	snprintf(why, whylen,
		 "its memory file is %llu bytes long, the guest has %llu",
		 (unsigned long long)st.st_size,
		 (unsigned long long)ram->size);
	return -EFAULT;
}
