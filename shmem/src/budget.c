/* SPDX-License-Identifier: MIT */
/*
 * Mapping budgets: how many live mappings a region, and every budget it is
 * charged to, may hold, so that back-ends can never take the process to
 * vm.max_map_count (docs/shmem.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "region.h"

#define DEFAULT_MAX_MAP_COUNT	65530ULL
#define MIN_HEADROOM		4096ULL

void shmem_budget_init(struct shmem_budget *b, uint64_t limit,
		       struct shmem_budget *parent, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
	b->parent = parent;
	snprintf(b->name, sizeof(b->name), "%s", name ? name : "budget");
}

uint64_t shmem_budget_used(const struct shmem_budget *b)
{
	return __atomic_load_n(&b->used, __ATOMIC_RELAXED);
}

uint64_t shmem_map_budget_default(void)
{
	unsigned long long max = DEFAULT_MAX_MAP_COUNT, headroom;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

	if (f) {
		if (fscanf(f, "%llu", &max) != 1 || max < 2 * MIN_HEADROOM)
			max = DEFAULT_MAX_MAP_COUNT;
		fclose(f);
	}
	headroom = max / 8 > MIN_HEADROOM ? max / 8 : MIN_HEADROOM;
	/* Each mapping: itself, and at most one more piece of PROT_NONE. */
	return (max - headroom) / 2;
}

/* Take one from @b unless it is full. */
static bool take(struct shmem_budget *b)
{
	uint64_t used = __atomic_load_n(&b->used, __ATOMIC_RELAXED);

	do {
		if (used >= b->limit)
			return false;
	} while (!__atomic_compare_exchange_n(&b->used, &used, used + 1, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

static void give(struct shmem_budget *b, uint64_t n)
{
	__atomic_fetch_sub(&b->used, n, __ATOMIC_RELAXED);
}

/* With the region lock held, the new mapping already in the tree. */
int shm_budget_charge(struct shmem_region *r, struct shm_why *w)
{
	struct shmem_budget *b, *undo;

	if (r->tree.count > r->max_mappings)
		return shm_fail(w, -ENOSPC,
				"the region holds %llu mappings, its limit",
				(unsigned long long)r->max_mappings);
	for (b = r->budget; b; b = b->parent) {
		if (take(b))
			continue;
		for (undo = r->budget; undo != b; undo = undo->parent)
			give(undo, 1);
		return shm_fail(w, -ENOSPC,
				"%s holds %llu mappings, its limit", b->name,
				(unsigned long long)b->limit);
	}
	return 0;
}

void shm_budget_release(struct shmem_region *r, uint64_t n)
{
	for (struct shmem_budget *b = r->budget; b && n; b = b->parent)
		give(b, n);
}
