/* SPDX-License-Identifier: MIT */
/*
 * virtiofs: a passthrough FUSE server for virtio-fs.
 *
 * One struct virtiofs_server serves one shared directory to one guest. It
 * takes a FUSE request as the device-readable and device-writable buffers
 * of a virtqueue chain (struct iovec arrays into guest memory, split at
 * any byte) and writes the reply into the writable ones. It knows nothing
 * of virtqueues, sockets or vhost-user: the device (src/device.c) pops
 * chains and hands them here.
 *
 * Security model (docs/virtiofs.md):
 *  - every request is hostile: each length and count is checked against
 *    the bytes actually given, every field is copied out of guest memory
 *    before it is checked, replies are built in zeroed memory;
 *  - no path strings: each inode the guest knows is one O_PATH fd, and
 *    every operation is an *at() call on such an fd with a single name
 *    component (no '/', not empty, O_NOFOLLOW; openat2(RESOLVE_BENEATH)
 *    where the kernel has it); ".." at the shared root is the root;
 *  - only regular files and directories are ever opened (OPEN, CREATE);
 *    MKNOD makes only regular files and FIFOs;
 *  - with uid 0, entries are created with the caller's uid and gid as
 *    effective ids of the serving thread (supplementary groups are the
 *    daemon's own, dropped at start-up by the daemon);
 *  - inodes plus open handles are bounded (max_fds): beyond, ENFILE;
 *  - extended attributes are not supported (ENOSYS), nor KILLPRIV: the
 *    guest kernel clears set-id bits itself.
 *
 * Thread safety: virtiofs_server_handle() may be called from several
 * threads at once. virtiofs_server_reset() and virtiofs_server_free()
 * must not race with it.
 *
 * Errors are negative errno values. Nothing here exits or aborts.
 */
#ifndef VIRTIOFS_SERVER_H
#define VIRTIOFS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct virtiofs_server;

enum virtiofs_cache {
	VIRTIOFS_CACHE_AUTO,	/* 1 s attribute and entry timeouts */
	VIRTIOFS_CACHE_ALWAYS,	/* long timeouts, page cache kept on open */
	VIRTIOFS_CACHE_NEVER,	/* no timeouts, direct I/O, no readdirplus */
};

enum virtiofs_log_level {
	VIRTIOFS_LOG_ERROR,
	VIRTIOFS_LOG_WARN,
	VIRTIOFS_LOG_INFO,
	VIRTIOFS_LOG_DEBUG,
};

typedef void (*virtiofs_log_fn)(void *opaque, enum virtiofs_log_level level,
				const char *msg);

/*
 * The largest data payload of one READ or WRITE (offered with
 * FUSE_MAX_PAGES; a kernel without it uses 32 pages).
 */
#define VIRTIOFS_MAX_PAGES	256
#define VIRTIOFS_MAX_IO		(VIRTIOFS_MAX_PAGES * 4096u)

/* The largest DAX window (a multiple of 2 MiB). */
#define VIRTIOFS_DAX_WINDOW_MAX	(1ull << 40)

/*
 * How the server places host files in the DAX window (the device's shared
 * memory region 0): the device sends SHMEM_MAP / SHMEM_UNMAP and returns
 * once the front-end answered, 0 or a negative errno. @fd is borrowed.
 * Called one at a time (under the server's DAX lock), from the thread
 * serving a request or from virtiofs_server_dax_poll().
 */
struct virtiofs_dax_ops {
	int (*map)(void *opaque, uint64_t moffset, uint64_t len, int fd,
		   uint64_t foffset, bool writable);
	int (*unmap)(void *opaque, uint64_t moffset, uint64_t len);
};

