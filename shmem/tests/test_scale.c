/* SPDX-License-Identifier: MIT */
/*
 * Scale: 100,000 live 4 KiB mappings in one region, then all unmapped;
 * /proc/self/maps entries and open fds return to the baseline.
 *
 * vm.max_map_count (65530 by default) caps the VMAs of a process, so the
 * 100,000 mappings come from one memfd with fd_offset == shm_offset: the
 * kernel merges neighbours into one VMA while shmem keeps 100,000 table
 * entries. A second test uses 30,000 mappings that cannot merge.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

#include "helpers.h"

#define N	100000ULL

static int count_visit(void *arg, const struct shmem_mapping_info *m)
{
	uint64_t *next = arg;

	if (m->shm_offset != *next)
		return -1;
	*next += m->len;
	return 0;
}

Test(scale, hundred_thousand_mappings)
{
	/* Merged mappings cost one VMA in all: past the default budget. */
	struct shmem_region_config cfg = { .size = (N + 16) * PAGE, .name = "scale",
					   .max_mappings = SHMEM_MAX_MAPPINGS_UNLIMITED };
	struct shmem_region *r;
	size_t maps0, fds0, maps1, fds1;
	uint64_t next = 0;
	uint8_t *base;
	int fd;

	warm_allocator();
	maps0 = maps_count();
	fds0 = fd_count();
	cr_assert_eq(t_create(&cfg, &r), 0);
	base = shmem_region_hva(r);
	fd = memfd_pattern("scale", 1, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)(N * PAGE)), 0);
	maps1 = maps_count();
	fds1 = fd_count();

	for (uint64_t i = 0; i < N; i++)
		cr_assert_eq(t_map(r, i * PAGE, PAGE, fd, i * PAGE, SHMEM_MAP_RW, i % 4),
			     0, "map %lu", (unsigned long)i);
	cr_assert_eq(shmem_count(r), N);
	cr_assert_eq(shmem_bytes_mapped(r), N * PAGE);
	cr_assert_eq(shmem_foreach(r, count_visit, &next), 0);
	cr_assert_eq(next, N * PAGE);
	/* The kernel merged them into one VMA; the table keeps them apart. */
	cr_assert_eq(maps_count_range(base, base + (N + 16) * PAGE), 2);
	cr_assert_eq(t_map(r, 50000 * PAGE, PAGE, fd, 0, 0, 9), -EEXIST);
	cr_assert_eq(t_unmap(r, 50000 * PAGE, 2 * PAGE), -ENOENT);
	base[77777 * PAGE] = 0x5a;
	cr_assert_eq(base[77777 * PAGE], 0x5a);
	cr_assert_eq(fd_count(), fds1, "shmem kept fds");

	/* First half front to back, second half back to front. */
	for (uint64_t i = 0; i < N / 2; i++)
		cr_assert_eq(t_unmap(r, i * PAGE, PAGE), 0, "unmap %lu", (unsigned long)i);
	for (uint64_t i = N; i-- > N / 2;)
		cr_assert_eq(t_unmap(r, i * PAGE, PAGE), 0, "unmap %lu", (unsigned long)i);
	cr_assert_eq(shmem_count(r), 0);
	cr_assert_eq(maps_count(), maps1);
	cr_assert_eq(fd_count(), fds1);
	cr_assert(region_layout_ok(r, 997));

	close(fd);
	shmem_region_destroy(r);
	cr_assert_eq(maps_count(), maps0);
	cr_assert_eq(fd_count(), fds0);
}

/* Mappings that cannot merge: one VMA each, two files interleaved. */
Test(scale, thirty_thousand_separate_vmas)
{
	const uint64_t n = 30000;
	struct shmem_region_config cfg = { .size = n * PAGE, .name = "vmas",
					   .max_mappings = SHMEM_MAX_MAPPINGS_UNLIMITED };
	struct shmem_region *r;
	uint8_t *base;
	size_t fds0;
	int fd[2];

	fds0 = fd_count();
	cr_assert_eq(t_create(&cfg, &r), 0);
	base = shmem_region_hva(r);
	fd[0] = memfd_pattern("even", 1, 0xe0);
	fd[1] = memfd_pattern("odd", 1, 0x0d);
	for (uint64_t i = 0; i < n; i++)
		cr_assert_eq(t_map(r, i * PAGE, PAGE, fd[i % 2], 0, 0, 1), 0,
			     "map %lu", (unsigned long)i);
	close(fd[0]);
	close(fd[1]);
	cr_assert_eq(fd_count(), fds0);
	cr_assert_eq(maps_count_range(base, base + n * PAGE), n);
	cr_assert_eq(base[1001 * PAGE], 0x0d);
	cr_assert_eq(shmem_reset(r), n);
	cr_assert_eq(shmem_count(r), 0);
	/* One PROT_NONE VMA again (it may have merged with a neighbour). */
	cr_assert_eq(maps_count_range(base, base + n * PAGE), 1);
	cr_assert(region_layout_ok(r, 101));
	shmem_region_destroy(r);
	cr_assert_eq(fd_count(), fds0);
}
