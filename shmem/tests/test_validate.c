/* SPDX-License-Identifier: MIT */
/*
 * Every validation rule of t_map() and t_unmap(): the errno, one
 * log line naming the region and the value, and proof that nothing changed
 * (/proc/self/maps identical, table identical, unmapped pages of the region
 * still inaccessible, live mappings still showing their files).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"
#include "region.h"	/* to stand in for an older kernel */

#define PAGES	64
#define TAG	0x40

static char before[MAPS_CAP], after[MAPS_CAP];
static struct shmem_mapping_info t0[8], t1[8];
static struct log_capture logc;
static struct shmem_region *r;
static uint8_t *base;
static int mfd;			/* RW memfd, 16 pages */

static void setup(void)
{
	struct shmem_region_config cfg = {
		.size = PAGES * PAGE, .name = "val", .shmid = 3,
		.log = log_capture_fn, .log_opaque = &logc,
	};

	cr_assert_eq(t_create(&cfg, &r), 0);
	base = shmem_region_hva(r);
	mfd = memfd_pattern("val", 16, TAG);
	cr_assert_geq(mfd, 0);
	/* Two live mappings: pages [8, 10) RW, page 20 RO from file page 4. */
	cr_assert_eq(t_map(r, 8 * PAGE, 2 * PAGE, mfd, 0, SHMEM_MAP_RW, 1), 0);
	cr_assert_eq(t_map(r, 20 * PAGE, PAGE, mfd, 4 * PAGE, 0, 2), 0);
	logc.lines = 0;
}

static void teardown(void)
{
	shmem_region_destroy(r);
	close(mfd);
}

TestSuite(validate, .init = setup, .fini = teardown);

static size_t n0;

static void begin(void)
{
	n0 = table_snapshot(r, t0, 8);
	maps_read(before, MAPS_CAP);
}

static void finish(int ret, int want, const char *expr, const char *value)
{
	size_t n1;

	maps_read(after, MAPS_CAP);
	cr_assert_eq(ret, want, "%s returned %d, want %d", expr, ret, want);
	cr_assert_str_eq(after, before, "%s changed /proc/self/maps", expr);
	n1 = table_snapshot(r, t1, 8);
	cr_assert_eq(n1, n0);
	cr_assert_eq(memcmp(t0, t1, n0 * sizeof(t0[0])), 0, "table changed");
	cr_assert_eq(shmem_count(r), 2);
	cr_assert_eq(shmem_bytes_mapped(r), 3 * PAGE);
	cr_assert(region_layout_ok(r, 1), "%s changed page access", expr);
	cr_assert_eq(base[8 * PAGE], TAG);
	cr_assert_eq(base[9 * PAGE + 7], TAG + 1);
	cr_assert_eq(base[20 * PAGE], TAG + 4);
	cr_assert_eq(logc.lines, 0, "%s logged: %s", expr, logc.last);
	cr_assert(strstr(t_why, value), "reason lacks '%s': %s", value, t_why);
}

#define REJECT(expr, want, value) do {			\
	int ret_;					\
	begin();					\
	ret_ = (expr);					\
	finish(ret_, want, #expr, value);		\
} while (0)

Test(validate, unknown_flag_bits)
{
	REJECT(t_map(r, 0, PAGE, mfd, 0, 2, 1), -EINVAL, "0x2");
	logc.lines = 0;
	REJECT(t_map(r, 0, PAGE, mfd, 0, SHMEM_MAP_RW | (1ULL << 63), 1),
	       -EINVAL, "0x8000000000000000");
}

Test(validate, zero_length)
{
	REJECT(t_map(r, 0, 0, mfd, 0, 0, 1), -EINVAL, "zero length");
}

Test(validate, misaligned_shm_offset)
{
	REJECT(t_map(r, 0x800, PAGE, mfd, 0, 0, 1), -EINVAL, "0x800");
}

Test(validate, misaligned_fd_offset)
{
	REJECT(t_map(r, 0, PAGE, mfd, 0x10, 0, 1), -EINVAL,
	       "fd_offset 0x10 is not aligned");
}

Test(validate, misaligned_len)
{
	REJECT(t_map(r, 0, PAGE + 0x200, mfd, 0, 0, 1), -EINVAL, "0x1200");
}

Test(validate, shm_offset_overflow)
{
	REJECT(t_map(r, -PAGE, 2 * PAGE, mfd, 0, 0, 1), -EOVERFLOW,
	       "0xfffffffffffff000");
}

