// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "common/why.h"

#include "base/layout.h"
#include "boot/pvh.h"

int pvh_check_placement(const struct elf_kernel *k, const struct ram_layout *l,
			char *why, size_t whylen)
{
	unsigned int i;

	for (i = 0; i < k->nsegs; i++) {
		const struct elf_segment *s = &k->segs[i];
		uint64_t end = s->paddr + s->memsz;

		if (s->paddr < HIGH_MEMORY_START)
			return why_fail(why, whylen, -ENOEXEC,
					"segment at physical 0x%llx-0x%llx overlaps vmm's boot tables below 1 MiB",
					(unsigned long long)s->paddr,
					(unsigned long long)end);
		if (end > MMIO_HOLE_START)
			return why_fail(why, whylen, -ENOEXEC,
					"segment at physical 0x%llx-0x%llx is outside guest RAM below 3 GiB",
					(unsigned long long)s->paddr,
					(unsigned long long)end);
	}
	if (k->end > l->low_size)
		return why_fail(why, whylen, -E2BIG,
				"kernel needs memory up to %llu MiB; give the guest more",
				(unsigned long long)((k->end + SZ_1M - 1) >> 20));
	return 0;
}

int pvh_initrd_addr(const struct elf_kernel *k, uint64_t low_ram_end,
		    uint64_t initrd_size, uint64_t *addr)
{
	uint64_t top = low_ram_end;

	if (top > PVH_INITRD_ADDR_MAX + 1)
		top = PVH_INITRD_ADDR_MAX + 1;
	if (initrd_size > top)
		return -E2BIG;
	*addr = (top - initrd_size) & ~0xfffULL;
	if (*addr < k->end)
		return -E2BIG;
	return 0;
}

static void put_memmap(const struct pvh_input *in, uint8_t *ram)
{
	struct hvm_memmap_table_entry e;
	int i;

	for (i = 0; i < in->e820_entries; i++) {
		memset(&e, 0, sizeof(e));
		e.addr = in->e820[i].addr;
		e.size = in->e820[i].size;
		e.type = in->e820[i].type;
		memcpy(ram + PVH_MEMMAP_ADDR + i * sizeof(e), &e, sizeof(e));
	}
}

int pvh_write_start_info(const struct pvh_input *in, uint8_t *ram,
			 char *why, size_t whylen)
{
	const size_t map_max = (PVH_INFO_END - PVH_MEMMAP_ADDR) /
			       sizeof(struct hvm_memmap_table_entry);
	size_t len = strlen(in->cmdline);
	struct hvm_start_info si;

	if (len > PVH_CMDLINE_MAX)
		return why_fail(why, whylen, -E2BIG,
				"command line is %zu bytes, the kernel takes at most %d",
				len, PVH_CMDLINE_MAX);
	if (in->e820_entries < 0 || (size_t)in->e820_entries > map_max)
		return why_fail(why, whylen, -E2BIG,
				"memory map of %d entries does not fit (at most %zu)",
				in->e820_entries, map_max);
	memcpy(ram + BOOT_CMDLINE_ADDR, in->cmdline, len + 1);
	memset(&si, 0, sizeof(si));
	si.magic = PVH_START_MAGIC;
	si.version = PVH_START_VERSION;
	si.cmdline_paddr = BOOT_CMDLINE_ADDR;
	si.rsdp_paddr = in->rsdp_addr;
	si.memmap_paddr = PVH_MEMMAP_ADDR;
	si.memmap_entries = (uint32_t)in->e820_entries;
	if (in->initrd_size) {
		struct hvm_modlist_entry m = {
			.paddr = in->initrd_addr,
			.size = in->initrd_size,
		};

		memcpy(ram + PVH_MODLIST_ADDR, &m, sizeof(m));
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
	}
	put_memmap(in, ram);
	memcpy(ram + PVH_START_INFO_ADDR, &si, sizeof(si));
	return 0;
}
