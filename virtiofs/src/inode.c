/* SPDX-License-Identifier: MIT */
/*
 * The inodes the guest holds nodeids for, and its open handles.
 *
 * Nodeids and file handles come from 64-bit counters and are never reused,
 * so a stale or invented one finds nothing (EBADF) instead of another
 * file. An inode lives while the kernel's lookup count is non-zero or an
 * operation uses it; a handle until RELEASE and its last user. Both hold
 * one host fd each, counted against max_fds.
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "server_priv.h"

static unsigned int id_hash(uint64_t id)
{
	return (unsigned int)((id * 0x9e3779b97f4a7c15ull) >> 54) % VFS_HASH;
}

static unsigned int key_hash(dev_t dev, ino_t ino)
{
	return id_hash((uint64_t)ino ^ ((uint64_t)dev << 32));
}

static struct vfs_inode *find_id(struct virtiofs_server *srv, uint64_t id)
{
	struct vfs_inode *i = srv->by_id[id_hash(id)];

	while (i && i->nodeid != id)
		i = i->next_id;
	return i;
}

static struct vfs_inode *find_key(struct virtiofs_server *srv, dev_t dev,
				  ino_t ino)
{
	struct vfs_inode *i = srv->by_key[key_hash(dev, ino)];

	while (i && (i->dev != dev || i->ino != ino))
		i = i->next_key;
	return i;
}

static void unlink_inode(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	struct vfs_inode **p = &srv->by_id[id_hash(ino->nodeid)];

	while (*p != ino)
		p = &(*p)->next_id;
	*p = ino->next_id;
	p = &srv->by_key[key_hash(ino->dev, ino->ino)];
	while (*p != ino)
		p = &(*p)->next_key;
	*p = ino->next_key;
	srv->ninodes--;
}

/* Called with the lock held: free an inode nobody needs any more. */
static void maybe_free(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	if (ino == srv->root || ino->nlookup || ino->refs)
		return;
	unlink_inode(srv, ino);
	close(ino->fd);
	free(ino);
}

static void link_inode(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	unsigned int a = id_hash(ino->nodeid), b = key_hash(ino->dev, ino->ino);

	ino->next_id = srv->by_id[a];
	srv->by_id[a] = ino;
	ino->next_key = srv->by_key[b];
	srv->by_key[b] = ino;
	srv->ninodes++;
}

bool vfs_fd_budget(struct virtiofs_server *srv)
{
	return srv->ninodes + srv->nhandles < srv->cfg.max_fds;
}

struct vfs_inode *vfs_inode_get(struct virtiofs_server *srv, uint64_t nodeid)
{
	struct vfs_inode *ino;

	pthread_mutex_lock(&srv->lock);
	ino = find_id(srv, nodeid);
	if (ino)
		ino->refs++;
	pthread_mutex_unlock(&srv->lock);
	return ino;
}

struct vfs_inode *vfs_inode_find(struct virtiofs_server *srv, dev_t dev,
				 ino_t ino_nr)
{
	struct vfs_inode *ino;

	pthread_mutex_lock(&srv->lock);
	ino = find_key(srv, dev, ino_nr);
	if (ino)
		ino->refs++;
	pthread_mutex_unlock(&srv->lock);
	return ino;
}

void vfs_inode_hold(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	pthread_mutex_lock(&srv->lock);
	ino->refs++;
	pthread_mutex_unlock(&srv->lock);
}

void vfs_inode_put(struct virtiofs_server *srv, struct vfs_inode *ino)
{
	if (!ino)
		return;
	pthread_mutex_lock(&srv->lock);
	ino->refs--;
	maybe_free(srv, ino);
	pthread_mutex_unlock(&srv->lock);
}

