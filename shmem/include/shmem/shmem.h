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
 * negative errno on failure. A failed request changes nothing. A refused
 * back-end request is worded into the caller's reason buffer and left to
 * the caller to log; the log callback carries only what no caller could
 * report (a mapping that cannot be dropped, a slot that cannot be removed,
 * a reservation that cannot be restored).
 *
 * Locking: each region has one mutex. shmem_map(), shmem_unmap(),
 * shmem_reset(), shmem_drop_owner() and the introspection calls take it, so
 * they may be called from any thread (typically a back-end channel thread).
 * vCPU threads never take it: the guest reaches the reservation through the
 * memory slot, and the kernel keeps its translations coherent with mmap().
 * The fd checks of shmem_map() run before the lock is taken; the overlap
 * check, the mmap() and the table update run under it, so two requests
 * for the same range cannot both succeed. shmem_region_create() and
 * shmem_region_destroy() must not race with any other call on the region.
 *
 * This module knows nothing of KVM or sockets: the hypervisor is reached
 * through struct shmem_hv_ops, and fds are borrowed from the caller.
 */
#ifndef SHMEM_SHMEM_H
#define SHMEM_SHMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/*
 * A mapping budget shared by several regions: every live mapping of a
 * region charges its budget and each of the budget's parents, and a
 * SHMEM_MAP that would take any of them over its limit is refused
 * (-ENOSPC). The owner keeps it alive as long as a region uses it; the
 * counter is updated atomically, from any thread. Typical chain: a device
 * (its back-end connections, all its regions) under the machine (every
 * device), whose limit keeps the process below vm.max_map_count.
 */
struct shmem_budget {
	uint64_t limit;			/* mappings */
	uint64_t used;			/* atomic */
	struct shmem_budget *parent;	/* may be NULL */
	char name[32];			/* for reasons: "device fs0", ... */
};

void shmem_budget_init(struct shmem_budget *b, uint64_t limit,
		       struct shmem_budget *parent, const char *name);
uint64_t shmem_budget_used(const struct shmem_budget *b);

/*
 * How many mappings the back-ends of this process may hold, all regions
 * together, so that the kernel's per-process VMA limit (vm.max_map_count,
 * read now; 65530 if unreadable) is never reached: a mapping costs at most
 * two VMAs (itself and the PROT_NONE gap it splits off), and the process
 * keeps max(limit / 8, 4096) VMAs for itself, so that unmapping, a reset,
 * another device and the VMM's own mmap() calls always still work. 28,669
 * with the default limit.
 */
uint64_t shmem_map_budget_default(void);

/* shmem_region_config.max_mappings: no limit of the region's own. */
#define SHMEM_MAX_MAPPINGS_UNLIMITED	UINT64_MAX

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
	/*
	 * Live mappings the region accepts; 0: shmem_map_budget_default(),
	 * so that a region alone can never exhaust the process's VMAs.
	 */
	uint64_t max_mappings;
	struct shmem_budget *budget;	/* may be NULL; borrowed */
};

/* One live mapping, as reported by shmem_foreach() and shmem_lookup(). */
struct shmem_mapping_info {
	uint64_t shm_offset;
	uint64_t len;
	uint64_t fd_offset;
	uint64_t flags;
	uint64_t owner;
};

/*
 * Reserve the region and register it with hv_ops->slot_add (once).
 * @cfg->name is copied (up to 31 characters). Errors, worded into @why (may
 * be NULL, SHMEM_WHY_MAX bytes suffice): -EINVAL (size 0, not a page
 * multiple or above SHMEM_REGION_MAX_SIZE; align not a power of two in
 * [page size, SHMEM_REGION_MAX_SIZE]; gpa not page aligned; hv_ops without
 * both callbacks), -EOVERFLOW (gpa + size wraps), -ENOMEM, or the error
 * slot_add returned. On error nothing is left behind.
 */
int shmem_region_create(const struct shmem_region_config *cfg,
			struct shmem_region **out, char *why, size_t whylen);
/*
 * Unregister the slot (slot_remove, once), drop every mapping, release the
 * reservation. If slot_remove fails the guest may still reach the range, so
 * the reservation is kept (PROT_NONE, mappings dropped) rather than given
 * back to the address space. NULL is ignored.
 */
