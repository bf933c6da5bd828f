/* SPDX-License-Identifier: MIT */
/*
 * Regions: the reservation, its one memory slot, alignment, large sizes,
 * bad configurations and destruction.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

static char before[MAPS_CAP], after[MAPS_CAP];

Test(region, one_slot_added_and_removed_once)
{
	struct fake_hv hv = { .next_slot = 17 };
	struct shmem_region_config cfg = {
		.size = 64 * PAGE, .gpa = 0x100000000ULL, .name = "slot",
		.hv_ops = &fake_hv_ops, .hv = &hv,
	};
	struct shmem_region *r;
	int fd = memfd_pattern("slot", 4, 0);

	cr_assert_eq(t_create(&cfg, &r), 0);
	cr_assert_eq(hv.adds, 1);
	cr_assert_eq(hv.removes, 0);
	cr_assert_eq(hv.gpa, 0x100000000ULL);
	cr_assert_eq(hv.hva, shmem_region_hva(r));
	cr_assert_eq(hv.size, 64 * PAGE);
	cr_assert_eq(shmem_region_gpa(r), 0x100000000ULL);
	cr_assert_eq(shmem_region_size(r), 64 * PAGE);
	/* Mappings never touch the slot. */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(t_map(r, i * 4 * PAGE, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(t_unmap(r, 0, PAGE), 0);
	shmem_reset(r);
	cr_assert_eq(hv.adds, 1);
	cr_assert_eq(hv.removes, 0);
	shmem_region_destroy(r);
	cr_assert_eq(hv.adds, 1);
	cr_assert_eq(hv.removes, 1);
	cr_assert_eq(hv.removed_slot, 17);
	close(fd);
}

Test(region, slot_add_failure_leaves_nothing)
{
	struct fake_hv hv = { .add_ret = -ENOSPC };
	struct log_capture logc = { 0 };
	struct shmem_region_config cfg = {
		.size = 64 * PAGE, .hv_ops = &fake_hv_ops, .hv = &hv,
		.log = log_capture_fn, .log_opaque = &logc,
	};
	struct shmem_region *r = NULL;

	warm_allocator();
	maps_read(before, MAPS_CAP);
	cr_assert_eq(t_create(&cfg, &r), -ENOSPC);
	maps_read(after, MAPS_CAP);
	cr_assert_str_eq(after, before);
	cr_assert_null(r);
	cr_assert_eq(hv.adds, 1);
	cr_assert_eq(hv.removes, 0);
	cr_assert_eq(logc.lines, 0, "logged: %s", logc.last);
	cr_assert(strstr(t_why, "refused a slot at gpa 0x0"), "%s", t_why);
}

/* A slot that cannot be removed keeps its range reserved, mappings gone. */
Test(region, slot_remove_failure_keeps_reservation)
{
	struct fake_hv hv = { .remove_ret = -EBUSY };
	struct log_capture logc = { 0 };
	struct shmem_region_config cfg = {
		.size = 16 * PAGE, .hv_ops = &fake_hv_ops, .hv = &hv,
		.log = log_capture_fn, .log_opaque = &logc,
	};
	struct shmem_region *r;
	int fd = memfd_pattern("keep", 1, 0x42);
	uint8_t *base;

	cr_assert_eq(t_create(&cfg, &r), 0);
	base = shmem_region_hva(r);
	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, 0, 1), 0);
	cr_assert(probe_read(base));
	shmem_region_destroy(r);
	cr_assert_eq(hv.removes, 1);
	cr_assert_eq(logc.lines, 1);
	cr_assert_not(probe_read(base));
	cr_assert(strstr(logc.last, "keeping the reservation"));
	/* Still reserved: nothing else can be placed there. */
	cr_assert_eq(mmap(base, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
			  MAP_FIXED_NOREPLACE, -1, 0), MAP_FAILED);
	cr_assert_eq(errno, EEXIST);
	close(fd);
}

Test(region, no_hypervisor)
{
	struct shmem_region_config cfg = { .size = PAGE };
	struct shmem_region *r;

	cr_assert_eq(t_create(&cfg, &r), 0);
	cr_assert_not(probe_read(shmem_region_hva(r)));
	shmem_region_destroy(r);
	shmem_region_destroy(NULL);
}

Test(region, aligned_reservation)
{
	static const uint64_t aligns[] = { 2ULL << 20, 1ULL << 30 };

	warm_allocator();

	for (size_t i = 0; i < 2; i++) {
		struct shmem_region_config cfg = { .size = 4 << 20, .align = aligns[i] };
		struct shmem_region *r;
		size_t maps = maps_count();

		cr_assert_eq(t_create(&cfg, &r), 0);
		cr_assert_eq((uintptr_t)shmem_region_hva(r) % aligns[i], 0);
		/* Head and tail of the over-reservation were given back. */
		cr_assert_leq(maps_count(), maps + 1);
		shmem_region_destroy(r);
		cr_assert_eq(maps_count(), maps);
	}
}

