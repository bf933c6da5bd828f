// SPDX-License-Identifier: MIT
/*
 * The PVH boot protocol: where a vmlinux may go, where its initrd goes,
 * the hvm_start_info that ebx points to, and the entry state (32-bit
 * protected mode, paging off) against the GDT the guest finds.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/x86.h"

#include "base/layout.h"
#include "boot/pvh.h"

static char why[256];
static uint8_t ram[4 << 20];

/* A kernel at 16 MiB to 74 MiB, as Debian's 6.1 vmlinux. */
static void make_kernel(struct elf_kernel *k)
{
	memset(k, 0, sizeof(*k));
	k->nsegs = 2;
	k->segs[0] = (struct elf_segment){ .paddr = 0x1000000,
					   .memsz = 0x1a00000 };
	k->segs[1] = (struct elf_segment){ .paddr = 0x3000000,
					   .memsz = 0x1a00000 };
	k->start = 0x1000000;
	k->end = 0x4a00000;
	k->pvh_entry = 0x1000850;
}

static int place(const struct elf_kernel *k, uint64_t ram_size)
{
	struct ram_layout l;

	why[0] = '\0';
	ram_layout_init(&l, ram_size);
	return pvh_check_placement(k, &l, why, sizeof(why));
}

Test(pvh, kernel_above_1m_fits_in_enough_ram)
{
	struct elf_kernel k;

	make_kernel(&k);
	cr_assert_eq(place(&k, 256ULL << 20), 0, "%s", why);
	cr_assert_eq(place(&k, 0x4a00000), 0, "%s", why);
}

Test(pvh, kernel_needing_more_ram_says_how_much)
{
	struct elf_kernel k;

	make_kernel(&k);
	cr_assert_eq(place(&k, 64ULL << 20), -E2BIG);
	cr_assert(strstr(why, "74 MiB"), "%s", why);
}

Test(pvh, refuses_segments_over_vmm_boot_tables)
{
	struct elf_kernel k;

	make_kernel(&k);
	k.segs[0].paddr = 0xf0000;	/* over the ACPI tables */
	k.start = 0xf0000;
	cr_assert_eq(place(&k, 256ULL << 20), -ENOEXEC);
	cr_assert(strstr(why, "below 1 MiB"), "%s", why);
	k.segs[0].paddr = 0;
	k.start = 0;
	cr_assert_eq(place(&k, 256ULL << 20), -ENOEXEC);
}

Test(pvh, refuses_segments_outside_low_ram)
{
	struct elf_kernel k;

	make_kernel(&k);
	k.segs[1].paddr = MMIO_HOLE_START - 0x1000;
	k.segs[1].memsz = 0x2000;
	k.end = MMIO_HOLE_START + 0x1000;
	cr_assert_eq(place(&k, 8ULL << 30), -ENOEXEC);
	cr_assert(strstr(why, "outside guest RAM"), "%s", why);
	k.segs[1].paddr = SZ_4G;	/* RAM there, but not for PVH */
	k.end = SZ_4G + 0x2000;
	cr_assert_eq(place(&k, 8ULL << 30), -ENOEXEC);
}

Test(pvh, initrd_goes_high_above_the_kernel)
{
	struct elf_kernel k;
	uint64_t addr;

	make_kernel(&k);
	cr_assert_eq(pvh_initrd_addr(&k, 256ULL << 20, 10000, &addr), 0);
	cr_assert_eq(addr % 4096, 0);
	cr_assert_leq(addr + 10000, 256ULL << 20);
	cr_assert_gt(addr + 10000 + 4096, 256ULL << 20);
	/* With 3 GiB of RAM it stays below 2 GiB. */
	cr_assert_eq(pvh_initrd_addr(&k, 3ULL << 30, 10000, &addr), 0);
	cr_assert_leq(addr + 10000, 0x80000000ULL);
	/* Not over the kernel. */
	cr_assert_eq(pvh_initrd_addr(&k, 80ULL << 20, 8ULL << 20, &addr),
		     -E2BIG);
	cr_assert_eq(pvh_initrd_addr(&k, 80ULL << 20, 1ULL << 40, &addr),
		     -E2BIG);
}

