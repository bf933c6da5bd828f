/* SPDX-License-Identifier: MIT */
/*
 * The FUSE request dispatcher: frames a request out of a chain's buffers,
 * checks it, calls one handler, and writes the reply. INIT and DESTROY
 * live here; the file system operations in ops_*.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server_priv.h"

#define OP_CHANGES	1u	/* refused on a read-only share */
#define OP_NO_REPLY	2u	/* FORGET, BATCH_FORGET */
#define OP_STREAM	4u	/* only the fixed argument is copied */

struct vfs_op {
	vfs_op_fn *fn;
	uint32_t min_arg;	/* bytes of arguments at least */
	uint32_t reply;		/* room needed for a fixed-size reply */
	uint32_t flags;
};

static void op_init(struct vfs_req *r);
static void op_destroy(struct vfs_req *r);

#define ENTRY	sizeof(struct fuse_entry_out)
#define OPEN	sizeof(struct fuse_open_out)

static const struct vfs_op vfs_ops[] = {
	[FUSE_LOOKUP] = { op_lookup, 2, ENTRY, 0 },
	[FUSE_FORGET] = { op_forget, sizeof(struct fuse_forget_in), 0, OP_NO_REPLY },
	[FUSE_GETATTR] = { op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out), 0 },
	[FUSE_SETATTR] = { op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out), OP_CHANGES },
	[FUSE_READLINK] = { op_readlink, 0, 0, 0 },
	[FUSE_SYMLINK] = { op_symlink, 4, ENTRY, OP_CHANGES },
	[FUSE_MKNOD] = { op_mknod, sizeof(struct fuse_mknod_in) + 2, ENTRY, OP_CHANGES },
	[FUSE_MKDIR] = { op_mkdir, sizeof(struct fuse_mkdir_in) + 2, ENTRY, OP_CHANGES },
	[FUSE_UNLINK] = { op_unlink, 2, 0, OP_CHANGES },
	[FUSE_RMDIR] = { op_rmdir, 2, 0, OP_CHANGES },
	[FUSE_RENAME] = { op_rename, sizeof(struct fuse_rename_in) + 4, 0, OP_CHANGES },
	[FUSE_LINK] = { op_link, sizeof(struct fuse_link_in) + 2, ENTRY, OP_CHANGES },
	[FUSE_OPEN] = { op_open, sizeof(struct fuse_open_in), OPEN, 0 },
	[FUSE_READ] = { op_read, sizeof(struct fuse_read_in), 0, 0 },
	[FUSE_WRITE] = { op_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out), OP_CHANGES | OP_STREAM },
	[FUSE_STATFS] = { op_statfs, 0, sizeof(struct fuse_statfs_out), 0 },
	[FUSE_RELEASE] = { op_release, sizeof(struct fuse_release_in), 0, 0 },
	[FUSE_FSYNC] = { op_fsync, sizeof(struct fuse_fsync_in), 0, 0 },
	[FUSE_FLUSH] = { op_flush, sizeof(struct fuse_flush_in), 0, 0 },
	[FUSE_INIT] = { op_init, 16, sizeof(struct fuse_init_out), 0 },
	[FUSE_OPENDIR] = { op_opendir, sizeof(struct fuse_open_in), OPEN, 0 },
	[FUSE_READDIR] = { op_readdir, sizeof(struct fuse_read_in), 0, 0 },
	[FUSE_RELEASEDIR] = { op_releasedir, sizeof(struct fuse_release_in), 0, 0 },
	[FUSE_FSYNCDIR] = { op_fsyncdir, sizeof(struct fuse_fsync_in), 0, 0 },
	[FUSE_CREATE] = { op_create, sizeof(struct fuse_create_in) + 2, ENTRY + OPEN, OP_CHANGES },
	[FUSE_DESTROY] = { op_destroy, 0, 0, 0 },
	[FUSE_BATCH_FORGET] = { op_batch_forget, sizeof(struct fuse_batch_forget_in), 0, OP_NO_REPLY | OP_STREAM },
	[FUSE_FALLOCATE] = { op_fallocate, sizeof(struct fuse_fallocate_in), 0, OP_CHANGES },
	[FUSE_READDIRPLUS] = { op_readdirplus, sizeof(struct fuse_read_in), 0, 0 },
	[FUSE_RENAME2] = { op_rename2, sizeof(struct fuse_rename2_in) + 4, 0, OP_CHANGES },
	[FUSE_LSEEK] = { op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out), 0 },
	[FUSE_SYNCFS] = { op_syncfs, sizeof(struct fuse_syncfs_in), 0, 0 },
	[FUSE_SETUPMAPPING] = { op_setupmapping, sizeof(struct fuse_setupmapping_in), 0, 0 },
	[FUSE_REMOVEMAPPING] = { op_removemapping, sizeof(struct fuse_removemapping_in), 0, OP_STREAM },
};

