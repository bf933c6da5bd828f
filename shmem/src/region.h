/* SPDX-License-Identifier: MIT */
/* Private state of a region, shared by region.c, map.c and log.c. */
#ifndef SHMEM_REGION_H
#define SHMEM_REGION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/why.h"
#include "shmem/shmem.h"
#include "tree.h"

#define SHMEM_NAME_MAX	32

struct shmem_region {
	pthread_mutex_t lock;	/* guards tree and the reservation's layout */
	struct shm_tree tree;
	uint8_t *base;		/* start of the reservation, aligned */
	uint64_t size;
	uint64_t gpa;
	uint64_t page_size;
	const struct shmem_hv_ops *hv_ops;
	void *hv;
	uint32_t slot;
	bool slot_added;
	/*
	 * This kernel removes the old range before a MAP_FIXED mmap() can
	 * still fail (Debian 12's 6.1 does, for sealed memfds). Then map()
	 * checks memfd seals itself before mapping, so that a back-end
	 * cannot open a hole in the reservation. Kernels that keep the range
	 * refuse sealed mappings atomically, and the check is left to them.
	 */
	bool drops_range;
	/*
	 * This kernel refuses read-only shared mappings of write-sealed
	 * memfds (kernels without the Linux 6.7 change that permits them).
	 * Only asked when drops_range is set.
	 */
	bool sealed_ro_refused;
	/*
	 * Test seam, never set by the library: when set, place() calls it
	 * instead of mmap() for a mapping, so a test can make the kernel
	 * refuse the way some kernels do (after removing the old range) on
	 * any kernel (shmem/tests/test_validate.c).
	 */
	void *(*test_mmap)(void *addr, size_t len, int prot, int flags, int fd,
			   off_t off);
	uint8_t shmid;
	char name[SHMEM_NAME_MAX];
	shmem_log_fn log;
	void *log_opaque;
};

/* The caller's reason buffer (may be NULL): one line saying why a call failed. */
struct shm_why {
	char *buf;
	size_t len;
};

/* Word the reason into @w and return @err. */
#define shm_fail(w, err, ...)	why_fail((w)->buf, (w)->len, (err), __VA_ARGS__)

/* One line naming the region, through the config's callback or stderr. */
void shm_log(const struct shmem_region *r, enum shmem_log_level level,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Put PROT_NONE anonymous MAP_NORESERVE memory over [off, off + len) of the
 * reservation. 0 or -errno.
 */
int shm_fill_none(struct shmem_region *r, uint64_t off, uint64_t len);

/* Learn how this kernel treats sealed memfds; see drops_range. */
bool shm_kernel_drops_range(void);
bool shm_kernel_refuses_sealed_ro(void);

#endif /* SHMEM_REGION_H */
