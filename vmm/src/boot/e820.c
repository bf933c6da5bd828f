// SPDX-License-Identifier: MIT
#include <errno.h>

#include "boot/e820.h"
#include "base/layout.h"

void ram_layout_init(struct ram_layout *l, uint64_t ram_size)
{
	if (ram_size <= MMIO_HOLE_START) {
		l->low_size = ram_size;
		l->high_size = 0;
	} else {
		l->low_size = MMIO_HOLE_START;
		l->high_size = ram_size - MMIO_HOLE_START;
	}
}

static int e820_add(struct e820_entry *map, size_t max, size_t *n,
		    uint64_t addr, uint64_t size, uint32_t type)
{
	if (*n >= max)
		return -ENOSPC;
	map[*n].addr = addr;
	map[*n].size = size;
	map[*n].type = type;
	(*n)++;
	return 0;
}

int e820_build(const struct ram_layout *l, struct e820_entry *map, size_t max)
{
	size_t n = 0;
	int ret;

	if (l->low_size <= HIGH_MEMORY_START)
		return -EINVAL;
	ret = e820_add(map, max, &n, 0, EBDA_START, E820_RAM);
	if (!ret)
		ret = e820_add(map, max, &n, EBDA_START,
			       HIGH_MEMORY_START - EBDA_START, E820_RESERVED);
	if (!ret)
		ret = e820_add(map, max, &n, HIGH_MEMORY_START,
			       l->low_size - HIGH_MEMORY_START, E820_RAM);
	if (!ret && l->high_size)
		ret = e820_add(map, max, &n, MMIO_HOLE_END, l->high_size,
			       E820_RAM);
	return ret ? ret : (int)n;
}