Test(region, large_sizes)
{
	static const uint64_t sizes[] = { 64ULL << 30, SHMEM_REGION_MAX_SIZE };

	for (size_t i = 0; i < 2; i++) {
		struct shmem_region_config cfg = { .size = sizes[i], .align = 2 << 20 };
		struct shmem_region *r;
		int fd = memfd_pattern("far", 1, 0x66);
		uint8_t *base;

		cr_assert_eq(t_create(&cfg, &r), 0, "size %lu", (unsigned long)sizes[i]);
		base = shmem_region_hva(r);
		/* The last page is usable. */
		cr_assert_eq(t_map(r, sizes[i] - PAGE, PAGE, fd, 0, 0, 1), 0);
		cr_assert_eq(base[sizes[i] - PAGE], 0x66);
		cr_assert_not(probe_read(base + sizes[i] - 2 * PAGE));
		shmem_region_destroy(r);
		close(fd);
	}
}

Test(region, bad_configs)
{
	struct fake_hv hv = { 0 };
	struct shmem_hv_ops half = { .slot_add = fake_hv_ops.slot_add };
	const struct {
		struct shmem_region_config cfg;
		int err;
	} cases[] = {
		{ { .size = 0 }, -EINVAL },
		{ { .size = PAGE + 1 }, -EINVAL },
		{ { .size = SHMEM_REGION_MAX_SIZE + PAGE }, -EINVAL },
		{ { .size = PAGE, .align = 3 * PAGE }, -EINVAL },
		{ { .size = PAGE, .align = 512 }, -EINVAL },
		{ { .size = PAGE, .gpa = 0x1001 }, -EINVAL },
		{ { .size = 2 * PAGE, .gpa = -PAGE }, -EOVERFLOW },
		{ { .size = PAGE, .hv_ops = &half, .hv = &hv }, -EINVAL },
	};
	struct shmem_region *r = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct log_capture logc = { 0 };
		struct shmem_region_config cfg = cases[i].cfg;

		cfg.name = "bad";
		cfg.log = log_capture_fn;
		cfg.log_opaque = &logc;
		maps_read(before, MAPS_CAP);
		cr_assert_eq(t_create(&cfg, &r), cases[i].err, "case %zu", i);
		maps_read(after, MAPS_CAP);
		cr_assert_str_eq(after, before, "case %zu", i);
		cr_assert_null(r);
		cr_assert_eq(logc.lines, 0, "case %zu logged: %s", i, logc.last);
		cr_assert(t_why[0], "case %zu: no reason", i);
	}
	cr_assert_eq(hv.adds, 0);
	cr_assert_eq(t_create(NULL, &r), -EINVAL);
}

Test(region, destroy_releases_everything)
{
	size_t maps, fds;
	struct shmem_region_config cfg = { .size = 256 * PAGE };
	struct shmem_region *r;
	int fd;

	warm_allocator();
	maps = maps_count();
	fds = fd_count();
	cr_assert_eq(t_create(&cfg, &r), 0);
	fd = memfd_pattern("gone", 32, 0);
	for (uint64_t i = 0; i < 32; i++)
		cr_assert_eq(t_map(r, i * 2 * PAGE, PAGE, fd, i * PAGE,
				       i % 2 ? SHMEM_MAP_RW : 0, 1), 0);
	close(fd);
	shmem_region_destroy(r);
	cr_assert_eq(maps_count(), maps);
	cr_assert_eq(fd_count(), fds);
}

static void redirect(void)
{
	cr_redirect_stderr();
}

/*
 * Without a callback, what shmem logs itself (here a slot that cannot be
 * removed) goes to stderr; a refused request logs nothing.
 */
Test(region, default_log_goes_to_stderr, .init = redirect)
{
	struct fake_hv hv = { .remove_ret = -EBUSY, .next_slot = 9 };
	struct shmem_region_config cfg = {
		.size = PAGE, .name = "err", .shmid = 5,
		.hv_ops = &fake_hv_ops, .hv = &hv,
	};
	struct shmem_region *r;
	char line[512] = "";
	FILE *f;

	cr_assert_eq(t_create(&cfg, &r), 0);
	cr_assert_eq(t_unmap(r, 0, PAGE), -ENOENT);
	shmem_region_destroy(r);
	fflush(stderr);
	f = cr_get_redirected_stderr();
	cr_assert(fgets(line, sizeof(line), f), "nothing on stderr");
	cr_assert(!strncmp(line, "error: shmem err (shmid 5): destroy: slot_remove(9) failed: -16; keeping the reservation at ", 91),
		  "stderr: %s", line);
	cr_assert_null(fgets(line, sizeof(line), f), "a second line: %s", line);
}
