/* SPDX-License-Identifier: MIT */
/*
 * Directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR, FSYNCDIR.
 *
 * A directory handle keeps the getdents64 records it has read but not yet
 * given out, and the offset cookie of the next one, so a READDIR whose
 * buffer is full resumes exactly where it stopped; any other offset seeks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_priv.h"

#define DBUF_SIZE	32768

struct dent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

void op_opendir(struct vfs_req *r)
{
	struct vfs_inode *ino = vfs_inode_get(r->srv, r->h.nodeid);
	struct fuse_open_out o;
	bool root;
	uint64_t fh;
	int fd, ret;

	if (!ino)
		return vfs_err(r, -EBADF);
	root = ino == r->srv->root;
	fd = ino->type == S_IFDIR ?
	     vfs_openat(r->srv, ino->fd, ".", O_RDONLY | O_DIRECTORY, 0) :
	     -ENOTDIR;
	vfs_inode_put(r->srv, ino);
	if (fd < 0)
		return vfs_err(r, fd);
	ret = vfs_handle_add(r->srv, fd, true, root, &fh);
	if (ret)
		return vfs_err(r, ret);
	memset(&o, 0, sizeof(o));
	o.fh = fh;
	vfs_reply(r, &o, sizeof(o));
}

/* Look up one entry of a directory we read (for READDIRPLUS). */
static void plus_entry(struct vfs_req *r, struct vfs_handle *h,
		       const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	uint64_t id;
	int fd;

	memset(e, 0, sizeof(*e));
	/* "." and "..": no nodeid, the kernel counts no lookup for them. */
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return;
	fd = vfs_openat(r->srv, h->fd, name, O_PATH, 0);
	if (fd < 0)
		return;
	if (vfs_stat_fd(fd, &st)) {
		close(fd);
		return;
	}
	/* Gone or over the fd budget: the entry goes out without a nodeid. */
	if (vfs_inode_add(r->srv, fd, &st, &id))
		return;
	vfs_fill_entry(r->srv, e, id, &st);
}

/* Next record, reading more when the buffer is used up: 1, 0 at the end. */
static int next_record(struct vfs_handle *h, struct dent64 **d)
{
	if (h->dpos >= h->dlen) {
		ssize_t n = getdents64(h->fd, h->dbuf, DBUF_SIZE);

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		h->dlen = (size_t)n;
		h->dpos = 0;
	}
	*d = (struct dent64 *)(h->dbuf + h->dpos);
	if ((*d)->d_reclen < offsetof(struct dent64, d_name) + 2 ||
	    (*d)->d_reclen > h->dlen - h->dpos)
		return -EIO;
	return 1;
}

static int read_dir(struct vfs_req *r, struct vfs_handle *h, uint64_t offset,
		    size_t size, bool plus)
{
	uint8_t ent[sizeof(struct fuse_direntplus) + NAME_MAX + 16]
		__attribute__((aligned(8)));
	size_t done = 0;

	if (!h->dbuf && !(h->dbuf = malloc(DBUF_SIZE)))
		return -ENOMEM;
	if (offset != h->doff) {
		if (lseek(h->fd, (off_t)offset, SEEK_SET) < 0)
			return -errno;
		h->dlen = h->dpos = 0;
		h->doff = offset;
	}
	for (;;) {
		struct fuse_dirent *fd;
		struct dent64 *d = NULL;
		size_t namelen, hdr, len;
		int ret = next_record(h, &d);

		if (ret <= 0) {
			if (ret < 0 && !done)
				return ret;
			break;
		}
		namelen = strnlen(d->d_name, d->d_reclen -
				  offsetof(struct dent64, d_name));
		if (!namelen || namelen > NAME_MAX)
			return -EIO;
		hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
		len = FUSE_DIRENT_ALIGN(hdr + namelen);
		if (done + len > size)
			break;
		memset(ent, 0, len);
		fd = (struct fuse_dirent *)(ent + hdr - FUSE_NAME_OFFSET);
		fd->ino = d->d_ino;
		/* The share's parent stays unknown. */
		if (h->root && !strcmp(d->d_name, ".."))
			fd->ino = r->srv->root->ino;
		fd->off = (uint64_t)d->d_off;
		fd->namelen = (uint32_t)namelen;
		fd->type = d->d_type;
		memcpy(fd->name, d->d_name, namelen);
		if (plus)
			plus_entry(r, h, d->d_name, (struct fuse_entry_out *)ent);
		iov_write(&r->out, ent, len);
		done += len;
		h->doff = (uint64_t)d->d_off;
		h->dpos += d->d_reclen;
	}
	r->data_len = done;
	return 0;
}

static void do_readdir(struct vfs_req *r, bool plus)
{
	const struct fuse_read_in *in = VFS_ARG(r, struct fuse_read_in);
	struct vfs_handle *h = vfs_handle_get(r->srv, in->fh, true);
	size_t size = in->size;
	int ret;

	if (!h)
		return vfs_err(r, -EBADF);
	if (size > r->out_room)
		size = r->out_room;
	pthread_mutex_lock(&h->lock);
	ret = read_dir(r, h, in->offset, size, plus);
	pthread_mutex_unlock(&h->lock);
	vfs_handle_put(r->srv, h);
	if (ret)
		vfs_err(r, ret);
}

void op_readdir(struct vfs_req *r)
{
	do_readdir(r, false);
}

void op_readdirplus(struct vfs_req *r)
{
	do_readdir(r, true);
}

void op_releasedir(struct vfs_req *r)
{
	const struct fuse_release_in *in = VFS_ARG(r, struct fuse_release_in);

	vfs_err(r, vfs_handle_release(r->srv, in->fh, true));
}

void op_fsyncdir(struct vfs_req *r)
{
	const struct fuse_fsync_in *in = VFS_ARG(r, struct fuse_fsync_in);
	struct vfs_handle *h = vfs_handle_get(r->srv, in->fh, true);

	if (!h)
		return vfs_err(r, -EBADF);
	if ((in->fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd))
		vfs_err(r, -errno);
	vfs_handle_put(r->srv, h);
}