static struct hvm_start_info start_info(void)
{
	struct hvm_start_info si;

	memcpy(&si, ram + PVH_START_INFO_ADDR, sizeof(si));
	return si;
}

Test(pvh, start_info_gives_cmdline_initrd_rsdp_and_memory_map)
{
	struct e820_entry e820[8];
	struct hvm_memmap_table_entry m;
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	struct ram_layout l;
	struct pvh_input in = { .cmdline = "console=ttyS0 quiet",
				.initrd_addr = 0x8000000, .initrd_size = 1234,
				.rsdp_addr = ACPI_TABLES_ADDR };
	int i, n;

	ram_layout_init(&l, 256ULL << 20);
	n = e820_build(&l, e820, 8);
	cr_assert_gt(n, 0);
	in.e820 = e820;
	in.e820_entries = n;
	memset(ram, 0xa5, sizeof(ram));
	cr_assert_eq(pvh_write_start_info(&in, ram, why, sizeof(why)), 0,
		     "%s", why);
	si = start_info();
	cr_assert_eq(si.magic, 0x336ec578);
	cr_assert_eq(si.version, 1);
	cr_assert_eq(si.flags, 0);
	cr_assert_eq(si.rsdp_paddr, ACPI_TABLES_ADDR);
	cr_assert_str_eq((char *)ram + si.cmdline_paddr, "console=ttyS0 quiet");
	cr_assert_eq(si.nr_modules, 1);
	memcpy(&mod, ram + si.modlist_paddr, sizeof(mod));
	cr_assert_eq(mod.paddr, 0x8000000);
	cr_assert_eq(mod.size, 1234);
	cr_assert_eq(mod.cmdline_paddr, 0);
	cr_assert_eq(mod.reserved, 0);
	cr_assert_eq(si.memmap_entries, (uint32_t)n);
	for (i = 0; i < n; i++) {
		memcpy(&m, ram + si.memmap_paddr + i * sizeof(m), sizeof(m));
		cr_assert_eq(m.addr, e820[i].addr);
		cr_assert_eq(m.size, e820[i].size);
		cr_assert_eq(m.type, e820[i].type);
		cr_assert_eq(m.reserved, 0);
	}
	/* Everything it points to lies below 1 MiB, clear of the kernel. */
	cr_assert_lt(si.memmap_paddr + n * sizeof(m), PVH_INFO_END);
	cr_assert_lt(si.modlist_paddr + sizeof(mod), PVH_MEMMAP_ADDR + 1);
}

Test(pvh, start_info_without_initrd_has_no_module)
{
	struct e820_entry e820[1] = { { 0, 0x9fc00, E820_RAM } };
	struct pvh_input in = { .cmdline = "", .e820 = e820,
				.e820_entries = 1 };
	struct hvm_start_info si;

	memset(ram, 0xa5, sizeof(ram));
	cr_assert_eq(pvh_write_start_info(&in, ram, why, sizeof(why)), 0);
	si = start_info();
	cr_assert_eq(si.nr_modules, 0);
	cr_assert_eq(si.modlist_paddr, 0);
	cr_assert_str_eq((char *)ram + si.cmdline_paddr, "");
}

Test(pvh, start_info_refuses_long_cmdline_and_long_map)
{
	static struct e820_entry e820[200];
	struct pvh_input in = { .e820 = e820, .e820_entries = 1 };
	char *cmdline = malloc(PVH_CMDLINE_MAX + 2);

	memset(cmdline, 'x', PVH_CMDLINE_MAX + 1);
	cmdline[PVH_CMDLINE_MAX + 1] = '\0';
	in.cmdline = cmdline;
	cr_assert_eq(pvh_write_start_info(&in, ram, why, sizeof(why)), -E2BIG);
	cr_assert(strstr(why, "command line is 2048 bytes"), "%s", why);
	cmdline[PVH_CMDLINE_MAX] = '\0';
	cr_assert_eq(pvh_write_start_info(&in, ram, why, sizeof(why)), 0,
		     "%s", why);
	in.e820_entries = 200;
	cr_assert_eq(pvh_write_start_info(&in, ram, why, sizeof(why)), -E2BIG);
	cr_assert(strstr(why, "memory map"), "%s", why);
	free(cmdline);
}

