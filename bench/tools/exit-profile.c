// SPDX-License-Identifier: MIT
/*
 * exit-profile: an LD_PRELOAD library that counts a VMM's KVM exits by
 * kind and times them, to see where a guest's boot goes (docs/benchmarks.md,
 * "Where the boot time goes").  Works with any dynamically linked VMM that
 * calls ioctl() and mmap() through libc.  Single vCPU only: it profiles
 * the first vCPU and ignores the others.
 *
 * Environment:
 *   VMM_EXIT_PROFILE   file the report is written to when the VMM exits
 *                      (required)
 *
 * Report: one line per exit kind (I/O port and direction, MMIO page, HLT,
 * other reasons), busiest first, with the count, the time the vCPU spent
 * in KVM_RUN before such exits (guest time plus in-kernel exit handling)
 * and the time the VMM took before the next KVM_RUN (user-space handling).
 * Then a timeline of 1 s buckets: exits, time in KVM_RUN, time outside.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define MAX_KINDS	256
#define MAX_SECONDS	600

struct kind {
	uint32_t reason;
	uint32_t key;		/* port | dir << 16, MMIO page, or 0 */
	uint64_t count;
	uint64_t run_ns;
	uint64_t user_ns;
};

struct bucket {
	uint64_t exits;
	uint64_t run_ns;
	uint64_t user_ns;
};

struct profile {
	int vcpu_fd;
	struct kvm_run *run;
	uint64_t t0;		/* first KVM_RUN */
	uint64_t last_exit;	/* when the last KVM_RUN returned */
	struct kind *last;	/* kind of the last exit */
	unsigned int nkinds;
	struct kind kinds[MAX_KINDS];
	struct bucket buckets[MAX_SECONDS];
};

static struct profile prof = { .vcpu_fd = -1 };

static struct kind *kind_of(const struct kvm_run *run)
{
	uint32_t key = 0;
	unsigned int i;

	if (run->exit_reason == KVM_EXIT_IO)
		key = run->io.port | (uint32_t)run->io.direction << 16;
	else if (run->exit_reason == KVM_EXIT_MMIO)
		key = (uint32_t)(run->mmio.phys_addr >> 12);
	for (i = 0; i < prof.nkinds; i++)
		if (prof.kinds[i].reason == run->exit_reason &&
		    prof.kinds[i].key == key)
			return &prof.kinds[i];
	if (prof.nkinds == MAX_KINDS)
		return NULL;
	prof.kinds[i].reason = run->exit_reason;
	prof.kinds[i].key = key;
	prof.nkinds++;
	return &prof.kinds[i];
}

static struct bucket *bucket_at(uint64_t t)
{
	uint64_t s = (t - prof.t0) / 1000000000ULL;

	return s < MAX_SECONDS ? &prof.buckets[s] : NULL;
}

static void before_run(void)
{
	uint64_t t = clock_now_ns();
	struct bucket *b;

	if (!prof.t0)
		prof.t0 = t;
	if (!prof.last_exit)
		return;
	if (prof.last)
		prof.last->user_ns += t - prof.last_exit;
	b = bucket_at(t);
	if (b)
		b->user_ns += t - prof.last_exit;
}

static void after_run(uint64_t entered)
{
	uint64_t t = clock_now_ns();
	struct bucket *b = bucket_at(t);
	struct kind *k = kind_of(prof.run);

	if (k) {
		k->count++;
		k->run_ns += t - entered;
	}
	if (b) {
		b->exits++;
		b->run_ns += t - entered;
	}
	prof.last = k;
	prof.last_exit = t;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;
	uint64_t entered;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (req != KVM_RUN || fd != prof.vcpu_fd || !prof.run) {
		ret = real(fd, req, arg);
		if (req == KVM_CREATE_VCPU && ret >= 0 && prof.vcpu_fd < 0)
			prof.vcpu_fd = ret;
		return ret;
	}
	before_run();
	entered = clock_now_ns();
	ret = real(fd, req, arg);
	after_run(entered);
	return ret;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* glibc's mmap64 is mmap on 64-bit; QEMU and kvmtool link to that name. */
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	void *p;

	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))
			dlsym(RTLD_NEXT, "mmap");
	p = real(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && fd >= 0 && fd == prof.vcpu_fd && !prof.run)
		prof.run = p;
	return p;
}

static int by_total(const void *a, const void *b)
{
	const struct kind *x = a, *y = b;
	uint64_t tx = x->run_ns + x->user_ns, ty = y->run_ns + y->user_ns;

	return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static void describe(const struct kind *k, char *buf, size_t len)
{
	switch (k->reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "io %s 0x%x", k->key >> 16 ? "out" : "in",
			 k->key & 0xffff);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "mmio page 0x%llx",
			 (unsigned long long)k->key << 12);
		break;
	case KVM_EXIT_HLT:
		snprintf(buf, len, "hlt");
		break;
	default:
		snprintf(buf, len, "exit reason %u", k->reason);
		break;
	}
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("VMM_EXIT_PROFILE");
	uint64_t exits = 0, run = 0, user = 0;
	char what[64];
	unsigned int i;
	FILE *f;

	if (!path || !prof.t0)
		return;
	f = fopen(path, "w");
	if (!f)
		return;
	qsort(prof.kinds, prof.nkinds, sizeof(prof.kinds[0]), by_total);
	for (i = 0; i < prof.nkinds; i++) {
		exits += prof.kinds[i].count;
		run += prof.kinds[i].run_ns;
		user += prof.kinds[i].user_ns;
	}
	fprintf(f, "total: %llu exits, %.3f s in KVM_RUN, %.3f s in the VMM between runs, %.3f s since the first KVM_RUN\n",
		(unsigned long long)exits, run / 1e9, user / 1e9,
		(clock_now_ns() - prof.t0) / 1e9);
	fprintf(f, "%-24s %10s %12s %12s %10s\n", "kind", "count",
		"in run (ms)", "in VMM (ms)", "VMM us/exit");
	for (i = 0; i < prof.nkinds; i++) {
		const struct kind *k = &prof.kinds[i];

		describe(k, what, sizeof(what));
		fprintf(f, "%-24s %10llu %12.1f %12.1f %10.1f\n", what,
			(unsigned long long)k->count, k->run_ns / 1e6,
			k->user_ns / 1e6, k->user_ns / 1e3 / (double)k->count);
	}
	fprintf(f, "%-8s %10s %12s %12s\n", "second", "exits", "in run (ms)",
		"in VMM (ms)");
	for (i = 0; i < MAX_SECONDS; i++) {
		const struct bucket *b = &prof.buckets[i];

		if (b->exits)
			fprintf(f, "%-8u %10llu %12.1f %12.1f\n", i,
				(unsigned long long)b->exits, b->run_ns / 1e6,
				b->user_ns / 1e6);
	}
	fclose(f);
}
