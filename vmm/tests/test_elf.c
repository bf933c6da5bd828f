// SPDX-License-Identifier: MIT
/*
 * The ELF vmlinux parser: a synthetic vmlinux with two segments and a PVH
 * note, then every way such a file can be bad. A real vmlinux is checked
 * too when VMM_TEST_VMLINUX names one (guest-tests' images/vmlinux).
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/elf.h"

#define FILE_SIZE	0x5000
#define NOTE_OFF	0x4000
#define ENTRY		0x1000200ULL

static uint8_t file[FILE_SIZE];
static size_t file_len;
static char why[256];
static int fail_reads;		/* make the reader fail with -EIO */

static Elf64_Ehdr *eh(void) { return (Elf64_Ehdr *)file; }
static Elf64_Phdr *ph(unsigned int i)
{
	return (Elf64_Phdr *)(file + sizeof(Elf64_Ehdr)) + i;
}

static int mem_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	(void)opaque;
	if (fail_reads)
		return -EIO;
	cr_assert_leq(off + len, file_len, "parser read past the file's end");
	memcpy(buf, file + off, len);
	return 0;
}

/* Append one note at *off; returns its descriptor's offset. */
static size_t put_note(size_t *off, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1,
		.n_descsz = descsz,
		.n_type = type,
	};
	size_t d;

	memcpy(file + *off, &nh, sizeof(nh));
	*off += sizeof(nh);
	memcpy(file + *off, name, nh.n_namesz);
	*off += (nh.n_namesz + 3) & ~3u;
	d = *off;
	memcpy(file + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
	return d;
}

static void set_notes(const void *entry, uint32_t entry_size)
{
	static const uint8_t build_id[20] = { 1, 2, 3 };
	size_t off = NOTE_OFF;

	put_note(&off, "GNU", 3, build_id, sizeof(build_id));
	put_note(&off, "Xen", 6, "linux", 6);
	if (entry)
		put_note(&off, "Xen", ELF_NOTE_PVH_ENTRY, entry, entry_size);
	ph(2)->p_filesz = off - NOTE_OFF;
	ph(2)->p_memsz = off - NOTE_OFF;
}

/* A vmlinux: text at 16 MiB (with 4 KiB of bss), data at 20 MiB, notes. */
static void make_vmlinux(void)
{
	uint64_t entry = ENTRY;
	size_t i;

	memset(file, 0, sizeof(file));
	file_len = FILE_SIZE;
	fail_reads = 0;
	memcpy(eh()->e_ident, ELFMAG, SELFMAG);
	eh()->e_ident[EI_CLASS] = ELFCLASS64;
	eh()->e_ident[EI_DATA] = ELFDATA2LSB;
	eh()->e_ident[EI_VERSION] = EV_CURRENT;
	eh()->e_type = ET_EXEC;
	eh()->e_machine = EM_X86_64;
	eh()->e_version = EV_CURRENT;
	eh()->e_entry = 0x1000000;
	eh()->e_phoff = sizeof(Elf64_Ehdr);
	eh()->e_ehsize = sizeof(Elf64_Ehdr);
	eh()->e_phentsize = sizeof(Elf64_Phdr);
	eh()->e_phnum = 3;
	*ph(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
			       .p_vaddr = 0xffffffff81000000ULL,
			       .p_paddr = 0x1000000, .p_filesz = 0x2000,
			       .p_memsz = 0x3000, .p_align = 0x1000 };
	*ph(1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x3000,
			       .p_vaddr = 0xffffffff81400000ULL,
			       .p_paddr = 0x1400000, .p_filesz = 0x1000,
			       .p_memsz = 0x1000, .p_align = 0x1000 };
	*ph(2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
			       .p_align = 4 };
	for (i = 0x1000; i < NOTE_OFF; i++)
		file[i] = (uint8_t)(i * 7 + 1);
	set_notes(&entry, sizeof(entry));
}

static int parse(struct elf_kernel *k)
{
	struct elf_reader r = { mem_read, NULL, file_len };

	why[0] = '\0';
	return elf_parse(&r, k, why, sizeof(why));
}

/* Parsing fails with -ENOEXEC and a reason containing @word. */
static void expect_bad(const char *word)
{
	struct elf_kernel k;

	cr_assert_eq(parse(&k), -ENOEXEC, "accepted; expected '%s'", word);
	cr_assert(strstr(why, word), "reason '%s' lacks '%s'", why, word);
	cr_assert_null(strchr(why, '\n'), "reason has a newline: %s", why);
}

Test(elf, accepts_a_vmlinux_with_a_pvh_note)
{
	struct elf_kernel k;

	make_vmlinux();
	cr_assert_eq(parse(&k), 0, "%s", why);
	cr_assert_eq(k.pvh_entry, ENTRY);
	cr_assert_eq(k.nsegs, 2);
	cr_assert_eq(k.segs[0].paddr, 0x1000000);
	cr_assert_eq(k.segs[0].filesz, 0x2000);
	cr_assert_eq(k.segs[0].memsz, 0x3000);
	cr_assert_eq(k.segs[1].offset, 0x3000);
	cr_assert_eq(k.start, 0x1000000);
	cr_assert_eq(k.end, 0x1401000);
}

