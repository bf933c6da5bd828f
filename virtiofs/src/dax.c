/* SPDX-License-Identifier: MIT */
/*
 * The DAX window (dax.h): FUSE_SETUPMAPPING and FUSE_REMOVEMAPPING, the
 * table of mappings, and keeping every mapping whole while the sizes of
 * the files behind it change.
 */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "server_priv.h"

/* Pieces one mapping may have before it is laid out afresh. */
#define MAX_PIECES		16
/* REMOVEMAPPING entries in one request (Linux sends at most 256). */
#define VFS_DAX_REMOVE_MAX	256

struct dax_piece {
	uint64_t off, len;	/* from the mapping's start */
	bool file;		/* false: zeros, a private memfd */
};

struct dax_map {
	uint64_t moffset, len, foffset;
	bool rw;
	uint64_t file_end;	/* [0, file_end) shows the file, the rest zeros */
	struct vfs_inode *ino;	/* a reference of its own */
	struct dax_piece piece[MAX_PIECES];
	unsigned int npieces;
	struct dax_map *prev, *next;	/* vfs_dax.all */
	struct dax_map *ino_next;	/* ino->dax_maps */
};

static uint64_t page_up(uint64_t v)
{
	return (v + VFS_DAX_ALIGN - 1) & ~(VFS_DAX_ALIGN - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The bytes of @m that a file of @size shows: up to its last page. */
static uint64_t file_part(const struct dax_map *m, uint64_t size)
{
	uint64_t end = page_up(size);

	return end <= m->foffset ? 0 : min_u64(end - m->foffset, m->len);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A failure the guest cannot see the cause of: one line a second at most. */
static void dax_warn(struct virtiofs_server *srv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void dax_warn(struct virtiofs_server *srv, const char *fmt, ...)
{
	struct vfs_dax *d = &srv->dax;
	int64_t now = now_ms();
	char buf[320];
	va_list ap;

	if (d->warn_ms && now - d->warn_ms < 1000) {
		d->quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (d->quiet)
		vfs_log(srv, VIRTIOFS_LOG_WARN, "DAX: %s (and %u more failures)",
			buf, d->quiet);
	else
		vfs_log(srv, VIRTIOFS_LOG_WARN, "DAX: %s", buf);
	d->warn_ms = now;
	d->quiet = 0;
}

/* ---- the table: a tree of disjoint ranges ---- */

/* Ranges that overlap compare equal: a lookup finds any overlapping one. */
static int cmp_range(const void *a, const void *b)
{
	const struct dax_map *x = a, *y = b;

	if (x->moffset + x->len <= y->moffset)
		return -1;
	if (y->moffset + y->len <= x->moffset)
		return 1;
	return 0;
}

static struct dax_map *find_overlap(struct vfs_dax *d, uint64_t moffset,
				    uint64_t len)
{
	struct dax_map key = { .moffset = moffset, .len = len };
	void *node = tfind(&key, &d->tree, cmp_range);

	return node ? *(struct dax_map **)node : NULL;
}

/* ---- pieces: one map call each ---- */

/* Map [off, off + len) of @m from @fd, or zeros when @fd < 0. */
static int piece_add(struct virtiofs_server *srv, struct dax_map *m,
		     uint64_t off, uint64_t len, int fd)
{
	struct vfs_dax *d = &srv->dax;
	int zfd = -1, ret;

	if (m->npieces == MAX_PIECES)
		return -ENOSPC;
	if (fd < 0) {
		zfd = memfd_create("vmm-virtiofsd-dax-zeros", MFD_CLOEXEC);
		if (zfd < 0)
			return -errno;
		if (ftruncate(zfd, (off_t)len)) {
			ret = -errno;
			close(zfd);
			return ret;
		}
	}
	ret = d->ops->map(d->opaque, m->moffset + off, len,
			  fd >= 0 ? fd : zfd, fd >= 0 ? m->foffset + off : 0,
			  m->rw);
	if (zfd >= 0)
		close(zfd);
	if (ret)
		return ret;
	m->piece[m->npieces++] = (struct dax_piece){ off, len, fd >= 0 };
	d->st.pieces++;
	return 0;
}

static int piece_drop(struct virtiofs_server *srv, struct dax_map *m,
		      unsigned int i)
{
	struct vfs_dax *d = &srv->dax;
	int ret;

	ret = d->ops->unmap(d->opaque, m->moffset + m->piece[i].off,
			    m->piece[i].len);
	if (ret)
		return ret;
	m->piece[i] = m->piece[--m->npieces];
	d->st.pieces--;
	return 0;
}

/*
 * Cover [a, b) of @m: the file below file_end, zeros above. In a range
 * the guest already uses (@live), a part of the file that cannot be
 * mapped gets zeros instead, so no hole is left (the next resize tries
 * again); a new range fails instead. 0, or why a part stayed a hole.
 */
static int lay_out(struct virtiofs_server *srv, struct dax_map *m,
		   uint64_t a, uint64_t b, int fd, bool live)
{
	uint64_t mid = m->file_end < a ? a : m->file_end > b ? b : m->file_end;
	int ret = 0, err;

	if (mid > a) {
		err = fd >= 0 ? piece_add(srv, m, a, mid - a, fd) : fd;
		if (err && !live)
			return err;
		if (err) {
			dax_warn(srv, "cannot map 0x%llx+0x%llx of nodeid %llu: %s; zeros instead",
				 (unsigned long long)(m->moffset + a),
				 (unsigned long long)(mid - a),
				 (unsigned long long)m->ino->nodeid,
				 strerror(-err));
			ret = piece_add(srv, m, a, mid - a, -1);
		}
	}
	if (b > mid) {
		err = piece_add(srv, m, mid, b - mid, -1);
		ret = ret ? ret : err;
	}
	return ret;
}

/* The mapping's own fd for the file (its access mode), or -errno. */
static int map_fd(struct virtiofs_server *srv, struct dax_map *m)
{
	return vfs_reopen(srv, m->ino->fd, m->rw ? O_RDWR : O_RDONLY);
}

/* Unmap every piece; -errno (and what is left stays) on a refusal. */
static int drop_pieces(struct virtiofs_server *srv, struct dax_map *m)
{
	int ret = 0;

	for (unsigned int i = m->npieces; i-- > 0;) {
		int err = piece_drop(srv, m, i);

		if (err)
			ret = err;
	}
	return ret;
}

/*
 * Show the file in [0, @fe) of @m and zeros above. Only the pieces that
 * change are unmapped and mapped again; the guest may be using the rest.
 */
static void set_file_end(struct virtiofs_server *srv, struct dax_map *m,
			 uint64_t fe)
{
	struct dax_piece todo[MAX_PIECES];
	unsigned int n = 0;
	int fd, ret = 0;

	m->file_end = fe;
	for (unsigned int i = 0; i < m->npieces; i++) {
		const struct dax_piece *p = &m->piece[i];

		if ((p->file && p->off + p->len > fe) || (!p->file && p->off < fe))
			todo[n++] = *p;
	}
	if (!n)
		return;
	srv->dax.st.resizes++;
	fd = map_fd(srv, m);
	if (m->npieces + n > MAX_PIECES) {
		/* Too many pieces: lay the whole mapping out again. */
		ret = drop_pieces(srv, m);
		if (!ret)
			ret = lay_out(srv, m, 0, m->len, fd, true);
		n = 0;
	}
	for (unsigned int k = 0; k < n && !ret; k++) {
		unsigned int i = 0;

		while (i < m->npieces && m->piece[i].off != todo[k].off)
			i++;
		ret = piece_drop(srv, m, i);
		if (!ret)
			ret = lay_out(srv, m, todo[k].off,
				      todo[k].off + todo[k].len, fd, true);
	}
	if (fd >= 0)
		close(fd);
	if (ret)
		dax_warn(srv, "window 0x%llx+0x%llx (nodeid %llu) could not follow its file: %s",
			 (unsigned long long)m->moffset,
			 (unsigned long long)m->len,
			 (unsigned long long)m->ino->nodeid, strerror(-ret));
}

/* Follow the file's size: shrinking always, growing when @grow. */
static void follow_size(struct virtiofs_server *srv, struct vfs_inode *ino,
			bool grow)
{
	struct stat st;

	if (!ino->dax_maps || vfs_stat_fd(ino->fd, &st))
		return;
	for (struct dax_map *m = ino->dax_maps; m; m = m->ino_next) {
		uint64_t fe = file_part(m, (uint64_t)st.st_size);

		if (fe < m->file_end || (grow && fe > m->file_end))
			set_file_end(srv, m, fe);
	}
}

/* ---- truncation watch ---- */

/* inotify needs a path: the inode's fd through /proc/self/fd. */
static void watch(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	struct vfs_dax *d = &srv->dax;
	char name[16];
	int wd, err;

	ino->dax_next = d->watched;
	d->watched = ino;
	if (d->inotify_fd < 0)
		return;
	snprintf(name, sizeof(name), "%d", ino->fd);
	if (fchdir(srv->proc_fd))
		return dax_warn(srv, "cannot watch nodeid %llu: %s",
				(unsigned long long)ino->nodeid, strerror(errno));
	wd = inotify_add_watch(d->inotify_fd, name, IN_MODIFY);
	err = errno;
	if (fchdir(d->cwd_fd))
		vfs_log(srv, VIRTIOFS_LOG_ERROR,
			"cannot return to the working directory: %s",
			strerror(errno));
	if (wd < 0)
		return dax_warn(srv, "cannot watch nodeid %llu for truncation: %s",
				(unsigned long long)ino->nodeid, strerror(err));
	ino->dax_wd = wd;
}

static void unwatch(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	struct vfs_dax *d = &srv->dax;
	struct vfs_inode **p = &d->watched;

	while (*p && *p != ino)
		p = &(*p)->dax_next;
	if (*p)
		*p = ino->dax_next;
	ino->dax_next = NULL;
	if (ino->dax_wd >= 0)
		inotify_rm_watch(d->inotify_fd, ino->dax_wd);
	ino->dax_wd = -1;
}

/* ---- mappings ---- */

static void map_link(struct virtiofs_server *srv, struct dax_map *m)
{
	struct vfs_dax *d = &srv->dax;

	tsearch(m, &d->tree, cmp_range);
	m->next = d->all;
	if (d->all)
		d->all->prev = m;
	d->all = m;
	if (!m->ino->dax_maps)
		watch(srv, m->ino);
	m->ino_next = m->ino->dax_maps;
	m->ino->dax_maps = m;
	d->st.mappings++;
}

/* Take @m out of the table; its pieces must be gone (or forgotten). */
static void map_free(struct virtiofs_server *srv, struct dax_map *m)
{
	struct vfs_dax *d = &srv->dax;
	struct dax_map **p = &m->ino->dax_maps;

	tdelete(m, &d->tree, cmp_range);
	if (m->prev)
		m->prev->next = m->next;
	else
		d->all = m->next;
	if (m->next)
		m->next->prev = m->prev;
	while (*p != m)
		p = &(*p)->ino_next;
	*p = m->ino_next;
	if (!m->ino->dax_maps)
		unwatch(srv, m->ino);
	d->st.mappings--;
	d->st.pieces -= m->npieces;
	vfs_inode_put(srv, m->ino);
	free(m);
}

/* REMOVEMAPPING, DESTROY, or a new range over it: 0 or why it stays. */
static int map_remove(struct virtiofs_server *srv, struct dax_map *m)
{
	int ret = drop_pieces(srv, m);

	if (ret) {
		dax_warn(srv, "cannot unmap 0x%llx+0x%llx: %s",
			 (unsigned long long)m->moffset,
			 (unsigned long long)m->len, strerror(-ret));
		return ret;
	}
	map_free(srv, m);
	return 0;
}

/*
 * Open the file for a mapping: read-write when the share and the file
 * allow it, whatever the guest asked, so that an upgrade never needs a
 * remap; read-only otherwise, which fails a request for writing.
 */
static int open_for_map(struct virtiofs_server *srv, struct vfs_inode *ino,
			bool want_rw, bool *rw)
{
	int fd = -EROFS;

	if (!srv->cfg.readonly)
		fd = vfs_reopen(srv, ino->fd, O_RDWR);
	*rw = fd >= 0;
	if (fd < 0 && want_rw)
		return fd;
	if (fd < 0)
		fd = vfs_reopen(srv, ino->fd, O_RDONLY);
	return fd;
}

/* A new mapping of @ino from @fd: every piece, or nothing. */
static int map_new(struct virtiofs_server *srv, struct vfs_inode *ino, int fd,
		   bool rw, const struct fuse_setupmapping_in *in)
{
	struct dax_map *m;
	struct stat st;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (struct dax_map){ .moffset = in->moffset, .len = in->len,
			       .foffset = in->foffset, .rw = rw, .ino = ino };
	m->file_end = file_part(m, (uint64_t)st.st_size);
	ret = lay_out(srv, m, 0, m->len, fd, false);
	if (ret) {
		drop_pieces(srv, m);
		srv->dax.st.pieces -= m->npieces;	/* forgotten */
		free(m);
		return ret;
	}
	vfs_inode_hold(srv, ino);
	map_link(srv, m);
	return 0;
}

/* The same range again, asking for writing: answered, or remapped. */
static int map_again(struct virtiofs_server *srv, struct dax_map *m,
		     bool want_rw)
{
	bool rw;
	int fd, ret;

	if (!want_rw || m->rw) {
		srv->dax.st.upgrades++;
		return 0;
	}
	/* Mapped read-only because writing was refused then: try again. */
	fd = open_for_map(srv, m->ino, true, &rw);
	if (fd < 0)
		return fd;
	ret = drop_pieces(srv, m);
	if (!ret) {
		m->rw = true;
		ret = lay_out(srv, m, 0, m->len, fd, true);
	}
	close(fd);
	if (!ret)
		srv->dax.st.remaps++;
	return ret;
}

static int check_setup(struct virtiofs_server *srv,
		       const struct fuse_setupmapping_in *in)
{
	if (in->flags & ~(FUSE_SETUPMAPPING_FLAG_READ |
			  FUSE_SETUPMAPPING_FLAG_WRITE))
		return -EINVAL;
	if (!in->len || in->len % VFS_DAX_ALIGN || in->moffset % VFS_DAX_ALIGN ||
	    in->foffset % VFS_DAX_ALIGN)
		return -EINVAL;
	if (in->moffset >= srv->dax.window ||
	    in->len > srv->dax.window - in->moffset)
		return -EINVAL;
	if (in->foffset > (uint64_t)INT64_MAX - in->len)
		return -EINVAL;
	return 0;
}

static int setup(struct virtiofs_server *srv, struct vfs_inode *ino,
		 const struct fuse_setupmapping_in *in)
{
	bool want_rw = in->flags & FUSE_SETUPMAPPING_FLAG_WRITE, rw;
	struct vfs_dax *d = &srv->dax;
	struct dax_map *m;
	int fd, ret;

	m = find_overlap(d, in->moffset, in->len);
	if (m && m->moffset == in->moffset && m->len == in->len &&
	    m->ino == ino && m->foffset == in->foffset)
		return map_again(srv, m, want_rw);
	/*
	 * The guest reuses a range it gave up (Linux does so even when a
	 * REMOVEMAPPING failed): what was there goes first.
	 */
	while (m) {
		ret = map_remove(srv, m);
		if (ret)
			return -EIO;
		m = find_overlap(d, in->moffset, in->len);
	}
	if (d->st.mappings >= VFS_DAX_MAX_MAPS)
		return -ENOSPC;
	fd = open_for_map(srv, ino, want_rw, &rw);
	if (fd < 0)
		return fd;
	ret = map_new(srv, ino, fd, rw, in);
	close(fd);
	if (!ret)
		d->st.setups++;
	return ret;
}

void op_setupmapping(struct vfs_req *r)
{
	const struct fuse_setupmapping_in *in =
		VFS_ARG(r, struct fuse_setupmapping_in);
	struct virtiofs_server *srv = r->srv;
	struct vfs_inode *ino;
	int ret;

	if (!srv->dax.window)
		return vfs_err(r, -ENOSYS);
	ret = check_setup(srv, in);
	if (!ret && (in->flags & FUSE_SETUPMAPPING_FLAG_WRITE) &&
	    srv->cfg.readonly)
		ret = -EROFS;
	ino = ret ? NULL : vfs_inode_get(srv, r->h.nodeid);
	if (!ret && !ino)
		ret = -EBADF;
	if (!ret && ino->type != S_IFREG)
		ret = -EACCES;
	if (!ret) {
		pthread_mutex_lock(&srv->dax.lock);
		ret = setup(srv, ino, in);
		if (ret)
			srv->dax.st.refused++;
		pthread_mutex_unlock(&srv->dax.lock);
	}
	vfs_inode_put(srv, ino);
	/* Never EAGAIN: the guest's fault path would retry it forever. */
	if (ret == -EAGAIN || ret == -EREMOTEIO || ret == -ENOTCONN ||
	    ret == -ETIMEDOUT || ret == -EOPNOTSUPP)
		ret = -EIO;
	vfs_log(srv, VIRTIOFS_LOG_DEBUG,
		"SETUPMAPPING nodeid %llu foffset 0x%llx len 0x%llx moffset 0x%llx flags 0x%llx: %s",
		(unsigned long long)r->h.nodeid,
		(unsigned long long)in->foffset, (unsigned long long)in->len,
		(unsigned long long)in->moffset, (unsigned long long)in->flags,
		strerror(-ret));
	vfs_err(r, ret);
}

void op_removemapping(struct vfs_req *r)
{
	const struct fuse_removemapping_in *in =
		VFS_ARG(r, struct fuse_removemapping_in);
	struct virtiofs_server *srv = r->srv;
	struct vfs_dax *d = &srv->dax;
	struct fuse_removemapping_one one;
	int ret = 0;

	if (!d->window)
		return vfs_err(r, -ENOSYS);
	/* The count must match the entries actually given. */
	pthread_mutex_lock(&d->lock);
	if (!in->count || in->count > VFS_DAX_REMOVE_MAX ||
	    (uint64_t)in->count * sizeof(one) > r->in.left) {
		d->st.refused++;
		pthread_mutex_unlock(&d->lock);
		return vfs_err(r, -EINVAL);
	}
	for (uint32_t i = 0; i < in->count; i++) {
		struct dax_map *m;
		int err = -EINVAL;

		iov_read(&r->in, &one, sizeof(one));
		m = one.len && one.moffset < d->window &&
		    one.len <= d->window - one.moffset ?
		    find_overlap(d, one.moffset, one.len) : NULL;
		/* Exactly one whole mapping, as it was set up. */
		if (m && m->moffset == one.moffset && m->len == one.len)
			err = map_remove(srv, m) ? -EIO : 0;
		if (!err)
			d->st.removes++;
		else
			d->st.refused++;
		vfs_log(srv, VIRTIOFS_LOG_DEBUG,
			"REMOVEMAPPING moffset 0x%llx len 0x%llx: %s",
			(unsigned long long)one.moffset,
			(unsigned long long)one.len, strerror(-err));
		ret = ret ? ret : err;
	}
	pthread_mutex_unlock(&d->lock);
	vfs_err(r, ret);
}

/* ---- the rest of the server ---- */

void vfs_dax_drop_all(struct virtiofs_server *srv, bool unmap)
{
	struct vfs_dax *d = &srv->dax;
	unsigned int n = 0, kept = 0;

	if (!d->window)
		return;
	pthread_mutex_lock(&d->lock);
	while (d->all) {
		struct dax_map *m = d->all;

		if (unmap && drop_pieces(srv, m))
			kept++;
		n++;
		map_free(srv, m);
	}
	d->st.pieces = 0;
	pthread_mutex_unlock(&d->lock);
	if (kept)
		vfs_log(srv, VIRTIOFS_LOG_WARN,
			"DAX: %u of %u mappings could not be unmapped; the front-end drops them at the next device reset",
			kept, n);
}

void vfs_dax_attr(struct virtiofs_server *srv, struct fuse_attr *a,
		  const struct stat *st)
{
	struct vfs_dax *d = &srv->dax;
	struct vfs_inode *ino;

	if (!d->window || !S_ISREG(st->st_mode))
		return;
	/* dax=inode: files of a window range or more; smaller ones are
	 * cheaper in the guest's page cache than in a 2 MiB range. */
	if (d->inode_dax && (uint64_t)st->st_size >= VFS_DAX_RANGE)
		a->flags |= FUSE_ATTR_DAX;
	pthread_mutex_lock(&d->lock);
	if (d->st.mappings) {
		ino = vfs_inode_find(srv, st->st_dev, st->st_ino);
		if (ino) {
			follow_size(srv, ino, true);
			vfs_inode_put(srv, ino);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

void vfs_dax_resized(struct virtiofs_server *srv, int fd)
{
	struct fuse_attr a = { 0 };
	struct stat st;

	if (srv->dax.window && !fstat(fd, &st))
		vfs_dax_attr(srv, &a, &st);
}

int virtiofs_server_dax_fd(struct virtiofs_server *srv)
{
	return srv->dax.inotify_fd;
}

void virtiofs_server_dax_poll(struct virtiofs_server *srv)
{
	struct vfs_dax *d = &srv->dax;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (d->inotify_fd < 0)
		return;
	pthread_mutex_lock(&d->lock);
	while ((n = read(d->inotify_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			const struct inotify_event *ev =
				(const struct inotify_event *)(buf + off);
			struct vfs_inode *ino = d->watched;

			off += (ssize_t)(sizeof(*ev) + ev->len);
			while (ino && ino->dax_wd != ev->wd)
				ino = ino->dax_next;
			if (!ino)
				continue;
			if (ev->mask & IN_IGNORED)
				ino->dax_wd = -1;
			else
				follow_size(srv, ino, false);
		}
	}
	pthread_mutex_unlock(&d->lock);
}

int vfs_dax_init(struct virtiofs_server *srv)
{
	struct vfs_dax *d = &srv->dax;

	d->inotify_fd = d->cwd_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	d->window = srv->cfg.dax_window;
	if (!d->window)
		return 0;
	if (d->window % VFS_DAX_RANGE || d->window > VIRTIOFS_DAX_WINDOW_MAX ||
	    !srv->cfg.dax_ops || !srv->cfg.dax_ops->map ||
	    !srv->cfg.dax_ops->unmap)
		return -EINVAL;
	d->ops = srv->cfg.dax_ops;
	d->opaque = srv->cfg.dax_opaque;
	/*
	 * A watch is added through /proc/self/fd/N relative to the working
	 * directory, which is then put back: it is kept open for that.
	 */
	d->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->cwd_fd < 0)
		d->cwd_fd = fcntl(srv->root_fd, F_DUPFD_CLOEXEC, 0);
	d->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (d->inotify_fd < 0 || d->cwd_fd < 0)
		vfs_log(srv, VIRTIOFS_LOG_WARN,
			"DAX: no inotify (%s): a host file truncated under a mapping is not followed",
			strerror(errno));
	if (d->cwd_fd < 0 && d->inotify_fd >= 0) {
		close(d->inotify_fd);
		d->inotify_fd = -1;
	}
	return 0;
}

void vfs_dax_fini(struct virtiofs_server *srv)
{
	struct vfs_dax *d = &srv->dax;

	vfs_dax_drop_all(srv, false);
	if (d->inotify_fd >= 0)
		close(d->inotify_fd);
	if (d->cwd_fd >= 0)
		close(d->cwd_fd);
	d->inotify_fd = d->cwd_fd = -1;
	pthread_mutex_destroy(&d->lock);
}
