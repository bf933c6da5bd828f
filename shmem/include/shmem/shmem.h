/* SPDX-License-Identifier: MIT */
/*
 * shmem: VIRTIO Shared Memory Region manager.
 *
 * A region is one PROT_NONE reservation of host address space, registered
 * with the hypervisor as exactly one memory slot. Back-end mappings are
 * placed inside the reservation with mmap(MAP_FIXED) and removed by putting
 * PROT_NONE anonymous memory back; they never create or change memory slots.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure. A failed request changes nothing.
 *
 * Locking: each region has one mutex. shmem_map(), shmem_unmap(),
 * shmem_reset(), shmem_drop_owner() and the introspection calls take it, so
 * they may be called from any thread (typically a back-end channel thread).
 * vCPU threads never take it: the guest reaches the reservation through the
 * memory slot, and the kernel keeps its translations coherent with mmap().
 *
 * This module knows nothing of KVM or sockets: the hypervisor is reached
 * through struct shmem_hv_ops, and fds are borrowed from the caller.
 */
#ifndef SHMEM_SHMEM_H
#define SHMEM_SHMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Map flag: bit 0 of VhostUserMMap.flags. Clear means read-only. */
#define SHMEM_MAP_RW		(1ULL << 0)
#define SHMEM_MAP_FLAGS_MASK	(SHMEM_MAP_RW)

/* Largest region accepted by shmem_region_create(). */
#define SHMEM_REGION_MAX_SIZE	(1ULL << 40)

struct shmem_region;

/*
 * Hypervisor interface. The region registers its whole reservation once at
 * create time and unregisters it once at destroy time.
 */
struct shmem_hv_ops {
	/* Register [hva, hva + size) at guest physical @gpa; store a handle. */
	int (*slot_add)(void *hv, uint64_t gpa, void *hva, uint64_t size,
			uint32_t *slot);
	/* Undo slot_add(). */
	int (*slot_remove)(void *hv, uint32_t slot);
};

enum shmem_log_level {
	SHMEM_LOG_ERROR,
	SHMEM_LOG_WARN,
	SHMEM_LOG_INFO,
	SHMEM_LOG_DEBUG,
};

typedef void (*shmem_log_fn)(void *opaque, enum shmem_log_level level,
			     const char *msg);

struct shmem_region_config {
	uint64_t size;		/* non-zero multiple of the page size */
	uint64_t align;		/* 0, or a power of two >= page size */
	uint64_t gpa;		/* guest physical base, passed to slot_add */
	uint8_t shmid;		/* VIRTIO shared memory id, for log lines */
	const char *name;	/* for log lines; may be NULL */
	const struct shmem_hv_ops *hv_ops; /* may be NULL: no hypervisor */
	void *hv;		/* passed to hv_ops */
	shmem_log_fn log;	/* may be NULL: messages go to stderr */
	void *log_opaque;
};

/* One live mapping, as reported by shmem_foreach() and shmem_lookup(). */
struct shmem_mapping_info {
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	uint64_t flags;
	uint64_t owner;
};

int shmem_region_create(const struct shmem_region_config *cfg,
			struct shmem_region **out);
/* Unregister the slot, drop every mapping, release the reservation. */
void shmem_region_destroy(struct shmem_region *r);

void *shmem_region_hva(const struct shmem_region *r);
uint64_t shmem_region_size(const struct shmem_region *r);
uint64_t shmem_region_gpa(const struct shmem_region *r);

/*
 * Map @len bytes of @fd at @fd_offset to @shm_offset in the region.
 * The fd is borrowed: the caller keeps ownership and may close it at once.
 * @owner is an opaque tag (e.g. one per back-end connection).
 *
 * Errors: -EINVAL (alignment, zero length, unknown flags, negative fd),
 * -EOVERFLOW (offset + len wraps), -ERANGE (beyond the region or the file),
 * -EACCES (RW on a read-only fd), -EEXIST (overlaps a live mapping),
 * -ENOMEM / -ENODEV / other (the kernel refused the mmap).
 */
int shmem_map(struct shmem_region *r, uint64_t shm_offset, uint64_t len,
	      int fd, uint64_t fd_offset, uint64_t flags, uint64_t owner);

/*
 * Remove the mapping that starts at @shm_offset and is exactly @len long.
 * Errors: -EINVAL (alignment, zero length), -EOVERFLOW, -ERANGE,
 * -ENOENT (not exactly one live mapping).
 */
int shmem_unmap(struct shmem_region *r, uint64_t shm_offset, uint64_t len);

/* Drop every mapping (device reset). Returns the number dropped. */
size_t shmem_reset(struct shmem_region *r);
/* Drop every mapping tagged @owner. Returns the number dropped. */
size_t shmem_drop_owner(struct shmem_region *r, uint64_t owner);

/* Find the live mapping that contains @shm_offset. 0 or -ENOENT. */
int shmem_lookup(struct shmem_region *r, uint64_t shm_offset,
		 struct shmem_mapping_info *info);

/*
 * Call @fn for each live mapping in offset order (with the region lock held:
 * @fn must not call back into this region). A non-zero return from @fn stops
 * the walk and is returned.
 */
typedef int (*shmem_visit_fn)(void *arg, const struct shmem_mapping_info *m);
int shmem_foreach(struct shmem_region *r, shmem_visit_fn fn, void *arg);
/* The same, only for mappings tagged @owner. */
int shmem_foreach_owner(struct shmem_region *r, uint64_t owner,
			shmem_visit_fn fn, void *arg);

size_t shmem_count(struct shmem_region *r);
uint64_t shmem_bytes_mapped(struct shmem_region *r);

#ifdef __cplusplus
}
#endif

#endif /* SHMEM_SHMEM_H */