struct virtiofs_server_config {
	/*
	 * The shared directory: an fd opened with O_PATH | O_DIRECTORY (the
	 * server duplicates it; the caller keeps its own).
	 */
	int root_fd;
	/*
	 * A directory fd of /proc/self/fd (O_PATH), opened before any
	 * sandbox hides /proc: used to reopen O_PATH fds (OPEN, truncate,
	 * chmod, LINK). Duplicated like root_fd.
	 */
	int proc_fd;
	bool readonly;			/* every change refused with EROFS */
	enum virtiofs_cache cache;
	/* Inodes plus open handles the guest may pin; 0: 65536. */
	unsigned int max_fds;
	/* Switch effective uid/gid to the caller's to create entries. */
	bool creds;
	/*
	 * The DAX window's size in bytes: 0 (no DAX: SETUPMAPPING and
	 * REMOVEMAPPING are ENOSYS) or a multiple of 2 MiB up to
	 * VIRTIOFS_DAX_WINDOW_MAX, with @dax_ops to fill it.
	 */
	uint64_t dax_window;
	const struct virtiofs_dax_ops *dax_ops;
	void *dax_opaque;
	virtiofs_log_fn log;		/* may be NULL: errors to stderr */
	void *log_opaque;
	enum virtiofs_log_level log_level;
};

int virtiofs_server_new(const struct virtiofs_server_config *cfg,
			struct virtiofs_server **out);
void virtiofs_server_free(struct virtiofs_server *srv);

/*
 * Serve one request. @in/@nin: the chain's device-readable buffers,
 * @out/@nout: its device-writable ones. Returns the number of bytes
 * written into @out (the used length), 0 when the request has no reply
 * (FORGET, BATCH_FORGET) or is too malformed to answer (fewer than 40
 * readable bytes, fewer than 16 writable ones). A buffer with iov_base
 * NULL is one the device could not reach (outside guest memory, e.g. in
 * the DAX window): the request fails with EFAULT, touching nothing.
 */
uint32_t virtiofs_server_handle(struct virtiofs_server *srv,
				const struct iovec *in, unsigned int nin,
				const struct iovec *out, unsigned int nout);

/*
 * The device was reset or the front-end went away: every inode but the
 * root and every handle are dropped, DAX mappings forgotten (the front-end
 * drops them itself on reset), and the next request must be INIT.
 */
void virtiofs_server_reset(struct virtiofs_server *srv);

/*
 * An fd to poll for POLLIN while DAX mappings exist (host files changing
 * size under them), or -1; then call virtiofs_server_dax_poll(), which
 * may map and unmap (struct virtiofs_dax_ops).
 */
int virtiofs_server_dax_fd(struct virtiofs_server *srv);
void virtiofs_server_dax_poll(struct virtiofs_server *srv);

struct virtiofs_dax_stats {
	unsigned int mappings;		/* live guest ranges */
	unsigned int pieces;		/* live map calls behind them */
	uint64_t setups;		/* SETUPMAPPINGs that mapped a range */
	uint64_t upgrades;		/* ... that found it mapped already */
	uint64_t remaps;		/* ... that remapped it read-write */
	uint64_t removes;		/* ranges REMOVEMAPPING unmapped */
	uint64_t resizes;		/* file sizes followed under a mapping */
	uint64_t refused;		/* requests failed */
};

/* Introspection for tests and logs. */
struct virtiofs_server_stats {
	unsigned int inodes;		/* known inodes, root included */
	unsigned int handles;		/* open file and directory handles */
	uint64_t root_nlookup;
	bool initialized;		/* INIT done, no DESTROY since */
	uint32_t minor;			/* negotiated FUSE minor */
	struct virtiofs_dax_stats dax;
};
void virtiofs_server_stats(struct virtiofs_server *srv,
			   struct virtiofs_server_stats *st);
/* The lookup count of @nodeid (0 when unknown). */
uint64_t virtiofs_server_nlookup(struct virtiofs_server *srv, uint64_t nodeid);

#ifdef __cplusplus
}
#endif

#endif /* VIRTIOFS_SERVER_H */