#define VFS_NOPS	(sizeof(vfs_ops) / sizeof(vfs_ops[0]))

void vfs_log(struct virtiofs_server *srv, enum virtiofs_log_level level,
	     const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (level > srv->cfg.log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (srv->cfg.log)
		srv->cfg.log(srv->cfg.log_opaque, level, buf);
	else if (level <= VIRTIOFS_LOG_WARN)
		fprintf(stderr, "virtiofs: %s\n", buf);
}

/*
 * A name the guest gives for one directory entry: not empty, no '/', at
 * most NAME_MAX bytes; "." and ".." are never created, moved or removed.
 */
int vfs_check_name(const char *name, bool create)
{
	size_t len = strlen(name);

	if (!len || strchr(name, '/'))
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (create && (!strcmp(name, ".") || !strcmp(name, "..")))
		return -EINVAL;
	return 0;
}

const char *vfs_arg_str(struct vfs_req *r, size_t off, size_t *next)
{
	const char *s;
	const void *nul;

	if (off >= r->arglen)
		return NULL;
	s = (const char *)r->arg + off;
	nul = memchr(s, '\0', r->arglen - off);
	if (!nul)
		return NULL;
	if (next)
		*next = (size_t)((const char *)nul - (const char *)r->arg) + 1;
	return s;
}

void vfs_fill_attr(struct virtiofs_server *srv, struct fuse_attr *a,
		   const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
	vfs_dax_attr(srv, a, st);
}

void vfs_fill_entry(struct virtiofs_server *srv, struct fuse_entry_out *e,
		    uint64_t nodeid, const struct stat *st)
{
	memset(e, 0, sizeof(*e));
	e->nodeid = nodeid;
	e->entry_valid = srv->entry_valid;
	e->attr_valid = srv->attr_valid;
	vfs_fill_attr(srv, &e->attr, st);
}

/* ---- INIT and DESTROY ---- */

/* What we offer: nothing we do not implement. */
#define VFS_INIT_FLAGS	(FUSE_ASYNC_READ | FUSE_BIG_WRITES | \
			 FUSE_AUTO_INVAL_DATA | FUSE_PARALLEL_DIROPS)
#define VFS_INIT_RDPLUS	(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO)

/*
 * With a DAX window: the alignment SETUPMAPPING needs (FUSE_MAP_ALIGNMENT,
 * pages), and per-file DAX when the guest asks for it (dax=inode, in
 * flags2 behind FUSE_INIT_EXT). A few words for the log line.
 */
static const char *init_dax(struct virtiofs_server *srv,
			    const struct fuse_init_in *in,
			    struct fuse_init_out *o)
{
	bool inode_dax;

	bool dax = srv->dax.window && (in->flags & FUSE_MAP_ALIGNMENT);

	inode_dax = dax && (in->flags & FUSE_INIT_EXT) &&
		    (in->flags2 & (uint32_t)(FUSE_HAS_INODE_DAX >> 32));
	pthread_mutex_lock(&srv->dax.lock);
	srv->dax.inode_dax = inode_dax;
	pthread_mutex_unlock(&srv->dax.lock);
	if (!dax)
		return srv->dax.window ? ", no DAX (the guest has no window)" : "";
	o->flags |= FUSE_MAP_ALIGNMENT;
	o->map_alignment = VFS_DAX_ALIGN_SHIFT;
	if (inode_dax) {
		o->flags |= FUSE_INIT_EXT;
		o->flags2 |= (uint32_t)(FUSE_HAS_INODE_DAX >> 32);
	}
	return inode_dax ? ", DAX window, per file (dax=inode)" : ", DAX window";
}

