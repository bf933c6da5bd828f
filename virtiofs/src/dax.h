/* SPDX-License-Identifier: MIT */
/*
 * The DAX window (dax.c): host files mapped into the device's shared memory
 * region 0 at the guest's request (FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING),
 * through the device's map and unmap calls (SHMEM_MAP / SHMEM_UNMAP).
 *
 * A mapping is the guest's range [moffset, moffset + len) of the window
 * showing the file from foffset. It is always covered whole: by the file
 * up to the end of its last page, and by zeros (a private memfd) past it,
 * so no page of a range the guest was given is ever a hole, whatever the
 * file's size does. Each part is one map call, a "piece".
 *
 * The rules (docs/virtiofs.md, "DAX"):
 *  - read-write wherever the share and the file allow writing, from the
 *    start: a read-only mapping is upgraded by a second SETUPMAPPING of the
 *    same range without a REMOVEMAPPING, and remapping a range the guest
 *    uses would leave a hole; that upgrade is then answered as it stands;
 *  - before a reply tells the guest a file's size, every mapping of the
 *    file shows the file up to that size (growth);
 *  - a file that shrinks under a mapping (the host truncated it) gets zeros
 *    past its new end instead of pages that would fault (inotify);
 *  - DESTROY unmaps everything; a device reset forgets everything (the
 *    front-end dropped the mappings itself).
 *
 * Locking: struct vfs_dax.lock covers the table, the inodes' dax fields,
 * and every map or unmap call, so the device's back-end channel carries
 * one of them at a time. It is taken before the server's lock.
 */
#ifndef VIRTIOFS_DAX_H
#define VIRTIOFS_DAX_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "virtiofs/server.h"

struct virtiofs_server;
struct vfs_inode;
struct dax_map;

/* The alignment of foffset, moffset and len: log2, sent in INIT. */
#define VFS_DAX_ALIGN_SHIFT	12
#define VFS_DAX_ALIGN		(1ull << VFS_DAX_ALIGN_SHIFT)
/* The guest's ranges (Linux: FUSE_DAX_SZ); also the dax=inode threshold. */
#define VFS_DAX_RANGE		(2ull << 20)
/* Live mappings at most (a guest that maps 4 KiB pieces of a 1 TiB window). */
#define VFS_DAX_MAX_MAPS	(1u << 20)

struct vfs_dax {
	uint64_t window;		/* bytes; 0: no DAX */
	const struct virtiofs_dax_ops *ops;
	void *opaque;
	bool inode_dax;			/* the guest asked for dax=inode */

	pthread_mutex_t lock;		/* everything below */
	void *tree;			/* tsearch() tree of dax_map by range */
	struct dax_map *all;		/* every mapping, doubly linked */
	struct vfs_inode *watched;	/* inodes with mappings */
	int inotify_fd;			/* -1: no truncation watch */
	int cwd_fd;			/* the working directory, put back */
	struct virtiofs_dax_stats st;
	int64_t warn_ms;		/* last failure line (rate limit) */
	unsigned int quiet;		/* failures not logged since */
};

int vfs_dax_init(struct virtiofs_server *srv);
void vfs_dax_fini(struct virtiofs_server *srv);

/*
 * Drop every mapping: unmapped one by one (@unmap, DESTROY), or only
 * forgotten (a device reset: the front-end dropped them already).
 */
void vfs_dax_drop_all(struct virtiofs_server *srv, bool unmap);

/*
 * An attribute reply about to carry @st: the dax=inode flag, and every
 * mapping of that file shown up to its size first.
 */
void vfs_dax_attr(struct virtiofs_server *srv, struct fuse_attr *a,
		  const struct stat *st);

/* The file open as @fd changed size (WRITE, FALLOCATE): the same. */
void vfs_dax_resized(struct virtiofs_server *srv, int fd);

#endif /* VIRTIOFS_DAX_H */
