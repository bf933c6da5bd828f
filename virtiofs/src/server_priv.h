/* SPDX-License-Identifier: MIT */
/* FUSE server internals shared by its files. */
#ifndef VIRTIOFS_SERVER_PRIV_H
#define VIRTIOFS_SERVER_PRIV_H

#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "virtiofs/server.h"

#include "dax.h"
#include "iov.h"

#define FUSE_ROOT_NODEID	1	/* FUSE_ROOT_ID */
#define VFS_MIN_MINOR		23	/* the full fuse_init_out */
/* Request bytes copied before dispatch: header, arguments, two names. */
#define VFS_MAX_ARGS		(sizeof(struct fuse_in_header) + 64 + \
				 2 * (PATH_MAX + 1))

/* One host inode the guest holds a nodeid for. */
struct vfs_inode {
	uint64_t nodeid;
	int fd;			/* O_PATH | O_NOFOLLOW */
	dev_t dev;
	ino_t ino;
	mode_t type;		/* S_IFMT bits */
	uint64_t nlookup;	/* the kernel's count (root: unused) */
	unsigned int refs;	/* operations using it right now, and mappings */
	struct vfs_inode *next_id, *next_key;	/* hash chains */
	/* Under the DAX lock (dax.h): */
	struct dax_map *dax_maps;	/* its mappings in the window */
	int dax_wd;			/* inotify watch, -1 */
	struct vfs_inode *dax_next;	/* in vfs_dax.watched */
};

/* An open file or directory. */
struct vfs_handle {
	uint64_t fh;
	int fd;
	bool dir;
	struct vfs_handle *next;
	/* Directories: a buffer of getdents64 records and where we are. */
	pthread_mutex_t lock;
	uint8_t *dbuf;
	size_t dlen, dpos;
	uint64_t doff;		/* the offset cookie of the next record */
	bool root;		/* a handle of the shared root */
	unsigned int refs;
	bool closing;
};

#define VFS_HASH	1024

struct virtiofs_server {
	struct virtiofs_server_config cfg;
	int root_fd;
	int proc_fd;
	int sync_fd;		/* O_RDONLY root, for SYNCFS */
	bool has_openat2;
	uint64_t entry_valid, attr_valid;	/* seconds */

	pthread_mutex_t lock;	/* everything below */
	struct vfs_inode *by_id[VFS_HASH];
	struct vfs_inode *by_key[VFS_HASH];
	struct vfs_handle *handles[VFS_HASH];
	struct vfs_inode *root;
	uint64_t next_nodeid, next_fh;
	unsigned int ninodes, nhandles;
	bool initialized;
	uint32_t minor;
	atomic_bool unmapped_seen;	/* a request reached outside guest RAM */

	struct vfs_dax dax;	/* its own lock, taken before this one */
};

/* A request being served: its copied header and arguments, its reply. */
struct vfs_req {
	struct virtiofs_server *srv;
	struct fuse_in_header h;
	const uint8_t *arg;	/* bytes after the header (copied) */
	size_t arglen;
	struct iov_cursor in;	/* the rest: WRITE data */
	struct iov_cursor out;	/* after the out header */
	size_t out_room;
	/* Filled by a handler: */
	int error;		/* negative errno */
	const void *reply;	/* reply body, or NULL */
	size_t reply_len;
	size_t data_len;	/* bytes a handler wrote into out itself */
	uint8_t rbuf[256];	/* the fixed-size reply */
};

/* server.c */
void vfs_log(struct virtiofs_server *srv, enum virtiofs_log_level level,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vfs_check_name(const char *name, bool create);
/* The NUL-terminated string at @off of the arguments; NULL if none. */
const char *vfs_arg_str(struct vfs_req *r, size_t off, size_t *next);
void vfs_fill_attr(struct virtiofs_server *srv, struct fuse_attr *a,
		   const struct stat *st);

/* inode.c */
struct vfs_inode *vfs_inode_get(struct virtiofs_server *srv, uint64_t nodeid);
/* The inode of a host file, if the guest knows it; a reference as above. */
struct vfs_inode *vfs_inode_find(struct virtiofs_server *srv, dev_t dev,
				 ino_t ino);
/* One more reference to an inode the caller holds one of. */
void vfs_inode_hold(struct virtiofs_server *srv, struct vfs_inode *ino);
void vfs_inode_put(struct virtiofs_server *srv, struct vfs_inode *ino);
/* Take @fd (closed on failure): the inode for it, nlookup + 1. */
int vfs_inode_add(struct virtiofs_server *srv, int fd, const struct stat *st,
		  uint64_t *nodeid);
void vfs_inode_forget(struct virtiofs_server *srv, uint64_t nodeid,
		      uint64_t n);
struct vfs_handle *vfs_handle_get(struct virtiofs_server *srv, uint64_t fh,
				  bool dir);
void vfs_handle_put(struct virtiofs_server *srv, struct vfs_handle *h);
int vfs_handle_add(struct virtiofs_server *srv, int fd, bool dir, bool root,
		   uint64_t *fh);
int vfs_handle_release(struct virtiofs_server *srv, uint64_t fh, bool dir);
bool vfs_fd_budget(struct virtiofs_server *srv);
void vfs_tables_clear(struct virtiofs_server *srv);
int vfs_tables_init(struct virtiofs_server *srv);

/* fsops.c: host-side helpers */
int vfs_openat(struct virtiofs_server *srv, int dirfd, const char *name,
	       int flags, mode_t mode);
int vfs_reopen(struct virtiofs_server *srv, int fd, int flags);
int vfs_stat_fd(int fd, struct stat *st);
struct vfs_creds { bool changed; };
int vfs_creds_enter(struct virtiofs_server *srv, const struct fuse_in_header *h,
		    struct vfs_creds *c);
void vfs_creds_leave(struct virtiofs_server *srv, struct vfs_creds *c);

/* ops_entry.c, ops_file.c, ops_dir.c: one handler per opcode. */
typedef void vfs_op_fn(struct vfs_req *r);
vfs_op_fn op_lookup, op_forget, op_batch_forget, op_getattr, op_setattr,
	op_readlink, op_symlink, op_mknod, op_mkdir, op_unlink, op_rmdir,
	op_rename, op_rename2, op_link, op_statfs, op_create,
	op_open, op_read, op_write, op_flush, op_release, op_fsync,
	op_lseek, op_fallocate, op_syncfs,
	op_opendir, op_readdir, op_readdirplus, op_releasedir, op_fsyncdir,
	op_setupmapping, op_removemapping;

/* Reply helpers (server.c): a fixed-size reply is copied at once. */
static inline void vfs_reply(struct vfs_req *r, const void *p, size_t len)
{
	if (len > sizeof(r->rbuf)) {
		r->error = -EOVERFLOW;
		return;
	}
	memcpy(r->rbuf, p, len);
	r->reply = r->rbuf;
	r->reply_len = len;
}

static inline void vfs_err(struct vfs_req *r, int err)
{
	r->error = err;
}

/* A fixed-size argument struct at the start of the arguments. */
#define VFS_ARG(r, type) \
	((r)->arglen >= sizeof(type) ? (const type *)(r)->arg : NULL)

void vfs_fill_entry(struct virtiofs_server *srv, struct fuse_entry_out *e,
		    uint64_t nodeid, const struct stat *st);
/* LOOKUP of @name in @dir: entry filled, nlookup + 1. */
int vfs_do_lookup(struct virtiofs_server *srv, struct vfs_inode *dir,
		  const char *name, struct fuse_entry_out *e);

#endif
