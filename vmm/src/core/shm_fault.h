/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's access to shared memory that KVM could not complete (KVM_RUN
 * fails with EFAULT on Linux 6.1, with no address: when all of guest RAM
 * is still backed (ram_check()), only a page of a shared memory region can
 * be the cause; a RAM fault is never waited on). Such a page is
 * not always a guest bug: a back-end may be between the SHMEM_UNMAP and
 * the SHMEM_MAP of a range it remaps, or replacing the pages of a file
 * that shrank under a mapping (vmm-virtiofsd does, when the host
 * truncates a file a guest maps through its DAX window). So the vCPU
 * waits, bounded, and runs the access again: the wait ends as soon as it
 * succeeds. It starts over when the guest moved on: a fault at other
 * registers, or after a while without faults (exits in between are no
 * sign: an interrupt handler may run and exit while the access waits).
 * Only an access that still fails after SHM_FAULT_WAIT_MS stops the
 * machine (docs/shmem.md).
 */
#ifndef VMM_CORE_SHM_FAULT_H
#define VMM_CORE_SHM_FAULT_H

#include <stdbool.h>
#include <stdint.h>

struct vmm;
struct vcpu;

#define SHM_FAULT_WAIT_MS	3000
#define SHM_FAULT_SLEEP_MIN_US	50
#define SHM_FAULT_SLEEP_MAX_US	10000
/* No fault for this long: the guest went on, a fault is a new access. */
#define SHM_FAULT_GAP_MS	200

/* One vCPU's wait; zeroed: not waiting. */
struct shm_fault_wait {
	uint64_t since_ns;	/* the first fault of this access, 0: none */
	uint64_t last_ns;	/* its latest fault */
	uint64_t key[4];	/* rip, rcx, rsi, rdi at that fault */
	unsigned int sleep_us;	/* before the next try */
	unsigned int tries;
};

/*
 * The policy, without KVM: the access @key failed at @now_ns. Returns the
 * microseconds to sleep before running it again, or -1 to give up.
 */
long shm_fault_next(struct shm_fault_wait *w, const uint64_t key[4],
		    uint64_t now_ns);

/*
 * KVM_RUN of @cpu failed with EFAULT: sleep as the policy says and return
 * true to run it again, or false (the wait is over, or the machine is
 * stopping) for the caller to report the fault.
 */
bool shm_fault_wait(struct vmm *vm, struct vcpu *cpu,
		    struct shm_fault_wait *w);

#endif /* VMM_CORE_SHM_FAULT_H */