static void op_init(struct vfs_req *r)
{
	struct virtiofs_server *srv = r->srv;
	struct fuse_init_out o = { 0 };
	struct fuse_init_in in = { 0 };
	uint32_t want = VFS_INIT_FLAGS;
	const char *dax;

	memcpy(&in, r->arg, r->arglen < sizeof(in) ? r->arglen : sizeof(in));
	o.major = FUSE_KERNEL_VERSION;
	o.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in.major > FUSE_KERNEL_VERSION) {
		/* The kernel retries with our major. */
		return vfs_reply(r, &o, sizeof(o));
	}
	if (in.major < FUSE_KERNEL_VERSION || in.minor < VFS_MIN_MINOR) {
		vfs_log(srv, VIRTIOFS_LOG_ERROR,
			"INIT: FUSE %u.%u is too old (7.%u needed)", in.major,
			in.minor, VFS_MIN_MINOR);
		return vfs_err(r, -EPROTO);
	}
	if (srv->cfg.cache != VIRTIOFS_CACHE_NEVER)
		want |= VFS_INIT_RDPLUS;
	if (in.minor < o.minor)
		o.minor = in.minor;
	o.max_readahead = in.max_readahead;
	o.flags = in.flags & want;
	if (in.flags & FUSE_MAX_PAGES) {
		o.flags |= FUSE_MAX_PAGES;
		o.max_pages = VIRTIOFS_MAX_PAGES;
	}
	dax = init_dax(srv, &in, &o);
	o.max_write = VIRTIOFS_MAX_IO;
	o.time_gran = 1;
	pthread_mutex_lock(&srv->lock);
	srv->initialized = true;
	srv->minor = o.minor;
	pthread_mutex_unlock(&srv->lock);
	vfs_log(srv, VIRTIOFS_LOG_INFO,
		"INIT: FUSE 7.%u (kernel 7.%u), flags 0x%x%s", o.minor, in.minor,
		o.flags, dax);
	vfs_reply(r, &o, sizeof(o));
}

static void op_destroy(struct vfs_req *r)
{
	struct virtiofs_server *srv = r->srv;
	struct virtiofs_dax_stats st;

	/* The guest sends no REMOVEMAPPING at unmount: unmap them here. */
	pthread_mutex_lock(&srv->dax.lock);
	st = srv->dax.st;
	pthread_mutex_unlock(&srv->dax.lock);
	vfs_dax_drop_all(srv, true);
	vfs_tables_clear(srv);
	pthread_mutex_lock(&srv->lock);
	srv->initialized = false;
	pthread_mutex_unlock(&srv->lock);
	if (!srv->dax.window)
		return vfs_log(srv, VIRTIOFS_LOG_INFO,
			       "DESTROY: every inode forgotten");
	vfs_log(srv, VIRTIOFS_LOG_INFO,
		"DESTROY: every inode forgotten; DAX: %u mappings unmapped, %llu set up, %llu removed, %llu upgrades answered in place, %llu remapped, %llu resized, %llu refused",
		st.mappings, (unsigned long long)st.setups,
		(unsigned long long)st.removes, (unsigned long long)st.upgrades,
		(unsigned long long)st.remaps, (unsigned long long)st.resizes,
		(unsigned long long)st.refused);
}

/* ---- dispatch ---- */

static bool is_initialized(struct virtiofs_server *srv)
{
	bool v;

	pthread_mutex_lock(&srv->lock);
	v = srv->initialized;
	pthread_mutex_unlock(&srv->lock);
	return v;
}

static int check_request(struct vfs_req *r, const struct vfs_op **opp)
{
	const struct vfs_op *op = NULL;
	uint32_t opc = r->h.opcode;

	if (opc < VFS_NOPS && vfs_ops[opc].fn)
		op = &vfs_ops[opc];
	*opp = op;
	if (opc == FUSE_INIT)
		return is_initialized(r->srv) ? -EPROTO : 0;
	if (!is_initialized(r->srv))
		return -EIO;
	if (!op)
		return -ENOSYS;
	if (r->arglen < op->min_arg)
		return -EINVAL;
	if (r->out_room < op->reply)
		return -EINVAL;
	if ((op->flags & OP_CHANGES) && r->srv->cfg.readonly)
		return -EROFS;
	return 0;
}

/* Bytes before the first buffer outside guest memory (iov_base NULL). */
static size_t mapped_prefix(const struct iovec *iov, unsigned int n,
			    bool *whole)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!iov[i].iov_base && iov[i].iov_len) {
			*whole = false;
			return t;
		}
		t += iov[i].iov_len;
	}
	return t;
}

