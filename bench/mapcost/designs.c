// SPDX-License-Identifier: MIT
/*
 * The two designs.  Ours: one shmem region registered once as one memslot
 * at TEST_GPA; the timed mapping is at region offset 0, live mapping i at
 * offset (i + 1) * size, made with shmem_map() and never touching slots.
 * Memslot: the design QEMU's patch series used, one memslot per mapping:
 * mmap() of the file plus a new slot; the timed mapping in SLOT_TEST at
 * TEST_GPA, live mapping i in slot SLOT_LIVE0 + i at the same guest
 * address as in ours.  Every live mapping maps offset 0 of the same file,
 * so the kernel cannot merge them: one VMA each, in every design.
 * Floor: ours without shmem's bookkeeping, the bare mmap() calls that
 * shmem_map() and shmem_unmap() make, at the same place in the same kind
 * of region, so that what ours adds to the kernel's cost shows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <shmem/shmem.h>

#include "common/clock.h"

#include "mapcost.h"

static int ours_slot_add(void *hv, uint64_t gpa, void *hva, uint64_t size,
			 uint32_t *slot)
{
	int ret = vm_set_slot(hv, SLOT_TEST, gpa, size, hva);

	if (!ret)
		*slot = SLOT_TEST;
	return ret;
}

static int ours_slot_remove(void *hv, uint32_t slot)
{
	return vm_set_slot(hv, slot, 0, 0, NULL);
}

static const struct shmem_hv_ops ours_hv_ops = {
	.slot_add = ours_slot_add,
	.slot_remove = ours_slot_remove,
};

void ours_destroy(struct ours *o)
{
	shmem_region_destroy(o->region);
	o->region = NULL;
	vm_destroy(&o->vm);
}

/* A region for the timed mapping (offset 0) and @max_live behind it. */
int ours_create(struct ours *o, const struct host *h, uint64_t size,
		uint64_t max_live)
{
	struct shmem_region_config cfg = {
		.size = (max_live + 1) * size,
		.align = 2 * MiB,
		.gpa = TEST_GPA,
		.name = "mapcost",
		.hv_ops = &ours_hv_ops,
		/* Up to 100,000 live mappings: past the default budget. */
		.max_mappings = SHMEM_MAX_MAPPINGS_UNLIMITED,
	};
	char why[SHMEM_WHY_MAX];
	int ret;

	memset(o, 0, sizeof(*o));
	o->size = size;
	ret = vm_create(&o->vm, h);
	if (ret)
		return ret;
	cfg.hv = &o->vm;
	ret = shmem_region_create(&cfg, &o->region, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "bench-mapcost: shmem_region_create (%" PRIu64 " bytes): %s\n",
			cfg.size, why);
		vm_destroy(&o->vm);
	}
	return ret;
}

int ours_grow(struct ours *o, const struct host *h, uint64_t live)
{
	int ret;

	char why[SHMEM_WHY_MAX];
	struct shmem_map_req q = {
		.len = o->size, .fd = h->file[0], .flags = SHMEM_MAP_RW,
		.owner = 1,
	};

	for (; o->live < live; o->live++) {
		q.shm_offset = (o->live + 1) * o->size;
		ret = shmem_map(o->region, &q, why, sizeof(why));
		if (ret) {
			fprintf(stderr, "bench-mapcost: ours: live mapping %" PRIu64 ": shmem_map: %s\n",
				o->live + 1, why);
			return ret;
		}
	}
	return 0;
}

int ours_iter(struct ours *o, const struct host *h, unsigned int i,
	      uint64_t t[4])
{
	struct shmem_map_req q = {
		.len = o->size, .fd = h->file[i & 1], .flags = SHMEM_MAP_RW,
		.owner = 2,
	};
	char why[SHMEM_WHY_MAX];
	int ret, ret2;

	t[0] = clock_now_ns();
	ret = shmem_map(o->region, &q, why, sizeof(why));
	t[1] = clock_now_ns();
	if (ret) {
		fprintf(stderr, "bench-mapcost: ours: shmem_map: %s\n", why);
		return ret;
	}
	ret = vm_touch(&o->vm, file_byte[i & 1]);
	t[2] = clock_now_ns();
	ret2 = shmem_unmap(o->region, 0, o->size, why, sizeof(why));
	t[3] = clock_now_ns();
	if (ret2)
		fprintf(stderr, "bench-mapcost: ours: shmem_unmap: %s\n", why);
	return ret ? ret : ret2;
}

/*
 * Region offset 0 is never in shmem's table here: floor units map it
 * behind shmem's back, which only a benchmark may do.
 */
