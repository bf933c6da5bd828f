/* SPDX-License-Identifier: MIT */
/*
 * Concurrency: a back-end thread maps and unmaps while a reader (standing in
 * for a vCPU) reads the region, and two back-end threads race for the same
 * ranges. Run under ASan/UBSan as well.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
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
