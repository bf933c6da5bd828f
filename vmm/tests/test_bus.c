// SPDX-License-Identifier: MIT
/* Port/MMIO dispatch: windows route accesses; overlaps are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/bus.h"

struct dev {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
	int writes;
};

static void dev_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, (int)(0x10 + off), len);
}

static void dev_write(void *opaque, uint64_t off, const void *data,
		      uint32_t len)
{
	struct dev *d = opaque;

	d->last_off = off;
	d->last_len = len;
	d->last_val = *(const uint8_t *)data;
	d->writes++;
}

static const struct bus_ops ops = { .read = dev_read, .write = dev_write };

Test(bus, routes_to_the_window_with_relative_offsets)
{
	struct dev a = { 0 }, b = { 0 };
	struct bus bus;
	uint8_t v = 0x42, r[4];

	bus_init(&bus);
	cr_assert_eq(bus_register(&bus, 0x3f8, 8, &ops, &a), 0);
	cr_assert_eq(bus_register(&bus, 0x600, 3, &ops, &b), 0);
	cr_assert(bus_write(&bus, 0x3fd, &v, 1));
	cr_assert_eq(a.last_off, 5);
	cr_assert_eq(a.last_val, 0x42);
	cr_assert_eq(b.writes, 0);
	cr_assert(bus_write(&bus, 0x602, &v, 1));
	cr_assert_eq(b.last_off, 2);
	cr_assert(bus_read(&bus, 0x3f9, r, 1));
	cr_assert_eq(r[0], 0x11);
	bus_destroy(&bus);
}

Test(bus, unclaimed_and_straddling_accesses_are_reported)
{
	struct dev a = { 0 };
	struct bus bus;
	uint8_t r[4] = { 1, 2, 3, 4 };

	bus_init(&bus);
	cr_assert_eq(bus_register(&bus, 0x1000, 0x10, &ops, &a), 0);
	cr_assert_not(bus_read(&bus, 0xfff, r, 1));
	cr_assert_not(bus_read(&bus, 0x1010, r, 1));
	cr_assert_not(bus_read(&bus, 0x100e, r, 4), "access crossing the end");
	cr_assert_eq(r[0], 1, "unclaimed read leaves data alone");
	cr_assert(bus_read(&bus, 0x100c, r, 4));
	bus_destroy(&bus);
}

Test(bus, overlaps_and_bad_windows_are_refused)
{
	struct dev a = { 0 };
	struct bus bus;

	bus_init(&bus);
	cr_assert_eq(bus_register(&bus, 0x1000, 0x100, &ops, &a), 0);
	cr_assert_eq(bus_register(&bus, 0x10ff, 1, &ops, &a), -EEXIST);
	cr_assert_eq(bus_register(&bus, 0xf00, 0x101, &ops, &a), -EEXIST);
	cr_assert_eq(bus_register(&bus, 0x800, 0x1000, &ops, &a), -EEXIST);
	cr_assert_eq(bus_register(&bus, 0x1100, 1, &ops, &a), 0);
	cr_assert_eq(bus_register(&bus, 0xfff, 1, &ops, &a), 0);
	cr_assert_eq(bus_register(&bus, 0x2000, 0, &ops, &a), -EINVAL);
	cr_assert_eq(bus_register(&bus, ~0ULL, 2, &ops, &a), -EINVAL);
	cr_assert_eq(bus_register(&bus, 0x3000, 1, NULL, &a), -EINVAL);
	bus_destroy(&bus);
}

Test(bus, many_windows_and_unregister)
{
	static struct dev devs[100];
	struct bus bus;
	uint8_t v = 7;
	int i;

	bus_init(&bus);
	/* Registered out of order: the table stays sorted. */
	for (i = 99; i >= 0; i--)
		cr_assert_eq(bus_register(&bus, 0xd0000000ULL + i * 0x1000,
					  0x200, &ops, &devs[i]), 0);
	for (i = 0; i < 100; i++) {
		cr_assert(bus_write(&bus, 0xd0000000ULL + i * 0x1000 + 0x70,
				    &v, 1));
		cr_assert_eq(devs[i].writes, 1);
		cr_assert_eq(devs[i].last_off, 0x70);
	}
	cr_assert_eq(bus_unregister(&bus, 0xd0005000ULL), 0);
	cr_assert_eq(bus_unregister(&bus, 0xd0005000ULL), -ENOENT);
	cr_assert_not(bus_write(&bus, 0xd0005000ULL, &v, 1));
	cr_assert(bus_write(&bus, 0xd0006000ULL, &v, 1));
	bus_destroy(&bus);
}
