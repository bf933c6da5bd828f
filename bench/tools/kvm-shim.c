// SPDX-License-Identifier: MIT
/*
 * kvm-shim: an LD_PRELOAD library that watches a VMM's KVM ioctls, for the
 * benchmarks only (docs/benchmarks.md).  It works with any dynamically
 * linked VMM that calls ioctl() through libc (vmm, QEMU, kvmtool).
 *
 * Environment:
 *   VMM_BENCH_SHIM_LOG   file the shim appends its lines to (required)
 *   VMM_BENCH_T0_NS      CLOCK_MONOTONIC time (ns) taken by bench-exec just
 *                        before execve(); the first KVM_RUN is reported
 *                        relative to it
 *   VMM_BENCH_EXIT_AT_RUN=1  _exit(VMM_BENCH_SHIM_EXIT) at the first KVM_RUN,
 *                        before the ioctl is issued
 *   VMM_BENCH_SHIM_TRACE=1  also log when the shim was loaded and when the
 *                        steps of building a VM were asked for (the start-up
 *                        profile)
 *
 * Lines written:
 *   memslot SLOT GPA SIZE HVA       each KVM_SET_USER_MEMORY_REGION(2)
 *   first_kvm_run_ns NS             time from VMM_BENCH_T0_NS to the first
 *                                   KVM_RUN call (any vCPU)
 *   trace NAME NS                   with VMM_BENCH_SHIM_TRACE=1: time from
 *                                   VMM_BENCH_T0_NS to "loaded" (the shim's
 *                                   constructor: the dynamic loader is done)
 *                                   and to each KVM_CREATE_VM,
 *                                   KVM_SET_USER_MEMORY_REGION,
 *                                   KVM_CREATE_VCPU, KVM_SET_REGS call
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define VMM_BENCH_SHIM_EXIT 99

typedef int (*ioctl_fn)(int, unsigned long, ...);

static atomic_int seen_run;

/* One line to the log, with a single write() so threads do not interleave. */
static void shim_log(const char *fmt, ...)
{
	const char *path = getenv("VMM_BENCH_SHIM_LOG");
	char line[256];
	va_list ap;
	int fd, n;

	if (!path)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		n = -1;
	close(fd);
}

static void on_first_run(uint64_t t)
{
	const char *t0s = getenv("VMM_BENCH_T0_NS");
	const char *quit = getenv("VMM_BENCH_EXIT_AT_RUN");

	if (t0s)
		shim_log("first_kvm_run_ns %llu\n",
			 (unsigned long long)(t - strtoull(t0s, NULL, 10)));
	if (quit && !strcmp(quit, "1"))
		_exit(VMM_BENCH_SHIM_EXIT);
}

static uint64_t since_t0(uint64_t t)
{
	const char *t0s = getenv("VMM_BENCH_T0_NS");

	return t0s ? t - strtoull(t0s, NULL, 10) : 0;
}

static int tracing(void)
{
	const char *v = getenv("VMM_BENCH_SHIM_TRACE");

	return v && !strcmp(v, "1");
}

__attribute__((constructor)) static void shim_loaded(void)
{
	if (tracing())
		shim_log("trace loaded %llu\n",
			 (unsigned long long)since_t0(clock_now_ns()));
}

static void trace_ioctl(unsigned long req)
{
	static const struct {
		unsigned long req;
		const char *name;
	} steps[] = {
		{ KVM_CREATE_VM, "KVM_CREATE_VM" },
		{ KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION" },
		{ KVM_CREATE_VCPU, "KVM_CREATE_VCPU" },
		{ KVM_SET_REGS, "KVM_SET_REGS" },
	};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].req == req)
			shim_log("trace %s %llu\n", steps[i].name,
				 (unsigned long long)since_t0(clock_now_ns()));
}

/* KVM_SET_USER_MEMORY_REGION2's structure starts with the same fields. */
static void on_set_memory(const struct kvm_userspace_memory_region *r)
{
	shim_log("memslot %u 0x%llx 0x%llx 0x%llx\n", r->slot,
		 (unsigned long long)r->guest_phys_addr,
		 (unsigned long long)r->memory_size,
		 (unsigned long long)r->userspace_addr);
}

int ioctl(int fd, unsigned long req, ...)
{
	static ioctl_fn real;
	uint64_t t = 0;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (tracing())
		trace_ioctl(req);
	if (req == KVM_RUN) {
		t = clock_now_ns();
		if (!atomic_exchange(&seen_run, 1))
			on_first_run(t);
	} else if (req == KVM_SET_USER_MEMORY_REGION && arg) {
		on_set_memory(arg);
	}
#ifdef KVM_SET_USER_MEMORY_REGION2
	else if (req == KVM_SET_USER_MEMORY_REGION2 && arg)
		on_set_memory(arg);
#endif
	if (!real)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}