Test(elf, accepts_a_four_byte_entry_note)
{
	uint32_t entry = 0x1000400;
	struct elf_kernel k;

	make_vmlinux();
	set_notes(&entry, sizeof(entry));
	cr_assert_eq(parse(&k), 0, "%s", why);
	cr_assert_eq(k.pvh_entry, 0x1000400);
}

Test(elf, sorts_segments_by_address)
{
	Elf64_Phdr t;
	struct elf_kernel k;

	make_vmlinux();
	t = *ph(0);
	*ph(0) = *ph(1);
	*ph(1) = t;
	cr_assert_eq(parse(&k), 0, "%s", why);
	cr_assert_eq(k.segs[0].paddr, 0x1000000);
	cr_assert_eq(k.segs[1].paddr, 0x1400000);
}

Test(elf, skips_empty_segments)
{
	struct elf_kernel k;

	make_vmlinux();
	eh()->e_phnum = 4;
	*ph(3) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_paddr = 0 };
	cr_assert_eq(parse(&k), 0, "%s", why);
	cr_assert_eq(k.nsegs, 2);
}

Test(elf, tells_elf_by_its_magic)
{
	make_vmlinux();
	cr_assert(elf_is_elf(file, 4));
	cr_assert_not(elf_is_elf(file, 3));
	cr_assert_not(elf_is_elf("MZ\x90\x00", 4));
}

Test(elf, rejects_truncated_files)
{
	static const size_t lens[] = {
		0, 4, 15, 16, 63, 64, 64 + 56, 64 + 3 * 56 - 1,
		0x1000, 0x2fff, NOTE_OFF + 8,
	};
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct elf_kernel k;

		make_vmlinux();
		file_len = lens[i];
		cr_assert_eq(parse(&k), -ENOEXEC, "length %zu accepted",
			     lens[i]);
		cr_assert(strstr(why, "truncated"), "length %zu: %s", lens[i],
			  why);
	}
}

Test(elf, rejects_a_32bit_elf)
{
	make_vmlinux();
	eh()->e_ident[EI_CLASS] = ELFCLASS32;
	expect_bad("32-bit");
}

Test(elf, rejects_an_unknown_class)
{
	make_vmlinux();
	eh()->e_ident[EI_CLASS] = 7;
	expect_bad("class");
}

Test(elf, rejects_big_endian)
{
	make_vmlinux();
	eh()->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_bad("big-endian");
}

Test(elf, rejects_other_machines)
{
	make_vmlinux();
	eh()->e_machine = EM_AARCH64;
	expect_bad("not x86-64");
}

Test(elf, rejects_shared_objects_and_pie)
{
	make_vmlinux();
	eh()->e_type = ET_DYN;
	expect_bad("not an executable vmlinux");
}

Test(elf, rejects_bad_program_header_tables)
{
	make_vmlinux();
	eh()->e_phentsize = 32;
	expect_bad("program header size");
	make_vmlinux();
	eh()->e_phnum = 0;
	expect_bad("program headers");
	make_vmlinux();
	eh()->e_phnum = ELF_MAX_PHDRS + 1;
	expect_bad("program headers");
	make_vmlinux();
	eh()->e_phoff = ~0ULL - 8;
	expect_bad("truncated");
}

Test(elf, rejects_a_kernel_without_pvh_note)
{
	make_vmlinux();
	set_notes(NULL, 0);
	expect_bad("CONFIG_PVH");
	make_vmlinux();
	eh()->e_phnum = 2;		/* no PT_NOTE at all */
	expect_bad("no PVH entry point");
}

Test(elf, rejects_a_pvh_note_of_odd_size)
{
	uint16_t entry = 0x1000;

	make_vmlinux();
	set_notes(&entry, sizeof(entry));
	expect_bad("2-byte");
}

Test(elf, rejects_an_entry_above_4g)
{
	uint64_t entry = 0x100000000ULL;

	make_vmlinux();
	set_notes(&entry, sizeof(entry));
	expect_bad("above 4 GiB");
}

Test(elf, rejects_an_entry_outside_the_segments)
{
	uint64_t entry = 0x1002800;	/* in the first segment's bss */

	make_vmlinux();
	set_notes(&entry, sizeof(entry));
	expect_bad("not in a loaded segment");
	entry = 0x800000;
	set_notes(&entry, sizeof(entry));
	expect_bad("not in a loaded segment");
}

Test(elf, rejects_notes_running_past_their_segment)
{
	Elf64_Nhdr nh;

	make_vmlinux();
	memcpy(&nh, file + NOTE_OFF, sizeof(nh));
	nh.n_descsz = 0xffffffffu;
	memcpy(file + NOTE_OFF, &nh, sizeof(nh));
	expect_bad("runs past");
	make_vmlinux();
	memcpy(&nh, file + NOTE_OFF, sizeof(nh));
	nh.n_namesz = 0xfffffff0u;
	memcpy(file + NOTE_OFF, &nh, sizeof(nh));
	expect_bad("runs past");
}

