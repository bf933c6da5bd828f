/* SPDX-License-Identifier: MIT */
/*
 * The machine's resources, handed out to devices as they are attached:
 * MMIO windows in the 32-bit hole, IOAPIC pins, the DSDT's device list and
 * the guest-physical space of shared memory regions (core/shm_space.h).
 * One allocator for each, all in one place (Firecracker's
 * vstate/resources.rs is the model), so that no device picks an address
 * or a line itself.
 *
 * Allocation is sequential; res_mark() / res_rollback() undo everything
 * handed out after the mark, so a device whose attach fails half-way
 * leaves no trace. Locking: none; resources are handed out before the VM
 * runs, and vCPU threads only read the shared-memory list afterwards.
 */
#ifndef VMM_CORE_RESOURCES_H
#define VMM_CORE_RESOURCES_H

#include <stdint.h>

#include "boot/acpi.h"
#include "core/shm_space.h"

#define RES_MAX_DSDT	32

struct resources {
	uint64_t mmio_next;
	uint32_t gsi_next;
	unsigned int ndsdt;
	struct acpi_virtio_mmio dsdt[RES_MAX_DSDT];
	struct shm_space shm;
};

struct res_mark {
	uint64_t mmio_next;
	uint32_t gsi_next;
	unsigned int ndsdt;
	uint64_t shm_next;
	unsigned int nshm;
};

/*
 * @ram_end: first byte above guest RAM; @phys_bits: the guest's physical
 * address width.
 */
void res_init(struct resources *r, uint64_t ram_end, unsigned int phys_bits);

/* A page-aligned MMIO window of @size bytes in the hole: 0 or -ENOSPC. */
int res_mmio_alloc(struct resources *r, uint64_t size, uint64_t *gpa);
/* An IOAPIC pin for a device (16..23): 0 or -ENOSPC. */
int res_gsi_alloc(struct resources *r, uint32_t *gsi);
/* An LNRO0005 entry for the DSDT built at vmm_run(): 0, -ENOSPC, -EINVAL. */
int res_dsdt_add(struct resources *r, uint64_t base, uint32_t size,
		 uint32_t gsi);

struct res_mark res_mark(const struct resources *r);
void res_rollback(struct resources *r, const struct res_mark *m);

#endif /* VMM_CORE_RESOURCES_H */
