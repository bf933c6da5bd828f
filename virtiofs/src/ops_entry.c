/* SPDX-License-Identifier: MIT */
/*
 * Operations on inodes and directory entries: LOOKUP, FORGET, attributes,
 * links, creation and removal of names, STATFS. Every one works on the
 * O_PATH fd of a known inode and at most one name component.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "server_priv.h"

/* The request's inode, or NULL with the error set. */
static struct vfs_inode *req_inode(struct vfs_req *r, bool want_dir)
{
	struct vfs_inode *ino = vfs_inode_get(r->srv, r->h.nodeid);

	if (!ino) {
		vfs_err(r, -EBADF);
		return NULL;
	}
	if (want_dir && ino->type != S_IFDIR) {
		vfs_inode_put(r->srv, ino);
		vfs_err(r, -ENOTDIR);
		return NULL;
	}
	return ino;
}

int vfs_do_lookup(struct virtiofs_server *srv, struct vfs_inode *dir,
		  const char *name, struct fuse_entry_out *e)
{
	struct stat st;
	uint64_t id;
	int fd, ret;

	if (!strcmp(name, ".") || (!strcmp(name, "..") && dir == srv->root)) {
		/* ".." of the shared root is the root itself. */
		fd = fcntl(dir->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
	} else if (!strcmp(name, "..")) {
		fd = openat(dir->fd, "..", O_PATH | O_NOFOLLOW | O_DIRECTORY |
			    O_CLOEXEC);
		if (fd < 0)
			return -errno;
	} else {
		fd = vfs_openat(srv, dir->fd, name, O_PATH, 0);
		if (fd < 0)
			return fd;
	}
	if (vfs_stat_fd(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = vfs_inode_add(srv, fd, &st, &id);
	if (ret)
		return ret;
	vfs_fill_entry(srv, e, id, &st);
	return 0;
}

void op_lookup(struct vfs_req *r)
{
	const char *name = vfs_arg_str(r, 0, NULL);
	struct fuse_entry_out e;
	struct vfs_inode *dir;
	int ret;

	if (!name)
		return vfs_err(r, -EINVAL);
	ret = vfs_check_name(name, false);
	if (ret)
		return vfs_err(r, ret);
	dir = req_inode(r, true);
	if (!dir)
		return;
	ret = vfs_do_lookup(r->srv, dir, name, &e);
	vfs_inode_put(r->srv, dir);
	if (ret)
		return vfs_err(r, ret);
	vfs_reply(r, &e, sizeof(e));
}

void op_forget(struct vfs_req *r)
{
	const struct fuse_forget_in *in = VFS_ARG(r, struct fuse_forget_in);

	vfs_inode_forget(r->srv, r->h.nodeid, in->nlookup);
}

void op_batch_forget(struct vfs_req *r)
{
	const struct fuse_batch_forget_in *in =
		VFS_ARG(r, struct fuse_batch_forget_in);
	struct fuse_forget_one one;

	/* The count must match the entries actually given. */
	if ((uint64_t)in->count * sizeof(one) > r->in.left) {
		vfs_log(r->srv, VIRTIOFS_LOG_WARN,
			"BATCH_FORGET: count %u but %zu bytes: ignored",
			in->count, r->in.left);
		return;
	}
	for (uint32_t i = 0; i < in->count; i++) {
		iov_read(&r->in, &one, sizeof(one));
		vfs_inode_forget(r->srv, one.nodeid, one.nlookup);
	}
}

static void reply_attr(struct vfs_req *r, const struct stat *st)
{
	struct fuse_attr_out o;

	memset(&o, 0, sizeof(o));
	o.attr_valid = r->srv->attr_valid;
	vfs_fill_attr(r->srv, &o.attr, st);
	vfs_reply(r, &o, sizeof(o));
}

void op_getattr(struct vfs_req *r)
{
	struct vfs_inode *ino = req_inode(r, false);
	struct stat st;
	int ret;

	if (!ino)
		return;
	ret = vfs_stat_fd(ino->fd, &st) ? -errno : 0;
	vfs_inode_put(r->srv, ino);
	if (ret)
		return vfs_err(r, ret);
	reply_attr(r, &st);
}

static int set_mode(struct vfs_req *r, struct vfs_inode *ino,
		    struct vfs_handle *h, mode_t mode)
{
	char name[16];

	if (h)
		return fchmod(h->fd, mode) ? -errno : 0;
	/* chmod through /proc would follow a symlink: refuse. */
	if (ino->type == S_IFLNK)
		return -EOPNOTSUPP;
	snprintf(name, sizeof(name), "%d", ino->fd);
	return fchmodat(r->srv->proc_fd, name, mode, 0) ? -errno : 0;
}

static int set_size(struct vfs_req *r, struct vfs_inode *ino,
		    struct vfs_handle *h, uint64_t size)
{
	int fd, ret;

	if ((int64_t)size < 0)
		return -EINVAL;
	if (h)
		return ftruncate(h->fd, (off_t)size) ? -errno : 0;
	if (ino->type == S_IFDIR)
		return -EISDIR;
	if (ino->type != S_IFREG)
		return -EINVAL;
	fd = vfs_reopen(r->srv, ino->fd, O_WRONLY);
	if (fd < 0)
		return fd;
	ret = ftruncate(fd, (off_t)size) ? -errno : 0;
	close(fd);
	return ret;
}

static struct timespec set_time(uint32_t valid, uint32_t bit, uint32_t now,
				uint64_t sec, uint32_t nsec)
{
	if (valid & now)
		return (struct timespec){ 0, UTIME_NOW };
	if (valid & bit)
		return (struct timespec){ (time_t)sec, nsec };
	return (struct timespec){ 0, UTIME_OMIT };
}

static int do_setattr(struct vfs_req *r, struct vfs_inode *ino,
		      const struct fuse_setattr_in *in, struct vfs_handle *h)
{
	uint32_t v = in->valid;
	int ret;

	if (v & FATTR_MODE) {
		ret = set_mode(r, ino, h, in->mode & 07777);
		if (ret)
			return ret;
	}
	if (v & (FATTR_UID | FATTR_GID)) {
		uid_t uid = (v & FATTR_UID) ? in->uid : (uid_t)-1;
		gid_t gid = (v & FATTR_GID) ? in->gid : (gid_t)-1;

		if (fchownat(ino->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (v & FATTR_SIZE) {
		ret = set_size(r, ino, h, in->size);
		if (ret)
			return ret;
	}
	if (v & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		struct timespec ts[2] = {
			set_time(v, FATTR_ATIME, FATTR_ATIME_NOW, in->atime,
				 in->atimensec),
			set_time(v, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime,
				 in->mtimensec),
		};

		if ((!(v & FATTR_ATIME_NOW) && (v & FATTR_ATIME) &&
		     in->atimensec >= 1000000000u) ||
		    (!(v & FATTR_MTIME_NOW) && (v & FATTR_MTIME) &&
		     in->mtimensec >= 1000000000u))
			return -EINVAL;
		if (utimensat(ino->fd, "", ts, AT_EMPTY_PATH |
			      AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	return 0;
}

void op_setattr(struct vfs_req *r)
{
	const struct fuse_setattr_in *in = VFS_ARG(r, struct fuse_setattr_in);
	struct vfs_handle *h = NULL;
	struct vfs_inode *ino;
	struct stat st;
	int ret;

	ino = req_inode(r, false);
	if (!ino)
		return;
	if (in->valid & FATTR_FH) {
		h = vfs_handle_get(r->srv, in->fh, false);
		if (!h) {
			vfs_inode_put(r->srv, ino);
			return vfs_err(r, -EBADF);
		}
	}
	ret = do_setattr(r, ino, in, h);
	if (!ret && vfs_stat_fd(ino->fd, &st))
		ret = -errno;
	if (h)
		vfs_handle_put(r->srv, h);
	vfs_inode_put(r->srv, ino);
	if (ret)
		return vfs_err(r, ret);
	reply_attr(r, &st);
}

void op_readlink(struct vfs_req *r)
{
	struct vfs_inode *ino = req_inode(r, false);
	char buf[PATH_MAX];
	ssize_t n;

	if (!ino)
		return;
	n = ino->type == S_IFLNK ? readlinkat(ino->fd, "", buf, sizeof(buf)) :
				   (errno = EINVAL, -1);
	vfs_inode_put(r->srv, ino);
	if (n < 0)
		return vfs_err(r, -errno);
	if ((size_t)n > r->out_room)
		return vfs_err(r, -ERANGE);
	iov_write(&r->out, buf, (size_t)n);
	r->data_len = (size_t)n;
}

void op_statfs(struct vfs_req *r)
{
	struct vfs_inode *ino = req_inode(r, false);
	struct fuse_statfs_out o;
	struct statvfs sv;
	int ret;

	if (!ino)
		return;
	ret = fstatvfs(ino->fd, &sv) ? -errno : 0;
	vfs_inode_put(r->srv, ino);
	if (ret)
		return vfs_err(r, ret);
	memset(&o, 0, sizeof(o));
	o.st.blocks = sv.f_blocks;
	o.st.bfree = sv.f_bfree;
	o.st.bavail = sv.f_bavail;
	o.st.files = sv.f_files;
	o.st.ffree = sv.f_ffree;
	o.st.bsize = (uint32_t)sv.f_bsize;
	o.st.namelen = (uint32_t)sv.f_namemax;
	o.st.frsize = (uint32_t)sv.f_frsize;
	vfs_reply(r, &o, sizeof(o));
}

/* ---- creating entries ---- */

/* Reply with the entry just made as @name in @dir (nlookup + 1). */
static void reply_new_entry(struct vfs_req *r, struct vfs_inode *dir,
			    const char *name)
{
	struct fuse_entry_out e;
	int ret = vfs_do_lookup(r->srv, dir, name, &e);

	if (ret)
		return vfs_err(r, ret);
	vfs_reply(r, &e, sizeof(e));
}

/* The parent directory and a name to create at @off of the arguments. */
static struct vfs_inode *parent_and_name(struct vfs_req *r, size_t off,
					 const char **name, size_t *next)
{
	int ret;

	*name = vfs_arg_str(r, off, next);
	if (!*name) {
		vfs_err(r, -EINVAL);
		return NULL;
	}
	ret = vfs_check_name(*name, true);
	if (ret) {
		vfs_err(r, ret);
		return NULL;
	}
	return req_inode(r, true);
}

enum mk_kind { MK_DIR, MK_NOD, MK_SYMLINK };

static int do_make(struct vfs_req *r, struct vfs_inode *dir, const char *name,
		   enum mk_kind kind, mode_t mode, const char *target)
{
	struct vfs_creds c;
	int ret = vfs_creds_enter(r->srv, &r->h, &c);

	if (ret)
		return ret;
	switch (kind) {
	case MK_DIR:
		ret = mkdirat(dir->fd, name, mode);
		break;
	case MK_NOD:
		ret = mknodat(dir->fd, name, mode, 0);
		break;
	case MK_SYMLINK:
		ret = symlinkat(target, dir->fd, name);
		break;
	}
	ret = ret ? -errno : 0;
	vfs_creds_leave(r->srv, &c);
	return ret;
}

static void make_entry(struct vfs_req *r, size_t name_off, enum mk_kind kind,
		       mode_t mode)
{
	const char *name, *target = NULL;
	struct vfs_inode *dir;
	size_t next;
	int ret;

	dir = parent_and_name(r, name_off, &name, &next);
	if (!dir)
		return;
	if (kind == MK_SYMLINK) {
		/* The target is data: stored as given, never followed. */
		target = vfs_arg_str(r, next, NULL);
		if (!target || !*target) {
			vfs_inode_put(r->srv, dir);
			return vfs_err(r, -EINVAL);
		}
	}
	ret = do_make(r, dir, name, kind, mode, target);
	if (ret)
		vfs_err(r, ret);
	else
		reply_new_entry(r, dir, name);
	vfs_inode_put(r->srv, dir);
}

void op_mkdir(struct vfs_req *r)
{
	const struct fuse_mkdir_in *in = VFS_ARG(r, struct fuse_mkdir_in);

	make_entry(r, sizeof(*in), MK_DIR, in->mode & 07777);
}

void op_mknod(struct vfs_req *r)
{
	const struct fuse_mknod_in *in = VFS_ARG(r, struct fuse_mknod_in);
	mode_t type = in->mode & S_IFMT;

	/* No device nodes, no sockets: regular files and FIFOs only. */
	if (type != S_IFREG && type != S_IFIFO)
		return vfs_err(r, -EPERM);
	make_entry(r, sizeof(*in), MK_NOD, type | (in->mode & 07777));
}

void op_symlink(struct vfs_req *r)
{
	make_entry(r, 0, MK_SYMLINK, 0);
}

/* ---- removing and moving names ---- */

static void remove_entry(struct vfs_req *r, int flags)
{
	const char *name;
	struct vfs_inode *dir = parent_and_name(r, 0, &name, NULL);

	if (!dir)
		return;
	if (unlinkat(dir->fd, name, flags))
		vfs_err(r, -errno);
	vfs_inode_put(r->srv, dir);
}

void op_unlink(struct vfs_req *r)
{
	remove_entry(r, 0);
}

void op_rmdir(struct vfs_req *r)
{
	remove_entry(r, AT_REMOVEDIR);
}

static void do_rename(struct vfs_req *r, uint64_t newdir, uint32_t flags,
		      size_t off)
{
	const char *oldname, *newname;
	struct vfs_inode *odir, *ndir;
	size_t next;
	int ret;

	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return vfs_err(r, -EINVAL);
	odir = parent_and_name(r, off, &oldname, &next);
	if (!odir)
		return;
	newname = vfs_arg_str(r, next, NULL);
	ret = newname ? vfs_check_name(newname, true) : -EINVAL;
	ndir = ret ? NULL : vfs_inode_get(r->srv, newdir);
	if (!ret && !ndir)
		ret = -EBADF;
	else if (!ret && ndir->type != S_IFDIR)
		ret = -ENOTDIR;
	if (!ret && renameat2(odir->fd, oldname, ndir->fd, newname, flags))
		ret = -errno;
	vfs_inode_put(r->srv, ndir);
	vfs_inode_put(r->srv, odir);
	if (ret)
		vfs_err(r, ret);
}

void op_rename(struct vfs_req *r)
{
	const struct fuse_rename_in *in = VFS_ARG(r, struct fuse_rename_in);

	do_rename(r, in->newdir, 0, sizeof(*in));
}

void op_rename2(struct vfs_req *r)
{
	const struct fuse_rename2_in *in = VFS_ARG(r, struct fuse_rename2_in);

	do_rename(r, in->newdir, in->flags, sizeof(*in));
}

void op_link(struct vfs_req *r)
{
	const struct fuse_link_in *in = VFS_ARG(r, struct fuse_link_in);
	struct vfs_inode *dir, *old;
	const char *name;
	char proc[16];
	int ret = 0;

	dir = parent_and_name(r, sizeof(*in), &name, NULL);
	if (!dir)
		return;
	old = vfs_inode_get(r->srv, in->oldnodeid);
	if (!old)
		ret = -EBADF;
	else if (old->type == S_IFDIR)
		ret = -EPERM;
	if (!ret) {
		/* Through /proc: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH. */
		snprintf(proc, sizeof(proc), "%d", old->fd);
		if (linkat(r->srv->proc_fd, proc, dir->fd, name,
			   AT_SYMLINK_FOLLOW))
			ret = -errno;
	}
	if (ret)
		vfs_err(r, ret);
	else
		reply_new_entry(r, dir, name);
	vfs_inode_put(r->srv, old);
	vfs_inode_put(r->srv, dir);
}
