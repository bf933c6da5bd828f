/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: a back-end thread maps and unmaps while a reader (standing in
 * for a vCPU) reads the region, two back-end threads race for the same
 * ranges, and several threads map and unmap the same pages while a walker
 * checks the table. Run under ASan/UBSan and ThreadSanitizer as well
 * (scripts/test-sanitize.sh, scripts/test-tsan.sh).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

#define PAGES	64
#define STABLE	16	/* pages [0, STABLE) stay mapped throughout */
#define TAG	0x10
#define ROUNDS	20000

struct shared {
	struct shmem_region *r;
	uint8_t *base;
	int fd;
	atomic_bool stop;
	atomic_long reads, faults, bad;
	atomic_long wins;
};

static void *churn(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t p = STABLE + (uint64_t)i % (PAGES - STABLE);

		if (t_map(s->r, p * PAGE, PAGE, s->fd, p * PAGE, 0, 2))
			atomic_fetch_add(&s->bad, 1);
		if (i % 97 == 0)
			shmem_drop_owner(s->r, 2);
		else if (t_unmap(s->r, p * PAGE, PAGE))
			atomic_fetch_add(&s->bad, 1);
	}
	atomic_store(&s->stop, true);
	return NULL;
}

/* Stable pages must always read right; churned pages right or faulting. */
static void *reader(void *arg)
{
	struct shared *s = arg;
	uint64_t i = 0;

	while (!atomic_load(&s->stop)) {
		uint64_t p = i++ % PAGES;
		volatile uint8_t *addr = s->base + p * PAGE + (i % PAGE);
		uint8_t c = 0;

		if (p < STABLE) {
			c = *addr;
		} else {
			struct iovec l = { &c, 1 }, rm = { (void *)addr, 1 };

			if (process_vm_readv(getpid(), &l, 1, &rm, 1, 0) != 1) {
				atomic_fetch_add(&s->faults, 1);
				continue;
			}
		}
		if (c != (uint8_t)(TAG + p))
			atomic_fetch_add(&s->bad, 1);
		atomic_fetch_add(&s->reads, 1);
		if (i % 64 == 0 && shmem_lookup(s->r, 3 * PAGE, NULL))
			atomic_fetch_add(&s->bad, 1);
	}
	return NULL;
}

Test(concurrency, map_unmap_while_reading)
{
	struct shmem_region_config cfg = { .size = PAGES * PAGE, .name = "conc" };
	struct shared s = { 0 };
	pthread_t t[2];

	cr_assert_eq(t_create(&cfg, &s.r), 0);
	s.base = shmem_region_hva(s.r);
	s.fd = memfd_pattern("conc", PAGES, TAG);
	cr_assert_geq(s.fd, 0);
	for (uint64_t p = 0; p < STABLE; p++)
		cr_assert_eq(t_map(s.r, p * PAGE, PAGE, s.fd, p * PAGE, 0, 1), 0);
	cr_assert_eq(pthread_create(&t[0], NULL, reader, &s), 0);
	cr_assert_eq(pthread_create(&t[1], NULL, churn, &s), 0);
	pthread_join(t[1], NULL);
	pthread_join(t[0], NULL);

	cr_assert_eq(atomic_load(&s.bad), 0);
	cr_assert_gt(atomic_load(&s.reads), 0);
	cr_assert_eq(shmem_count(s.r), STABLE);
	cr_assert(region_layout_ok(s.r, 1));
	shmem_region_destroy(s.r);
	close(s.fd);
}

static void *racer(void *arg)
{
	struct shared *s = arg;

	for (uint64_t p = 0; p < PAGES; p++) {
		int ret = t_map(s->r, p * PAGE, PAGE, s->fd, p * PAGE, 0, 1);

		if (ret == 0)
			atomic_fetch_add(&s->wins, 1);
		else if (ret != -EEXIST)
			atomic_fetch_add(&s->bad, 1);
	}
	return NULL;
}

