/* SPDX-License-Identifier: MIT */
/*
 * The machine behind struct vmm. Private to core/: devices never include
 * it (they get struct dev_services, devices/device.h), and the public API
 * of optional devices reaches the machine through core/devices.h only.
 *
 *   vm.c        vmm_create() / vmm_destroy(): the composition root
 *   load.c      the kernel, initrd and low memory
 *   devices.c   the device manager: wiring, start, stop, teardown
 *   run.c       vmm_run(): vCPU threads and their exits
 *   stop.c      stop requests, the clock, exit reasons
 */
#ifndef VMM_CORE_VM_H
#define VMM_CORE_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vmm/vmm.h>

#include <shmem/shmem.h>

#include "base/log.h"
#include "boot/bzimage.h"
#include "boot/elf.h"
#include "core/cpu.h"
#include "core/kvm.h"
#include "core/memory.h"
#include "core/resources.h"
#include "devices/bus.h"
#include "devices/device.h"

#define VM_MAX_DEVICES	16

/* One attached device and what the machine wired for it. */
struct vm_device {
	char name[64];
	void *dev;
	const struct dev_ops *ops;
	unsigned int nwindows;
	struct {
		struct bus *bus;
		uint64_t base;
	} windows[DEV_MAX_WINDOWS];
	int irq_fd;			/* -1: no irqfd assigned */
	uint32_t gsi;
	unsigned int nnotify;
	struct {
		uint64_t addr;
		uint32_t datamatch;
		int fd;
	} notify[DEV_MAX_NOTIFY];
	unsigned int nshm;
	struct shmem_region *shm[DEV_MAX_SHM];
	struct shmem_budget budget;	/* mappings of all its regions */
	bool started;
};

struct vmm {
	struct vmm_log log;
	uint64_t start_ns;
	unsigned int ncpus;

	struct kvm kvm;
	bool kvm_ready;
	struct guest_ram ram;
	struct bus pio;
	struct bus mmio;
	struct vcpu *vcpus;
	unsigned int vcpus_created;

	struct resources res;
	struct dev_services svc;
	/* Every device's mappings together: the process's VMAs are finite. */
	struct shmem_budget map_budget;
	unsigned int ndevices;
	struct vm_device *devices[VM_MAX_DEVICES];

	/* Stopping: the first vm_request_stop() wins and fills exit. */
	atomic_int stop_claimed;
	atomic_uint unclaimed_logged;	/* debug lines about unclaimed I/O */
	atomic_bool stopping;
	int stop_efd;			/* readable for good once stopping */
	struct vmm_exit exit;
	bool ran;
};

/* ---- vm.c ---- */

/* Fill @err (may be NULL): whose fault, the errno of @ret, one line. */
int vm_fail(struct vmm_error *err, enum vmm_error_kind kind, int ret,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- stop.c ---- */

/* Stop the machine (first caller wins); async-signal-safe. */
void vm_request_stop(struct vmm *vm, enum vmm_exit_reason reason,
		     int errnum, const char *detail);
/* Milliseconds since the configured start; @frac_us gets the rest. */
uint64_t vm_ms_since_start(const struct vmm *vm, uint64_t *frac_us);

/* ---- load.c ---- */

/*
 * The guest's boot files, read and checked before KVM is touched. A
 * bzImage is read whole; of an ELF vmlinux only the headers are, and its
 * segments go from the file straight into guest RAM at load time.
 */
struct boot_files {
	enum boot_mode mode;
	uint8_t *image;			/* BOOT_MODE_64BIT: the bzImage */
	uint64_t image_len;
	struct bzimage_info info;
	int kernel_fd;			/* BOOT_MODE_PVH: the vmlinux, or -1 */
	uint64_t kernel_size;
	struct elf_kernel elf;
	int initrd_fd;			/* -1: no initrd */
	uint64_t initrd_size;
};

/*
 * Read and check the kernel of @cfg (a bzImage or an ELF vmlinux with a
 * PVH entry, told apart by content) and open its initrd.
 */
int vm_boot_files_read(const struct vmm_config *cfg, struct boot_files *bf,
		       struct vmm_error *err);
/*
 * Load them into guest RAM with the command line, the memory map, the
 * boot tables and the reset-vector stub; fill @entry with how the boot
 * vCPU enters the kernel.
 */
int vm_boot_files_load(struct vmm *vm, const struct vmm_config *cfg,
		       const struct boot_files *bf, struct boot_entry *entry,
		       struct vmm_error *err);
void vm_boot_files_release(struct boot_files *bf);

/* ---- devices.c ---- */

/* The services every device gets, filled once RAM exists. */
void vm_dev_services_init(struct vmm *vm);
/* Start every device (vmm_run(), before the vCPUs): 0 or -errno. */
int vm_devs_start(struct vmm *vm, char *why, size_t whylen);
/* Stop the started ones (after the vCPUs), in reverse order. */
void vm_devs_stop(struct vmm *vm);
/* Take every device's wiring away and destroy it, in reverse order. */
void vm_devs_destroy(struct vmm *vm);

#endif /* VMM_CORE_VM_H */
