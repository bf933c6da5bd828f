/* SPDX-License-Identifier: MIT */
/*
 * Mapping budgets: a back-end that maps a page at every other page of a
 * large region is refused before the process nears vm.max_map_count, and
 * afterwards everything a user needs still works: a reset drops every
 * mapping, another region maps, the process can still mmap() and start a
 * thread. Budgets shared by regions are charged and given back exactly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define GIB	(1ULL << 30)

static unsigned long max_map_count(void)
{
	unsigned long n = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");

	if (f) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 65530;
		fclose(f);
	}
	return n;
}

static void *idle(void *arg)
{
	return arg;
}

Test(budget, a_region_alone_cannot_exhaust_the_process_vmas, .timeout = 120)
{
	struct shmem_region_config cfg = { .size = GIB, .name = "big" };
	struct shmem_region_config small = { .size = 16 * PAGE, .name = "other" };
	unsigned long limit = max_map_count();
	struct shmem_region *r, *other;
	uint64_t off, n = 0;
	size_t vmas = 0, before;
	pthread_t th;
	int fd, ret = 0;
	void *p;

	warm_allocator();
	/* glibc keeps a joined thread's stack: have it before the baseline. */
	cr_assert_eq(pthread_create(&th, NULL, idle, NULL), 0);
	pthread_join(th, NULL);
	before = maps_count();
	fd = memfd_create("sparse", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(fd, (off_t)GIB), 0);
	cr_assert_eq(t_create(&cfg, &r), 0, "%s", t_why);
	cr_assert_eq(t_create(&small, &other), 0, "%s", t_why);
	/* A page at every other page: no two mappings can merge. */
	for (off = 0; off < GIB; off += 2 * PAGE) {
		ret = t_map(r, off, PAGE, fd, off, SHMEM_MAP_RW, 1);
		if (ret)
			break;
		n++;
	}
	vmas = maps_count();
	cr_assert_eq(ret, -ENOSPC, "map %llu refused with %d (%s), not for the budget",
		     (unsigned long long)n, ret, t_why);
	cr_assert(strstr(t_why, "limit"), "%s", t_why);
	cr_assert_lt(vmas, limit - 4096,
		     "%zu VMAs after %llu mappings: less than 4096 of %lu left",
		     vmas, (unsigned long long)n, limit);
	/* The process still works, and so does another device's region. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(p, PAGE);
	cr_assert_eq(pthread_create(&th, NULL, idle, NULL), 0);
	pthread_join(th, NULL);
	cr_assert_eq(t_map(other, 0, PAGE, fd, 0, 0, 2), 0, "%s", t_why);
	/* Unmapping in the middle still works, and the reset drops all. */
	cr_assert_eq(t_unmap(r, 2 * PAGE, PAGE), 0, "%s", t_why);
	cr_assert_eq(shmem_reset(r), n - 1, "a reset drops every mapping");
	cr_assert_eq(shmem_count(r), 0);
	shmem_region_destroy(other);
	shmem_region_destroy(r);
	close(fd);
	cr_assert_eq(maps_count(), before);
}

Test(budget, a_shared_budget_is_charged_and_given_back)
{
	struct shmem_budget machine, dev;
	struct shmem_region_config cfg = { .size = 64 * PAGE, .budget = &dev };
	struct shmem_region *a, *b;
	int fd = memfd_pattern("b", 64, 0);
	uint64_t i;

	shmem_budget_init(&machine, 8, NULL, "machine");
	shmem_budget_init(&dev, 6, &machine, "device ex0");
	cfg.name = "a";
	cr_assert_eq(t_create(&cfg, &a), 0, "%s", t_why);
	cfg.name = "b";
	cr_assert_eq(t_create(&cfg, &b), 0, "%s", t_why);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(t_map(a, 2 * i * PAGE, PAGE, fd, 0, 0, 1), 0);
		cr_assert_eq(t_map(b, 2 * i * PAGE, PAGE, fd, 0, 0, 1), 0);
	}
	cr_assert_eq(shmem_budget_used(&dev), 6);
	cr_assert_eq(shmem_budget_used(&machine), 6);
	cr_assert_eq(t_map(a, 40 * PAGE, PAGE, fd, 0, 0, 1), -ENOSPC);
	cr_assert_str_eq(t_why, "device ex0 holds 6 mappings, its limit");
	cr_assert_eq(shmem_count(a), 3, "a refusal changes nothing");
	cr_assert_eq(shmem_budget_used(&machine), 6, "nor any budget");
	cr_assert_eq(t_unmap(a, 0, PAGE), 0);
	cr_assert_eq(t_map(a, 40 * PAGE, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(shmem_reset(b), 3);
	cr_assert_eq(shmem_budget_used(&dev), 3);
	cr_assert_eq(shmem_drop_owner(a, 1), 3);
	cr_assert_eq(shmem_budget_used(&dev), 0);
	cr_assert_eq(t_map(a, 0, PAGE, fd, 0, 0, 1), 0);
	shmem_region_destroy(a);
	cr_assert_eq(shmem_budget_used(&dev), 0, "destroy gives back");
	cr_assert_eq(shmem_budget_used(&machine), 0);
	shmem_region_destroy(b);
	close(fd);
}

Test(budget, the_parent_limit_holds_for_every_child)
{
	struct shmem_budget machine, d1, d2;
	struct shmem_region_config cfg = { .size = 16 * PAGE };
	struct shmem_region *a, *b;
	int fd = memfd_pattern("p", 16, 0);

	shmem_budget_init(&machine, 3, NULL, "machine");
	shmem_budget_init(&d1, 2, &machine, "device one");
	shmem_budget_init(&d2, 2, &machine, "device two");
	cfg.budget = &d1;
	cr_assert_eq(t_create(&cfg, &a), 0);
	cfg.budget = &d2;
	cr_assert_eq(t_create(&cfg, &b), 0);
	cr_assert_eq(t_map(a, 0, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_map(a, 2 * PAGE, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_map(b, 0, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_map(b, 2 * PAGE, PAGE, fd, 0, 0, 1), -ENOSPC);
	cr_assert_str_eq(t_why, "machine holds 3 mappings, its limit");
	cr_assert_eq(shmem_budget_used(&d2), 1, "the child is not charged");
	shmem_region_destroy(a);
	shmem_region_destroy(b);
	cr_assert_eq(shmem_budget_used(&machine), 0);
	close(fd);
}

Test(budget, a_region_limit_of_its_own)
{
	struct shmem_region_config cfg = { .size = 16 * PAGE,
					   .max_mappings = 2 };
	struct shmem_region *r;
	int fd = memfd_pattern("r", 16, 0);

	cr_assert_eq(t_create(&cfg, &r), 0);
	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_map(r, 2 * PAGE, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_map(r, 4 * PAGE, PAGE, fd, 0, 0, 1), -ENOSPC);
	cr_assert_str_eq(t_why, "the region holds 2 mappings, its limit");
	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, 0, 1), -EEXIST,
		     "an overlap is still an overlap");
	shmem_region_destroy(r);
	close(fd);
}

Test(budget, the_default_follows_vm_max_map_count)
{
	unsigned long m = max_map_count();
	unsigned long headroom = m / 8 > 4096 ? m / 8 : 4096;

	cr_assert_eq(shmem_map_budget_default(), (m - headroom) / 2);
	if (m == 65530)
		cr_assert_eq(shmem_map_budget_default(), 28669);
}
