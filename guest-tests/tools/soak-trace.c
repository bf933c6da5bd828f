// SPDX-License-Identifier: MIT
/*
 * soak-trace: an LD_PRELOAD library for scripts/soak-boot.sh. It watches a
 * VMM's KVM_RUN calls and its MAP_FIXED mappings, so that a boot that
 * fails says where it was: which exits the vCPUs saw last, and when each
 * shared-memory mapping was placed relative to the first KVM_RUN. Works
 * with any dynamically linked VMM that calls ioctl() and mmap() through
 * libc (vmm, QEMU). Not a product part; not linked into anything.
 *
 * Environment: VMM_SOAK_TRACE, the file the report is written to when the
 * process exits, and at once when a vCPU sees a shutdown (triple fault),
 * a failed entry or an internal error.
 *
 * Report (times in ms from the first KVM_RUN, CLOCK_MONOTONIC):
 *   first_kvm_run_mono_ns N
 *   exits REASON=COUNT ...           every KVM_RUN return, by exit reason
 *   run_errors ERRNO=COUNT ...       KVM_RUN returning -1
 *   map T_MS ADDR LEN PROT fd|none   each mmap(MAP_FIXED) of a file or of
 *                                    PROT_NONE memory (shared memory map
 *                                    and unmap), the first 512
 *   last vcpuN T_MS REASON DETAIL    the last 64 returns of each vCPU
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_VCPUS	8
#define LAST		64
#define MAX_MAPS	512
#define MAX_REASONS	64

struct ev {
	uint64_t t;
	int32_t reason;		/* exit reason, or -errno of KVM_RUN */
	uint32_t a;		/* port, or low bits of the MMIO address */
	uint64_t b;		/* MMIO address / direction, size */
};

struct vcpu {
	int fd;
	struct kvm_run *run;
	unsigned int n;
	struct ev last[LAST];
};

struct map_ev {
	uint64_t t;
	uintptr_t addr;
	size_t len;
	int prot;
	int fd;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct vcpu vcpus[MAX_VCPUS];
static unsigned int nvcpus;
static uint64_t t0;
static uint64_t reasons[MAX_REASONS], errs[256];
static struct map_ev maps[MAX_MAPS];
static unsigned int nmaps;
static int dumped_bad;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double ms(uint64_t t)
{
	return t0 ? ((double)t - (double)t0) / 1e6 : (double)t / 1e6;
}

static struct vcpu *vcpu_of(int fd)
{
	for (unsigned int i = 0; i < nvcpus; i++)
		if (vcpus[i].fd == fd)
			return &vcpus[i];
	return NULL;
}

static const char *reason_name(int r)
{
	switch (r) {
	case KVM_EXIT_IO: return "io";
	case KVM_EXIT_MMIO: return "mmio";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_SHUTDOWN: return "shutdown";
	case KVM_EXIT_FAIL_ENTRY: return "fail_entry";
	case KVM_EXIT_INTERNAL_ERROR: return "internal_error";
	case KVM_EXIT_INTR: return "intr";
	case KVM_EXIT_SYSTEM_EVENT: return "system_event";
	case KVM_EXIT_UNKNOWN: return "unknown";
	default: return NULL;
	}
}

/* With the lock held. */
static void dump(const char *why)
{
	const char *path = getenv("VMM_SOAK_TRACE");
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "why %s\n", why);
	fprintf(f, "first_kvm_run_mono_ns %llu\n", (unsigned long long)t0);
	fprintf(f, "exits");
	for (int r = 0; r < MAX_REASONS; r++)
		if (reasons[r]) {
			const char *n = reason_name(r);

			if (n)
				fprintf(f, " %s=%llu", n, (unsigned long long)reasons[r]);
			else
				fprintf(f, " %d=%llu", r, (unsigned long long)reasons[r]);
		}
	fprintf(f, "\nrun_errors");
	for (int e = 0; e < 256; e++)
		if (errs[e])
			fprintf(f, " %s=%llu", strerrorname_np(e) ? strerrorname_np(e) : "?",
				(unsigned long long)errs[e]);
	fprintf(f, "\n");
	for (unsigned int i = 0; i < nmaps; i++)
		fprintf(f, "map %.3f 0x%lx 0x%zx %s %s\n", ms(maps[i].t),
			(unsigned long)maps[i].addr, maps[i].len,
			maps[i].prot == PROT_NONE ? "none" :
			maps[i].prot & PROT_WRITE ? "rw" : "ro",
			maps[i].fd >= 0 ? "fd" : "anon");
	for (unsigned int v = 0; v < nvcpus; v++) {
		struct vcpu *c = &vcpus[v];
		unsigned int first = c->n > LAST ? c->n - LAST : 0;

		for (unsigned int k = first; k < c->n; k++) {
			struct ev *e = &c->last[k % LAST];
			const char *n = e->reason >= 0 ? reason_name(e->reason) : NULL;

			fprintf(f, "last vcpu%u %.3f ", v, ms(e->t));
			if (e->reason < 0)
				fprintf(f, "KVM_RUN=-1 errno %d", -e->reason);
			else if (n)
				fprintf(f, "%s", n);
			else
				fprintf(f, "reason %d", e->reason);
			if (e->reason == KVM_EXIT_IO)
				fprintf(f, " port 0x%x %s size %llu", e->a,
					(e->b >> 8) ? "out" : "in",
					(unsigned long long)(e->b & 0xff));
			else if (e->reason == KVM_EXIT_MMIO)
				fprintf(f, " addr 0x%llx %s", (unsigned long long)e->b,
					e->a ? "write" : "read");
			fprintf(f, "\n");
		}
	}
	fclose(f);
}