int floor_iter(struct ours *o, const struct host *h, unsigned int i,
	       uint64_t t[4])
{
	void *hva = shmem_region_hva(o->region), *p;
	int ret, ret2 = 0;

	t[0] = clock_now_ns();
	p = mmap(hva, o->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 h->file[i & 1], 0);
	t[1] = clock_now_ns();
	if (p == MAP_FAILED) {
		ret = -errno;
		fprintf(stderr, "bench-mapcost: floor: mmap: %s\n", strerror(-ret));
		return ret;
	}
	ret = vm_touch(&o->vm, file_byte[i & 1]);
	t[2] = clock_now_ns();
	p = mmap(hva, o->size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	t[3] = clock_now_ns();
	if (p == MAP_FAILED) {
		ret2 = -errno;
		fprintf(stderr, "bench-mapcost: floor: mmap PROT_NONE: %s\n",
			strerror(-ret2));
	}
	return ret ? ret : ret2;
}

/* ---- memslot: one memslot per mapping ----------------------------------- */

void memslot_destroy(struct memslot *m)
{
	uint64_t i;

	vm_destroy(&m->vm);	/* drops every slot */
	for (i = 0; i < m->live; i++)
		munmap(m->hva[i], m->size);
	free(m->hva);
	m->hva = NULL;
	m->live = 0;
}

int memslot_create(struct memslot *m, const struct host *h, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	return vm_create(&m->vm, h);
}

/* mmap() the file and give it its own slot. */
static int memslot_add(struct memslot *m, int fd, uint32_t slot, uint64_t gpa,
		       void **hva, const char **step)
{
	void *p;
	int ret;

	*step = "mmap";
	p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*step = "KVM_SET_USER_MEMORY_REGION";
	ret = vm_set_slot(&m->vm, slot, gpa, m->size, p);
	if (ret) {
		munmap(p, m->size);
		return ret;
	}
	*hva = p;
	return 0;
}

static int memslot_del(struct memslot *m, uint32_t slot, void *hva)
{
	int ret = vm_set_slot(&m->vm, slot, 0, 0, NULL);

	if (ret)
		return ret;	/* the slot still points at it: keep it mapped */
	if (munmap(hva, m->size) < 0)
		return -errno;
	return 0;
}

/* Add live mappings up to @live; on failure @why says which and why. */
int memslot_grow(struct memslot *m, const struct host *h, uint64_t live,
		 char *why, size_t whylen)
{
	const char *step;
	void **p;
	int ret;

	if (m->cap < live) {
		p = realloc(m->hva, live * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->hva = p;
		m->cap = live;
	}
	for (; m->live < live; m->live++) {
		uint64_t slot = SLOT_LIVE0 + m->live;

		ret = memslot_add(m, h->file[0], (uint32_t)slot,
				  TEST_GPA + (m->live + 1) * m->size,
				  &m->hva[m->live], &step);
		if (ret) {
			snprintf(why, whylen,
				 "live mapping %" PRIu64 " (slot %" PRIu64 "): %s: %s",
				 m->live + 1, slot, step, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Try one live mapping more than there are, to find where KVM stops: with
 * the slot ids all in use, KVM_SET_USER_MEMORY_REGION refuses the next one
 * (EINVAL).  Leaves the live mappings as they were.
 */
int memslot_probe_limit(struct memslot *m, const struct host *h,
			bool *at_limit, char *why, size_t whylen)
{
	uint64_t slot = SLOT_LIVE0 + m->live;
	const char *step;
	void *hva = NULL;
	int ret;

	ret = memslot_add(m, h->file[0], (uint32_t)slot,
			  TEST_GPA + (m->live + 1) * m->size, &hva, &step);
	if (!ret) {
		*at_limit = false;
		snprintf(why, whylen, "live mapping %" PRIu64 " (slot %" PRIu64
			 ") was accepted: no limit at KVM_CAP_NR_MEMSLOTS",
			 m->live + 1, slot);
		return memslot_del(m, (uint32_t)slot, hva);
	}
	*at_limit = ret == -EINVAL && slot >= h->nr_slots &&
		    !strcmp(step, "KVM_SET_USER_MEMORY_REGION");
	snprintf(why, whylen, "live mapping %" PRIu64 " (slot %" PRIu64 "): %s: %s",
		 m->live + 1, slot, step, strerror(-ret));
	return 0;
}

int memslot_iter(struct memslot *m, const struct host *h, unsigned int i,
		 uint64_t t[4])
{
	const char *step;
	void *hva = NULL;
	int ret, ret2;

	t[0] = clock_now_ns();
	ret = memslot_add(m, h->file[i & 1], SLOT_TEST, TEST_GPA, &hva, &step);
	t[1] = clock_now_ns();
	if (ret) {
		fprintf(stderr, "bench-mapcost: memslot: %s: %s\n", step, strerror(-ret));
		return ret;
	}
	ret = vm_touch(&m->vm, file_byte[i & 1]);
	t[2] = clock_now_ns();
	ret2 = memslot_del(m, SLOT_TEST, hva);
	t[3] = clock_now_ns();
	if (ret2)
		fprintf(stderr, "bench-mapcost: memslot: unmap: %s\n", strerror(-ret2));
	return ret ? ret : ret2;
}

