// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/why.h"

#include "boot/elf.h"

#define NOTE_NAME_XEN	"Xen"	/* with its NUL: namesz 4 */

static int bad(char *why, size_t whylen, const char *msg)
{
	return why_fail(why, whylen, -ENOEXEC, "%s", msg);
}

bool elf_is_elf(const void *head, size_t len)
{
	return len >= SELFMAG && !memcmp(head, ELFMAG, SELFMAG);
}

/* Read [off, off + len) of the file; a range past its end is truncation. */
static int read_at(const struct elf_reader *r, uint64_t off, void *buf,
		   size_t len, const char *what, char *why, size_t whylen)
{
	int ret;

	if (len > r->size || off > r->size - len)
		return why_fail(why, whylen, -ENOEXEC,
				"truncated: the %llu-byte file ends inside %s",
				(unsigned long long)r->size, what);
	ret = r->read(r->opaque, off, buf, len);
	if (ret)
		return why_fail(why, whylen, ret, "reading %s: %s", what,
				strerror(-ret));
	return 0;
}

static int check_ident(const struct elf_reader *r, const unsigned char *id,
		       char *why, size_t whylen)
{
	if (!elf_is_elf(id, EI_NIDENT))
		return bad(why, whylen, "no ELF magic: not an ELF file");
	if (id[EI_CLASS] == ELFCLASS32)
		return bad(why, whylen,
			   "a 32-bit ELF file: vmm boots an x86-64 vmlinux (or a bzImage)");
	if (id[EI_CLASS] != ELFCLASS64)
		return bad(why, whylen, "ELF file of unknown class");
	if (id[EI_DATA] != ELFDATA2LSB)
		return bad(why, whylen,
			   "big-endian ELF file: not an x86-64 kernel");
	if (r->size < sizeof(Elf64_Ehdr))
		return bad(why, whylen,
			   "truncated: shorter than an ELF header");
	return 0;
}

