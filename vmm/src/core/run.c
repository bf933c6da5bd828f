// SPDX-License-Identifier: MIT
/*
 * vmm_run(): one thread per vCPU; the calling thread waits for a stop
 * request, then kicks every vCPU out of KVM_RUN with VMM_KICK_SIGNAL and
 * joins them.
 *
 * The kick signal is blocked in vCPU threads and unblocked only inside
 * KVM_RUN (KVM_SET_SIGNAL_MASK): a kick sent before the thread enters
 * KVM_RUN stays pending and makes KVM_RUN return EINTR at once, so no kick
 * is lost, and the signal is never delivered to a handler.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/thread.h"

#include "base/layout.h"
#include "boot/acpi.h"
#include "core/shm_fault.h"
#include "core/vm.h"

/*
 * Unclaimed port and MMIO accesses are logged (at debug level) only up to
 * this many per VM: Linux probes thousands of absent devices while it
 * boots (33,000 PCI config accesses on some CPUs), which would drown every
 * other line.
 */
#define UNCLAIMED_LOG_MAX	64

static bool unclaimed_log_ok(struct vmm *vm)
{
	unsigned int n;

	if (vm->log.level < VMM_LOG_DEBUG)
		return false;
	n = atomic_fetch_add(&vm->unclaimed_logged, 1);
	if (n == UNCLAIMED_LOG_MAX)
		log_debug(&vm->log,
			  "%u unclaimed I/O accesses logged; the rest are not",
			  UNCLAIMED_LOG_MAX);
	return n < UNCLAIMED_LOG_MAX;
}

static void vcpu_io(struct vmm *vm, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		bool claimed;

		if (run->io.direction == KVM_EXIT_IO_OUT)
			claimed = bus_write(&vm->pio, run->io.port, data,
					    run->io.size);
		else
			claimed = bus_read(&vm->pio, run->io.port, data,
					   run->io.size);
		if (claimed)
			continue;
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset(data, 0xff, run->io.size);
		if (unclaimed_log_ok(vm))
			log_debug(&vm->log, "unclaimed port %s 0x%x (%u bytes)",
				  run->io.direction == KVM_EXIT_IO_OUT ?
				  "write" : "read", run->io.port, run->io.size);
	}
}

static void vcpu_mmio(struct vmm *vm, struct kvm_run *run)
{
	uint32_t len = run->mmio.len;
	bool claimed;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (run->mmio.is_write)
		claimed = bus_write(&vm->mmio, run->mmio.phys_addr,
				    run->mmio.data, len);
	else
		claimed = bus_read(&vm->mmio, run->mmio.phys_addr,
				   run->mmio.data, len);
	if (claimed)
		return;
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, len);
	if (unclaimed_log_ok(vm))
		log_debug(&vm->log, "unclaimed MMIO %s 0x%llx (%u bytes)",
			  run->mmio.is_write ? "write" : "read",
			  (unsigned long long)run->mmio.phys_addr, len);
}

/*
 * The guest touched a shared memory page nothing is mapped at: stop with
 * one line naming the vCPU, its RIP, the address when KVM told it, and
 * every region with its base, size and mapping count (docs/architecture.md).
 */
