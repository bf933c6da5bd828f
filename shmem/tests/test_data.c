/* SPDX-License-Identifier: MIT */
/*
 * The data path: what the guest and the back-end see through a region,
 * real faults on protected pages, reset, drop_owner and introspection.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

#define PAGES	64

static struct shmem_region *r;
static uint8_t *base;
static struct log_capture logc;

static void setup(void)
{
	struct shmem_region_config cfg = {
		.size = PAGES * PAGE, .name = "data",
		.log = log_capture_fn, .log_opaque = &logc,
	};

	cr_assert_eq(t_create(&cfg, &r), 0);
	base = shmem_region_hva(r);
}

static void teardown(void)
{
	shmem_region_destroy(r);
}

TestSuite(data, .init = setup, .fini = teardown);

Test(data, rw_round_trip_through_memfd)
{
	int fd = memfd_pattern("rw", 4, 0);
	uint8_t *buf = malloc(4 * PAGE);

	cr_assert_geq(fd, 0);
	cr_assert_eq(t_map(r, 10 * PAGE, 4 * PAGE, fd, 0, SHMEM_MAP_RW, 1), 0);
	for (uint64_t i = 0; i < 4 * PAGE; i++)
		base[10 * PAGE + i] = (uint8_t)(i * 7 + 3);
	cr_assert_eq(pread(fd, buf, 4 * PAGE, 0), (ssize_t)(4 * PAGE));
	for (uint64_t i = 0; i < 4 * PAGE; i++)
		cr_assert_eq(buf[i], (uint8_t)(i * 7 + 3), "byte %lu", (unsigned long)i);
	/* And the other way: a back-end write shows in the region. */
	memset(buf, 0xa5, PAGE);
	cr_assert_eq(pwrite(fd, buf, PAGE, 2 * PAGE), (ssize_t)PAGE);
	cr_assert_eq(base[12 * PAGE + 99], 0xa5);
	free(buf);
	close(fd);
}

Test(data, fd_offset_selects_file_pages)
{
	int fd = memfd_pattern("off", 8, 0x30);

	cr_assert_eq(t_map(r, 0, 2 * PAGE, fd, 5 * PAGE, 0, 1), 0);
	cr_assert_eq(base[0], 0x35);
	cr_assert_eq(base[PAGE], 0x36);
	close(fd);
}

static void write_byte(void *addr)
{
	*(volatile uint8_t *)addr = 1;
}

static void read_byte(void *addr)
{
	(void)*(volatile uint8_t *)addr;
}

/*
 * A read-only mapping stays read-only although the fd would allow writing
 * (a read-write memfd): the table says so, the page is mapped without
 * write permission, and a write faults while a read does not.
 */