int vfs_inode_add(struct virtiofs_server *srv, int fd, const struct stat *st,
		  uint64_t *nodeid)
{
	struct vfs_inode *ino;
	int ret = 0;

	pthread_mutex_lock(&srv->lock);
	ino = find_key(srv, st->st_dev, st->st_ino);
	if (ino) {
		/* Known already: keep the fd we have. */
		close(fd);
		if (ino != srv->root)
			ino->nlookup++;
		*nodeid = ino->nodeid;
		goto out;
	}
	if (!vfs_fd_budget(srv)) {
		close(fd);
		ret = -ENFILE;
		goto out;
	}
	ino = calloc(1, sizeof(*ino));
	if (!ino) {
		close(fd);
		ret = -ENOMEM;
		goto out;
	}
	*ino = (struct vfs_inode){ .nodeid = srv->next_nodeid++, .fd = fd,
				   .dev = st->st_dev, .ino = st->st_ino,
				   .type = st->st_mode & S_IFMT, .nlookup = 1,
				   .dax_wd = -1 };
	link_inode(srv, ino);
	*nodeid = ino->nodeid;
out:
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

void vfs_inode_forget(struct virtiofs_server *srv, uint64_t nodeid,
		      uint64_t n)
{
	struct vfs_inode *ino;

	pthread_mutex_lock(&srv->lock);
	ino = find_id(srv, nodeid);
	/* The root is never forgotten; an unknown nodeid is ignored. */
	if (ino && ino != srv->root) {
		ino->nlookup -= n < ino->nlookup ? n : ino->nlookup;
		maybe_free(srv, ino);
	}
	pthread_mutex_unlock(&srv->lock);
}

/* ---- handles ---- */

static struct vfs_handle **find_handle(struct virtiofs_server *srv,
				       uint64_t fh)
{
	struct vfs_handle **p = &srv->handles[id_hash(fh)];

	while (*p && (*p)->fh != fh)
		p = &(*p)->next;
	return p;
}

static void handle_free(struct vfs_handle *h)
{
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	free(h->dbuf);
	free(h);
}

int vfs_handle_add(struct virtiofs_server *srv, int fd, bool dir, bool root,
		   uint64_t *fh)
{
	struct vfs_handle *h = calloc(1, sizeof(*h));
	unsigned int b;

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&srv->lock);
	if (!vfs_fd_budget(srv)) {
		pthread_mutex_unlock(&srv->lock);
		close(fd);
		free(h);
		return -ENFILE;
	}
	h->fh = srv->next_fh++;
	h->fd = fd;
	h->dir = dir;
	h->root = root;
	pthread_mutex_init(&h->lock, NULL);
	b = id_hash(h->fh);
	h->next = srv->handles[b];
	srv->handles[b] = h;
	srv->nhandles++;
	*fh = h->fh;
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

struct vfs_handle *vfs_handle_get(struct virtiofs_server *srv, uint64_t fh,
				  bool dir)
{
	struct vfs_handle *h;

	pthread_mutex_lock(&srv->lock);
	h = *find_handle(srv, fh);
	if (h && h->dir == dir)
		h->refs++;
	else
		h = NULL;
	pthread_mutex_unlock(&srv->lock);
	return h;
}

void vfs_handle_put(struct virtiofs_server *srv, struct vfs_handle *h)
{
	bool last;

	pthread_mutex_lock(&srv->lock);
	last = --h->refs == 0 && h->closing;
	pthread_mutex_unlock(&srv->lock);
	if (last)
		handle_free(h);
}

int vfs_handle_release(struct virtiofs_server *srv, uint64_t fh, bool dir)
{
	struct vfs_handle **p, *h;
	bool now;

	pthread_mutex_lock(&srv->lock);
	p = find_handle(srv, fh);
	h = *p;
	if (!h || h->dir != dir) {
		pthread_mutex_unlock(&srv->lock);
		return -EBADF;
	}
	*p = h->next;
	srv->nhandles--;
	h->closing = true;
	now = h->refs == 0;
	pthread_mutex_unlock(&srv->lock);
	if (now)
		handle_free(h);
	return 0;
}

/*
 * Drop everything but the root (reset, DESTROY). An inode or handle that a
 * request still uses is freed by its last put.
 */
void vfs_tables_clear(struct virtiofs_server *srv)
{
	pthread_mutex_lock(&srv->lock);
	for (unsigned int b = 0; b < VFS_HASH; b++) {
		struct vfs_handle *h = srv->handles[b];

		while (h) {
			struct vfs_handle *next = h->next;

			h->closing = true;
			if (!h->refs)
				handle_free(h);
			h = next;
		}
		srv->handles[b] = NULL;
	}
	srv->nhandles = 0;
	for (unsigned int b = 0; b < VFS_HASH; b++) {
		struct vfs_inode *i = srv->by_id[b];

		while (i) {
			struct vfs_inode *next = i->next_id;

			if (i != srv->root) {
				i->nlookup = 0;
				maybe_free(srv, i);
			}
			i = next;
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

int vfs_tables_init(struct virtiofs_server *srv)
{
	struct stat st;
	struct vfs_inode *root;

	/* The root inode uses the server's own root fd. */
	if (vfs_stat_fd(srv->root_fd, &st))
		return -errno;
	root = calloc(1, sizeof(*root));
	if (!root)
		return -ENOMEM;
	*root = (struct vfs_inode){ .nodeid = FUSE_ROOT_NODEID,
				    .fd = srv->root_fd,
				    .dev = st.st_dev, .ino = st.st_ino,
				    .type = S_IFDIR, .dax_wd = -1 };
	srv->root = root;
	srv->next_nodeid = FUSE_ROOT_NODEID + 1;
	srv->next_fh = 1;
	link_inode(srv, root);
	return 0;
}
