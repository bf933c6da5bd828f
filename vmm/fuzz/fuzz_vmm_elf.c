// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: any file as a --kernel that starts with the ELF magic.
 * elf_parse() must refuse it with -ENOEXEC and a reason, or accept it; an
 * accepted kernel is placed (pvh_check_placement()) and, when it fits the
 * small RAM here, loaded with its hvm_start_info. Nothing may read outside
 * the input or write outside the RAM.
 *
 * An input that starts with the ELF magic is the file. Any other input
 * edits a valid vmlinux (two segments, a PVH note): its first two bytes
 * say where to cut the file, then each three bytes (a 16-bit offset, a
 * value) patch one byte; so every header field and note is within a few
 * mutations of a file the parser accepts.
 *
 * scripts/fuzz.sh fails unless the corpus reaches these functions:
 * fuzz-reach: elf_parse find_pvh_note add_segment check_entry pvh_check_placement elf_load pvh_write_start_info
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "boot/elf.h"
#include "boot/pvh.h"

#define RAM_SIZE	(8u << 20)
#define TEMPLATE_SIZE	0x3000
#define NOTE_OFF	0x2000

struct input {
	const uint8_t *data;
	size_t size;
};

static int read_input(void *opaque, uint64_t off, void *buf, size_t len)
{
	const struct input *in = opaque;

	if (off > in->size || len > in->size - off)
		abort();	/* the parser must check ranges itself */
	memcpy(buf, in->data + off, len);
	return 0;
}

static void put_note(uint8_t *f, size_t *off, const char *name,
		     uint32_t type, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, descsz, type };

	memcpy(f + *off, &nh, sizeof(nh));
	memcpy(f + *off + sizeof(nh), name, nh.n_namesz);
	*off += sizeof(nh) + ((nh.n_namesz + 3) & ~3u);
	memcpy(f + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
}

/* A vmlinux with text at 1 MiB (and bss), data at 2 MiB, and notes. */
static void make_template(uint8_t *f)
{
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT, .e_phoff = sizeof(eh),
			  .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3 };
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = 0x100000,
		  .p_filesz = 0x800, .p_memsz = 0x2000 },
		{ .p_type = PT_LOAD, .p_offset = 0x1800, .p_paddr = 0x200000,
		  .p_filesz = 0x800, .p_memsz = 0x800 },
		{ .p_type = PT_NOTE, .p_offset = NOTE_OFF },
	};
	uint64_t entry = 0x100010;
	size_t off = NOTE_OFF;

	memset(f, 0, TEMPLATE_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	put_note(f, &off, "GNU", 3, "0123456789abcdefghij", 20);
	put_note(f, &off, "Xen", 6, "linux", 6);
	put_note(f, &off, "Xen", ELF_NOTE_PVH_ENTRY, &entry, sizeof(entry));
	ph[2].p_filesz = off - NOTE_OFF;
	memcpy(f, &eh, sizeof(eh));
	memcpy(f + sizeof(eh), ph, sizeof(ph));
}

/* The template, cut and patched as the input says. */
static size_t edit_template(uint8_t *f, const uint8_t *data, size_t size)
{
	size_t len = TEMPLATE_SIZE, i;

	make_template(f);
	if (size >= 2) {
		len = (size_t)(data[0] | data[1] << 8) % (TEMPLATE_SIZE + 1);
		if (!len)
			len = TEMPLATE_SIZE;
	}
	for (i = 2; i + 3 <= size; i += 3)
		f[(data[i] | data[i + 1] << 8) % TEMPLATE_SIZE] = data[i + 2];
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE];
	static uint8_t file[TEMPLATE_SIZE];
	struct input in = { data, size };
	struct elf_reader r = { read_input, &in, size };
	struct e820_entry e820[8];
	struct pvh_input pi = { .cmdline = "console=ttyS0",
				.rsdp_addr = ACPI_TABLES_ADDR };
	struct elf_kernel k;
	struct ram_layout l;
	char why[200];
	int ret;

	if (!elf_is_elf(data, size)) {
		in.size = r.size = edit_template(file, data, size);
		in.data = file;
	}
	why[0] = '\0';
	ret = elf_parse(&r, &k, why, sizeof(why));
	if (ret) {
		if (ret != -ENOEXEC || !why[0])
			abort();	/* a refusal always says why */
		return 0;
	}
	if (k.pvh_entry < k.start || k.pvh_entry >= k.end || !k.nsegs)
		abort();
	ram_layout_init(&l, RAM_SIZE);
	if (pvh_check_placement(&k, &l, why, sizeof(why)))
		return 0;
	memset(ram, 0, sizeof(ram));
	if (elf_load(&r, &k, ram, sizeof(ram)))
		abort();	/* placement said it fits */
	ret = e820_build(&l, e820, 8);
	if (ret < 0)
		abort();
	pi.e820 = e820;
	pi.e820_entries = ret;
	if (pvh_write_start_info(&pi, ram, why, sizeof(why)))
		abort();
	return 0;
}
