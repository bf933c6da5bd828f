/* SPDX-License-Identifier: MIT */
/* Closing a back-end's fd without waiting for it (fdclose.h). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmem/shmem.h"

#include "fdclose.h"

#define REAPER_STACK	(64u << 10)

void vhost_fd_reaper_init(struct vhost_fd_reaper *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

/* With the lock held: reap the children that are done. */
static void reap_done(struct vhost_fd_reaper *r)
{
	unsigned int i = 0;

	while (i < r->n) {
		if (waitpid(r->child[i].pid, NULL, __WALL | WNOHANG) !=
		    r->child[i].pid) {
			i++;
			continue;
		}
		munmap(r->child[i].stack, REAPER_STACK);
		r->child[i] = r->child[--r->n];
	}
}

void vhost_fd_reaper_destroy(struct vhost_fd_reaper *r)
{
	pthread_mutex_lock(&r->lock);
	reap_done(r);
	/* The rest wait on a FUSE daemon: init reaps them after our exit. */
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_destroy(&r->lock);
}

/*
 * The child shares our thread-local storage too: it makes raw system
 * calls only (no errno, no libc state) and is not instrumented.
 */
__attribute__((no_sanitize("address", "undefined")))
static int reaper_main(void *arg)
{
	syscall(SYS_close, (long)(intptr_t)arg);
	return 0;
}

/* Can closing @fd wait on another process? Only a file that is not local. */
static bool close_may_wait(int fd, pid_t peer)
{
	return shmem_check_fd(fd, 0, 0, peer, NULL, 0) == -EREMOTE;
}

void vhost_fd_close(struct vhost_fd_reaper *r, int fd, pid_t peer)
{
	void *stack;
	pid_t pid;

	if (fd < 0)
		return;
	if (!close_may_wait(fd, peer)) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&r->lock);
	reap_done(r);
	if (r->n == VHOST_FD_REAPERS) {
		/* Every slot waits on a daemon: forget the oldest. */
		r->stuck++;
		r->child[0] = r->child[--r->n];
	}
	stack = mmap(NULL, REAPER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pid = stack == MAP_FAILED ? -1 :
	      clone(reaper_main, (char *)stack + REAPER_STACK,
		    CLONE_VM | CLONE_FILES | CLONE_FS, (void *)(intptr_t)fd);
	if (pid > 0) {
		r->child[r->n].pid = pid;
		r->child[r->n++].stack = stack;
	}
	pthread_mutex_unlock(&r->lock);
	if (pid > 0)
		return;
	/* No child: leak the fd rather than hang on it. */
	if (stack != MAP_FAILED)
		munmap(stack, REAPER_STACK);
}
