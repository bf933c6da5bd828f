/* SPDX-License-Identifier: MIT */
/*
 * The reservation is never open to another mmap(): a mapping whose file
 * refuses it late (a hugetlbfs memfd with an offset that is not huge-page
 * aligned, or with no huge page free) is refused without the range ever
 * becoming a hole that a thread mapping at the same time could take, on
 * every kernel. Files that are not tmpfs take that path; they still work.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define MIB	(1ULL << 20)

struct hunter {
	uint8_t *target;
	atomic_bool stop;
	atomic_long landed;
	atomic_long tries;
};

/*
 * Another thread of the VMM mapping anonymous memory, with the hint the
 * kernel honours whenever the address is free: a hole in the reservation
 * is exactly that.
 */
static void *hunt(void *arg)
{
	struct hunter *h = arg;

	while (!atomic_load(&h->stop)) {
		void *p = mmap(h->target, PAGE, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		atomic_fetch_add(&h->tries, 1);
		if (p == MAP_FAILED)
			continue;
		if (p == h->target) {
			atomic_fetch_add(&h->landed, 1);
			/* Give the range back as the reservation had it. */
			mmap(p, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			     MAP_NORESERVE | MAP_FIXED, -1, 0);
		} else {
			munmap(p, PAGE);
		}
	}
	return NULL;
}

Test(reservation, a_late_refusal_never_opens_a_hole, .timeout = 120)
{
	struct shmem_region_config cfg = { .size = 4 * MIB, .align = 2 * MIB,
					   .name = "huge" };
	struct hunter h = { 0 };
	struct shmem_region *r;
	pthread_t th;
	int fd, refused = 0;

	fd = memfd_create("huge", MFD_CLOEXEC | MFD_HUGETLB);
	cr_assert_geq(fd, 0, "memfd_create(MFD_HUGETLB): %s", strerror(errno));
	cr_assert_eq(ftruncate(fd, (off_t)(4 * MIB)), 0);
	cr_assert_eq(t_create(&cfg, &r), 0, "%s", t_why);
	h.target = shmem_region_hva(r);
	cr_assert_eq(pthread_create(&th, NULL, hunt, &h), 0);
	/* hugetlbfs refuses an offset of 4 KiB in its mmap hook. */
	for (int i = 0; i < 5000; i++)
		refused += t_map(r, 0, 2 * MIB, fd, PAGE, SHMEM_MAP_RW, 1) != 0;
	atomic_store(&h.stop, true);
	pthread_join(th, NULL);
	cr_assert_eq(refused, 5000);
	cr_assert_eq(atomic_load(&h.landed), 0,
		     "another thread's mmap() landed in the reservation %ld times in %ld tries",
		     atomic_load(&h.landed), atomic_load(&h.tries));
	cr_assert_eq(shmem_count(r), 0);
	cr_assert(region_layout_ok(r, 1));
	shmem_region_destroy(r);
	close(fd);
}

Test(reservation, files_that_are_not_tmpfs_still_map)
{
	struct shmem_region_config cfg = { .size = 16 * PAGE, .name = "dev" };
	struct shmem_region *r;
	uint8_t *base;
	int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(t_create(&cfg, &r), 0, "%s", t_why);
	base = shmem_region_hva(r);
	cr_assert_eq(t_map(r, 4 * PAGE, 2 * PAGE, fd, 0, SHMEM_MAP_RW, 1), 0,
		     "%s", t_why);
	cr_assert(probe_write(base + 4 * PAGE));
	base[4 * PAGE] = 7;
	cr_assert_eq(base[4 * PAGE], 7);
	cr_assert_not(probe_read(base + 3 * PAGE), "its neighbours stay PROT_NONE");
	cr_assert_not(probe_read(base + 6 * PAGE));
	cr_assert_eq(maps_count_range(base, base + 16 * PAGE), 3,
		     "one VMA between two PROT_NONE ones");
	cr_assert_eq(t_unmap(r, 4 * PAGE, 2 * PAGE), 0, "%s", t_why);
	cr_assert_not(probe_read(base + 4 * PAGE));
	cr_assert(region_layout_ok(r, 1));
	shmem_region_destroy(r);
	close(fd);
}

/*
 * A back-end in a mount namespace of its own (vmm-virtiofsd's sandbox)
 * hands over files whose mount is not in ours: told by the back-end's
 * mount table when its pid is given, refused as unknown when it is not.
 */
Test(reservation, a_file_from_another_mount_namespace_maps_with_its_pid)
{
	struct shmem_region_config cfg = { .size = 16 * PAGE, .name = "ns" };
	char path[] = "/tmp/shmem-ns-XXXXXX", why[SHMEM_WHY_MAX] = "";
	int fd = mkstemp(path), nsfd, ready[2], ret, own = -1;
	struct shmem_map_req q = { .shm_offset = 2 * PAGE, .len = PAGE,
				   .flags = SHMEM_MAP_RW, .owner = 1 };
	struct shmem_region *r;
	char link[64];
	pid_t child;

	cr_assert_eq(geteuid(), 0, "a mount namespace needs root");
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "N", 1, 0), 1);
	cr_assert_eq(pipe(ready), 0);
	child = fork();
	if (child == 0) {
		/* A namespace of its own, the file opened there, then wait. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		own = unshare(CLONE_NEWNS) ? -1 : open(path, O_RDWR);
		if (write(ready[1], &own, sizeof(own)) != sizeof(own))
			_exit(1);
		pause();
		_exit(0);
	}
	cr_assert_gt(child, 0);
	close(ready[1]);
	cr_assert_eq(read(ready[0], &own, sizeof(own)), sizeof(own));
	close(ready[0]);
	unlink(path);
	cr_assert_geq(own, 0, "the child's namespace and file");
	/* The child's fd, reopened: on the child's copy of the mount. */
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)child, own);
	nsfd = open(link, O_RDWR | O_CLOEXEC);
	cr_assert_geq(nsfd, 0, "%s: %s", link, strerror(errno));
	cr_assert_eq(shmem_check_fd(nsfd, 0, PAGE, 0, why, sizeof(why)),
		     -EREMOTE, "without the back-end's pid: %s", why);
	cr_assert(strstr(why, "mount namespace"), "%s", why);
	cr_assert_eq(shmem_check_fd(nsfd, 0, PAGE, child, why, sizeof(why)), 0,
		     "with it: %s", why);
	cr_assert_eq(t_create(&cfg, &r), 0, "%s", t_why);
	q.fd = nsfd;
	q.peer = child;
	ret = shmem_map(r, &q, why, sizeof(why));
	cr_assert_eq(ret, 0, "%s", why);
	cr_assert_eq(((uint8_t *)shmem_region_hva(r))[2 * PAGE], 'N');
	cr_assert_eq(t_unmap(r, 2 * PAGE, PAGE), 0, "%s", t_why);
	shmem_region_destroy(r);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* A back-end that is gone tells nothing: refused again. */
	cr_assert_eq(shmem_check_fd(nsfd, 0, PAGE, child, why, sizeof(why)),
		     -EREMOTE, "after the back-end died: %s", why);
	close(nsfd);
	close(fd);
}

