/* SPDX-License-Identifier: MIT */
/* The guest's e820 memory map, built from the RAM size. */
#ifndef VMM_E820_H
#define VMM_E820_H

#include <stddef.h>
#include <stdint.h>

#define E820_RAM	1
#define E820_RESERVED	2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Where guest RAM lives: below the MMIO hole, and above 4 GiB. */
struct ram_layout {
	uint64_t low_size;	/* RAM at [0, low_size) */
	uint64_t high_size;	/* RAM at [4 GiB, 4 GiB + high_size) */
};

void ram_layout_init(struct ram_layout *l, uint64_t ram_size);

/*
 * Fill @map (room for @max entries) for @l: conventional memory, the
 * reserved EBDA/BIOS area (where the ACPI tables live), RAM from 1 MiB to
 * the hole, RAM above 4 GiB. Returns the entry count or -ENOSPC / -EINVAL
 * (less than 1 MiB of RAM).
 */
int e820_build(const struct ram_layout *l, struct e820_entry *map, size_t max);

#endif /* VMM_E820_H */
