// SPDX-License-Identifier: MIT
/*
 * bzImage setup header validation and the zero page. A real kernel is
 * checked too when VMM_TEST_KERNEL names one (guest-tests' Debian kernel).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asm/bootparam.h>

#include "boot/bzimage.h"
#include "base/layout.h"

#define SETUP_SECTS	4
#define IMG_SIZE	(64 * 1024)

static uint8_t img[IMG_SIZE];
static char why[256];

static void put16(size_t off, uint16_t v) { memcpy(img + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(img + off, &v, 8); }

/* A minimal valid 2.15 header: 4 setup sectors, 64-bit, relocatable. */
static void make_image(void)
{
	size_t i;

	memset(img, 0, sizeof(img));
	img[0x1f1] = SETUP_SECTS;
	put16(0x1fe, 0xaa55);
	img[0x201] = 0x6a;			/* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(0x206, 0x020f);
	img[0x211] = LOADED_HIGH;
	put32(0x22c, 0x7fffffff);		/* initrd_addr_max */
	put32(0x238, 2047);			/* cmdline_size */
	put16(0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put64(0x258, 0x1000000);		/* pref_address */
	put32(0x260, 0x200000);			/* init_size */
	for (i = (SETUP_SECTS + 1) * 512; i < IMG_SIZE; i++)
		img[i] = (uint8_t)i;
}

static int parse(size_t len, struct bzimage_info *info)
{
	why[0] = '\0';
	return bzimage_parse(img, len, info, why, sizeof(why));
}

Test(bzimage, accepts_a_valid_header)
{
	struct bzimage_info info;

	make_image();
	cr_assert_eq(parse(IMG_SIZE, &info), 0, "%s", why);
	cr_assert_eq(info.version, 0x020f);
	cr_assert_eq(info.setup_size, (SETUP_SECTS + 1) * 512);
	cr_assert_eq(info.kernel_size, IMG_SIZE - (SETUP_SECTS + 1) * 512);
	cr_assert_eq(info.pref_address, 0x1000000);
	cr_assert_eq(info.init_size, 0x200000);
	cr_assert_eq(info.cmdline_size, 2047);
	cr_assert_eq(info.hdr_len, 0x26c - 0x1f1);
}

Test(bzimage, setup_sects_zero_means_four)
{
	struct bzimage_info info;

	make_image();
	img[0x1f1] = 0;
	cr_assert_eq(parse(IMG_SIZE, &info), 0, "%s", why);
	cr_assert_eq(info.setup_size, 5 * 512);
}

Test(bzimage, rejects_wrong_boot_flag)
{
	struct bzimage_info info;

	make_image();
	put16(0x1fe, 0x55aa);
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
	cr_assert(strstr(why, "0xAA55"), "message: %s", why);
}

Test(bzimage, rejects_wrong_magic)
{
	struct bzimage_info info;

	make_image();
	memcpy(img + 0x202, "HdrX", 4);
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
	cr_assert(strstr(why, "HdrS"), "message: %s", why);
}

Test(bzimage, rejects_old_protocol)
{
	struct bzimage_info info;

	make_image();
	put16(0x206, 0x020b);
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
	cr_assert(strstr(why, "2.11") && strstr(why, "too old"),
		  "message: %s", why);
}

Test(bzimage, rejects_kernel_without_64bit_entry)
{
	struct bzimage_info info;

	make_image();
	put16(0x236, 0);
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
	cr_assert(strstr(why, "XLF_KERNEL_64"), "message: %s", why);
}

Test(bzimage, rejects_zimage)
{
	struct bzimage_info info;

	make_image();
	img[0x211] = 0;
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
}

Test(bzimage, rejects_truncated_files)
{
	struct bzimage_info info;
	size_t lens[] = { 0, 1, 0x1ff, 0x200, 0x267, (SETUP_SECTS + 1) * 512 };
	size_t i;

	make_image();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		cr_assert_eq(parse(lens[i], &info), -ENOEXEC,
			     "length %zu accepted", lens[i]);
}

Test(bzimage, rejects_text_file)
{
	struct bzimage_info info;

	memset(img, 0, sizeof(img));
	strcpy((char *)img, "this is a text file, not a kernel\n");
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
	cr_assert(strstr(why, "not a bzImage"), "message: %s", why);
}

Test(bzimage, rejects_init_size_below_kernel_size)
{
	struct bzimage_info info;

	make_image();
	put32(0x260, 0x1000);
	cr_assert_eq(parse(IMG_SIZE, &info), -ENOEXEC);
}

Test(bzimage, initrd_goes_high_below_its_limit)
{
	struct bzimage_info info;
	uint64_t addr;

	make_image();
	cr_assert_eq(parse(IMG_SIZE, &info), 0);
	cr_assert_eq(bzimage_initrd_addr(&info, 256ULL << 20, 10000, &addr), 0);
	cr_assert_eq(addr % 4096, 0);
	cr_assert_leq(addr + 10000, 256ULL << 20);
	cr_assert_gt(addr + 10000 + 4096, 256ULL << 20);
	/* With 3 GiB of low RAM, initrd_addr_max (2 GiB - 1) binds. */
	cr_assert_eq(bzimage_initrd_addr(&info, 3ULL << 30, 10000, &addr), 0);
	cr_assert_leq(addr + 10000, 0x80000000ULL);
	/* It must not overlap the kernel's init_size. */
	cr_assert_eq(bzimage_initrd_addr(&info, 32ULL << 20, 15ULL << 20,
					 &addr), -E2BIG);
}

static uint8_t ram[32 << 20];

Test(bzimage, load_writes_kernel_zero_page_and_cmdline)
{
	struct e820_entry e820[8];
	struct ram_layout l;
	struct bzimage_info info;
	struct boot_params *bp;
	struct boot_input in = { .image = img, .info = &info,
				 .cmdline = "console=ttyS0 quiet",
				 .initrd_addr = 0x1800000, .initrd_size = 1234,
				 .rsdp_addr = ACPI_TABLES_ADDR };
	int n;

	make_image();
	cr_assert_eq(parse(IMG_SIZE, &info), 0);
	ram_layout_init(&l, sizeof(ram));
	n = e820_build(&l, e820, 8);
	cr_assert_gt(n, 0);
	in.e820 = e820;
	in.e820_entries = n;
	cr_assert_eq(bzimage_load(&in, ram, sizeof(ram), why, sizeof(why)), 0,
		     "%s", why);
	cr_assert_arr_eq(ram + 0x1000000, img + info.setup_size,
			 info.kernel_size);
	cr_assert_str_eq((char *)ram + BOOT_CMDLINE_ADDR, "console=ttyS0 quiet");
	bp = (struct boot_params *)(ram + BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(bp->hdr.boot_flag, 0xaa55);
	cr_assert_eq(bp->hdr.header, 0x53726448);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_eq(bp->hdr.ramdisk_image, 0x1800000);
	cr_assert_eq(bp->hdr.ramdisk_size, 1234);
	cr_assert_eq(bp->acpi_rsdp_addr, ACPI_TABLES_ADDR);
	cr_assert_eq(bp->e820_entries, n);
	cr_assert_eq(bp->e820_table[n - 1].type, E820_RAM);
}

Test(bzimage, load_refuses_long_cmdline_and_small_memory)
{
	struct bzimage_info info;
	char *cmdline = malloc(4096);
	struct boot_input in = { .image = img, .info = &info };

	make_image();
	cr_assert_eq(parse(IMG_SIZE, &info), 0);
	memset(cmdline, 'x', 4095);
	cmdline[4095] = '\0';
	in.cmdline = cmdline;
	cr_assert_eq(bzimage_load(&in, ram, sizeof(ram), why, sizeof(why)),
		     -E2BIG);
	cr_assert(strstr(why, "command line"), "message: %s", why);
	in.cmdline = "";
	cr_assert_eq(bzimage_load(&in, ram, 0x1100000, why, sizeof(why)),
		     -E2BIG);
	cr_assert(strstr(why, "memory"), "message: %s", why);
	free(cmdline);
}

/* The Debian kernel itself, when the environment names it. */
Test(bzimage, real_kernel)
{
	const char *path = getenv("VMM_TEST_KERNEL");
	struct bzimage_info info;
	uint8_t *buf;
	long len;
	FILE *f;

	if (!path || !*path) {
		cr_log_info("VMM_TEST_KERNEL not set: synthetic headers only");
		return;
	}
	f = fopen(path, "rb");
	cr_assert_not_null(f, "VMM_TEST_KERNEL=%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len);
	cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	cr_assert_eq(bzimage_parse(buf, (size_t)len, &info, why, sizeof(why)),
		     0, "%s: %s", path, why);
	cr_assert_geq(info.version, 0x020c);
	cr_assert(info.xloadflags & XLF_KERNEL_64);
	cr_assert_eq(info.pref_address, 0x1000000);
	/* Cut it at its setup code: no kernel left. */
	cr_assert_eq(bzimage_parse(buf, info.setup_size, &info, why,
				   sizeof(why)), -ENOEXEC);
	free(buf);
}