static void vcpu_shm_fault(struct vmm *vm, struct vcpu *cpu, const char *what,
			   uint64_t gpa)
{
	const struct shm_space *s = &vm->res.shm;
	char where[64] = "", regions[360] = "none";
	char detail[sizeof(vm->exit.detail)];
	unsigned long long rip = 0;
	struct kvm_regs regs;

	if (ioctl(cpu->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	if (what)	/* NULL: KVM_RUN failed with EFAULT, no address */
		snprintf(where, sizeof(where), " (%s at 0x%llx)", what,
			 (unsigned long long)gpa);
	if (s->n)
		shm_space_describe(s, regions, sizeof(regions));
	snprintf(detail, sizeof(detail),
		 "vCPU %u rip 0x%llx: access to unmapped shared memory%s; regions: %s",
		 cpu->id, rip, where, regions);
	vm_request_stop(vm, VMM_EXIT_MEMORY_FAULT, EFAULT, detail);
}

/*
 * The guest touched guest RAM the host no longer backs: a host failure,
 * not the guest's shared-memory fault. Cannot happen while RAM is sealed
 * (memory.h); told apart all the same, so that a RAM loss is never
 * reported as exit status 5.
 */
static void vcpu_ram_fault(struct vmm *vm, struct vcpu *cpu, uint64_t gpa,
			   const char *what)
{
	char detail[sizeof(vm->exit.detail)];
	unsigned long long rip = 0;
	struct kvm_regs regs;

	if (ioctl(cpu->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	if (gpa != UINT64_MAX)
		snprintf(detail, sizeof(detail),
			 "vCPU %u rip 0x%llx: guest RAM at 0x%llx is not backed by the host%s%s",
			 cpu->id, rip, (unsigned long long)gpa,
			 what ? ": " : "", what ? what : "");
	else
		snprintf(detail, sizeof(detail),
			 "vCPU %u rip 0x%llx: guest RAM is not backed by the host: %s",
			 cpu->id, rip, what);
	vm_request_stop(vm, VMM_EXIT_HOST_ERROR, EFAULT, detail);
}

#ifdef KVM_EXIT_MEMORY_FAULT
/* A fault at @gpa (KVM told it): guest RAM or shared memory? */
static void vcpu_fault_at(struct vmm *vm, struct vcpu *cpu, const char *what,
			  uint64_t gpa)
{
	char why[160] = "";

	if (ram_contains(&vm->ram, gpa)) {
		ram_check(&vm->ram, why, sizeof(why));
		vcpu_ram_fault(vm, cpu, gpa, why[0] ? why : NULL);
		return;
	}
	vcpu_shm_fault(vm, cpu, what, gpa);
}
#endif

/* An MMIO exit inside a shared memory region is a hole, never a device. */
static bool vcpu_mmio_is_shm(struct vmm *vm, struct kvm_run *run)
{
	return shm_space_find(&vm->res.shm, run->mmio.phys_addr);
}

/* Registers of a vCPU, for crash reports and debugging. */
static void vcpu_log_state(struct vmm *vm, struct vcpu *cpu,
			   enum vmm_log_level level)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(cpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(cpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	vmm_logf(&vm->log, level,
		 "vCPU %u: rip 0x%llx rsp 0x%llx rflags 0x%llx cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
		 cpu->id, (unsigned long long)regs.rip,
		 (unsigned long long)regs.rsp, (unsigned long long)regs.rflags,
		 (unsigned long long)sregs.cr0, (unsigned long long)sregs.cr3,
		 (unsigned long long)sregs.cr4, (unsigned long long)sregs.efer);
}

static void vcpu_crash(struct vmm *vm, struct vcpu *cpu, const char *what,
		       unsigned long long code)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "vCPU %u: %s (0x%llx)", cpu->id, what,
		 code);
	vcpu_log_state(vm, cpu, VMM_LOG_ERROR);
	vm_request_stop(vm, VMM_EXIT_CRASH, 0, detail);
}

/* Handle one exit; false once this vCPU must stop. */
static bool vcpu_handle_exit(struct vmm *vm, struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_io(vm, run);
		return true;
	case KVM_EXIT_MMIO:
		if (vcpu_mmio_is_shm(vm, run)) {
			vcpu_shm_fault(vm, cpu,
				       run->mmio.is_write ? "write" : "read",
				       run->mmio.phys_addr);
			return false;
		}
		vcpu_mmio(vm, run);
		return true;
#ifdef KVM_EXIT_MEMORY_FAULT
	case KVM_EXIT_MEMORY_FAULT:
		vcpu_fault_at(vm, cpu, "access", run->memory_fault.gpa);
		return false;
#endif
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_crash(vm, cpu, "triple fault (KVM_EXIT_SHUTDOWN)", 0);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_crash(vm, cpu, "entry failed",
			   run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_crash(vm, cpu, "KVM internal error",
			   run->internal.suberror);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vm_request_stop(vm, VMM_EXIT_REBOOT, 0, "system reset");
			return false;
		}
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_request_stop(vm, VMM_EXIT_POWEROFF, 0,
					"system shutdown");
			return false;
		}
		return true;
	default:
		vcpu_crash(vm, cpu, "unexpected KVM exit", run->exit_reason);
		return false;
	}
}

static void consume_kick(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VMM_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static void vcpu_run_error(struct vmm *vm, struct vcpu *cpu, int err)
{
	char detail[128];

	if (err == EFAULT) {
		char why[160];

		/* KVM tells no address: RAM that lost its backing, else shm. */
		if (ram_check(&vm->ram, why, sizeof(why)) == -EFAULT) {
			vcpu_ram_fault(vm, cpu, UINT64_MAX, why);
			return;
		}
		if (vm->res.shm.n) {
			vcpu_shm_fault(vm, cpu, NULL, 0);
			return;
		}
	}
	snprintf(detail, sizeof(detail), "vCPU %u: KVM_RUN: %s", cpu->id,
		 strerror(err));
	vm_request_stop(vm, VMM_EXIT_HOST_ERROR, err, detail);
}

/* Block the kick signal here, unblock it inside KVM_RUN. */
static int vcpu_signal_setup(struct vcpu *cpu)
{
	uint32_t buf[3];	/* struct kvm_signal_mask + 8 bytes of set */
	struct kvm_signal_mask *m = (struct kvm_signal_mask *)buf;
	sigset_t block, inside;

	sigemptyset(&block);
	sigaddset(&block, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &inside);
	sigdelset(&inside, VMM_KICK_SIGNAL);
	m->len = 8;		/* the kernel's sigset_t */
	memcpy(m->sigset, &inside, 8);
	if (ioctl(cpu->fd, KVM_SET_SIGNAL_MASK, m) < 0)
		return -errno;
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct shm_fault_wait fw = { 0 };
	struct vcpu *cpu = arg;
	struct vmm *vm = cpu->vm;
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "vcpu%u", cpu->id);
	pthread_setname_np(pthread_self(), name);
	ret = vcpu_signal_setup(cpu);
	if (ret) {
		vcpu_run_error(vm, cpu, -ret);
		return NULL;
	}
	while (!atomic_load(&vm->stopping)) {
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				consume_kick();
				continue;
			}
			/* A shared-memory page may be mapped soon: wait. */
			if (errno == EFAULT && shm_fault_wait(vm, cpu, &fw))
				continue;
			vcpu_run_error(vm, cpu, errno);
			break;
		}
		if (!vcpu_handle_exit(vm, cpu))
			break;
	}
	if (vm->log.level >= VMM_LOG_DEBUG)
		vcpu_log_state(vm, cpu, VMM_LOG_DEBUG);
	return NULL;
}

