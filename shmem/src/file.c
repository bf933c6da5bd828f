/* SPDX-License-Identifier: MIT */
/*
 * What a back-end's fd is: its type, size and seals, and whether the file
 * system behind it could make the VMM wait for another process.
 *
 * Nothing here may wait for another process: a FUSE daemon or an NFS
 * server that never answers would hang the thread that asks (and fstat(),
 * fstatfs() and a page fault all ask). So the attributes come from statx()
 * with AT_STATX_DONT_SYNC (the kernel's cached copy), the file system from
 * the mount id in /proc/self/mountinfo, and a file on a file system that
 * another process serves is refused before anything maps it: a guest
 * access to its pages would fault into that process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/page.h"
#include "region.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID	0x00001000U
#endif

#define ULL(x)	((unsigned long long)(x))

/*
 * File systems whose pages come from this kernel alone (memory or a local
 * block device). Anything else (fuse, nfs, cifs, 9p, ceph, overlay, which
 * may sit on any of them, ...) is refused for regular files.
 */
static const char *const local_fs[] = {
	"tmpfs", "hugetlbfs", "ramfs", "devtmpfs", "ext2", "ext3", "ext4",
	"xfs", "btrfs", "f2fs", "vfat", "msdos", "exfat", "ntfs3", "jfs",
	"reiserfs", "nilfs2", "udf", "iso9660", "squashfs", "erofs",
	"bcachefs", "zonefs",
};

static bool is_local(const char *type)
{
	for (size_t i = 0; i < sizeof(local_fs) / sizeof(local_fs[0]); i++)
		if (!strcmp(type, local_fs[i]))
			return true;
	return false;
}

/* The mount id from /proc/self/fdinfo (kernels without STATX_MNT_ID). */
static int fdinfo_mnt_id(int fd, uint64_t *id)
{
	char path[64], line[128];
	unsigned long long v;
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "mnt_id: %llu", &v) == 1) {
			*id = v;
			ret = 0;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * The file system type of mount @id in the mount namespace of @pid (0:
 * this process), into @type; -ENOENT when the mount is not in it (another
 * namespace, or one of the kernel's internal mounts). Mount ids are unique
 * on the machine while the mount lives (an fd holds it), so a table that
 * lists @id describes that very mount.
 */
static int mount_type(uint64_t id, pid_t pid, char *type, size_t len)
{
	char path[40];
	size_t cap = 0;
	FILE *f;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/mountinfo");
	f = fopen(path, "re");
	char *line = NULL;
	int ret = -ENOENT;

	if (!f)
		return pid > 0 && errno == ENOENT ? -ESRCH : -errno;
	while (getline(&line, &cap, f) > 0) {
		unsigned long long mid;
		char *sep, fstype[64];

		if (sscanf(line, "%llu", &mid) != 1 || mid != id)
			continue;
		/* "... optional fields - fstype source options" */
		sep = strstr(line, " - ");
		if (sep && sscanf(sep + 3, "%63s", fstype) == 1) {
			snprintf(type, len, "%s", fstype);
			ret = 0;
		}
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

/*
 * A regular file that is not tmpfs or hugetlbfs: on which file system?
 * Looked up in our mount table, then in @peer's (a back-end that set up
 * a mount namespace of its own, as a sandbox does).
 */
static int check_fs(int fd, const struct statx *sx, pid_t peer,
		    struct shm_why *w)
{
	uint64_t id = sx->stx_mnt_id;
	char type[64];
	int ret = 0;

	if (!(sx->stx_mask & STATX_MNT_ID))
		ret = fdinfo_mnt_id(fd, &id);
	if (!ret)
		ret = mount_type(id, 0, type, sizeof(type));
	if (ret == -ENOENT && peer > 0)
		ret = mount_type(id, peer, type, sizeof(type));
	if (ret == -ENOENT || ret == -ESRCH)
		return shm_fail(w, -EREMOTE,
				"fd %d is a file on mount %llu, which is in neither this process's mount namespace nor the back-end's%s: its file system cannot be told",
				fd, ULL(id), peer > 0 ? "" : " (unknown)");
	if (ret)
		return shm_fail(w, -EREMOTE,
				"fd %d: cannot tell its file system: %s", fd,
				strerror(-ret));
	if (!is_local(type))
		return shm_fail(w, -EREMOTE,
				"fd %d is a file on a %s file system (mount %llu), which another process serves; a guest access could wait on it for ever",
				fd, type, ULL(id));
	return 0;
}

static uint64_t round_up_page(uint64_t v)
{
	uint64_t page = host_page_size();

	return (v + page - 1) / page * page;
}

int shm_file_check(int fd, uint64_t fd_offset, uint64_t len, pid_t peer,
		   struct shm_file *f, struct shm_why *w)
{
	struct statx sx;
	int err;

	if (fd < 0)
		return shm_fail(w, -EINVAL, "negative fd %d", fd);
	/* The cached attributes: no FUSE GETATTR, no NFS round trip. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MNT_ID, &sx)) {
		err = -errno;
		return shm_fail(w, err, "fd %d is not an open file: %s", fd,
				strerror(-err));
	}
	f->mode = sx.stx_mode;
	f->size = sx.stx_size;
	f->seals = -1;
	f->plain_shmem = false;
	if (S_ISDIR(f->mode) || S_ISFIFO(f->mode) || S_ISSOCK(f->mode))
		return shm_fail(w, -ENODEV, "fd %d (mode 0%o) cannot be mapped",
				fd, (unsigned int)f->mode);
	/* A device: its driver, not a file system, serves the pages. */
	if (!S_ISREG(f->mode))
		return 0;
	/*
	 * The last page of a file is mappable whole (its bytes past the end
	 * read as zeros); a page wholly past the end would fault.
	 */
	if (fd_offset + len > round_up_page(f->size))
		return shm_fail(w, -ERANGE,
				"fd_offset 0x%llx + len 0x%llx is beyond the end of fd %d (size 0x%llx)",
				ULL(fd_offset), ULL(len), fd, ULL(f->size));
	/* Seals exist on tmpfs and hugetlbfs files only: this kernel's memory. */
	f->seals = fcntl(fd, F_GET_SEALS);
	if (f->seals >= 0) {
		/* hugetlbfs has huge blocks; its mmap() may fail late. */
		f->plain_shmem = sx.stx_blksize == (uint32_t)sysconf(_SC_PAGESIZE);
		return 0;
	}
	return check_fs(fd, &sx, peer, w);
}

int shmem_check_fd(int fd, uint64_t fd_offset, uint64_t len, pid_t peer,
		   char *why, size_t whylen)
{
	struct shm_why w = { why, whylen };
	struct shm_file f;

	if (fd_offset + len < fd_offset)
		return shm_fail(&w, -EOVERFLOW,
				"fd_offset 0x%llx + len 0x%llx overflows",
				ULL(fd_offset), ULL(len));
	return shm_file_check(fd, fd_offset, len, peer, &f, &w);
}