/* The segment a GDT descriptor describes, as the CPU would load it. */
static void decode(uint64_t d, uint32_t *base, uint32_t *limit, unsigned *type,
		   unsigned *s, unsigned *l, unsigned *db, unsigned *g)
{
	*base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 56) << 24));
	*limit = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16);
	*type = (d >> 40) & 0xf;
	*s = (d >> 44) & 1;
	*l = (d >> 53) & 1;
	*db = (d >> 54) & 1;
	*g = (d >> 55) & 1;
	if (*g)
		*limit = (*limit << 12) | 0xfff;
}

static void expect_matches_gdt(const struct kvm_segment *seg)
{
	unsigned int type, s, l, db, g;
	uint32_t base, limit;

	cr_assert_lt(seg->selector / 8, X86_GDT_ENTRIES);
	decode(x86_flat_gdt[seg->selector / 8], &base, &limit, &type, &s, &l,
	       &db, &g);
	cr_assert_eq(base, seg->base, "selector 0x%x base", seg->selector);
	cr_assert_eq(limit, seg->limit, "selector 0x%x limit", seg->selector);
	cr_assert_eq(type, seg->type, "selector 0x%x type", seg->selector);
	cr_assert_eq(s, seg->s, "selector 0x%x s", seg->selector);
	cr_assert_eq(l, seg->l, "selector 0x%x l", seg->selector);
	cr_assert_eq(db, seg->db, "selector 0x%x db", seg->selector);
	cr_assert_eq(g, seg->g, "selector 0x%x g", seg->selector);
}

Test(pvh, entry_state_is_flat_32bit_protected_mode)
{
	struct kvm_sregs sr;

	memset(&sr, 0xff, sizeof(sr));
	sr.apic_base = 0xfee00900;
	x86_protected_mode_sregs(&sr, BOOT_GDT_ADDR);
	cr_assert_eq(sr.cr0 & X86_CR0_PE, X86_CR0_PE);
	cr_assert_eq(sr.cr0 & X86_CR0_PG, 0, "paging must be off");
	cr_assert_eq(sr.cr4, 0);
	cr_assert_eq(sr.efer, 0);
	cr_assert_eq(sr.cs.l, 0);
	cr_assert_eq(sr.cs.db, 1, "CS must be a 32-bit segment");
	cr_assert_eq(sr.cs.type, 0xb, "CS read/execute");
	cr_assert_eq(sr.ds.type, 0x3, "DS read/write");
	cr_assert_eq(sr.tr.type, 0xb, "TR a busy 32-bit TSS");
	cr_assert_eq(sr.tr.limit, 0x67);
	cr_assert_eq(sr.tr.base, 0);
	cr_assert_eq(sr.apic_base, 0xfee00900, "APIC base kept");
	expect_matches_gdt(&sr.cs);
	expect_matches_gdt(&sr.ds);
	expect_matches_gdt(&sr.ss);
	expect_matches_gdt(&sr.es);
	expect_matches_gdt(&sr.tr);
	cr_assert_eq(sr.gdt.base, BOOT_GDT_ADDR);
	cr_assert_eq(sr.gdt.limit, X86_GDT_ENTRIES * 8 - 1);
}

Test(pvh, long_mode_state_still_matches_the_gdt)
{
	struct kvm_sregs sr;

	memset(&sr, 0, sizeof(sr));
	x86_long_mode_sregs(&sr, BOOT_GDT_ADDR, BOOT_PML4_ADDR);
	expect_matches_gdt(&sr.cs);
	expect_matches_gdt(&sr.ds);
	cr_assert_eq(sr.cs.l, 1);
}
