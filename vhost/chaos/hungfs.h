/* SPDX-License-Identifier: MIT */
/*
 * hungfs: a FUSE file system served from a thread of the calling process,
 * for tests. It holds one regular file, "f", of the size given. It answers
 * until hungfs_hang(); from then on it reads every request and answers
 * none, like a FUSE daemon that hangs: a GETATTR, READ or STATFS on it
 * then waits for ever (the kernel lets only a fatal signal end that wait).
 *
 * Needs root (mount) and /dev/fuse. Not part of any product.
 */
#ifndef VHOST_CHAOS_HUNGFS_H
#define VHOST_CHAOS_HUNGFS_H

#include <stddef.h>
#include <stdint.h>

struct hungfs;

/*
 * Mount at @dir (an existing empty directory). 0 and *out, or -errno with
 * the reason in @why.
 */
int hungfs_mount(const char *dir, uint64_t file_size, struct hungfs **out,
		 char *why, size_t whylen);
/* Open the file read-write (O_CLOEXEC): an fd, or -errno. */
int hungfs_open(struct hungfs *fs);
/* Stop answering. */
void hungfs_hang(struct hungfs *fs);
/*
 * Unmount (lazily) and close /dev/fuse, which ends every request still
 * waiting with an error; then join the thread.
 */
void hungfs_destroy(struct hungfs *fs);

#endif