static void after_run(struct vcpu *c, int ret, int err)
{
	struct ev e = { .t = now_ns() };
	const char *bad = NULL;

	if (ret < 0) {
		e.reason = -err;
		if (err > 0 && err < 256)
			errs[err]++;
	} else {
		e.reason = (int32_t)c->run->exit_reason;
		if (c->run->exit_reason < MAX_REASONS)
			reasons[c->run->exit_reason]++;
		if (e.reason == KVM_EXIT_IO) {
			e.a = c->run->io.port;
			e.b = (uint64_t)c->run->io.direction << 8 | c->run->io.size;
		} else if (e.reason == KVM_EXIT_MMIO) {
			e.a = c->run->mmio.is_write;
			e.b = c->run->mmio.phys_addr;
		} else if (e.reason == KVM_EXIT_SHUTDOWN) {
			bad = "shutdown";
		} else if (e.reason == KVM_EXIT_FAIL_ENTRY) {
			bad = "fail_entry";
		} else if (e.reason == KVM_EXIT_INTERNAL_ERROR) {
			bad = "internal_error";
		}
	}
	c->last[c->n++ % LAST] = e;
	if (bad && !dumped_bad) {
		dumped_bad = 1;
		dump(bad);
	}
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	struct vcpu *c = NULL;
	va_list ap;
	void *arg;
	int ret, err;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (req == KVM_RUN) {
		pthread_mutex_lock(&lock);
		if (!t0)
			t0 = now_ns();
		c = vcpu_of(fd);
		pthread_mutex_unlock(&lock);
	}
	ret = real(fd, req, arg);
	err = errno;
	if (req == KVM_CREATE_VCPU && ret >= 0) {
		pthread_mutex_lock(&lock);
		if (nvcpus < MAX_VCPUS)
			vcpus[nvcpus++] = (struct vcpu){ .fd = ret };
		pthread_mutex_unlock(&lock);
	} else if (c && c->run) {
		pthread_mutex_lock(&lock);
		after_run(c, ret, err);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
/* glibc's mmap64 is mmap on 64-bit; QEMU links to that name. */
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
	if (p == MAP_FAILED)
		return p;
	pthread_mutex_lock(&lock);
	if (fd >= 0 && vcpu_of(fd) && !vcpu_of(fd)->run) {
		vcpu_of(fd)->run = p;
	} else if ((flags & MAP_FIXED) && (fd >= 0 || prot == PROT_NONE) &&
		   nmaps < MAX_MAPS) {
		maps[nmaps++] = (struct map_ev){ now_ns(), (uintptr_t)p, len,
						 prot, fd };
	}
	pthread_mutex_unlock(&lock);
	return p;
}

__attribute__((destructor)) static void at_exit(void)
{
	pthread_mutex_lock(&lock);
	if (t0 || nmaps)
		dump(dumped_bad ? "exit after a bad exit" : "exit");
	pthread_mutex_unlock(&lock);
}
