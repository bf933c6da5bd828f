/* SPDX-License-Identifier: MIT */
/*
 * Linked into every executable of the ThreadSanitizer build
 * (scripts/test-tsan.sh), for Criterion's sake; not part of any product.
 *
 * Criterion's sandbox (BoxFort) places a shared arena at a random address
 * between 0x200000000000 and 0x600000000000, found free with mincore(),
 * mapped with mmap(MAP_FIXED). ThreadSanitizer reserves almost all of that
 * range for its shadow and refuses mappings outside the ranges it lets a
 * program use, so every test program aborts with "Could not initialize
 * inheritable arena". These two wrappers move such a request into the one
 * program range inside that window (above where the kernel puts PIE
 * binaries), so the arena lands where ThreadSanitizer allows it. Every
 * other call goes to the real function untouched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARENA_LO	0x200000000000ull	/* BoxFort's window */
#define ARENA_HI	0x600000000000ull
#define APP_LO		0x550000000000ull	/* ThreadSanitizer's mid range */
#define APP_HI		0x568000000000ull
#define MOVED_LO	0x566000000000ull	/* above any PIE base */
#define SLOT		(1ull << 24)

static int in_window_not_app(uintptr_t a)
{
	return a >= ARENA_LO && a < ARENA_HI && !(a >= APP_LO && a < APP_HI);
}

/* Reserved by ThreadSanitizer, so "in use": say it is free; mmap64 moves it. */
int mincore(void *addr, size_t len, unsigned char *vec)
{
	if (in_window_not_app((uintptr_t)addr)) {
		errno = ENOMEM;
		return -1;
	}
	return (int)syscall(SYS_mincore, addr, len, vec);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	uintptr_t a = (uintptr_t)addr;

	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))
			dlsym(RTLD_NEXT, "mmap64");
	if (!(flags & MAP_FIXED) || !in_window_not_app(a))
		return real(addr, len, prot, flags, fd, off);
	/* The same slot for the same request, the next one if taken. */
	for (uintptr_t i = 0; i < 64; i++) {
		uintptr_t slot = (a - ARENA_LO) / SLOT + i;
		uintptr_t to = MOVED_LO + (slot % ((APP_HI - MOVED_LO) / SLOT)) * SLOT;
		void *p;

		if (to + len > APP_HI)
			continue;
		p = real((void *)to, len, prot,
			 (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE, fd, off);
		if (p != MAP_FAILED || errno != EEXIST)
			return p;
	}
	errno = ENOMEM;
	return MAP_FAILED;
}
