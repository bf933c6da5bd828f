/* SPDX-License-Identifier: MIT */
/* Shared helpers of the shmem tests. */
#ifndef SHMEM_TEST_HELPERS_H
#define SHMEM_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmem/shmem.h"

#define MAPS_CAP	(1u << 20)
#define PAGE		((uint64_t)page_size())

uint64_t page_size(void);

/* Read /proc/self/maps into @buf (no allocation). Returns its length. */
size_t maps_read(char *buf, size_t cap);
/* Number of lines of /proc/self/maps. */
size_t maps_count(void);
/* Number of lines of /proc/self/maps that meet [lo, hi). */
size_t maps_count_range(const void *lo, const void *hi);
/* Number of open fds of this process. */
size_t fd_count(void);

/*
 * Run one small create/map/unmap/destroy cycle so that the allocator (the
 * sanitizer's, in a sanitized build) has mapped the size classes shmem
 * uses before a test takes a /proc/self/maps baseline.
 */
void warm_allocator(void);

/* Can this process read (write) the byte at @addr? No signal is raised. */
bool probe_read(const void *addr);
bool probe_write(void *addr);

/*
 * Run @fn(@arg) in a child process with the default SIGSEGV/SIGBUS
 * action. Returns the signal that killed it, 0 if it exited normally.
 */
int child_signal(void (*fn)(void *arg), void *arg);

/* A memfd of @pages pages, page i filled with byte (tag + i). */
int memfd_pattern(const char *name, uint64_t pages, uint8_t tag);

/*
 * The permissions column ("r--s", "rw-s", "---p", ...) of the
 * /proc/self/maps line that contains @addr, into @perms (5 bytes).
 * Returns false when no line contains it.
 */
bool maps_perms(const void *addr, char perms[5]);

/*
 * The library calls with the reason of the last refusal kept in t_why
 * (empty after a success), so a test can assert which rule refused. One
 * buffer per thread: the concurrency tests call these from several.
 */
extern _Thread_local char t_why[SHMEM_WHY_MAX];
int t_create(const struct shmem_region_config *cfg, struct shmem_region **out);
int t_map(struct shmem_region *r, uint64_t shm_offset, uint64_t len, int fd,
	  uint64_t fd_offset, uint64_t flags, uint64_t owner);
int t_unmap(struct shmem_region *r, uint64_t shm_offset, uint64_t len);

/* A log callback that keeps the count and the last line. */
struct log_capture {
	int lines;
	enum shmem_log_level level;
	char last[512];
};
void log_capture_fn(void *opaque, enum shmem_log_level level, const char *msg);

/* A recording fake of the hypervisor interface. */
struct fake_hv {
	int adds, removes;
	uint64_t gpa, size;
	void *hva;
	uint32_t next_slot, removed_slot;
	int add_ret, remove_ret;
};
extern const struct shmem_hv_ops fake_hv_ops;

/* Every live mapping of @r, in order, into @out (up to @cap). */
size_t table_snapshot(struct shmem_region *r, struct shmem_mapping_info *out,
		      size_t cap);

/*
 * Every page of @r outside a live mapping is unreadable, and every page
 * inside one is readable. Pages are probed with a stride of @stride pages.
 */
bool region_layout_ok(struct shmem_region *r, uint64_t stride);

#endif /* SHMEM_TEST_HELPERS_H */
