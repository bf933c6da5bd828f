// SPDX-License-Identifier: MIT
/*
 * The machine's allocators: MMIO windows in the hole, IOAPIC pins, DSDT
 * entries, and the rollback that leaves no trace of a device whose attach
 * failed half-way.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "base/layout.h"
#include "core/resources.h"

#define G (1ULL << 30)
#define M (1ULL << 20)

static struct resources r;

static void setup(void)
{
	res_init(&r, 256 * M, 40);
}

TestSuite(resources, .init = setup);

Test(resources, mmio_windows_are_page_aligned_and_in_the_hole)
{
	uint64_t a, b, c;

	cr_assert_eq(res_mmio_alloc(&r, 0x200, &a), 0);
	cr_assert_eq(a, MMIO_DEVICES_START);
	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &b), 0);
	cr_assert_eq(b, MMIO_DEVICES_START + 0x1000, "the next page");
	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &c), 0);
	cr_assert_eq(c, b + 0x1000);
	cr_assert_eq(res_mmio_alloc(&r, 0, &c), -ENOSPC, "nothing to place");
}

Test(resources, mmio_space_ends_below_the_ioapic)
{
	uint64_t a, room = MMIO_DEVICES_END - MMIO_DEVICES_START;

	cr_assert_eq(res_mmio_alloc(&r, room, &a), 0);
	cr_assert_eq(a + room, MMIO_DEVICES_END);
	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &a), -ENOSPC);
	cr_assert_eq(res_mmio_alloc(&r, ~0ULL, &a), -ENOSPC, "no wrap");
}

Test(resources, eight_interrupt_lines_for_devices)
{
	uint32_t gsi;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		cr_assert_eq(res_gsi_alloc(&r, &gsi), 0);
		cr_assert_eq(gsi, IRQ_DEVICE_FIRST + i);
	}
	cr_assert_eq(res_gsi_alloc(&r, &gsi), -ENOSPC);
}

Test(resources, dsdt_entries_are_edge_and_checked)
{
	cr_assert_eq(res_dsdt_add(&r, 0xd0000000, 0x200, 16), 0);
	cr_assert_eq(r.ndsdt, 1);
	cr_assert_eq(r.dsdt[0].base, 0xd0000000);
	cr_assert_eq(r.dsdt[0].size, 0x200);
	cr_assert_eq(r.dsdt[0].gsi, 16);
	cr_assert_not(r.dsdt[0].level, "an irqfd pulses: edge-triggered");
	cr_assert_eq(res_dsdt_add(&r, 4 * G, 0x200, 16), -EINVAL,
		     "above the 32-bit hole");
	cr_assert_eq(res_dsdt_add(&r, 0xd0001000, 0x200, 24), -EINVAL,
		     "not a device line");
	for (unsigned int i = 1; i < RES_MAX_DSDT; i++)
		cr_assert_eq(res_dsdt_add(&r, 0xd0000000 + i * 0x1000, 0x200,
					  16), 0);
	cr_assert_eq(res_dsdt_add(&r, 0xd0100000, 0x200, 17), -ENOSPC);
}

Test(resources, rollback_forgets_what_a_failed_attach_took)
{
	struct res_mark m;
	uint64_t a, b, gpa, gpa2;
	uint32_t gsi, gsi2;

	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &a), 0);
	m = res_mark(&r);
	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &b), 0);
	cr_assert_eq(res_gsi_alloc(&r, &gsi), 0);
	cr_assert_eq(res_dsdt_add(&r, b, 0x200, gsi), 0);
	cr_assert_eq(shm_space_alloc(&r.shm, 2 * M, &gpa), 0);
	cr_assert_eq(shm_space_add(&r.shm, "bad", 0, gpa, 2 * M, NULL), 0);
	res_rollback(&r, &m);
	cr_assert_eq(r.ndsdt, 0);
	cr_assert_eq(r.shm.n, 0);
	cr_assert_null(shm_space_find(&r.shm, gpa));
	/* The next device gets exactly what the failed one had. */
	cr_assert_eq(res_mmio_alloc(&r, 0x1000, &a), 0);
	cr_assert_eq(a, b);
	cr_assert_eq(res_gsi_alloc(&r, &gsi2), 0);
	cr_assert_eq(gsi2, gsi);
	cr_assert_eq(shm_space_alloc(&r.shm, 2 * M, &gpa2), 0);
	cr_assert_eq(gpa2, gpa);
}
