/* SPDX-License-Identifier: MIT */
/*
 * Threads the project starts (vCPUs, console input, vhost-user service
 * threads) get a small stack instead of glibc's default of 8 MiB. They use
 * a few KiB; but where the host sets transparent huge pages to "always",
 * the first touch of a stack page in a 2 MiB-aligned part of that 8 MiB
 * mapping costs a whole 2 MiB page, more than all of vmm's other memory. A
 * stack under 2 MiB never gets one.
 */
#ifndef COMMON_THREAD_H
#define COMMON_THREAD_H

#include <pthread.h>

#define THREAD_STACK_SIZE	(256u << 10)

/* pthread_create() with that stack size; 0 or a positive errno. */
static inline int thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return ret;
	ret = pthread_attr_setstacksize(&attr, THREAD_STACK_SIZE);
	if (!ret)
		ret = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return ret;
}

#endif /* COMMON_THREAD_H */
