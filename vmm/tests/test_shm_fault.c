// SPDX-License-Identifier: MIT
/* The bounded wait of a vCPU on a shared-memory fault: the policy. */
#include <criterion/criterion.h>

#include "core/shm_fault.h"

#define MS	1000000ULL

static const uint64_t k1[4] = { 0xffffffff81000000, 1, 2, 3 };
static const uint64_t k2[4] = { 0xffffffff81000000, 1, 2 + 4096, 3 };

Test(shm_fault, the_first_fault_is_run_again_at_once)
{
	struct shm_fault_wait w = { 0 };

	cr_assert_eq(shm_fault_next(&w, k1, 1000 * MS), 0);
	cr_assert_eq(shm_fault_next(&w, k1, 1000 * MS + 1), SHM_FAULT_SLEEP_MIN_US);
}

Test(shm_fault, sleeps_grow_then_the_wait_ends)
{
	struct shm_fault_wait w = { 0 };
	uint64_t t = 5000 * MS;
	long prev = 0, us;
	unsigned int tries = 0;

	cr_assert_eq(shm_fault_next(&w, k1, t), 0);
	for (;;) {
		us = shm_fault_next(&w, k1, t);
		if (us < 0)
			break;
		cr_assert_geq(us, prev, "never shorter");
		cr_assert_leq(us, SHM_FAULT_SLEEP_MAX_US);
		prev = us;
		t += (uint64_t)us * 1000 + 100000;	/* the sleep, a KVM_RUN */
		tries++;
	}
	cr_assert_geq(t - 5000 * MS, SHM_FAULT_WAIT_MS * MS, "waited the bound");
	cr_assert_lt(t - 5000 * MS, (SHM_FAULT_WAIT_MS + 20) * MS, "and no more");
	cr_assert_gt(tries, 100, "tried again and again (%u)", tries);
	cr_assert_eq(shm_fault_next(&w, k1, t + 1), -1, "over stays over");
}

/* Fail @k every 10 ms from @t for @ms: the last answer. */
static long keep_failing(struct shm_fault_wait *w, const uint64_t *k,
			 uint64_t *t, unsigned int ms)
{
	long us = 0;

	for (unsigned int i = 0; i < ms / 10; i++, *t += 10 * MS)
		us = shm_fault_next(w, k, *t);
	return us;
}

Test(shm_fault, a_fault_elsewhere_starts_over)
{
	struct shm_fault_wait w = { 0 };
	uint64_t t = 1;

	cr_assert_gt(keep_failing(&w, k1, &t, SHM_FAULT_WAIT_MS - 100), 0);
	/* The guest moved on: the next access to fail gets a whole wait. */
	cr_assert_eq(shm_fault_next(&w, k2, t), 0);
	cr_assert_gt(keep_failing(&w, k2, &t, SHM_FAULT_WAIT_MS - 100), 0);
	cr_assert_eq(keep_failing(&w, k2, &t, 200), -1);
}

Test(shm_fault, exits_in_between_do_not_extend_the_wait)
{
	struct shm_fault_wait w = { 0 };
	uint64_t t = 1;

	/* Failing every 10 ms (an interrupt handler exits in between). */
	cr_assert_eq(keep_failing(&w, k1, &t, SHM_FAULT_WAIT_MS + 50), -1);
}

Test(shm_fault, the_same_access_after_a_quiet_while_is_a_new_one)
{
	struct shm_fault_wait w = { 0 };
	uint64_t t = 1;

	/* A loop that meets a remap now and then, at the same registers. */
	cr_assert_eq(shm_fault_next(&w, k1, t), 0);
	cr_assert_gt(shm_fault_next(&w, k1, t + MS), 0);
	t += (SHM_FAULT_WAIT_MS + 1) * MS;
	cr_assert_eq(shm_fault_next(&w, k1, t), 0,
		     "no fault for %u ms: the guest went on meanwhile",
		     SHM_FAULT_GAP_MS);
}
