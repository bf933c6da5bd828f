// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <asm/bootparam.h>

#include "boot/bzimage.h"
#include "base/layout.h"

#define HDR_OFFSET		0x1f1
#define HDR_MIN_END		0x268	/* through init_size and handover */
#define BOOT_FLAG		0xaa55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define LOADER_TYPE_UNKNOWN	0xff

static uint16_t get16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	return get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}

static int reject(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -ENOEXEC;
}

static int check_magic(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	if (len < HDR_MIN_END)
		return reject(why, whylen,
			      "too short for a boot setup header: not a bzImage");
	if (get16(p, 0x1fe) != BOOT_FLAG)
		return reject(why, whylen,
			      "no boot flag 0xAA55: not a bzImage");
	if (get32(p, 0x202) != HDRS_MAGIC)
		return reject(why, whylen,
			      "no \"HdrS\" setup header magic: not a bzImage");
	return 0;
}

static int check_protocol(const uint8_t *p, char *why, size_t whylen)
{
	uint16_t version = get16(p, 0x206);

	if (version < BZIMAGE_MIN_VERSION) {
		snprintf(why, whylen,
			 "boot protocol %u.%02u is too old (2.12 or later needed for 64-bit entry)",
			 version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(p[0x211] & LOADED_HIGH))
		return reject(why, whylen,
			      "not a bzImage (zImage loads low; unsupported)");
	if (!(get16(p, 0x236) & XLF_KERNEL_64))
		return reject(why, whylen,
			      "kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
	return 0;
}

int bzimage_parse(const void *buf, size_t len, struct bzimage_info *info,
		  char *why, size_t whylen)
{
	const uint8_t *p = buf;
	unsigned int setup_sects;
	int ret;

	ret = check_magic(p, len, why, whylen);
	if (!ret)
		ret = check_protocol(p, why, whylen);
	if (ret)
		return ret;

	setup_sects = p[0x1f1] ? p[0x1f1] : 4;
	memset(info, 0, sizeof(*info));
	info->version = get16(p, 0x206);
	info->loadflags = p[0x211];
	info->xloadflags = get16(p, 0x236);
	info->setup_size = (setup_sects + 1) * 512;
	info->initrd_addr_max = get32(p, 0x22c);
	info->cmdline_size = get32(p, 0x238);
	info->pref_address = get64(p, 0x258);
	info->init_size = get32(p, 0x260);
	info->hdr_len = 0x202 + p[0x201] - HDR_OFFSET;
	if (info->hdr_len > sizeof(struct setup_header))
		info->hdr_len = sizeof(struct setup_header);

	if (len <= info->setup_size)
		return reject(why, whylen,
			      "truncated: no protected-mode kernel after the setup code");
	info->kernel_size = len - info->setup_size;
	if (info->pref_address < HIGH_MEMORY_START ||
	    info->pref_address >= MMIO_HOLE_START)
		return reject(why, whylen,
			      "preferred load address outside low memory");
	if (info->init_size < info->kernel_size)
		return reject(why, whylen,
			      "truncated or corrupt: init_size is smaller than the kernel");
	return 0;
}

int bzimage_initrd_addr(const struct bzimage_info *info, uint64_t low_ram_end,
			uint64_t initrd_size, uint64_t *addr)
{
	uint64_t kernel_end = info->pref_address + info->init_size;
	uint64_t top = low_ram_end;

	if (info->initrd_addr_max && (uint64_t)info->initrd_addr_max + 1 < top)
		top = (uint64_t)info->initrd_addr_max + 1;
	if (initrd_size > top)
		return -E2BIG;
	*addr = (top - initrd_size) & ~0xfffULL;
	if (*addr < kernel_end)
		return -E2BIG;
	return 0;
}

static int write_cmdline(const struct boot_input *in, uint8_t *ram,
			 char *why, size_t whylen)
{
	size_t len = strlen(in->cmdline);
	uint64_t max = in->info->cmdline_size;

	if (max > BOOT_CMDLINE_MAX - 1)
		max = BOOT_CMDLINE_MAX - 1;
	if (len > max) {
		snprintf(why, whylen,
			 "command line is %zu bytes, the kernel takes at most %llu",
			 len, (unsigned long long)max);
		return -E2BIG;
	}
	memcpy(ram + BOOT_CMDLINE_ADDR, in->cmdline, len + 1);
	return 0;
}

static int write_zero_page(const struct boot_input *in, uint8_t *ram)
{
	struct boot_params *bp = (struct boot_params *)(ram + BOOT_ZERO_PAGE_ADDR);
	const uint8_t *image = in->image;
	int i;

	if (in->e820_entries > E820_MAX_ENTRIES_ZEROPAGE)
		return -ENOSPC;
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, image + HDR_OFFSET, in->info->hdr_len);
	bp->hdr.type_of_loader = LOADER_TYPE_UNKNOWN;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= ~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)in->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)in->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(in->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(in->initrd_size >> 32);
	bp->hdr.code32_start = (uint32_t)in->info->pref_address;
	bp->acpi_rsdp_addr = in->rsdp_addr;
	for (i = 0; i < in->e820_entries; i++) {
		bp->e820_table[i].addr = in->e820[i].addr;
		bp->e820_table[i].size = in->e820[i].size;
		bp->e820_table[i].type = in->e820[i].type;
	}
	bp->e820_entries = (uint8_t)in->e820_entries;
	return 0;
}

int bzimage_load(const struct boot_input *in, void *ram, uint64_t low_ram_end,
		 char *why, size_t whylen)
{
	const struct bzimage_info *info = in->info;
	const uint8_t *image = in->image;
	int ret;

	if (info->pref_address + info->init_size > low_ram_end) {
		snprintf(why, whylen,
			 "kernel needs memory up to %llu MiB; give the guest more",
			 (unsigned long long)((info->pref_address +
					       info->init_size) >> 20) + 1);
		return -E2BIG;
	}
	memcpy((uint8_t *)ram + info->pref_address, image + info->setup_size,
	       info->kernel_size);
	ret = write_cmdline(in, ram, why, whylen);
	if (ret)
		return ret;
	ret = write_zero_page(in, ram);
	if (ret)
		snprintf(why, whylen, "e820 map too long for the zero page");
	return ret;
}
