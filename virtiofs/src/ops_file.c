/* SPDX-License-Identifier: MIT */
/*
 * Open files: CREATE, OPEN, READ, WRITE, FLUSH, RELEASE, FSYNC, LSEEK,
 * FALLOCATE, SYNCFS. Only regular files are ever opened; data moves
 * between the file and the guest's buffers with preadv/pwritev, no copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "server_priv.h"

#define VFS_MAX_IOV	512	/* buffers of one side of a chain */

/* The open flags the guest may ask for; -errno when refused. */
static int open_flags(struct vfs_req *r, uint32_t guest)
{
	int f = (int)guest & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC |
			      O_DSYNC | O_NOATIME | O_NONBLOCK);

	if ((f & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (r->srv->cfg.readonly &&
	    ((f & O_ACCMODE) != O_RDONLY || (f & O_TRUNC)))
		return -EROFS;
	return f;
}

static void fill_open(struct vfs_req *r, struct fuse_open_out *o, uint64_t fh)
{
	memset(o, 0, sizeof(*o));
	o->fh = fh;
	if (r->srv->cfg.cache == VIRTIOFS_CACHE_ALWAYS)
		o->open_flags = FOPEN_KEEP_CACHE;
	else if (r->srv->cfg.cache == VIRTIOFS_CACHE_NEVER)
		o->open_flags = FOPEN_DIRECT_IO;
}

/* Open only what is a regular file, whatever the name now points at. */
static int regular_only(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return S_ISREG(st.st_mode) ? 0 : -EACCES;
}

void op_open(struct vfs_req *r)
{
	const struct fuse_open_in *in = VFS_ARG(r, struct fuse_open_in);
	struct vfs_inode *ino = vfs_inode_get(r->srv, r->h.nodeid);
	struct fuse_open_out o;
	int flags = open_flags(r, in->flags), fd, ret;
	uint64_t fh;

	if (!ino)
		return vfs_err(r, -EBADF);
	if (ino->type != S_IFREG)
		fd = ino->type == S_IFDIR ? -EISDIR : -EACCES;
	else if (flags < 0)
		fd = flags;
	else
		fd = vfs_reopen(r->srv, ino->fd, flags);
	vfs_inode_put(r->srv, ino);
	if (fd < 0)
		return vfs_err(r, fd);
	ret = vfs_handle_add(r->srv, fd, false, false, &fh);
	if (ret)
		return vfs_err(r, ret);
	fill_open(r, &o, fh);
	vfs_reply(r, &o, sizeof(o));
}

/*
 * -EEXIST when @name is a regular file; why it may not be opened
 * otherwise. Checked before opening, so a device node is never opened,
 * not even for a moment (and checked again on the fd after).
 */
static int not_regular(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (S_ISREG(st.st_mode))
		return -EEXIST;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	return S_ISLNK(st.st_mode) ? -ELOOP : -EACCES;
}

/*
 * Create @name, or open it when it exists and O_EXCL was not asked for,
 * as the caller: the host checks the caller's permissions. An existing
 * entry that is not a regular file is never opened for real (O_NONBLOCK,
 * then checked), so no FIFO can block us and no device is handed out.
 */
static int create_open(struct vfs_req *r, struct vfs_inode *dir,
		       const char *name, int flags, bool excl, mode_t mode)
{
	struct vfs_creds c;
	int fd, ret;

	ret = vfs_creds_enter(r->srv, &r->h, &c);
	if (ret)
		return ret;
	fd = vfs_openat(r->srv, dir->fd, name, flags | O_CREAT | O_EXCL, mode);
	if (fd == -EEXIST && !excl)
		fd = not_regular(dir->fd, name);
	if (fd == -EEXIST && !excl) {
		fd = vfs_openat(r->srv, dir->fd, name,
				(flags & ~O_TRUNC) | O_NONBLOCK, 0);
		ret = fd < 0 ? 0 : regular_only(fd);
		if (ret) {
			close(fd);
			fd = ret;
		}
		if (fd >= 0 && (flags & O_TRUNC) && ftruncate(fd, 0)) {
			ret = -errno;
			close(fd);
			fd = ret;
		}
		if (fd >= 0 && !(flags & O_NONBLOCK))
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	vfs_creds_leave(r->srv, &c);
	return fd;
}

void op_create(struct vfs_req *r)
{
	const struct fuse_create_in *in = VFS_ARG(r, struct fuse_create_in);
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} rep;
	int flags = open_flags(r, in->flags), fd, pfd, ret;
	struct vfs_inode *dir;
	const char *name;
	struct stat st;
	uint64_t id, fh;

	if (flags < 0)
		return vfs_err(r, flags);
	if ((in->flags & O_ACCMODE) == O_ACCMODE)
		return vfs_err(r, -EINVAL);
	name = vfs_arg_str(r, sizeof(*in), NULL);
	ret = name ? vfs_check_name(name, true) : -EINVAL;
	if (ret)
		return vfs_err(r, ret);
	dir = vfs_inode_get(r->srv, r->h.nodeid);
	if (!dir || dir->type != S_IFDIR) {
		vfs_inode_put(r->srv, dir);
		return vfs_err(r, dir ? -ENOTDIR : -EBADF);
	}
	fd = create_open(r, dir, name, flags, in->flags & O_EXCL,
			 in->mode & 07777);
	vfs_inode_put(r->srv, dir);
	if (fd < 0)
		return vfs_err(r, fd);
	/* The inode of exactly the file we opened, not of the name now. */
	pfd = vfs_reopen(r->srv, fd, O_PATH);
	if (pfd < 0 || vfs_stat_fd(pfd, &st)) {
		ret = pfd < 0 ? pfd : -errno;
		if (pfd >= 0)
			close(pfd);
		close(fd);
		return vfs_err(r, ret);
	}
	ret = vfs_inode_add(r->srv, pfd, &st, &id);
	if (ret) {
		close(fd);
		return vfs_err(r, ret);
	}
	ret = vfs_handle_add(r->srv, fd, false, false, &fh);
	if (ret) {
		vfs_inode_forget(r->srv, id, 1);
		return vfs_err(r, ret);
	}
	vfs_fill_entry(r->srv, &rep.e, id, &st);
	fill_open(r, &rep.o, fh);
	vfs_reply(r, &rep, sizeof(rep));
}

static struct vfs_handle *req_handle(struct vfs_req *r, uint64_t fh, bool dir)
{
	struct vfs_handle *h = vfs_handle_get(r->srv, fh, dir);

	if (!h)
		vfs_err(r, -EBADF);
	return h;
}

void op_read(struct vfs_req *r)
{
	const struct fuse_read_in *in = VFS_ARG(r, struct fuse_read_in);
	struct iovec iov[VFS_MAX_IOV];
	size_t size = in->size;
	struct vfs_handle *h;
	ssize_t n;
	int cnt;

	if ((int64_t)in->offset < 0)
		return vfs_err(r, -EINVAL);
	/* Never more than the chain has room for. */
	if (size > r->out_room)
		size = r->out_room;
	h = req_handle(r, in->fh, false);
	if (!h)
		return;
	cnt = iov_slice(&r->out, size, iov, VFS_MAX_IOV);
	n = cnt < 0 ? (errno = EINVAL, -1) :
	    cnt == 0 ? 0 : preadv(h->fd, iov, cnt, (off_t)in->offset);
	vfs_handle_put(r->srv, h);
	if (n < 0)
		return vfs_err(r, -errno);
	r->data_len = (size_t)n;
}

void op_write(struct vfs_req *r)
{
	const struct fuse_write_in *in = VFS_ARG(r, struct fuse_write_in);
	struct iovec iov[VFS_MAX_IOV];
	struct fuse_write_out o;
	struct vfs_handle *h;
	ssize_t n;
	int cnt;

	/* The size must match the data actually given. */
	if (in->size > r->in.left || (int64_t)in->offset < 0)
		return vfs_err(r, -EINVAL);
	h = req_handle(r, in->fh, false);
	if (!h)
		return;
	cnt = iov_slice(&r->in, in->size, iov, VFS_MAX_IOV);
	n = cnt < 0 ? (errno = EINVAL, -1) :
	    cnt == 0 ? 0 : pwritev(h->fd, iov, cnt, (off_t)in->offset);
	/* The guest grows its size from the reply: map that far first. */
	if (n > 0)
		vfs_dax_resized(r->srv, h->fd);
	vfs_handle_put(r->srv, h);
	if (n < 0)
		return vfs_err(r, -errno);
	memset(&o, 0, sizeof(o));
	o.size = (uint32_t)n;
	vfs_reply(r, &o, sizeof(o));
}

void op_flush(struct vfs_req *r)
{
	const struct fuse_flush_in *in = VFS_ARG(r, struct fuse_flush_in);
	struct vfs_handle *h = req_handle(r, in->fh, false);
	int fd;

	if (!h)
		return;
	/* What close() would do to the file, keeping our handle. */
	fd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0 || close(fd))
		vfs_err(r, -errno);
	vfs_handle_put(r->srv, h);
}

