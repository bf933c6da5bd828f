// SPDX-License-Identifier: MIT
/* The bounded wait of a vCPU on a shared-memory fault (shm_fault.h). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "common/clock.h"

#include "core/shm_fault.h"
#include "core/vm.h"

long shm_fault_next(struct shm_fault_wait *w, const uint64_t key[4],
		    uint64_t now_ns)
{
	if (!w->since_ns || memcmp(w->key, key, sizeof(w->key)) ||
	    now_ns - w->last_ns > SHM_FAULT_GAP_MS * 1000000ULL) {
		/* A new access: run it again at once (a map may be done). */
		w->since_ns = now_ns ? now_ns : 1;
		w->last_ns = now_ns;
		memcpy(w->key, key, sizeof(w->key));
		w->sleep_us = SHM_FAULT_SLEEP_MIN_US;
		w->tries = 1;
		return 0;
	}
	w->last_ns = now_ns;
	if (now_ns - w->since_ns >= SHM_FAULT_WAIT_MS * 1000000ULL)
		return -1;
	w->tries++;
	if (w->tries > 2 && w->sleep_us < SHM_FAULT_SLEEP_MAX_US)
		w->sleep_us *= 2;
	if (w->sleep_us > SHM_FAULT_SLEEP_MAX_US)
		w->sleep_us = SHM_FAULT_SLEEP_MAX_US;
	return w->sleep_us;
}

bool shm_fault_wait(struct vmm *vm, struct vcpu *cpu, struct shm_fault_wait *w)
{
	struct kvm_regs regs;
	uint64_t key[4] = { 0 };
	struct timespec ts;
	char why[160];
	long us;

	if (atomic_load(&vm->stopping))
		return false;
	/* Only a shared-memory page may come back: RAM that lost its
	 * backing never does (run.c reports it as a host error). */
	if (!vm->res.shm.n || ram_check(&vm->ram, why, sizeof(why)) == -EFAULT)
		return false;
	if (ioctl(cpu->fd, KVM_GET_REGS, &regs) == 0) {
		key[0] = regs.rip;
		key[1] = regs.rcx;
		key[2] = regs.rsi;
		key[3] = regs.rdi;
	}
	us = shm_fault_next(w, key, clock_now_ns());
	if (us < 0)
		return false;
	if (w->tries == 2)
		log_debug(&vm->log,
			  "vCPU %u: shared memory access at rip 0x%llx failed; waiting up to %u ms for its mapping",
			  cpu->id, (unsigned long long)key[0],
			  SHM_FAULT_WAIT_MS);
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (us && nanosleep(&ts, &ts) && errno == EINTR)
		;
	return !atomic_load(&vm->stopping);
}
