/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot protocol, as Linux implements it for a kernel built with
 * CONFIG_PVH=y (arch/x86/platform/pvh/, include/xen/interface/hvm/
 * start_info.h): the kernel's segments at their physical addresses, entry
 * at the 32-bit PVH entry point in protected mode with paging off, and
 * ebx = the physical address of a struct hvm_start_info (version 1) that
 * gives the command line, the initrd as the first module, the RSDP and
 * the memory map. The kernel then builds its own zero page from it, so
 * nothing of the bzImage protocol is needed, nor a decompressor.
 */
#ifndef VMM_BOOT_PVH_H
#define VMM_BOOT_PVH_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"
#include "boot/elf.h"

#define PVH_START_MAGIC		0x336ec578	/* XEN_HVM_START_MAGIC_VALUE */
#define PVH_START_VERSION	1		/* has the memory map */
/* x86 COMMAND_LINE_SIZE: the kernel keeps 2048 bytes with the NUL. */
#define PVH_CMDLINE_MAX		2047
/* The initrd's address goes to a 32-bit field; keep it below 2 GiB. */
#define PVH_INITRD_ADDR_MAX	0x7fffffffULL

/* The layouts Linux reads, little-endian (include/xen/.../start_info.h). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;		/* struct hvm_modlist_entry[] */
	uint64_t cmdline_paddr;		/* NUL-terminated */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* struct hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;		/* 0: none */
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* the e820 types */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24,
	       "hvm_memmap_table_entry");

/*
 * May @k be loaded into a guest whose RAM is @l? Its segments must lie
 * above vmm's boot area (the first MiB: boot tables, ACPI, the reset
 * vector) and below the 32-bit hole: -ENOEXEC and a line saying which
 * segment does not. A kernel that would fit with more RAM gets -E2BIG
 * and a line saying how much it needs.
 */
int pvh_check_placement(const struct elf_kernel *k, const struct ram_layout *l,
			char *why, size_t whylen);

/*
 * The initrd's guest address: page aligned, as high as possible below
 * @low_ram_end and PVH_INITRD_ADDR_MAX, above the kernel. 0 or -E2BIG.
 */
int pvh_initrd_addr(const struct elf_kernel *k, uint64_t low_ram_end,
		    uint64_t initrd_size, uint64_t *addr);

struct pvh_input {
	const char *cmdline;
	uint64_t initrd_addr;		/* 0: no initrd */
	uint64_t initrd_size;
	uint64_t rsdp_addr;
	const struct e820_entry *e820;
	int e820_entries;
};

/*
 * Write the command line (at BOOT_CMDLINE_ADDR), the module list, the
 * memory map and the hvm_start_info (at PVH_START_INFO_ADDR, which goes
 * to ebx) into @ram. Returns 0, or -E2BIG with a line (command line too
 * long, memory map does not fit).
 */
int pvh_write_start_info(const struct pvh_input *in, uint8_t *ram,
			 char *why, size_t whylen);

#endif /* VMM_BOOT_PVH_H */
