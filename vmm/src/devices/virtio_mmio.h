/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (modern), register emulation.
 *
 * This file knows the register layout and the driver-facing state machine
 * (features, queues, status, interrupt status, config generation, shared
 * memory registers). What a device does lives behind struct virtio_mmio_ops:
 * a vhost-user device hands its queues to a back-end from ops->driver_ok(),
 * and resets the back-end from ops->reset().
 *
 * Locking: one mutex per transport. virtio_mmio_read()/virtio_mmio_write()
 * run on vCPU threads and take it; ops callbacks are called with it held and
 * must not call back into the transport. virtio_mmio_signal_config() may be
 * called from any thread that is never waited for by a vCPU.
 * virtio_mmio_post() takes no lock at all: it is for threads that must never
 * wait for a vCPU (a vhost-user front-end's service thread, which a vCPU may
 * be joining from inside ops->reset()).
 */
#ifndef VMM_DEVICES_VIRTIO_MMIO_H
#define VMM_DEVICES_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_WINDOW_SIZE	0x200	/* registers + up to 256 B config */
#define VIRTIO_MMIO_MAX_QUEUES	64
#define VIRTIO_MMIO_MAX_SHM	8
#define VIRTIO_MMIO_VENDOR	0x554d4d56	/* "VMMU", little-endian */

struct virtio_mmio_queue {
	uint16_t num_max;	/* 0: queue does not exist */
	uint16_t num;
	bool ready;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

struct virtio_mmio_shm {
	uint8_t id;
	uint64_t base;		/* guest physical */
	uint64_t len;
};

struct virtio_mmio;

struct virtio_mmio_ops {
	/* Config space access; @off + @len is within config_size. */
	void (*config_read)(void *dev, uint32_t off, void *buf, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const void *buf,
			     uint32_t len);
	/*
	 * The driver set DRIVER_OK: start the device with the queues in
	 * t->queues[] and the features in t->driver_features. A negative
	 * return sets DEVICE_NEEDS_RESET and raises a config interrupt. A
	 * device that starts in the background returns 0 and, if the start
	 * fails later, calls virtio_mmio_start_failed() with t->resets.
	 */
	int (*driver_ok)(void *dev, struct virtio_mmio *t);
	/* The driver wrote 0 to Status (or the device is being torn down). */
	void (*reset)(void *dev, struct virtio_mmio *t);
	/* A QueueNotify write that no ioeventfd caught. May be NULL. */
	void (*queue_notify)(void *dev, uint32_t queue);
	/* Raise the device's interrupt line (edge). */
	void (*interrupt)(void *dev);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	uint32_t device_id;
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint32_t config_size;
	bool started;		/* driver_ok() succeeded, reset() not yet run */
	uint32_t resets;	/* device resets so far: which start is current */
	unsigned int nqueues;
	struct virtio_mmio_queue queues[VIRTIO_MMIO_MAX_QUEUES];
	unsigned int nshm;
	struct virtio_mmio_shm shm[VIRTIO_MMIO_MAX_SHM];
	const struct virtio_mmio_ops *ops;
	void *dev;
	atomic_uint posted;	/* VIRTIO_MMIO_EV_*, folded in under the lock */
};

/* Events for virtio_mmio_post(). */
#define VIRTIO_MMIO_EV_CONFIG		(1u << 0)	/* config changed */
#define VIRTIO_MMIO_EV_NEEDS_RESET	(1u << 1)	/* device broke */

struct virtio_mmio_config {
	uint32_t device_id;
	uint64_t device_features;	/* VIRTIO_F_VERSION_1 is added */
	unsigned int nqueues;
	uint16_t queue_size_max;	/* power of two */
	uint32_t config_size;		/* <= 0x100 */
	const struct virtio_mmio_ops *ops;
	void *dev;
};

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_config *cfg);
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Publish a shared memory region; call before the guest boots. */
int virtio_mmio_add_shm(struct virtio_mmio *t, uint8_t id, uint64_t base,
			uint64_t len);

/* Register access from a vCPU. @len is 1, 2, 4 or 8; @off is window-relative. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, void *data,
		      uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const void *data,
		       uint32_t len);

/*
 * Interrupt status as the guest reads it. Used-ring interrupts come from the
 * back-end through an irqfd that the VMM never sees, so the VRING bit reads
 * as set whenever the device is started: the guest's handler then checks
 * every queue's used ring, which is what it would do anyway.
 */
uint32_t virtio_mmio_interrupt_status(struct virtio_mmio *t);

/* The device's configuration changed: bump the generation and interrupt. */
void virtio_mmio_signal_config(struct virtio_mmio *t);

/* Put the device into DEVICE_NEEDS_RESET and tell the driver. */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);

/*
 * A start the device finished in the background failed: DEVICE_NEEDS_RESET
 * and a config interrupt, unless the driver reset the device since (its
 * reset count is no longer @resets, read in ops->driver_ok()). Takes the
 * lock: only for threads that no vCPU ever waits for.
 */
void virtio_mmio_start_failed(struct virtio_mmio *t, uint32_t resets);

/*
 * Lock-free form of the two calls above: record @events and raise the
 * interrupt (ops->interrupt, which must then be thread-safe, e.g. an
 * eventfd write). The next register access applies them, before it reads
 * anything, so the guest's interrupt handler sees them.
 */
void virtio_mmio_post(struct virtio_mmio *t, unsigned int events);

#endif /* VMM_DEVICES_VIRTIO_MMIO_H */
