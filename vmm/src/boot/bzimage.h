/* SPDX-License-Identifier: MIT */
/*
 * bzImage: setup header validation and the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): kernel at its preferred address, zero
 * page with the e820 map, command line and initrd fields.
 */
#ifndef VMM_BZIMAGE_H
#define VMM_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"

/* Oldest boot protocol accepted: 2.12 introduced xloadflags/XLF_KERNEL_64. */
#define BZIMAGE_MIN_VERSION	0x020c

struct bzimage_info {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t setup_size;	/* bytes before the protected-mode kernel */
	uint64_t kernel_size;	/* bytes of protected-mode kernel */
	uint64_t pref_address;	/* where it is loaded */
	uint32_t init_size;	/* memory it needs from pref_address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;	/* bytes, without the NUL */
	size_t hdr_len;		/* bytes of setup header from 0x1f1 */
};

/*
 * Validate the image in @buf. Returns 0, or -ENOEXEC with one line in @why
 * (e.g. "no boot flag 0xAA55: not a bzImage").
 */
int bzimage_parse(const void *buf, size_t len, struct bzimage_info *info,
		  char *why, size_t whylen);

struct boot_input {
	const void *image;		/* the whole bzImage file */
	const struct bzimage_info *info;
	const char *cmdline;
	uint64_t initrd_addr;		/* 0: no initrd */
	uint64_t initrd_size;
	const struct e820_entry *e820;
	int e820_entries;
	uint64_t rsdp_addr;
};

/*
 * The initrd's guest address: page aligned, as high as possible below both
 * initrd_addr_max and @low_ram_end, above the kernel's init_size. Returns
 * 0 or -E2BIG (it does not fit).
 */
int bzimage_initrd_addr(const struct bzimage_info *info, uint64_t low_ram_end,
			uint64_t initrd_size, uint64_t *addr);

/*
 * Copy the kernel into @ram (guest physical 0..@low_ram_end, already
 * zeroed) and write the command line and zero page. Returns 0, -E2BIG
 * (kernel or command line does not fit) or -ENOSPC (e820 map too long).
 */
int bzimage_load(const struct boot_input *in, void *ram, uint64_t low_ram_end,
		 char *why, size_t whylen);

#endif /* VMM_BZIMAGE_H */
