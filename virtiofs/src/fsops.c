/* SPDX-License-Identifier: MIT */
/*
 * Host-side primitives: opening one name beneath a directory fd, reopening
 * an O_PATH fd, and the caller's credentials for creating entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server_priv.h"

int vfs_openat(struct virtiofs_server *srv, int dirfd, const char *name,
	       int flags, mode_t mode)
{
	int fd;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (srv->has_openat2) {
		struct open_how how = {
			.flags = (uint64_t)flags,
			.mode = (flags & O_CREAT) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
				   RESOLVE_NO_SYMLINKS,
		};

		fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	} else {
		fd = openat(dirfd, name, flags, mode);
	}
	return fd < 0 ? -errno : fd;
}

/* Open the file an O_PATH fd names, through /proc/self/fd. */
int vfs_reopen(struct virtiofs_server *srv, int fd, int flags)
{
	char name[16];
	int nfd;

	snprintf(name, sizeof(name), "%d", fd);
	nfd = openat(srv->proc_fd, name, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

int vfs_stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

/*
 * Per-thread effective ids (raw syscalls: glibc's wrappers would change
 * every thread). Supplementary groups were dropped at start-up.
 */
int vfs_creds_enter(struct virtiofs_server *srv, const struct fuse_in_header *h,
		    struct vfs_creds *c)
{
	c->changed = false;
	if (!srv->cfg.creds || (h->uid == 0 && h->gid == 0))
		return 0;
	if (h->uid == (uint32_t)-1 || h->gid == (uint32_t)-1)
		return -EINVAL;
	if (syscall(SYS_setresgid, -1, h->gid, -1))
		return -errno;
	if (syscall(SYS_setresuid, -1, h->uid, -1)) {
		int err = -errno;

		if (syscall(SYS_setresgid, -1, 0, -1))
			vfs_log(srv, VIRTIOFS_LOG_ERROR, "cannot restore gid 0");
		return err;
	}
	c->changed = true;
	return 0;
}

void vfs_creds_leave(struct virtiofs_server *srv, struct vfs_creds *c)
{
	if (!c->changed)
		return;
	if (syscall(SYS_setresuid, -1, 0, -1) ||
	    syscall(SYS_setresgid, -1, 0, -1))
		vfs_log(srv, VIRTIOFS_LOG_ERROR,
			"cannot restore uid/gid 0: %s", strerror(errno));
	c->changed = false;
}
