/* SPDX-License-Identifier: MIT */
/*
 * Threads the project starts (vCPUs, console input, vhost-user service
 * threads) get a small stack instead of glibc's default of 8 MiB. They use
 * a few KiB; but where the host sets transparent huge pages to "always",
 * the first touch of a stack page in a 2 MiB-aligned part of that 8 MiB
 * mapping costs a whole 2 MiB page, more than all of vmm's other memory. A
 * stack under 2 MiB never gets one.
 *
 * They also start with SIGPIPE blocked: they write to consoles, sockets and
 * pipes that the other end may close, and a library must not kill the
 * program that embeds it for that (the write fails with EPIPE instead).
 */
#ifndef COMMON_THREAD_H
#define COMMON_THREAD_H

#include <pthread.h>
#include <signal.h>

#define THREAD_STACK_SIZE	(256u << 10)

/*
 * pthread_create() with that stack size and SIGPIPE blocked in the new
 * thread (the caller's mask is left as it was); 0 or a positive errno.
 */
static inline int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t pipe, old;
	pthread_attr_t attr;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return ret;
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	/* A new thread inherits the creator's mask. */
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	ret = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (!ret)
		ret = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

/*
 * After a write failed with EPIPE on a thread started by thread_start():
 * the SIGPIPE the kernel queued for it is taken off, so none stays pending.
 */
static inline void thread_drop_sigpipe(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	while (sigtimedwait(&pipe, NULL, &zero) > 0)
		;
}

#endif /* COMMON_THREAD_H */
