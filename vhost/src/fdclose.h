/* SPDX-License-Identifier: MIT */
/*
 * Closing an fd that a back-end sent, without ever waiting for it.
 *
 * close() of a regular file on FUSE sends FLUSH to the file system's daemon
 * and waits for its answer, uninterruptibly, and so does every close of
 * every copy of that fd, the process's exit included. A back-end that
 * passes an fd on a FUSE mount whose daemon it makes hang would hang
 * whichever thread of ours closes it, and then our exit. So an fd on a file
 * system that another process serves (the same test shmem_map() makes) is
 * closed by a throwaway child process that shares our fd table and address
 * space: the fd leaves the table at once, the child alone waits for the
 * FLUSH, and our process never does, not even when it exits. A child that
 * finished is reaped on the next call and by vhost_fd_reaper_destroy();
 * one that still waits is left to the system (init reaps it once the
 * daemon answers or dies); it holds only what is left of the shared table
 * and address space by then.
 */
#ifndef VHOST_FDCLOSE_H
#define VHOST_FDCLOSE_H

#include <pthread.h>
#include <sys/types.h>

#define VHOST_FD_REAPERS	16

struct vhost_fd_reaper {
	pthread_mutex_t lock;
	unsigned int n;
	struct {
		pid_t pid;
		void *stack;
	} child[VHOST_FD_REAPERS];
	unsigned long stuck;	/* children given up on (still waiting) */
};

void vhost_fd_reaper_init(struct vhost_fd_reaper *r);
/* Reap the children that finished; leave the others be. */
void vhost_fd_reaper_destroy(struct vhost_fd_reaper *r);

/*
 * Close @fd, a back-end's (process @peer, 0: unknown, whose mount table
 * tells its files' file systems); never waits on another process.
 */
void vhost_fd_close(struct vhost_fd_reaper *r, int fd, pid_t peer);

#endif