Test(validate, fd_offset_overflow)
{
	REJECT(t_map(r, 0, 2 * PAGE, mfd, -PAGE, 0, 1), -EOVERFLOW,
	       "0xfffffffffffff000");
	logc.lines = 0;
	/* Past the largest off_t is an overflow too. */
	REJECT(t_map(r, 0, 2 * PAGE, mfd, (uint64_t)INT64_MAX + 1 - PAGE, 0, 1),
	       -EOVERFLOW, "0x7ffffffffffff000");
}

Test(validate, beyond_region)
{
	REJECT(t_map(r, (PAGES - 1) * PAGE, 2 * PAGE, mfd, 0, 0, 1), -ERANGE,
	       "0x3f000");
	logc.lines = 0;
	REJECT(t_map(r, PAGES * PAGE, PAGE, mfd, 0, 0, 1), -ERANGE, "0x40000");
}

Test(validate, negative_fd)
{
	REJECT(t_map(r, 0, PAGE, -1, 0, 0, 1), -EINVAL, "fd -1");
}

Test(validate, closed_fd)
{
	int fd = dup(mfd);

	close(fd);
	REJECT(t_map(r, 0, PAGE, fd, 0, 0, 1), -EBADF, "not an open file");
}

Test(validate, o_path_fd)
{
	int fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, 0, 1), -EBADF, "not an open file");
	close(fd);
}

Test(validate, rw_on_read_only_fd)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, SHMEM_MAP_RW, 1), -EACCES, "read-only");
	close(fd);
}

Test(validate, write_only_fd)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, 0, 1), -EACCES, "write-only");
	close(fd);
}

Test(validate, memfd_shorter_than_range)
{
	/* 16 pages: pages 15 and 16 run past the end. */
	REJECT(t_map(r, 0, 2 * PAGE, mfd, 15 * PAGE, 0, 1), -ERANGE, "0x10000");
}

Test(validate, regular_file_shorter_than_range)
{
	char path[] = "/tmp/shmem-test-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)PAGE), 0);
	REJECT(t_map(r, 0, 2 * PAGE, fd, 0, SHMEM_MAP_RW, 1), -ERANGE,
	       "beyond the end");
	close(fd);
}

Test(validate, regular_file_last_partial_page)
{
	char path[] = "/tmp/shmem-test-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *p = base + 30 * PAGE;

	cr_assert_geq(fd, 0);
	unlink(path);
	/* One page and one byte: the second page is mappable, a third not. */
	cr_assert_eq(pwrite(fd, "A", 1, (off_t)PAGE), 1);
	REJECT(t_map(r, 30 * PAGE, 3 * PAGE, fd, 0, SHMEM_MAP_RW, 1), -ERANGE,
	       "beyond the end");
	cr_assert_eq(t_map(r, 30 * PAGE, 2 * PAGE, fd, 0, SHMEM_MAP_RW, 1), 0,
		     "%s", t_why);
	cr_assert_eq(p[PAGE], 'A', "the file's last byte");
	cr_assert_eq(p[PAGE + 1], 0, "past the end of the file: zeros");
	cr_assert_eq(p[2 * PAGE - 1], 0);
	cr_assert_eq(t_unmap(r, 30 * PAGE, 2 * PAGE), 0);
	close(fd);
}

Test(validate, pipe_fd)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	REJECT(t_map(r, 0, PAGE, p[0], 0, 0, 1), -ENODEV, "cannot be mapped");
	close(p[0]);
	close(p[1]);
}

Test(validate, directory_fd)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, 0, 1), -ENODEV, "cannot be mapped");
	close(fd);
}

/*
 * Rule 11a: a regular file on a file system that is not known to be local.
 * sysfs stands in for FUSE or NFS here (every machine has it, no root
 * needed): its pages would come from a driver's show(), not from this
 * kernel's page cache; vhost_channel_hostile does it with a hung FUSE mount.
 */
Test(validate, file_on_a_file_system_not_known_to_be_local)
{
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	REJECT(t_map(r, 0, PAGE, fd, 0, 0, 1), -EREMOTE, "sysfs");
	cr_assert_eq(shmem_check_fd(fd, 0, PAGE, 0, NULL, 0), -EREMOTE,
		     "shmem_check_fd() says the same");
	close(fd);
}