Test(data, read_only_mapping_faults_on_write)
{
	int fd = memfd_pattern("ro", 1, 0x11);
	struct shmem_mapping_info m;
	char perms[5];

	cr_assert_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	cr_assert_eq(t_map(r, 3 * PAGE, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(shmem_lookup(r, 3 * PAGE, &m), 0);
	cr_assert_eq(m.flags, 0, "a read-only mapping reports flags 0x%llx",
		     (unsigned long long)m.flags);
	cr_assert(maps_perms(base + 3 * PAGE, perms));
	cr_assert_str_eq(perms, "r--s");
	cr_assert_eq(base[3 * PAGE], 0x11);
	cr_assert_eq(child_signal(write_byte, base + 3 * PAGE), SIGSEGV);
	cr_assert_eq(child_signal(read_byte, base + 3 * PAGE), 0);
	cr_assert_not(probe_write(base + 3 * PAGE));
	cr_assert_eq(base[3 * PAGE], 0x11, "the failed write changed the page");
	close(fd);
}

/* The read-write counterpart: the same probes succeed. */
Test(data, read_write_mapping_takes_writes)
{
	int fd = memfd_pattern("rw", 1, 0x12);
	struct shmem_mapping_info m;
	char perms[5];
	uint8_t b = 0;

	cr_assert_eq(t_map(r, 3 * PAGE, PAGE, fd, 0, SHMEM_MAP_RW, 1), 0);
	cr_assert_eq(shmem_lookup(r, 3 * PAGE, &m), 0);
	cr_assert_eq(m.flags, SHMEM_MAP_RW);
	cr_assert(maps_perms(base + 3 * PAGE, perms));
	cr_assert_str_eq(perms, "rw-s");
	cr_assert_eq(child_signal(write_byte, base + 3 * PAGE), 0);
	cr_assert(probe_write(base + 3 * PAGE));
	base[3 * PAGE + 1] = 0x34;
	cr_assert_eq(pread(fd, &b, 1, 1), 1);
	cr_assert_eq(b, 0x34);
	close(fd);
}

Test(data, unmapped_pages_fault)
{
	int fd = memfd_pattern("un", 1, 0x22);

	/* Never mapped. */
	cr_assert_eq(child_signal(read_byte, base), SIGSEGV);
	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, SHMEM_MAP_RW, 1), 0);
	cr_assert_eq(child_signal(write_byte, base), 0);
	cr_assert_eq(t_unmap(r, 0, PAGE), 0);
	/* Unmapped again. */
	cr_assert_eq(child_signal(read_byte, base), SIGSEGV);
	cr_assert_eq(child_signal(write_byte, base), SIGSEGV);
	cr_assert_not(probe_read(base));
	close(fd);
}

Test(data, remap_other_file_shows_new_contents)
{
	int a = memfd_pattern("a", 2, 0xa0), b = memfd_pattern("b", 2, 0xb0);

	cr_assert_eq(t_map(r, 6 * PAGE, 2 * PAGE, a, 0, 0, 1), 0);
	cr_assert_eq(base[7 * PAGE], 0xa1);
	cr_assert_eq(t_unmap(r, 6 * PAGE, 2 * PAGE), 0);
	cr_assert_eq(t_map(r, 6 * PAGE, 2 * PAGE, b, 0, 0, 1), 0);
	cr_assert_eq(base[6 * PAGE], 0xb0);
	cr_assert_eq(base[7 * PAGE], 0xb1);
	close(a);
	close(b);
}

/* The fd is borrowed: closing it at once leaves a working mapping. */
Test(data, fd_is_borrowed)
{
	size_t fds = fd_count();
	int fd = memfd_pattern("borrow", 1, 0x5c);

	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, SHMEM_MAP_RW, 1), 0);
	cr_assert_eq(fd_count(), fds + 1);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(fd_count(), fds);
	cr_assert_eq(base[0], 0x5c);
	base[1] = 0x77;
	cr_assert_eq(base[1], 0x77);
	cr_assert_eq(t_unmap(r, 0, PAGE), 0);
	cr_assert_eq(fd_count(), fds);
}

Test(data, reset_drops_everything)
{
	size_t maps;
	int fd;

	warm_allocator();
	maps = maps_count();
	fd = memfd_pattern("reset", 8, 1);

	for (uint64_t i = 0; i < 8; i++)
		cr_assert_eq(t_map(r, i * 8 * PAGE, PAGE, fd, i * PAGE, 0, i % 3), 0);
	cr_assert_eq(shmem_count(r), 8);
	cr_assert_eq(shmem_reset(r), 8);
	cr_assert_eq(shmem_count(r), 0);
	cr_assert_eq(shmem_bytes_mapped(r), 0);
	cr_assert(region_layout_ok(r, 1));
	close(fd);
	cr_assert_eq(maps_count(), maps);
	cr_assert_eq(shmem_reset(r), 0);
	/* The region is usable after a reset. */
	fd = memfd_pattern("again", 1, 9);
	cr_assert_eq(t_map(r, 0, PAGE, fd, 0, 0, 1), 0);
	cr_assert_eq(base[0], 9);
	close(fd);
}