/*
 * A request with a buffer the device could not reach (outside guest
 * memory: in the DAX window, when a guest reads into or writes from a
 * DAX-mapped page with direct I/O). The window's guest address is not
 * the back-end's to know, so the request fails with EFAULT, answered if
 * its headers are in reach; nothing is read from or written to the rest.
 */
static uint32_t refuse_unmapped(struct virtiofs_server *srv,
				const struct iovec *in, unsigned int nin,
				const struct iovec *out, unsigned int nout)
{
	struct fuse_out_header oh = { .len = sizeof(oh), .error = -EFAULT };
	struct fuse_in_header h;
	struct iov_cursor c;
	bool whole = true;

	if (mapped_prefix(in, nin, &whole) < sizeof(h) ||
	    mapped_prefix(out, nout, &whole) < sizeof(oh))
		return 0;
	iov_cursor_init(&c, in, nin);
	iov_read(&c, &h, sizeof(h));
	if (h.opcode == FUSE_FORGET || h.opcode == FUSE_BATCH_FORGET)
		return 0;
	vfs_log(srv, atomic_exchange(&srv->unmapped_seen, true) ?
		VIRTIOFS_LOG_DEBUG : VIRTIOFS_LOG_WARN,
		"opcode %u unique %llu: a buffer outside guest memory (a DAX-mapped page?): EFAULT",
		h.opcode, (unsigned long long)h.unique);
	oh.unique = h.unique;
	iov_cursor_init(&c, out, nout);
	iov_write(&c, &oh, sizeof(oh));
	return sizeof(oh);
}

uint32_t virtiofs_server_handle(struct virtiofs_server *srv,
				const struct iovec *in, unsigned int nin,
				const struct iovec *out, unsigned int nout)
{
	/* Argument structs are read in place: keep them aligned. */
	uint8_t args[VFS_MAX_ARGS] __attribute__((aligned(8)));
	struct vfs_req r = { .srv = srv };
	struct fuse_out_header oh = { 0 };
	struct iov_cursor hdr;
	const struct vfs_op *op;
	size_t body, copy;
	bool stream;
	bool whole = true;
	int err;

	mapped_prefix(in, nin, &whole);
	mapped_prefix(out, nout, &whole);
	if (!whole)
		return refuse_unmapped(srv, in, nin, out, nout);
	iov_cursor_init(&r.in, in, nin);
	iov_cursor_init(&r.out, out, nout);
	if (!iov_read(&r.in, &r.h, sizeof(r.h)))
		return 0;
	hdr = r.out;
	stream = r.h.opcode < VFS_NOPS &&
		 (vfs_ops[r.h.opcode].flags & OP_STREAM);
	/* The message ends where its header says, within what was given. */
	err = -EINVAL;
	if (r.h.len < sizeof(r.h) || r.h.len - sizeof(r.h) > r.in.left)
		goto reply;
	body = r.h.len - sizeof(r.h);
	r.in.left = body;
	copy = body;
	if (stream)
		copy = vfs_ops[r.h.opcode].min_arg < body ?
		       vfs_ops[r.h.opcode].min_arg : body;
	err = -E2BIG;
	if (copy > sizeof(args) - sizeof(r.h))
		goto reply;
	iov_read(&r.in, args, copy);
	r.arg = args;
	r.arglen = copy;
	if (!iov_skip(&r.out, sizeof(oh))) {
		/* No room for a reply: only FORGETs are served. */
		if (r.h.opcode == FUSE_FORGET || r.h.opcode == FUSE_BATCH_FORGET) {
			r.out_room = 0;
			err = check_request(&r, &op);
			if (!err)
				op->fn(&r);
		}
		return 0;
	}
	r.out_room = r.out.left;
	err = check_request(&r, &op);
	if (!err) {
		op->fn(&r);
		err = r.error;
	}
	if (op && (op->flags & OP_NO_REPLY))
		return 0;
reply:
	/* A FORGET is never answered, not even a malformed one. */
	if (hdr.left < sizeof(oh) || r.h.opcode == FUSE_FORGET ||
	    r.h.opcode == FUSE_BATCH_FORGET)
		return 0;
	oh.unique = r.h.unique;
	oh.error = err;
	oh.len = sizeof(oh);
	if (!err) {
		if (r.reply && !iov_write(&r.out, r.reply, r.reply_len))
			r.reply_len = 0, oh.error = -EINVAL;
		oh.len += (uint32_t)(r.reply_len + r.data_len);
		if (oh.error)
			oh.len = sizeof(oh);
	}
	if (err)
		vfs_log(srv, VIRTIOFS_LOG_DEBUG, "opcode %u unique %llu: %s",
			r.h.opcode, (unsigned long long)r.h.unique,
			strerror(-err));
	iov_write(&hdr, &oh, sizeof(oh));
	return oh.len;
}

