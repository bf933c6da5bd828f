// SPDX-License-Identifier: MIT
/* hungfs: a FUSE file system that hangs on demand (hungfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "hungfs.h"

#define FILE_INO	2
#define BUF_SIZE	(1 << 20)	/* >= what the kernel may write at once */

struct hungfs {
	char dir[256];
	uint64_t size;
	int dev;			/* /dev/fuse, non-blocking */
	int stop;			/* eventfd */
	atomic_bool hang;
	pthread_t thread;
	uint8_t *buf;
};

static void attr(const struct hungfs *fs, uint64_t ino, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0666;
		a->size = fs->size;
		a->blocks = (fs->size + 511) / 512;
	}
}

static void reply(struct hungfs *fs, uint64_t unique, int error,
		  const void *payload, size_t len)
{
	struct fuse_out_header h = {
		.len = (uint32_t)(sizeof(h) + (error ? 0 : len)),
		.error = error,
		.unique = unique,
	};
	uint8_t out[sizeof(h) + 256];

	memcpy(out, &h, sizeof(h));
	if (!error && len)
		memcpy(out + sizeof(h), payload, len);
	if (write(fs->dev, out, h.len) < 0) {
		/* the request was interrupted: nothing to answer */
	}
}

/*
 * Attributes and entries are valid for 0 s: the kernel asks again for
 * every stat(), which is what a hung daemon turns into a hang.
 */
static void serve(struct hungfs *fs, const struct fuse_in_header *in,
		  const void *arg)
{
	switch (in->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *i = arg;
		struct fuse_init_out o = {
			.major = FUSE_KERNEL_VERSION,
			.minor = i->minor < FUSE_KERNEL_MINOR_VERSION ?
				 i->minor : FUSE_KERNEL_MINOR_VERSION,
			.max_readahead = i->max_readahead,
			.max_write = 65536,
			.max_background = 16,
			.congestion_threshold = 12,
		};

		reply(fs, in->unique, 0, &o, sizeof(o));
		return;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out e = { .nodeid = FILE_INO };

		if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, "f")) {
			reply(fs, in->unique, -ENOENT, NULL, 0);
			return;
		}
		attr(fs, FILE_INO, &e.attr);
		reply(fs, in->unique, 0, &e, sizeof(e));
		return;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out a = { 0 };

		attr(fs, in->nodeid, &a.attr);
		reply(fs, in->unique, 0, &a, sizeof(a));
		return;
	}
	case FUSE_OPEN: {
		struct fuse_open_out o = { .fh = 1 };

		reply(fs, in->unique, 0, &o, sizeof(o));
		return;
	}
	case FUSE_FLUSH:
	case FUSE_RELEASE:
		reply(fs, in->unique, 0, NULL, 0);
		return;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
		return;		/* no reply */
	default:
		reply(fs, in->unique, -ENOSYS, NULL, 0);
	}
}

static void *hungfs_main(void *arg)
{
	struct hungfs *fs = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fs->dev, .events = POLLIN },
			{ .fd = fs->stop, .events = POLLIN },
		};
		const struct fuse_in_header *in;
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents)
			return NULL;
		n = read(fs->dev, fs->buf, BUF_SIZE);
		if (n < 0 && (errno == EAGAIN || errno == EINTR ||
			      errno == ENOENT))
			continue;
		if (n < (ssize_t)sizeof(*in))
			return NULL;	/* ENODEV: unmounted */
		in = (const struct fuse_in_header *)fs->buf;
		if (atomic_load(&fs->hang))
			continue;	/* read, never answered */
		serve(fs, in, fs->buf + sizeof(*in));
	}
}

int hungfs_mount(const char *dir, uint64_t file_size, struct hungfs **out,
		 char *why, size_t whylen)
{
	struct hungfs *fs = calloc(1, sizeof(*fs));
	char opts[128];
	int ret;

	if (!fs)
		return -ENOMEM;
	snprintf(fs->dir, sizeof(fs->dir), "%s", dir);
	fs->size = file_size;
	fs->buf = malloc(BUF_SIZE);
	fs->dev = open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	fs->stop = eventfd(0, EFD_CLOEXEC);
	if (!fs->buf || fs->dev < 0 || fs->stop < 0) {
		ret = -errno;
		snprintf(why, whylen, "/dev/fuse: %s", strerror(errno));
		goto fail;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other",
		 fs->dev);
	if (mount("hungfs", dir, "fuse.hungfs", MS_NOSUID | MS_NODEV,
		  opts)) {
		ret = -errno;
		snprintf(why, whylen, "mount fuse at %s: %s", dir,
			 strerror(errno));
		goto fail;
	}
	ret = -pthread_create(&fs->thread, NULL, hungfs_main, fs);
	if (ret) {
		umount2(dir, MNT_DETACH);
		snprintf(why, whylen, "thread: %s", strerror(-ret));
		goto fail;
	}
	*out = fs;
	return 0;
fail:
	if (fs->dev >= 0)
		close(fs->dev);
	if (fs->stop >= 0)
		close(fs->stop);
	free(fs->buf);
	free(fs);
	return ret;
}

int hungfs_open(struct hungfs *fs)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/f", fs->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void hungfs_hang(struct hungfs *fs)
{
	atomic_store(&fs->hang, true);
}

void hungfs_destroy(struct hungfs *fs)
{
	uint64_t one = 1;

	if (!fs)
		return;
	umount2(fs->dir, MNT_DETACH);
	if (write(fs->stop, &one, sizeof(one)) < 0) {
		/* cannot fail: a fresh eventfd */
	}
	pthread_join(fs->thread, NULL);
	/* The last reference: the kernel aborts the connection. */
	close(fs->dev);
	close(fs->stop);
	free(fs->buf);
	free(fs);
}