/*
 * A file on the machine's own disk (/tmp: ext4 on a stock Debian) maps,
 * through the move, and shows the file's bytes both ways.
 */
Test(reservation, a_file_on_a_local_disk_maps)
{
	struct shmem_region_config cfg = { .size = 16 * PAGE, .name = "disk" };
	char path[] = "/tmp/shmem-disk-XXXXXX", why[SHMEM_WHY_MAX] = "";
	uint8_t byte = 0x5a, *base;
	struct shmem_region *r;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, (off_t)(2 * PAGE)), 0);
	cr_assert_eq(pwrite(fd, &byte, 1, (off_t)(PAGE + 9)), 1);
	cr_assert_eq(shmem_check_fd(fd, 0, 2 * PAGE, 0, why, sizeof(why)), 0,
		     "a file in /tmp refused: %s", why);
	cr_assert_eq(t_create(&cfg, &r), 0, "%s", t_why);
	base = shmem_region_hva(r);
	cr_assert_eq(t_map(r, 2 * PAGE, 2 * PAGE, fd, 0, SHMEM_MAP_RW, 1), 0,
		     "%s", t_why);
	cr_assert_eq(base[3 * PAGE + 9], 0x5a, "the file's second page");
	base[2 * PAGE] = 7;
	cr_assert_eq(pread(fd, &byte, 1, 0), 1);
	cr_assert_eq(byte, 7, "a write through the mapping reaches the file");
	cr_assert_not(probe_read(base + PAGE), "its neighbours stay PROT_NONE");
	cr_assert_not(probe_read(base + 4 * PAGE));
	cr_assert_eq(t_unmap(r, 2 * PAGE, 2 * PAGE), 0, "%s", t_why);
	cr_assert(region_layout_ok(r, 1));
	shmem_region_destroy(r);
	close(fd);
}