static int write_acpi(struct vmm *vm)
{
	struct acpi_config cfg = {
		.ncpus = vm->ncpus,
		.virtio = vm->res.dsdt,
		.nvirtio = vm->res.ndsdt,
		.gpa = ACPI_TABLES_ADDR,
	};

	return acpi_build(&cfg, vm->ram.base + ACPI_TABLES_ADDR,
			  ACPI_TABLES_MAX, NULL);
}

/*
 * The stop eventfd is never read: it stays readable, so every device
 * thread polling it (dev_services.stop_fd) sees the stop too.
 */
static void wait_for_stop(struct vmm *vm)
{
	struct pollfd p = { .fd = vm->stop_efd, .events = POLLIN };

	while (!atomic_load(&vm->stopping))
		poll(&p, 1, -1);
}

static void stop_vcpus(struct vmm *vm, unsigned int started)
{
	unsigned int i;

	for (i = 0; i < started; i++)
		pthread_kill(vm->vcpus[i].thread, VMM_KICK_SIGNAL);
	for (i = 0; i < started; i++)
		pthread_join(vm->vcpus[i].thread, NULL);
}

static int start_vcpus(struct vmm *vm, unsigned int *started)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->ncpus; i++) {
		ret = thread_start(&vm->vcpus[i].thread, vcpu_thread,
				   &vm->vcpus[i]);
		if (ret) {
			log_err(&vm->log, "cannot start vCPU %u: %s", i,
				strerror(ret));
			return -ret;
		}
		*started = i + 1;
	}
	return 0;
}

int vmm_run(struct vmm *vm, struct vmm_exit *ex)
{
	unsigned int started = 0;
	char why[200];
	int ret;

	if (!vm || !ex)
		return -EINVAL;
	if (vm->ran)
		return -EALREADY;
	vm->ran = true;
	ret = write_acpi(vm);
	if (ret) {
		log_err(&vm->log, "ACPI tables: %s", strerror(-ret));
		return ret;
	}
	ret = vm_devs_start(vm, why, sizeof(why));
	if (ret)
		log_err(&vm->log, "cannot start a device: %s", why);
	else
		ret = start_vcpus(vm, &started);
	if (ret)
		vm_request_stop(vm, VMM_EXIT_HOST_ERROR, -ret, "start failed");
	else
		wait_for_stop(vm);
	stop_vcpus(vm, started);
	vm_devs_stop(vm);
	if (ret)
		return ret;
	*ex = vm->exit;
	log_info(&vm->log, "guest stopped: %s (%s)",
		 vmm_exit_reason_name(ex->reason), ex->detail);
	return 0;
}