static int check_header(const Elf64_Ehdr *eh, char *why, size_t whylen)
{
	if (eh->e_machine != EM_X86_64)
		return why_fail(why, whylen, -ENOEXEC,
				"ELF file for machine %u, not x86-64",
				eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return why_fail(why, whylen, -ENOEXEC,
				"ELF file of type %u, not an executable vmlinux",
				eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return why_fail(why, whylen, -ENOEXEC,
				"corrupt ELF header: program header size %u, not %zu",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		return why_fail(why, whylen, -ENOEXEC,
				"ELF file with %u program headers (1 to %u expected)",
				eh->e_phnum, ELF_MAX_PHDRS);
	return 0;
}

/* The PVH entry in one PT_NOTE segment's notes, if there: 1, 0 or -ENOEXEC. */
static int find_pvh_note(const uint8_t *p, size_t len, uint32_t *entry,
			 char *why, size_t whylen)
{
	size_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name, desc, next;
		uint64_t v = 0;

		memcpy(&nh, p + off, sizeof(nh));
		name = off + sizeof(nh);
		desc = name + (((uint64_t)nh.n_namesz + 3) & ~3ULL);
		next = desc + (((uint64_t)nh.n_descsz + 3) & ~3ULL);
		if (desc + nh.n_descsz > len)
			return bad(why, whylen,
				   "corrupt ELF note: it runs past its segment");
		if (nh.n_namesz == sizeof(NOTE_NAME_XEN) &&
		    !memcmp(p + name, NOTE_NAME_XEN, sizeof(NOTE_NAME_XEN)) &&
		    nh.n_type == ELF_NOTE_PVH_ENTRY) {
			if (nh.n_descsz != 4 && nh.n_descsz != 8)
				return why_fail(why, whylen, -ENOEXEC,
						"corrupt PVH entry note: %u-byte value",
						nh.n_descsz);
			memcpy(&v, p + desc, nh.n_descsz);
			if (v > UINT32_MAX)
				return why_fail(why, whylen, -ENOEXEC,
						"PVH entry point 0x%llx is above 4 GiB",
						(unsigned long long)v);
			*entry = (uint32_t)v;
			return 1;
		}
		if (next >= len)
			break;
		off = (size_t)next;
	}
	return 0;
}

static int scan_notes(const struct elf_reader *r, const Elf64_Phdr *ph,
		      uint32_t *entry, char *why, size_t whylen)
{
	uint8_t *buf;
	int ret;

	if (ph->p_filesz > ELF_MAX_NOTES_SIZE)
		return bad(why, whylen,
			   "corrupt ELF file: a note segment larger than 64 KiB");
	if (!ph->p_filesz)
		return 0;
	buf = malloc(ph->p_filesz);
	if (!buf)
		return why_fail(why, whylen, -ENOMEM, "out of memory");
	ret = read_at(r, ph->p_offset, buf, ph->p_filesz, "a note segment",
		      why, whylen);
	if (!ret)
		ret = find_pvh_note(buf, ph->p_filesz, entry, why, whylen);
	free(buf);
	return ret;
}

static int add_segment(const struct elf_reader *r, struct elf_kernel *k,
		       unsigned int idx, const Elf64_Phdr *ph, char *why,
		       size_t whylen)
{
	struct elf_segment *s;
	unsigned int i;

	if (!ph->p_memsz)
		return 0;
	if (ph->p_filesz > ph->p_memsz)
		return why_fail(why, whylen, -ENOEXEC,
				"corrupt ELF file: segment %u has more file bytes than memory bytes",
				idx);
	if (ph->p_filesz > r->size || ph->p_offset > r->size - ph->p_filesz)
		return why_fail(why, whylen, -ENOEXEC,
				"truncated: segment %u ends at byte %llu of a %llu-byte file",
				idx, (unsigned long long)(ph->p_offset + ph->p_filesz),
				(unsigned long long)r->size);
	if (ph->p_memsz > UINT64_MAX - ph->p_paddr)
		return why_fail(why, whylen, -ENOEXEC,
				"corrupt ELF file: segment %u wraps around the address space",
				idx);
	if (k->nsegs == ELF_MAX_SEGMENTS)
		return why_fail(why, whylen, -ENOEXEC,
				"more than %u loadable segments", ELF_MAX_SEGMENTS);
	/* Keep them sorted by address; neighbours must not overlap. */
	for (i = k->nsegs; i > 0 && k->segs[i - 1].paddr > ph->p_paddr; i--)
		k->segs[i] = k->segs[i - 1];
	s = &k->segs[i];
	s->offset = ph->p_offset;
	s->filesz = ph->p_filesz;
	s->paddr = ph->p_paddr;
	s->memsz = ph->p_memsz;
	k->nsegs++;
	if ((i > 0 && k->segs[i - 1].paddr + k->segs[i - 1].memsz > s->paddr) ||
	    (i + 1 < k->nsegs && s->paddr + s->memsz > k->segs[i + 1].paddr))
		return why_fail(why, whylen, -ENOEXEC,
				"corrupt ELF file: segment %u overlaps another at physical 0x%llx",
				idx, (unsigned long long)s->paddr);
	return 0;
}

static int check_entry(struct elf_kernel *k, bool found, char *why,
		       size_t whylen)
{
	unsigned int i;

	if (!k->nsegs)
		return bad(why, whylen, "ELF file with no loadable segment");
	if (!found)
		return bad(why, whylen,
			   "no PVH entry point (ELF note Xen/18, XEN_ELFNOTE_PHYS32_ENTRY): build the kernel with CONFIG_PVH=y, or boot its bzImage");
	k->start = k->segs[0].paddr;
	k->end = k->segs[k->nsegs - 1].paddr + k->segs[k->nsegs - 1].memsz;
	for (i = 0; i < k->nsegs; i++)
		if (k->pvh_entry >= k->segs[i].paddr &&
		    k->pvh_entry < k->segs[i].paddr + k->segs[i].filesz)
			return 0;
	return why_fail(why, whylen, -ENOEXEC,
			"PVH entry point 0x%x is not in a loaded segment",
			k->pvh_entry);
}

int elf_parse(const struct elf_reader *r, struct elf_kernel *k, char *why,
	      size_t whylen)
{
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	Elf64_Ehdr eh;
	bool found = false;
	unsigned int i;
	int ret;

	memset(k, 0, sizeof(*k));
	memset(&eh, 0, sizeof(eh));
	if (r->size < EI_NIDENT)
		return bad(why, whylen, "truncated: shorter than an ELF header");
	ret = read_at(r, 0, &eh, r->size < sizeof(eh) ? EI_NIDENT : sizeof(eh),
		      "the ELF header", why, whylen);
	if (!ret)
		ret = check_ident(r, eh.e_ident, why, whylen);
	if (!ret)
		ret = check_header(&eh, why, whylen);
	if (!ret)
		ret = read_at(r, eh.e_phoff, ph, eh.e_phnum * sizeof(ph[0]),
			      "the program headers", why, whylen);
	for (i = 0; !ret && i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			ret = add_segment(r, k, i, &ph[i], why, whylen);
		} else if (ph[i].p_type == PT_NOTE && !found) {
			ret = scan_notes(r, &ph[i], &k->pvh_entry, why, whylen);
			found = ret == 1;
			ret = ret < 0 ? ret : 0;
		}
	}
	if (!ret)
		ret = check_entry(k, found, why, whylen);
	return ret;
}

int elf_load(const struct elf_reader *r, const struct elf_kernel *k,
	     uint8_t *ram, uint64_t ram_size)
{
	unsigned int i;
	int ret;

	for (i = 0; i < k->nsegs; i++) {
		const struct elf_segment *s = &k->segs[i];

		if (s->paddr > ram_size || s->memsz > ram_size - s->paddr)
			return -ERANGE;
		if (!s->filesz)
			continue;
		ret = r->read(r->opaque, s->offset, ram + s->paddr, s->filesz);
		if (ret)
			return ret;
	}
	return 0;
}
