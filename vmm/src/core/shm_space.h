/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical space for VIRTIO Shared Memory Regions, and the list of
 * regions placed in it.
 *
 * Regions go above RAM (and above 4 GiB), each naturally aligned (to its
 * size rounded up to a power of two) so that the guest can map it with
 * large pages, and below the guest's physical address limit (CPUID
 * 0x80000008), and below 2^46, what a 4-level-paging guest can map. The list serves the vCPU exit path: is an address inside
 * a region, and a one-line account of every region for the diagnostic.
 *
 * Locking: none. Regions are added before the VM runs (while devices are
 * attached); vCPU threads only read the list afterwards.
 */
#ifndef VMM_CORE_SHM_SPACE_H
#define VMM_CORE_SHM_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHM_SPACE_MAX_REGIONS	64

struct shmem_region;

struct shm_space_entry {
	uint64_t gpa;
	uint64_t size;
	uint8_t shmid;
	char dev[32];			/* device name, for the diagnostic */
	struct shmem_region *region;	/* borrowed; NULL in tests */
};

struct shm_space {
	uint64_t next;			/* lowest free address */
	uint64_t limit;			/* first address the guest cannot reach */
	unsigned int n;
	struct shm_space_entry e[SHM_SPACE_MAX_REGIONS];
};

/*
 * @ram_end: first byte above guest RAM; @phys_bits: the guest's physical
 * address width (0: 36, the architectural minimum).
 */
void shm_space_init(struct shm_space *s, uint64_t ram_end,
		    unsigned int phys_bits);

/*
 * Reserve a naturally aligned range of @size bytes (a page multiple).
 * -EINVAL (size 0 or not a page multiple), -ENOSPC (beyond the guest's
 * physical address width).
 */
int shm_space_alloc(struct shm_space *s, uint64_t size, uint64_t *gpa);

/*
 * Alignment of the region's host reservation (shmem_region_config.align):
 * 2 MiB for regions of 2 MiB or more, so that host and guest addresses
 * agree modulo 2 MiB and KVM may map 2 MiB host pages (a huge-page memfd
 * mapped by the back-end) as 2 MiB nested pages; 0 (page) below that.
 */
uint64_t shm_space_host_align(uint64_t size);

/* Record a placed region for lookups. -ENOSPC when the list is full. */
int shm_space_add(struct shm_space *s, const char *dev, uint8_t shmid,
		  uint64_t gpa, uint64_t size, struct shmem_region *region);
/* Forget the region at @gpa (a device that failed to start). */
void shm_space_remove(struct shm_space *s, uint64_t gpa);

/* The region containing @gpa, or NULL. */
const struct shm_space_entry *shm_space_find(const struct shm_space *s,
					     uint64_t gpa);

/*
 * "fs0 shm0 0x100000000+0x40000000 3 mappings; ..." for every region, into
 * @buf (always NUL-terminated, cut at @len). A mapping the host cannot
 * read through (its file shrank under it) adds ", offset 0x... unreadable
 * (...)", naming the first such page: with no address from KVM, that is
 * the one fault a diagnostic can still place. Returns the length written.
 */
size_t shm_space_describe(const struct shm_space *s, char *buf, size_t len);

#endif /* VMM_CORE_SHM_SPACE_H */