void op_release(struct vfs_req *r)
{
	const struct fuse_release_in *in = VFS_ARG(r, struct fuse_release_in);

	vfs_err(r, vfs_handle_release(r->srv, in->fh, false));
}

void op_fsync(struct vfs_req *r)
{
	const struct fuse_fsync_in *in = VFS_ARG(r, struct fuse_fsync_in);
	struct vfs_handle *h = req_handle(r, in->fh, false);

	if (!h)
		return;
	if ((in->fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd))
		vfs_err(r, -errno);
	vfs_handle_put(r->srv, h);
}

void op_lseek(struct vfs_req *r)
{
	const struct fuse_lseek_in *in = VFS_ARG(r, struct fuse_lseek_in);
	struct fuse_lseek_out o;
	struct vfs_handle *h;
	off_t off;

	if (in->whence != SEEK_SET && in->whence != SEEK_CUR &&
	    in->whence != SEEK_END && in->whence != SEEK_DATA &&
	    in->whence != SEEK_HOLE)
		return vfs_err(r, -EINVAL);
	h = req_handle(r, in->fh, false);
	if (!h)
		return;
	off = lseek(h->fd, (off_t)in->offset, (int)in->whence);
	vfs_handle_put(r->srv, h);
	if (off < 0)
		return vfs_err(r, -errno);
	memset(&o, 0, sizeof(o));
	o.offset = (uint64_t)off;
	vfs_reply(r, &o, sizeof(o));
}

void op_fallocate(struct vfs_req *r)
{
	const struct fuse_fallocate_in *in = VFS_ARG(r, struct fuse_fallocate_in);
	struct vfs_handle *h;

	if ((int64_t)in->offset < 0 || (int64_t)in->length <= 0)
		return vfs_err(r, -EINVAL);
	h = req_handle(r, in->fh, false);
	if (!h)
		return;
	if (fallocate(h->fd, (int)in->mode, (off_t)in->offset,
		      (off_t)in->length))
		vfs_err(r, -errno);
	else
		vfs_dax_resized(r->srv, h->fd);
	vfs_handle_put(r->srv, h);
}

void op_syncfs(struct vfs_req *r)
{
	if (r->srv->sync_fd < 0)
		return vfs_err(r, -ENOSYS);
	if (syncfs(r->srv->sync_fd))
		vfs_err(r, -errno);
}
