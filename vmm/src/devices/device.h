/* SPDX-License-Identifier: MIT */
/*
 * The contract between a device and the machine. Devices receive services,
 * never the VM:
 *
 *   1. A device is created from the services (struct dev_services) and its
 *      own configuration. It describes what it needs wired in a struct
 *      dev_desc: bus windows (fixed ports, or MMIO the machine places), an
 *      interrupt (a fixed line it drives, or an eventfd the machine binds
 *      to a line it picks), queue-notify ioeventfds, shared memory regions
 *      by id and size, and a DSDT entry.
 *   2. The machine wires all of it (vm_dev_attach(), core/devices.h), then
 *      calls ops->wired() with where everything landed (struct dev_wiring):
 *      window addresses, the interrupt line, the shared memory regions it
 *      created (one memslot each; borrowed by the device).
 *   3. ops->start() and ops->stop() bracket vmm_run(); ops->destroy() runs
 *      after every vCPU stopped and after the machine took its wiring away.
 *
 * A device never sees struct vmm, KVM or the resource allocators, and the
 * machine never names a device type: it only walks dev_desc tables.
 */
#ifndef VMM_DEVICES_DEVICE_H
#define VMM_DEVICES_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmm/vmm.h>

#include "base/log.h"
#include "devices/bus.h"

struct shmem_region;

#define DEV_MAX_WINDOWS		8
#define DEV_MAX_NOTIFY		64
#define DEV_MAX_SHM		8
#define DEV_MAX_RAM		2

/* One piece of guest RAM, as a vhost-user memory table entry needs it. */
struct dev_ram {
	uint64_t gpa;
	uint64_t size;
	void *hva;
	uint64_t fd_offset;	/* offset of gpa in dev_services.ram_fd */
};

/* What the machine gives every device. Valid until the device is destroyed. */
struct dev_services {
	const struct vmm_log *log;
	/* Stop the machine (power off, reboot); any thread, signal-safe. */
	void (*stop)(void *machine, enum vmm_exit_reason reason,
		     const char *detail);
	/*
	 * Readable, and readable for good, once the machine stops (a guest
	 * power-off, vmm_stop(), a signal): device threads poll it in every
	 * wait on another process, so that a stop never waits on one. Never
	 * read it (that would hide the stop from the others).
	 */
	int stop_fd;
	/* Milliseconds since the configured start; *frac_us gets the rest. */
	uint64_t (*ms_since_start)(void *machine, uint64_t *frac_us);
	void *machine;
	/* Guest RAM: a shareable memfd (-1: private RAM) and its pieces. */
	int ram_fd;
	unsigned int nram;
	struct dev_ram ram[DEV_MAX_RAM];
};

/* An interrupt line the device drives itself (a level-triggered UART). */
struct dev_irq {
	int (*set)(void *hv, uint32_t gsi, int level);
	void *hv;
	uint32_t gsi;
};

static inline int dev_irq_set(const struct dev_irq *irq, int level)
{
	return irq->set ? irq->set(irq->hv, irq->gsi, level) : 0;
}

enum dev_bus {
	DEV_BUS_PIO,
	DEV_BUS_MMIO,
};

struct dev_window {
	enum dev_bus bus;
	uint64_t base;		/* PIO: the port; MMIO: 0 = the machine places it */
	uint64_t size;
	const struct bus_ops *ops;
	void *opaque;
};

enum dev_irq_kind {
	DEV_IRQ_NONE,
	DEV_IRQ_LINE,		/* irq_gsi, driven by the device (dev_irq) */
	DEV_IRQ_EVENTFD,	/* irq_fd, bound by the machine to a line it picks */
};

/* A 4-byte guest write of @datamatch at window 0 + @offset signals @fd. */
struct dev_notify {
	uint64_t offset;
	uint32_t datamatch;
	int fd;			/* borrowed eventfd */
};

struct dev_shm_req {
	uint8_t id;		/* VIRTIO shared memory id */
	uint64_t size;		/* a multiple of 4 KiB */
};

/* Where the machine put what the device asked for. */
struct dev_wiring {
	uint64_t base[DEV_MAX_WINDOWS];
	struct dev_irq irq;		/* DEV_IRQ_LINE: the line to drive */
	uint32_t gsi;			/* the line, whatever the kind */
	unsigned int nshm;
	struct {
		uint8_t id;
		uint64_t gpa;
		uint64_t size;
		struct shmem_region *region;	/* the machine's; borrowed */
	} shm[DEV_MAX_SHM];
};

struct dev_ops {
	/* Wiring done (see struct dev_wiring). A failure unwinds the attach. */
	int (*wired)(void *dev, const struct dev_wiring *w, char *why,
		     size_t whylen);
	/* vmm_run() starts (before any vCPU) / stopped (after them). May be NULL. */
	int (*start)(void *dev, char *why, size_t whylen);
	void (*stop)(void *dev);
	/* Free everything; the machine's wiring is already gone. */
	void (*destroy)(void *dev);
};

/* What a device asks the machine to wire. */
struct dev_desc {
	const char *name;		/* for log lines; copied */
	void *dev;
	const struct dev_ops *ops;
	unsigned int nwindows;
	struct dev_window windows[DEV_MAX_WINDOWS];
	enum dev_irq_kind irq;
	uint32_t irq_gsi;		/* DEV_IRQ_LINE */
	int irq_fd;			/* DEV_IRQ_EVENTFD, borrowed */
	unsigned int nnotify;
	struct dev_notify notify[DEV_MAX_NOTIFY];
	unsigned int nshm;
	struct dev_shm_req shm[DEV_MAX_SHM];
	/*
	 * Live mappings its regions may hold together; 0: the machine's
	 * default, half of the machine's budget (docs/shmem.md). Never more
	 * than the machine's budget.
	 */
	uint64_t max_mappings;
	/* Describe window 0 and the interrupt as an LNRO0005 device. */
	bool acpi_virtio_mmio;
};

#endif /* VMM_DEVICES_DEVICE_H */