/* Two back-ends map the same pages: each page is won exactly once. */
Test(concurrency, racing_maps_win_once)
{
	struct shmem_region_config cfg = { .size = PAGES * PAGE, .name = "race" };
	struct shared s = { 0 };
	pthread_t t[2];

	cr_assert_eq(t_create(&cfg, &s.r), 0);
	s.fd = memfd_pattern("race", PAGES, TAG);
	for (int round = 0; round < 50; round++) {
		atomic_store(&s.wins, 0);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, racer, &s), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		cr_assert_eq(atomic_load(&s.bad), 0);
		cr_assert_eq(atomic_load(&s.wins), PAGES);
		cr_assert_eq(shmem_count(s.r), PAGES);
		cr_assert_eq(shmem_reset(s.r), PAGES);
	}
	shmem_region_destroy(s.r);
	close(s.fd);
}

/*
 * Several back-end threads map and unmap the same few pages, in one- and
 * two-page mappings, while a walker reads the table and the memory. Every
 * page is held by at most one mapping at a time (each successful map claims
 * its pages, and nobody else may have claimed them); a thread always
 * unmaps what it mapped; unmaps that name no mapping (wrong length) are
 * refused with -ENOENT; the walker sees the table in order, without
 * overlaps, each entry the size it was mapped with, and every readable
 * page shows its file's bytes. At the end the region is empty.
 */
#define HOT	8		/* pages [0, HOT) are fought over */
#define WORKERS	4
#define TURNS	20000

struct hot {
	struct shmem_region *r;
	uint8_t *base;
	int fd;
	atomic_int owner[HOT];	/* 0, or the worker holding the page */
	atomic_int running;
	atomic_long bad, maps, refused, walks, seen;
	char why[WORKERS][SHMEM_WHY_MAX];
};

struct worker {
	struct hot *h;
	int id;			/* 1.. */
};

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void note_bad(struct hot *h, const char *what, uint64_t page, int ret)
{
	if (atomic_fetch_add(&h->bad, 1) == 0)
		fprintf(stderr, "shmem_concurrency: %s page %llu: %d\n", what,
			(unsigned long long)page, ret);
}

static void *hot_worker(void *arg)
{
	struct worker *w = arg;
	struct hot *h = w->h;
	char *why = h->why[w->id - 1];
	uint32_t seed = 0x9e3779b9u * (uint32_t)w->id;

	for (int i = 0; i < TURNS; i++) {
		uint32_t x = next_rand(&seed);
		uint64_t p = x % HOT, n = 1 + (x >> 8) % 2;
		struct shmem_map_req q = {
			.shm_offset = p * PAGE, .len = n * PAGE, .fd = h->fd,
			.fd_offset = p * PAGE, .owner = (uint64_t)w->id,
		};
		int ret;

		if (p + n > HOT)
			n = 1, q.len = PAGE;
		/* A foreign unmap that can match no mapping: 3 pages long. */
		if (p + 3 <= HOT) {
			ret = shmem_unmap(h->r, p * PAGE, 3 * PAGE, why,
					  SHMEM_WHY_MAX);
			if (ret != -ENOENT)
				note_bad(h, "3-page unmap", p, ret);
		}
		ret = shmem_map(h->r, &q, why, SHMEM_WHY_MAX);
		if (ret == -EEXIST) {
			atomic_fetch_add(&h->refused, 1);
			continue;
		}
		if (ret) {
			note_bad(h, "map", p, ret);
			continue;
		}
		atomic_fetch_add(&h->maps, 1);
		for (uint64_t k = p; k < p + n; k++) {
			int free_page = 0;

			if (!atomic_compare_exchange_strong(&h->owner[k],
							    &free_page, w->id))
				note_bad(h, "page already held by another mapping",
					 k, free_page);
		}
		for (uint64_t k = p; k < p + n; k++)
			if (h->base[k * PAGE + (x & 0xfff) % PAGE] != (uint8_t)(TAG + k))
				note_bad(h, "own mapping shows wrong bytes", k, 0);
		/* Release the claim first: the pages are free once unmapped. */
		for (uint64_t k = p; k < p + n; k++)
			atomic_store(&h->owner[k], 0);
		ret = shmem_unmap(h->r, p * PAGE, n * PAGE, why, SHMEM_WHY_MAX);
		if (ret)
			note_bad(h, "unmap of own mapping", p, ret);
	}
	atomic_fetch_sub(&h->running, 1);
	return NULL;
}

