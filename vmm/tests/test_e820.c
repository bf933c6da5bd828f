// SPDX-License-Identifier: MIT
/* The e820 map the guest kernel sees, for small and large RAM sizes. */
#include <criterion/criterion.h>
#include <errno.h>

#include "boot/e820.h"
#include "base/layout.h"

static uint64_t total_ram(const struct e820_entry *m, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (m[i].type == E820_RAM)
			sum += m[i].size;
	return sum;
}

static void assert_sorted_disjoint(const struct e820_entry *m, int n)
{
	int i;

	for (i = 1; i < n; i++)
		cr_assert_leq(m[i - 1].addr + m[i - 1].size, m[i].addr,
			      "entries %d and %d overlap or are unsorted", i - 1, i);
}

Test(e820, small_ram_has_no_high_part)
{
	struct e820_entry m[8];
	struct ram_layout l;
	int n;

	ram_layout_init(&l, 256ULL << 20);
	cr_assert_eq(l.low_size, 256ULL << 20);
	cr_assert_eq(l.high_size, 0);
	n = e820_build(&l, m, 8);
	cr_assert_eq(n, 3);
	assert_sorted_disjoint(m, n);
	cr_assert_eq(m[0].addr, 0);
	cr_assert_eq(m[0].type, E820_RAM);
	cr_assert_eq(m[1].type, E820_RESERVED);
	cr_assert_leq(m[1].addr, ACPI_TABLES_ADDR);
	cr_assert_geq(m[1].addr + m[1].size, ACPI_TABLES_ADDR + ACPI_TABLES_MAX);
	/* The reset-vector stub is reserved too, and clear of the tables. */
	cr_assert_leq(ACPI_TABLES_ADDR + ACPI_TABLES_MAX, RESET_VECTOR_ADDR);
	cr_assert_geq(m[1].addr + m[1].size, RESET_VECTOR_ADDR + 16);
	cr_assert_eq(m[2].addr, 1ULL << 20);
	cr_assert_eq(m[2].addr + m[2].size, 256ULL << 20);
	/* Everything but the reserved BIOS area is usable. */
	cr_assert_eq(total_ram(m, n), (256ULL << 20) - m[1].size);
}

Test(e820, exactly_3g_fits_below_the_hole)
{
	struct e820_entry m[8];
	struct ram_layout l;
	int n;

	ram_layout_init(&l, MMIO_HOLE_START);
	cr_assert_eq(l.high_size, 0);
	n = e820_build(&l, m, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(m[2].addr + m[2].size, MMIO_HOLE_START);
}

Test(e820, large_ram_skips_the_mmio_hole)
{
	struct e820_entry m[8];
	struct ram_layout l;
	uint64_t size = 6ULL << 30;
	int n, i;

	ram_layout_init(&l, size);
	cr_assert_eq(l.low_size, MMIO_HOLE_START);
	cr_assert_eq(l.high_size, size - MMIO_HOLE_START);
	n = e820_build(&l, m, 8);
	cr_assert_eq(n, 4);
	assert_sorted_disjoint(m, n);
	cr_assert_eq(m[3].addr, 4ULL << 30);
	cr_assert_eq(m[3].size, size - MMIO_HOLE_START);
	cr_assert_eq(m[3].type, E820_RAM);
	for (i = 0; i < n; i++)
		cr_assert(m[i].addr + m[i].size <= MMIO_HOLE_START ||
			  m[i].addr >= MMIO_HOLE_END,
			  "entry %d reaches into the MMIO hole", i);
	cr_assert_eq(total_ram(m, n), size - m[1].size);
}

Test(e820, errors)
{
	struct e820_entry m[8];
	struct ram_layout l;

	ram_layout_init(&l, 512 << 10);
	cr_assert_eq(e820_build(&l, m, 8), -EINVAL);
	ram_layout_init(&l, 6ULL << 30);
	cr_assert_eq(e820_build(&l, m, 3), -ENOSPC);
}