static int count_visit(void *arg, const struct shmem_mapping_info *m)
{
	(*(int *)arg)++;
	return 0;
}

Test(data, drop_owner_drops_only_its_own)
{
	int fd = memfd_pattern("own", 16, 1), n = 0;

	for (uint64_t i = 0; i < 16; i++)
		cr_assert_eq(t_map(r, i * 2 * PAGE, PAGE, fd, i * PAGE, 0, 100 + i % 2), 0);
	cr_assert_eq(shmem_foreach_owner(r, 101, count_visit, &n), 0);
	cr_assert_eq(n, 8);
	cr_assert_eq(shmem_drop_owner(r, 101), 8);
	cr_assert_eq(shmem_drop_owner(r, 101), 0);
	cr_assert_eq(shmem_drop_owner(r, 7), 0);
	cr_assert_eq(shmem_count(r), 8);
	for (uint64_t i = 0; i < 16; i++) {
		struct shmem_mapping_info m;
		int ret = shmem_lookup(r, i * 2 * PAGE, &m);

		if (i % 2) {
			cr_assert_eq(ret, -ENOENT);
		} else {
			cr_assert_eq(ret, 0);
			cr_assert_eq(m.owner, 100);
			cr_assert_eq(base[i * 2 * PAGE], 1 + i);
		}
	}
	cr_assert(region_layout_ok(r, 1));
	close(fd);
}

struct collect {
	struct shmem_mapping_info m[8];
	int n, stop_at;
};

static int collect_visit(void *arg, const struct shmem_mapping_info *m)
{
	struct collect *c = arg;

	c->m[c->n++] = *m;
	return c->n == c->stop_at ? 42 : 0;
}

Test(data, introspection)
{
	int fd = memfd_pattern("intro", 8, 1);
	struct shmem_mapping_info m;
	struct collect c = { .stop_at = 0 };

	/* Inserted out of order; reported in offset order. */
	cr_assert_eq(t_map(r, 40 * PAGE, 3 * PAGE, fd, 2 * PAGE, SHMEM_MAP_RW, 7), 0);
	cr_assert_eq(t_map(r, 4 * PAGE, PAGE, fd, 0, 0, 8), 0);
	cr_assert_eq(t_map(r, 20 * PAGE, 2 * PAGE, fd, 5 * PAGE, 0, 9), 0);
	cr_assert_eq(shmem_count(r), 3);
	cr_assert_eq(shmem_bytes_mapped(r), 6 * PAGE);
	cr_assert_eq(shmem_foreach(r, collect_visit, &c), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_eq(c.m[0].shm_offset, 4 * PAGE);
	cr_assert_eq(c.m[1].shm_offset, 20 * PAGE);
	cr_assert_eq(c.m[2].shm_offset, 40 * PAGE);
	cr_assert_eq(c.m[2].len, 3 * PAGE);
	cr_assert_eq(c.m[2].fd_offset, 2 * PAGE);
	cr_assert_eq(c.m[2].flags, SHMEM_MAP_RW);
	cr_assert_eq(c.m[2].owner, 7);
	/* A non-zero return stops the walk and is returned. */
	c = (struct collect){ .stop_at = 2 };
	cr_assert_eq(shmem_foreach(r, collect_visit, &c), 42);
	cr_assert_eq(c.n, 2);
	/* Lookup finds the mapping containing an offset. */
	cr_assert_eq(shmem_lookup(r, 42 * PAGE + 5, &m), 0);
	cr_assert_eq(m.shm_offset, 40 * PAGE);
	cr_assert_eq(shmem_lookup(r, 43 * PAGE, &m), -ENOENT);
	cr_assert_eq(shmem_lookup(r, 0, &m), -ENOENT);
	cr_assert_eq(shmem_lookup(r, 21 * PAGE, &m), 0);
	cr_assert_eq(m.owner, 9);
	close(fd);
}