struct walk {
	struct hot *h;
	uint64_t next;		/* first offset the next entry may start at */
	long entries;
};

static int walk_one(void *arg, const struct shmem_mapping_info *m)
{
	struct walk *k = arg;

	if (m->shm_offset < k->next || m->len == 0 || m->len > 2 * PAGE ||
	    m->len % PAGE || m->shm_offset + m->len > HOT * PAGE ||
	    m->fd_offset != m->shm_offset || m->owner < 1 ||
	    m->owner > WORKERS)
		note_bad(k->h, "walk: entry out of order or malformed",
			 m->shm_offset / PAGE, (int)(m->len / PAGE));
	k->next = m->shm_offset + m->len;
	k->entries++;
	return 0;
}

static void *hot_walker(void *arg)
{
	struct hot *h = arg;
	uint32_t seed = 12345;

	while (atomic_load(&h->running)) {
		struct walk k = { .h = h };
		struct shmem_mapping_info m;
		uint64_t off = (next_rand(&seed) % (HOT * PAGE));
		uint8_t c;
		struct iovec l = { &c, 1 }, rm = { h->base + off, 1 };
		int ret;

		shmem_foreach(h->r, walk_one, &k);
		if (k.entries > HOT)
			note_bad(h, "walk: too many entries", 0, (int)k.entries);
		ret = shmem_lookup(h->r, off, &m);
		if (ret == 0 && (off < m.shm_offset || off >= m.shm_offset + m.len))
			note_bad(h, "lookup returned a mapping not containing",
				 off / PAGE, 0);
		else if (ret && ret != -ENOENT)
			note_bad(h, "lookup", off / PAGE, ret);
		if (process_vm_readv(getpid(), &l, 1, &rm, 1, 0) == 1 &&
		    c != (uint8_t)(TAG + off / PAGE))
			note_bad(h, "walker read wrong bytes", off / PAGE, c);
		if (shmem_count(h->r) > HOT)
			note_bad(h, "count above the number of pages", 0, 0);
		atomic_fetch_add(&h->walks, 1);
		atomic_fetch_add(&h->seen, k.entries);
	}
	return NULL;
}

Test(concurrency, threads_share_pages_with_a_walker, .timeout = 60)
{
	struct shmem_region_config cfg = { .size = PAGES * PAGE, .name = "hot" };
	struct worker w[WORKERS];
	pthread_t t[WORKERS + 1];
	struct hot *h = calloc(1, sizeof(*h));

	cr_assert(h);
	cr_assert_eq(t_create(&cfg, &h->r), 0);
	h->base = shmem_region_hva(h->r);
	h->fd = memfd_pattern("hot", HOT, TAG);
	cr_assert_geq(h->fd, 0);
	atomic_store(&h->running, WORKERS);
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ h, i + 1 };
		cr_assert_eq(pthread_create(&t[i], NULL, hot_worker, &w[i]), 0);
	}
	cr_assert_eq(pthread_create(&t[WORKERS], NULL, hot_walker, h), 0);
	for (int i = 0; i <= WORKERS; i++)
		pthread_join(t[i], NULL);

	cr_assert_eq(atomic_load(&h->bad), 0, "%ld violations (first one above)",
		     atomic_load(&h->bad));
	/* The threads really fought: both outcomes happened, the walker saw entries. */
	cr_assert_gt(atomic_load(&h->maps), 0);
	cr_assert_gt(atomic_load(&h->refused), 0);
	cr_assert_gt(atomic_load(&h->walks), 0);
	cr_assert_eq(shmem_count(h->r), 0);
	cr_assert_eq(shmem_bytes_mapped(h->r), 0);
	cr_assert(region_layout_ok(h->r, 1));
	/* The whole region is one PROT_NONE reservation again. */
	cr_assert_eq(maps_count_range(h->base, h->base + PAGES * PAGE), 1);
	shmem_region_destroy(h->r);
	close(h->fd);
	free(h);
}
