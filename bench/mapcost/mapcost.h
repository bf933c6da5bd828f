/* SPDX-License-Identifier: MIT */
/*
 * bench-mapcost: benchmark 4, mapping cost under KVM (docs/benchmarks.md).
 *
 * guest.c    /dev/kvm, the two files, a VM whose one vCPU reads the timed
 *            mapping and reports the byte on an I/O port
 * designs.c  the two ways of mapping: ours (shmem) and one memslot each,
 *            and the floor under ours (the same mmap() calls, no shmem)
 * unit.c     one design at one live count, in a process of its own
 * mapcost.c  options, the round robin over the units, the tables
 */
#ifndef BENCH_MAPCOST_H
#define BENCH_MAPCOST_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KiB		((uint64_t)1024)
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)

/* The mapping being timed lives here; live mappings follow it. */
#define TEST_GPA	(4 * GiB)

#define SLOT_RAM	0
#define SLOT_TEST	1	/* ours: the region; memslot: the timed mapping */
#define SLOT_LIVE0	2	/* memslot design: first live mapping */

/* What every VM of the run shares (inherited by the unit processes). */
struct host {
	int kvm_fd;
	size_t run_size;
	unsigned int nr_slots;	/* KVM_CAP_NR_MEMSLOTS */
	unsigned int phys_bits;	/* of the vCPU, from KVM's CPUID */
	struct kvm_cpuid2 *cpuid;
	int file[2];		/* memfds; iteration i maps file[i % 2] */
	uint64_t file_size;
};

extern const uint8_t file_byte[2];	/* what file[i] is filled with */

struct vm {
	int fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;
};

int host_open(struct host *h, uint64_t file_size);
void host_close(struct host *h);
int vm_create(struct vm *vm, const struct host *h);
void vm_destroy(struct vm *vm);
int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		void *hva);
/* KVM_RUN until the guest's port write; it must report @expect. */
int vm_touch(struct vm *vm, uint8_t expect);

/* ---- designs ------------------------------------------------------------ */

struct shmem_region;

struct ours {
	struct vm vm;
	struct shmem_region *region;
	uint64_t size;
	uint64_t live;
};

struct memslot {
	struct vm vm;
	uint64_t size;
	uint64_t live;
	void **hva;		/* live mappings, hva[i] in slot SLOT_LIVE0 + i */
	uint64_t cap;
};

/* t[0..3]: before map, after map, after KVM_RUN, after unmap. */
int ours_create(struct ours *o, const struct host *h, uint64_t size,
		uint64_t max_live);
int ours_grow(struct ours *o, const struct host *h, uint64_t live);
int ours_iter(struct ours *o, const struct host *h, unsigned int i,
	      uint64_t t[4]);
void ours_destroy(struct ours *o);
/* The kernel's part of ours: the same region, bare mmap() calls. */
int floor_iter(struct ours *o, const struct host *h, unsigned int i,
	       uint64_t t[4]);

int memslot_create(struct memslot *m, const struct host *h, uint64_t size);
int memslot_grow(struct memslot *m, const struct host *h, uint64_t live,
		 char *why, size_t whylen);
int memslot_probe_limit(struct memslot *m, const struct host *h,
			bool *at_limit, char *why, size_t whylen);
int memslot_iter(struct memslot *m, const struct host *h, unsigned int i,
		 uint64_t t[4]);
void memslot_destroy(struct memslot *m);

/* ---- units -------------------------------------------------------------- */

enum { PH_MAP, PH_RUN, PH_UNMAP, PH_TOTAL, NPHASES };

enum design_kind { D_OURS, D_MEMSLOT, D_FLOOR };

struct unit_cfg {
	enum design_kind kind;
	uint64_t size;
	uint64_t live;
	bool probe_limit;	/* memslot: then find where KVM's slots end */
	unsigned int iters;
	unsigned int warmup;
};

/* Sent by a unit once its live mappings are in place. */
struct unit_ready {
	int32_t ret;
	uint8_t at_limit;	/* probe_limit: KVM refused one more slot */
	char why[160];		/* probe_limit: what happened */
};

/* Sent by a unit at the end: p50 and p99 of each phase, microseconds. */
struct unit_result {
	int32_t ret;
	uint32_t n;
	double p[NPHASES][2];
};

struct unit {
	struct unit_cfg cfg;
	pid_t pid;
	int to;			/* commands to the unit */
	int from;		/* its answers */
	struct unit_ready ready;
	struct unit_result res;
};

/* Fork unit @idx of @units; the child closes the others' pipes. */
int unit_start(struct unit *units, unsigned int idx, const struct host *h);
int unit_wait_ready(struct unit *u);
int unit_step(struct unit *u);
int unit_finish(struct unit *u);
void unit_stop(struct unit *u);

#endif /* BENCH_MAPCOST_H */
