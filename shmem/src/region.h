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
	 * instead of mmap() (or the move) for a mapping, so a test can make
	 * the kernel refuse the way some kernels do (after removing the old
	 * range) on any kernel (shmem/tests/test_validate.c).
	 */
	void *(*test_mmap)(void *addr, size_t len, int prot, int flags, int fd,
			   off_t off);
	uint8_t shmid;
	char name[SHMEM_NAME_MAX];
	shmem_log_fn log;
	void *log_opaque;
	uint64_t max_mappings;		/* tree.count never passes it */
	struct shmem_budget *budget;	/* charged one per live mapping */
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

/* What shmem needs to know of a back-end's fd (file.c). */
struct shm_file {
	uint32_t mode;
	uint64_t size;
	int seals;		/* F_GET_SEALS; -1: not a tmpfs or hugetlbfs file */
	/*
	 * A tmpfs file (memfd, /dev/shm): its mmap() can only fail late for
	 * a seal, which drops_range covers, so a MAP_FIXED over the
	 * reservation is safe. Any other file is first mapped elsewhere.
	 */
	bool plain_shmem;
};

/*
 * Rules 8 to 11 and the file system rule: what the fd is, without any
 * lock and without waiting on another process (@peer: as in struct
 * shmem_map_req). 0 or -errno worded in @w.
 */
int shm_file_check(int fd, uint64_t fd_offset, uint64_t len, pid_t peer,
		   struct shm_file *f, struct shm_why *w);

/* Charge one mapping to @r's budget chain, or word why not (-ENOSPC). */
int shm_budget_charge(struct shmem_region *r, struct shm_why *w);
/* Give @n mappings back. */
void shm_budget_release(struct shmem_region *r, uint64_t n);

/* Learn how this kernel treats sealed memfds; see drops_range. */
bool shm_kernel_drops_range(void);
bool shm_kernel_refuses_sealed_ro(void);

#endif /* SHMEM_REGION_H */
