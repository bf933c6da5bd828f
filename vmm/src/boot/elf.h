/* SPDX-License-Identifier: MIT */
/*
 * An uncompressed ELF vmlinux: its loadable segments (PT_LOAD, placed at
 * their physical addresses) and its PVH entry point, the Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (type 18) that Linux built with CONFIG_PVH=y
 * carries (arch/x86/platform/pvh/head.S).
 *
 * The file is read through a callback, a few headers at a time: a
 * vmlinux is tens of megabytes and only its segments' bytes go anywhere,
 * straight into guest RAM (elf_load()). Every field is checked before it
 * is used; a bad file gets -ENOEXEC and one line in the reason buffer.
 */
#ifndef VMM_BOOT_ELF_H
#define VMM_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS	16	/* PT_LOADs; Linux has 4 or 5 */
#define ELF_MAX_PHDRS		64
#define ELF_MAX_NOTES_SIZE	0x10000	/* bytes of one PT_NOTE segment */
#define ELF_NOTE_PVH_ENTRY	18	/* XEN_ELFNOTE_PHYS32_ENTRY */

/* Reads exactly @len bytes at @off of the file: 0 or -errno. */
typedef int (*elf_read_fn)(void *opaque, uint64_t off, void *buf,
			   size_t len);

struct elf_reader {
	elf_read_fn read;
	void *opaque;
	uint64_t size;		/* the file's size in bytes */
};

struct elf_segment {
	uint64_t offset;	/* in the file */
	uint64_t filesz;	/* bytes from the file; the rest is zero */
	uint64_t paddr;		/* guest physical address */
	uint64_t memsz;
};

struct elf_kernel {
	uint32_t pvh_entry;	/* 32-bit physical entry point */
	unsigned int nsegs;
	struct elf_segment segs[ELF_MAX_SEGMENTS];	/* by address */
	uint64_t start;		/* lowest physical byte loaded */
	uint64_t end;		/* first physical byte above them */
};

/* Does the file start with the ELF magic? (@len bytes of its head) */
bool elf_is_elf(const void *head, size_t len);

/*
 * Check an x86-64 ELF vmlinux and find its segments and PVH entry.
 * Returns 0, -ENOEXEC with one line in @why (truncated, 32-bit, not
 * x86-64, no PVH note, overlapping segments, ...) or a read error.
 */
int elf_parse(const struct elf_reader *r, struct elf_kernel *k, char *why,
	      size_t whylen);

/*
 * Read every segment into @ram (guest physical 0..@ram_size, already
 * zeroed, so the bytes past a segment's filesz stay zero). The caller has
 * checked that they fit. Returns 0 or the reader's -errno.
 */
int elf_load(const struct elf_reader *r, const struct elf_kernel *k,
	     uint8_t *ram, uint64_t ram_size);

#endif /* VMM_BOOT_ELF_H */