Test(validate, write_sealed_memfd)
{
	int fd = memfd_pattern("sealed", 2, 0x10);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, SHMEM_MAP_RW, 1), -EPERM, "sealed");
	close(fd);
}

/*
 * Read-only is what a sealed file is for. Linux 6.7 and later (and
 * Debian 12's 6.1) map it; other kernels refuse with EPERM, and then
 * nothing may have changed.
 */
Test(validate, write_sealed_memfd_read_only)
{
	int fd = memfd_pattern("sealed", 2, 0x10), ret;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	begin();
	ret = t_map(r, 0, PAGE, fd, 0, 0, 1);
	if (ret == 0) {
		cr_assert_eq(base[0], 0x10);
		cr_assert_eq(shmem_count(r), 3);
	} else {
		finish(ret, -EPERM, "read-only map of a write-sealed memfd", "sealed");
	}
	close(fd);
}

static int sealed_memfd(int seals)
{
	int fd = memfd_pattern("sealed", 2, 0x10);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/*
 * On a kernel that drops the old range when it refuses a sealed mapping,
 * seals are checked before any mmap(). Forced here, whatever this kernel.
 */
Test(validate, seals_checked_up_front)
{
	int wr = sealed_memfd(F_SEAL_WRITE), fw = sealed_memfd(F_SEAL_FUTURE_WRITE);

	r->drops_range = true;
	r->sealed_ro_refused = true;
	REJECT(t_map(r, 0, PAGE, wr, 0, SHMEM_MAP_RW, 1), -EPERM, "sealed");
	logc.lines = 0;
	REJECT(t_map(r, 0, PAGE, fw, 0, SHMEM_MAP_RW, 1), -EPERM, "sealed");
	logc.lines = 0;
	REJECT(t_map(r, 0, PAGE, wr, 0, 0, 1), -EPERM, "sealed");
	/* Read-only of F_SEAL_FUTURE_WRITE, and unsealed files: unaffected. */
	cr_assert_eq(t_map(r, 0, PAGE, fw, 0, 0, 1), 0);
	cr_assert_eq(t_map(r, PAGE, PAGE, mfd, 0, 0, 1), 0);
	cr_assert_eq(base[0], 0x10);
	close(wr);
	close(fw);
}

/*
 * Left to the kernel, whatever this kernel. One that drops the old range
 * (Debian 12's 6.1 does, with ENOMEM) gets it back from shmem: nothing
 * may have changed either way.
 */
Test(validate, seals_left_to_the_kernel)
{
	int wr = sealed_memfd(F_SEAL_WRITE), fw = sealed_memfd(F_SEAL_FUTURE_WRITE);
	int ret;

	r->drops_range = false;
	REJECT(t_map(r, 0, PAGE, wr, 0, SHMEM_MAP_RW, 1), -EPERM, "sealed");
	logc.lines = 0;
	begin();
	ret = t_map(r, 0, PAGE, fw, 0, SHMEM_MAP_RW, 1);
	cr_assert(ret == -EPERM || ret == -ENOMEM, "ret %d", ret);
	finish(ret, ret, "RW map of F_SEAL_FUTURE_WRITE memfd", "0x0");
	close(wr);
	close(fw);
}

/*
 * F_SEAL_FUTURE_WRITE: Debian 12's kernel refuses a read-write MAP_FIXED
 * mapping of it only after removing the old range; shmem refuses first.
 */
Test(validate, future_write_sealed_memfd)
{
	int fd = memfd_pattern("future", 2, 0x10);

	cr_assert_geq(fd, 0);
	cr_assert_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
	REJECT(t_map(r, 0, PAGE, fd, 0, SHMEM_MAP_RW, 1), -EPERM, "sealed");
	close(fd);
}

/* The kernel refuses after every check passed: the range is restored. */
Test(validate, kernel_refuses_mmap)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	REJECT(t_map(r, 4 * PAGE, PAGE, fd, 0, SHMEM_MAP_RW, 1), -ENODEV,
	       "the kernel refused mmap(shm_offset 0x4000");
	close(fd);
}

/*
 * Stand-ins for the kernel's mmap(MAP_FIXED) in place(). The first refuses
 * the way Debian 12's 6.1 refuses a read-write mapping of an
 * F_SEAL_FUTURE_WRITE memfd: after removing the old range, leaving a hole.
 * The second refuses with the old range intact, as 6.18 does.
 */