Test(elf, rejects_a_huge_note_segment)
{
	make_vmlinux();
	ph(2)->p_filesz = ELF_MAX_NOTES_SIZE + 1;
	expect_bad("64 KiB");
}

Test(elf, rejects_segments_with_more_file_than_memory)
{
	make_vmlinux();
	ph(1)->p_memsz = 0x800;
	expect_bad("more file bytes than memory bytes");
}

Test(elf, rejects_overlapping_segments)
{
	make_vmlinux();
	ph(1)->p_paddr = 0x1002000;	/* inside the first one's bss */
	expect_bad("overlaps");
	make_vmlinux();
	ph(0)->p_paddr = 0x13ff000;	/* runs into the second one */
	expect_bad("overlaps");
}

Test(elf, rejects_segments_that_wrap_around)
{
	make_vmlinux();
	ph(1)->p_paddr = ~0ULL - 0x10;
	expect_bad("wraps around");
}

Test(elf, rejects_segments_past_the_end_of_the_file)
{
	make_vmlinux();
	ph(1)->p_offset = ~0ULL - 0x100;
	expect_bad("truncated");
}

Test(elf, rejects_too_many_segments)
{
	unsigned int i;

	make_vmlinux();
	eh()->e_phnum = ELF_MAX_SEGMENTS + 3;
	for (i = 2; i < ELF_MAX_SEGMENTS + 2; i++)
		*ph(i) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
				       .p_paddr = 0x2000000 + i * 0x1000,
				       .p_filesz = 0x10, .p_memsz = 0x10 };
	*ph(ELF_MAX_SEGMENTS + 2) = (Elf64_Phdr){ .p_type = PT_NOTE,
						  .p_offset = NOTE_OFF };
	expect_bad("more than 16 loadable segments");
}

Test(elf, rejects_a_file_with_nothing_to_load)
{
	make_vmlinux();
	ph(0)->p_type = PT_NULL;
	ph(1)->p_type = PT_NULL;
	expect_bad("no loadable segment");
}

Test(elf, passes_read_errors_on)
{
	struct elf_kernel k;

	make_vmlinux();
	fail_reads = 1;
	cr_assert_eq(parse(&k), -EIO);
	cr_assert(strstr(why, "reading"), "reason: %s", why);
}

static uint8_t ram[32 << 20];

Test(elf, load_copies_segments_to_their_physical_addresses)
{
	struct elf_reader r = { mem_read, NULL, FILE_SIZE };
	struct elf_kernel k;

	make_vmlinux();
	cr_assert_eq(parse(&k), 0, "%s", why);
	memset(ram, 0, sizeof(ram));
	cr_assert_eq(elf_load(&r, &k, ram, sizeof(ram)), 0);
	cr_assert_arr_eq(ram + 0x1000000, file + 0x1000, 0x2000);
	cr_assert_arr_eq(ram + 0x1400000, file + 0x3000, 0x1000);
	cr_assert_eq(ram[0x1002000], 0, "bss is not zero");
	cr_assert_eq(ram[0xffffff], 0, "byte below the kernel written");
	cr_assert_eq(ram[0x1401000], 0, "byte above the kernel written");
}

Test(elf, load_refuses_ram_that_is_too_small)
{
	struct elf_reader r = { mem_read, NULL, FILE_SIZE };
	struct elf_kernel k;

	make_vmlinux();
	cr_assert_eq(parse(&k), 0, "%s", why);
	cr_assert_eq(elf_load(&r, &k, ram, 0x1400800), -ERANGE);
}

static int file_read(void *opaque, uint64_t off, void *buf, size_t len)
{
	FILE *f = opaque;

	if (fseek(f, (long)off, SEEK_SET) || fread(buf, 1, len, f) != len)
		return -EIO;
	return 0;
}

/* The Debian kernel's vmlinux itself, when the environment names it. */
Test(elf, real_vmlinux)
{
	const char *path = getenv("VMM_TEST_VMLINUX");
	struct elf_reader r = { file_read, NULL, 0 };
	struct elf_kernel k;
	FILE *f;

	if (!path || !*path) {
		cr_log_info("VMM_TEST_VMLINUX not set: synthetic files only");
		return;
	}
	f = fopen(path, "rb");
	cr_assert_not_null(f, "VMM_TEST_VMLINUX=%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	r.size = (uint64_t)ftell(f);
	r.opaque = f;
	cr_assert_eq(elf_parse(&r, &k, why, sizeof(why)), 0, "%s: %s", path,
		     why);
	cr_assert_eq(k.start, 0x1000000);
	cr_assert_geq(k.nsegs, 3);
	cr_assert(k.pvh_entry > k.start && k.pvh_entry < k.end);
	/* Cut it in the middle of its first segment. */
	r.size = k.segs[0].offset + k.segs[0].filesz / 2;
	cr_assert_eq(elf_parse(&r, &k, why, sizeof(why)), -ENOEXEC);
	cr_assert(strstr(why, "truncated"), "%s", why);
	fclose(f);
}
