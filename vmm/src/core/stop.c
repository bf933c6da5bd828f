// SPDX-License-Identifier: MIT
/*
 * How the machine stops: the first stop request wins and says why (power
 * off, reboot, crash, a shared-memory fault, vmm_stop()); vmm_run() wakes
 * on the stop eventfd. Also the machine's clock, for the boot marker.
 */
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

#include "core/vm.h"

const char *vmm_exit_reason_name(enum vmm_exit_reason reason)
{
	switch (reason) {
	case VMM_EXIT_POWEROFF:
		return "power off";
	case VMM_EXIT_REBOOT:
		return "reboot";
	case VMM_EXIT_CRASH:
		return "crash";
	case VMM_EXIT_MEMORY_FAULT:
		return "shared memory fault";
	case VMM_EXIT_STOPPED:
		return "stopped";
	case VMM_EXIT_HOST_ERROR:
		return "host error";
	}
	return "unknown";
}

void vm_request_stop(struct vmm *vm, enum vmm_exit_reason reason,
		     int errnum, const char *detail)
{
	uint64_t one = 1;
	int expected = 0;

	if (atomic_compare_exchange_strong(&vm->stop_claimed, &expected, 1)) {
		vm->exit.reason = reason;
		vm->exit.errnum = errnum;
		if (detail) {
			size_t n = strlen(detail);

			if (n >= sizeof(vm->exit.detail))
				n = sizeof(vm->exit.detail) - 1;
			memcpy(vm->exit.detail, detail, n);
			vm->exit.detail[n] = '\0';
		}
		atomic_store(&vm->stopping, true);
	}
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow from these few writes */
	}
}

void vmm_stop(struct vmm *vm)
{
	vm_request_stop(vm, VMM_EXIT_STOPPED, 0, "stopped by the host");
}

uint64_t vm_ms_since_start(const struct vmm *vm, uint64_t *frac_us)
{
	uint64_t us = (clock_now_ns() - vm->start_ns) / 1000;

	*frac_us = us % 1000;
	return us / 1000;
}
