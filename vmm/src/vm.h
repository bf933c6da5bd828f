/* SPDX-License-Identifier: MIT */
/*
 * The machine behind struct vmm, and the interface devices use: bus
 * windows, MMIO address space, interrupt lines, DSDT entries, guest RAM.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include <vmm/vmm.h>

#include "acpi.h"
#include "bus.h"
#include "cpu.h"
#include "kvm.h"
#include "log.h"
#include "memory.h"
#include "serial.h"

#define VM_MAX_VIRTIO	32

struct vhost_user_devs;

struct vmm {
	struct vmm_log log;
	uint64_t start_ns;
	unsigned int ncpus;
	int console_in;

	struct kvm kvm;
	bool kvm_ready;
	struct guest_ram ram;
	struct bus pio;
	struct bus mmio;
	struct serial serial;
	bool serial_ready;
	struct vcpu *vcpus;
	unsigned int vcpus_created;

	/* Device resources handed out before vmm_run(). */
	uint64_t mmio_next;
	uint32_t gsi_next;
	struct acpi_virtio_mmio virtio[VM_MAX_VIRTIO];
	unsigned int nvirtio;
	struct vhost_user_devs *vhost_user;	/* vmm_add_vhost_user() */

	/* Stopping: the first vm_request_stop() wins and fills exit. */
	atomic_int stop_claimed;
	atomic_uint unclaimed_logged;	/* debug lines about unclaimed I/O */
	atomic_bool stopping;
	int stop_efd;
	struct vmm_exit exit;
	bool ran;

	struct termios saved_tty;
	bool tty_raw;
};

/* Stop the machine (first caller wins); async-signal-safe. */
void vm_request_stop(struct vmm *vm, enum vmm_exit_reason reason,
		     int errnum, const char *detail);
/* Milliseconds since the configured start; @frac_us gets the rest. */
uint64_t vm_ms_since_start(const struct vmm *vm, uint64_t *frac_us);

/* Device-facing API: call between vmm_create() and vmm_run(). */
int vm_mmio_alloc(struct vmm *vm, uint64_t size, uint64_t *gpa);
int vm_irq_alloc(struct vmm *vm, uint32_t *gsi);
int vm_irq_line(struct vmm *vm, uint32_t gsi, int level);
/* Adds an LNRO0005 device to the DSDT built at vmm_run(). */
int vm_add_virtio_mmio(struct vmm *vm, uint64_t base, uint32_t size,
		       uint32_t gsi, bool level);

static inline struct bus *vm_pio_bus(struct vmm *vm) { return &vm->pio; }
static inline struct bus *vm_mmio_bus(struct vmm *vm) { return &vm->mmio; }
static inline const struct guest_ram *vm_ram(const struct vmm *vm)
{
	return &vm->ram;
}
static inline int vm_kvm_fd(const struct vmm *vm) { return vm->kvm.vm_fd; }

#endif /* VMM_VM_H */