void shmem_region_destroy(struct shmem_region *r);

void *shmem_region_hva(const struct shmem_region *r);
uint64_t shmem_region_size(const struct shmem_region *r);
uint64_t shmem_region_gpa(const struct shmem_region *r);

/* A back-end's SHMEM_MAP, as shmem_map() takes it. */
struct shmem_map_req {
	uint64_t shm_offset;	/* from the start of the region */
	uint64_t len;
	int fd;			/* borrowed: the caller keeps it */
	uint64_t fd_offset;
	uint64_t flags;		/* SHMEM_MAP_RW, or 0 for read-only */
	uint64_t owner;		/* opaque tag, e.g. one per connection */
	/*
	 * 0, or the back-end process the fd came from: a file on a mount
	 * outside this process's mount namespace (a back-end in a sandbox
	 * of its own) is looked up in that process's mount table
	 * (/proc/PID/mountinfo) before it is refused as unknown.
	 */
	pid_t peer;
};

/* A reason buffer of this size holds every reason shmem words. */
#define SHMEM_WHY_MAX	200

/*
 * Map @req->len bytes of @req->fd at @req->fd_offset to @req->shm_offset
 * in the region. The fd may be closed as soon as the call returns.
 *
 * A refusal is not logged: the caller, which knows who asked, logs it
 * once. @why (may be NULL) gets one line saying which rule refused and
 * with which values, e.g. "fd_offset 0x800 is not aligned to page size
 * 0x1000". Errors, in the order they are checked (docs/shmem.md has the
 * full table):
 *   -EINVAL     unknown flag bits; fd_offset, shm_offset or len not a
 *               multiple of the page size; len 0
 *   -EOVERFLOW  shm_offset + len wraps; fd_offset + len wraps or passes
 *               the largest off_t
 *   -ERANGE     shm_offset + len beyond the region
 *   -EINVAL     negative fd
 *   -EBADF      fd not open (or an O_PATH fd, refused by mmap)
 *   -ENODEV     a directory, pipe or socket (or a file with no mmap)
 *   -ERANGE     a page of the range wholly past the end of a regular
 *               file or memfd (its last, partial page may be mapped)
 *   -EPERM      write-sealed memfd (RW; also RO where the kernel refuses)
 *   -EREMOTE    a regular file on a file system another process serves
 *               (FUSE, NFS, ...) or that cannot be told: a guest access
 *               could wait for that process for ever
 *   -EEXIST     overlaps a live mapping
 *   -ENOSPC     the region's max_mappings or its budget is reached
 *   -EACCES     RW on a read-only fd, or a write-only fd (from mmap)
 *   -ENOMEM     out of memory, or vm.max_map_count reached (from mmap)
 *   other       any other refusal of the kernel's mmap()
 * On any error the range, the table and the fd are as before.
 */
int shmem_map(struct shmem_region *r, const struct shmem_map_req *req,
	      char *why, size_t whylen);

/*
 * The checks shmem_map() makes of the fd itself (rules 8 to 11 of
 * docs/shmem.md and the file system rule), which need no region and no
 * lock: a caller that holds a lock of its own may run them first, so that
 * a refused fd never makes it wait. None of them waits for another process:
 * the fd's attributes are read without asking its file system to refresh
 * them. @peer as in struct shmem_map_req. 0 or the errno shmem_map()
 * would return, worded into @why.
 */
int shmem_check_fd(int fd, uint64_t fd_offset, uint64_t len, pid_t peer,
		   char *why, size_t whylen);

/*
 * Remove the mapping that starts at @shm_offset and is exactly @len long.
 * Errors (worded into @why, not logged): -EINVAL (len 0, shm_offset or len
 * not page aligned), -EOVERFLOW (shm_offset + len wraps), -ERANGE (beyond
 * the region), -ENOENT (not exactly one live mapping), -ENOMEM (the kernel
 * could not split the VMA, e.g. at vm.max_map_count; the mapping stays).
 */
int shmem_unmap(struct shmem_region *r, uint64_t shm_offset, uint64_t len,
		char *why, size_t whylen);

/*
 * Drop every mapping (device reset). Returns the number dropped; a mapping
 * the kernel refuses to replace (logged) stays in the table.
 */
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
