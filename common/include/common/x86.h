/* SPDX-License-Identifier: MIT */
/*
 * x86-64 under KVM, the pieces every guest set-up here needs: control
 * register and page-table bits, the flat GDT, the long-mode segment state,
 * and KVM's supported CPUID (which needs a growing buffer). Used by the
 * machine (vmm/src/core, vmm/src/boot), the mapping-cost benchmark's tiny
 * guest and the KVM probe.
 */
#ifndef COMMON_X86_H
#define COMMON_X86_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_MP	(1ULL << 1)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_WP	(1ULL << 16)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)

#define X86_PTE_P	(1ULL << 0)
#define X86_PTE_RW	(1ULL << 1)
#define X86_PTE_PS	(1ULL << 7)	/* a 2 MiB page in a PD entry */

/*
 * The flat GDT: null, 32-bit code at 0x08, 64-bit code at 0x10, data at
 * 0x18 (base 0, limit 4 GiB each), and a 32-bit TSS at 0x20 (base 0,
 * limit 0x67), which protected-mode entry points such as PVH's expect.
 */
#define X86_GDT_CODE32_SEL	0x08
#define X86_GDT_CODE_SEL	0x10
#define X86_GDT_DATA_SEL	0x18
#define X86_GDT_TSS_SEL		0x20
#define X86_GDT_ENTRIES		5
#define X86_TSS32_LIMIT		0x67
static const uint64_t x86_flat_gdt[X86_GDT_ENTRIES] = {
	0,
	0x00cf9b000000ffffULL,	/* 0x08: 32-bit code */
	0x00af9b000000ffffULL,	/* 0x10: 64-bit code */
	0x00cf93000000ffffULL,	/* 0x18: data */
	0x00008b0000000067ULL,	/* 0x20: 32-bit TSS, busy */
};

/* Store @v little-endian at @p (guest memory is byte-addressed). */
static inline void x86_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void x86_flat_segment(struct kvm_segment *s, uint16_t sel,
				    uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

/*
 * Long mode with paging on: flat segments from x86_flat_gdt at @gdt_base,
 * page tables at @cr3. The rest of @sregs (APIC base, ...) is kept.
 */
static inline void x86_long_mode_sregs(struct kvm_sregs *sregs,
				       uint64_t gdt_base, uint64_t cr3)
{
	x86_flat_segment(&sregs->cs, X86_GDT_CODE_SEL, 0xb, true);
	x86_flat_segment(&sregs->ds, X86_GDT_DATA_SEL, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = gdt_base;
	sregs->gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE |
		     X86_CR0_WP | X86_CR0_PG;
	sregs->cr3 = cr3;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = X86_EFER_LME | X86_EFER_LMA;
}

/*
 * 32-bit protected mode with paging off, as the PVH entry wants it: CR0.PE
 * only, CR4 and EFER clear, flat 32-bit segments from x86_flat_gdt at
 * @gdt_base, TR the busy 32-bit TSS at base 0, limit 0x67. The rest of
 * @sregs (APIC base, ...) is kept.
 */
static inline void x86_protected_mode_sregs(struct kvm_sregs *sregs,
					    uint64_t gdt_base)
{
	x86_flat_segment(&sregs->cs, X86_GDT_CODE32_SEL, 0xb, false);
	x86_flat_segment(&sregs->ds, X86_GDT_DATA_SEL, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.selector = X86_GDT_TSS_SEL;
	sregs->tr.limit = X86_TSS32_LIMIT;
	sregs->tr.type = 0xb;
	sregs->tr.present = 1;
	sregs->gdt.base = gdt_base;
	sregs->gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}

/*
 * KVM_GET_SUPPORTED_CPUID on the /dev/kvm fd: it says E2BIG until the
 * buffer is large enough. 0 with *out to free(), or -errno.
 */
static inline int x86_kvm_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	unsigned int n;

	for (n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/*
 * The guest's physical address width from CPUID leaf 0x80000008 (EAX
 * bits 7:0), kept within [36, 52]; 36, the architectural minimum, when
 * the leaf is missing.
 */
static inline unsigned int x86_cpuid_phys_bits(const struct kvm_cpuid2 *c)
{
	unsigned int i, bits = 36;

	for (i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			bits = c->entries[i].eax & 0xff;
	if (bits < 36)
		return 36;
	return bits > 52 ? 52 : bits;
}

#endif /* COMMON_X86_H */