static int hook_calls;

static void *drop_then_refuse(void *addr, size_t len, int prot, int flags,
			      int fd, off_t off)
{
	hook_calls++;
	if (munmap(addr, len))
		return NULL;	/* not MAP_FAILED: the test fails loudly */
	errno = ENOMEM;
	return MAP_FAILED;
}

static void *refuse_keeping_range(void *addr, size_t len, int prot, int flags,
				  int fd, off_t off)
{
	hook_calls++;
	errno = EPERM;
	return MAP_FAILED;
}

/*
 * The restore path of place(), forced on any kernel: the kernel's refusal
 * left a hole where the reservation was, and shmem puts PROT_NONE back
 * (/proc/self/maps byte-identical, every page of the range unreadable, the
 * table unchanged, the refusal worded as the kernel's).
 */
Test(validate, refusal_after_the_kernel_dropped_the_range_is_restored)
{
	hook_calls = 0;
	r->test_mmap = drop_then_refuse;
	REJECT(t_map(r, 4 * PAGE, 2 * PAGE, mfd, 0, SHMEM_MAP_RW, 1), -ENOMEM,
	       "the kernel refused mmap(shm_offset 0x4000, len 0x2000");
	cr_assert_eq(hook_calls, 1);
	cr_assert_eq(maps_count_range(base + 4 * PAGE, base + 6 * PAGE), 1,
		     "the range is not one reservation again");
	r->test_mmap = NULL;
	/* The range is usable again. */
	cr_assert_eq(t_map(r, 4 * PAGE, 2 * PAGE, mfd, 0, SHMEM_MAP_RW, 1), 0);
	cr_assert_eq(base[5 * PAGE], TAG + 1);
}

Test(validate, refusal_keeping_the_range_changes_nothing)
{
	hook_calls = 0;
	r->test_mmap = refuse_keeping_range;
	REJECT(t_map(r, 4 * PAGE, PAGE, mfd, 0, 0, 1), -EPERM,
	       "the kernel refused mmap(shm_offset 0x4000, len 0x1000");
	cr_assert_eq(hook_calls, 1);
	r->test_mmap = NULL;
}

Test(validate, overlap)
{
	static const uint64_t cases[][2] = {
		{ 8, 2 },	/* the same range */
		{ 7, 2 },	/* over the head */
		{ 9, 2 },	/* over the tail */
		{ 9, 1 },	/* inside */
		{ 6, 6 },	/* around it */
		{ 6, 15 },	/* around both */
		{ 20, 1 },
		{ 19, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		logc.lines = 0;
		REJECT(t_map(r, cases[i][0] * PAGE, cases[i][1] * PAGE, mfd, 0, 0, 1),
		       -EEXIST, "overlaps");
	}
	/* Touching neighbours do not overlap. */
	cr_assert_eq(t_map(r, 7 * PAGE, PAGE, mfd, 0, 0, 1), 0);
	cr_assert_eq(t_map(r, 10 * PAGE, PAGE, mfd, 0, 0, 1), 0);
}

Test(validate, unmap_rules)
{
	REJECT(t_unmap(r, 8 * PAGE, 0), -EINVAL, "zero length");
	logc.lines = 0;
	REJECT(t_unmap(r, 8 * PAGE + 1, PAGE), -EINVAL, "0x8001");
	logc.lines = 0;
	REJECT(t_unmap(r, 8 * PAGE, PAGE + 1), -EINVAL, "0x1001");
	logc.lines = 0;
	REJECT(t_unmap(r, -PAGE, 2 * PAGE), -EOVERFLOW, "0xfffffffffffff000");
	logc.lines = 0;
	REJECT(t_unmap(r, 63 * PAGE, 2 * PAGE), -ERANGE, "0x3f000");
}

Test(validate, unmap_not_exactly_one_mapping)
{
	static const uint64_t cases[][2] = {
		{ 0, 1 },	/* nothing there */
		{ 8, 1 },	/* shorter than the mapping */
		{ 8, 3 },	/* longer than the mapping */
		{ 9, 1 },	/* inside the mapping */
		{ 8, 13 },	/* both mappings and the gap */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		logc.lines = 0;
		REJECT(t_unmap(r, cases[i][0] * PAGE, cases[i][1] * PAGE), -ENOENT,
		       "not one live mapping");
	}
}