/* ---- life cycle ---- */

static bool probe_openat2(int dirfd)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH };
	int fd = (int)syscall(SYS_openat2, dirfd, ".", &how, sizeof(how));

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int virtiofs_server_new(const struct virtiofs_server_config *cfg,
			struct virtiofs_server **out)
{
	struct virtiofs_server *srv;
	struct stat st;
	int ret;

	if (cfg->root_fd < 0 || cfg->proc_fd < 0)
		return -EBADF;
	if (fstat(cfg->root_fd, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	if (!srv->cfg.max_fds)
		srv->cfg.max_fds = 65536;
	srv->root_fd = fcntl(cfg->root_fd, F_DUPFD_CLOEXEC, 0);
	srv->proc_fd = fcntl(cfg->proc_fd, F_DUPFD_CLOEXEC, 0);
	srv->sync_fd = openat(cfg->root_fd, ".", O_RDONLY | O_DIRECTORY |
			      O_CLOEXEC);
	pthread_mutex_init(&srv->lock, NULL);
	if (srv->root_fd < 0 || srv->proc_fd < 0) {
		ret = -errno;
		vfs_dax_init(srv);	/* so that free() finds it */
		goto fail;
	}
	ret = vfs_dax_init(srv);
	if (ret)
		goto fail;
	srv->has_openat2 = probe_openat2(srv->root_fd);
	switch (cfg->cache) {
	case VIRTIOFS_CACHE_ALWAYS:
		srv->entry_valid = srv->attr_valid = 86400;
		break;
	case VIRTIOFS_CACHE_NEVER:
		srv->entry_valid = srv->attr_valid = 0;
		break;
	default:
		srv->entry_valid = srv->attr_valid = 1;
	}
	ret = vfs_tables_init(srv);
	if (ret)
		goto fail;
	*out = srv;
	return 0;
fail:
	virtiofs_server_free(srv);
	return ret;
}

void virtiofs_server_free(struct virtiofs_server *srv)
{
	if (!srv)
		return;
	vfs_dax_fini(srv);
	if (srv->root) {
		vfs_tables_clear(srv);
		free(srv->root);
	}
	if (srv->root_fd >= 0)
		close(srv->root_fd);
	if (srv->proc_fd >= 0)
		close(srv->proc_fd);
	if (srv->sync_fd >= 0)
		close(srv->sync_fd);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

void virtiofs_server_reset(struct virtiofs_server *srv)
{
	/* The front-end drops the mappings itself on a reset. */
	vfs_dax_drop_all(srv, false);
	pthread_mutex_lock(&srv->dax.lock);
	srv->dax.inode_dax = false;
	pthread_mutex_unlock(&srv->dax.lock);
	vfs_tables_clear(srv);
	pthread_mutex_lock(&srv->lock);
	srv->initialized = false;
	srv->minor = 0;
	pthread_mutex_unlock(&srv->lock);
}

void virtiofs_server_stats(struct virtiofs_server *srv,
			   struct virtiofs_server_stats *st)
{
	pthread_mutex_lock(&srv->lock);
	st->inodes = srv->ninodes;
	st->handles = srv->nhandles;
	st->root_nlookup = 0;
	st->initialized = srv->initialized;
	st->minor = srv->minor;
	pthread_mutex_unlock(&srv->lock);
	pthread_mutex_lock(&srv->dax.lock);
	st->dax = srv->dax.st;
	pthread_mutex_unlock(&srv->dax.lock);
}

uint64_t virtiofs_server_nlookup(struct virtiofs_server *srv, uint64_t nodeid)
{
	struct vfs_inode *ino = vfs_inode_get(srv, nodeid);
	uint64_t n;

	if (!ino)
		return 0;
	pthread_mutex_lock(&srv->lock);
	n = ino->nlookup;
	pthread_mutex_unlock(&srv->lock);
	vfs_inode_put(srv, ino);
	return n;
}
