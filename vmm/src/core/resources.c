// SPDX-License-Identifier: MIT
/* The machine's allocators (resources.h). */
#include <errno.h>

#include "base/layout.h"
#include "common/page.h"
#include "core/resources.h"

void res_init(struct resources *r, uint64_t ram_end, unsigned int phys_bits)
{
	r->mmio_next = MMIO_DEVICES_START;
	r->gsi_next = IRQ_DEVICE_FIRST;
	r->ndsdt = 0;
	shm_space_init(&r->shm, ram_end, phys_bits);
}

int res_mmio_alloc(struct resources *r, uint64_t size, uint64_t *gpa)
{
	uint64_t base = (r->mmio_next + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);

	if (!size || base > MMIO_DEVICES_END || size > MMIO_DEVICES_END - base)
		return -ENOSPC;
	*gpa = base;
	r->mmio_next = base + size;
	return 0;
}

int res_gsi_alloc(struct resources *r, uint32_t *gsi)
{
	if (r->gsi_next > IRQ_DEVICE_LAST)
		return -ENOSPC;
	*gsi = r->gsi_next++;
	return 0;
}

int res_dsdt_add(struct resources *r, uint64_t base, uint32_t size,
		 uint32_t gsi)
{
	if (r->ndsdt == RES_MAX_DSDT)
		return -ENOSPC;
	if (base + size > MMIO_HOLE_END || gsi > IRQ_DEVICE_LAST)
		return -EINVAL;
	/* Edge: an irqfd without a resample fd pulses the line. */
	r->dsdt[r->ndsdt++] = (struct acpi_virtio_mmio){
		.base = base, .size = size, .gsi = gsi, .level = false,
	};
	return 0;
}

struct res_mark res_mark(const struct resources *r)
{
	return (struct res_mark){
		.mmio_next = r->mmio_next, .gsi_next = r->gsi_next,
		.ndsdt = r->ndsdt, .shm_next = r->shm.next, .nshm = r->shm.n,
	};
}

void res_rollback(struct resources *r, const struct res_mark *m)
{
	r->mmio_next = m->mmio_next;
	r->gsi_next = m->gsi_next;
	r->ndsdt = m->ndsdt;
	r->shm.next = m->shm_next;
	r->shm.n = m->nshm;
}
