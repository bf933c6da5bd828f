// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "memory.h"

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

int ram_create(struct guest_ram *ram, uint64_t size)
{
	void *p;
	int ret;

	memset(ram, 0, sizeof(*ram));
	ram->memfd = memfd_create("vmm-guest-ram", MFD_CLOEXEC);
	if (ram->memfd < 0)
		return -errno;
	if (ftruncate(ram->memfd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, ram->memfd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	ram->base = p;
	ram->size = size;
	ram_regions_init(ram);
	return 0;

err_close:
	close(ram->memfd);
	ram->memfd = -1;
	return ret;
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
