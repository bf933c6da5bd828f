/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user device: a vhost front-end (vhost/) behind a virtio-mmio
 * transport (devices/virtio_mmio.h). The back-end drives the queues and
 * fills the shared memory regions; the device only emulates the registers
 * and hands over rings, eventfds and memory. Queue kicks go guest -> KVM
 * ioeventfd -> back-end and used-ring interrupts back-end -> KVM irqfd ->
 * guest, never through a vmm thread (the machine wires both).
 *
 *   device.c   the device: transport callbacks (vCPU threads, transport
 *              lock held), front-end callbacks (its service thread),
 *              wiring, start, stop and teardown
 *   worker.c   the device's worker thread: every request to the back-end
 *   shape.c    what the guest sees, from the user's config and the
 *              back-end's answers: queues, config space, shm regions
 *
 * Threads (docs/architecture.md):
 *   - vCPU threads run the transport callbacks under the transport lock.
 *     They never talk to the back-end: config reads are served from a copy
 *     of the config space, and DRIVER_OK, a reset and a config write only
 *     post work for the worker and return.
 *   - The worker owns every request on the back-end's socket: it resets,
 *     starts and reconnects the back-end, writes and refreshes the config
 *     space. It takes the transport lock only to publish a result, never
 *     across a request, and no vCPU ever waits for it.
 *   - The front-end's service thread (vhost/) serves the back-end channel;
 *     its callbacks only post events (no lock a vCPU holds across a wait),
 *     because the worker may be joining it (vhost_fe_reconnect()).
 *
 * Locks, outermost first: transport lock -> work_lock; transport lock ->
 * cfg_lock. The worker never holds work_lock or cfg_lock while it takes
 * the transport lock or talks to the back-end.
 */
#ifndef VMM_DEVICES_VHOST_USER_DEV_H
#define VMM_DEVICES_VHOST_USER_DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmm/vhost_user.h>

#include "devices/device.h"
#include "devices/virtio_mmio.h"

#define VU_FS_CONFIG_SIZE	(VMM_VIRTIO_FS_TAG_MAX + 4)
#define VU_CONFIG_MAX		0x100	/* virtio-mmio: 0x100-0x1ff */
#define VU_WHY_MAX		200
#define VU_MAX_WRITES		16	/* config writes waiting for the worker */
/* A start or a reset the back-end has not finished by then drops it. */
#define VU_OP_TIMEOUT_MS	10000

struct vhost_fe;

/* What the driver set up when it wrote DRIVER_OK. */
struct vu_start {
	uint64_t features;
	uint32_t resets;		/* the transport's reset count then */
	struct virtio_mmio_queue queues[VIRTIO_MMIO_MAX_QUEUES];
};

/* A guest write into the back-end's config space (at most 8 bytes). */
struct vu_config_write {
	uint32_t off;
	uint32_t len;
	uint8_t data[8];
};

struct vhost_user_dev {
	const struct dev_services *svc;
	char name[64];
	uint32_t virtio_id;
	struct vhost_fe *fe;
	struct virtio_mmio t;
	atomic_bool t_ready;		/* transport set up: callbacks may post */
	int call_fd;			/* irqfd: every queue and config */
	unsigned int nqueues;
	uint16_t queue_size;
	int kick_fd[VIRTIO_MMIO_MAX_QUEUES];	/* ioeventfds */
	unsigned int nshm;
	struct dev_shm_req shm[VMM_VHOST_USER_MAX_SHM];
	uint64_t max_mappings;		/* the user's; 0: the machine's default */
	atomic_bool broken;		/* back-end gone; the worker reconnects */

	/* The config space the guest reads: built here or the back-end's. */
	bool be_config;			/* the back-end serves it (CONFIG) */
	pthread_mutex_t cfg_lock;
	uint8_t config[VU_CONFIG_MAX];
	uint32_t config_size;

	/* Work for the worker, posted by vCPUs and the service thread. */
	pthread_mutex_t work_lock;
	int wake_fd;			/* eventfd: work was posted */
	uint32_t want_epoch;		/* guest resets so far */
	bool want_start;		/* DRIVER_OK in want_epoch, not yet done */
	struct vu_start start;
	bool want_refresh;		/* re-read the config space */
	unsigned int nwrites;
	struct vu_config_write writes[VU_MAX_WRITES];
	bool stopping;

	/* The worker's own state. */
	pthread_t worker;
	bool worker_running;
	uint32_t done_epoch;		/* the last reset it carried out */
	bool vring_on[VIRTIO_MMIO_MAX_QUEUES];
	int64_t log_sec;		/* its log rate limit: the second, */
	unsigned int log_burst;		/* lines in it, */
	uint64_t log_held;		/* lines held back */
};

/* ---- shape.c ---- */

/* The user's device config, before anything is connected. */
int vu_check_config(const struct vmm_vhost_user *c, char *why, size_t whylen);
/* Queue count and size: the user's, else the device's or back-end's. */
int vu_pick_queues(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen);
/*
 * The config space: the back-end's (CONFIG: its size found and its
 * contents read once, from offset 0), or virtio-fs's built here.
 */
int vu_pick_config(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen);
/* Region ids and sizes: GET_SHMEM_CONFIG, else shm=; both must agree. */
int vu_pick_shm(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		char *why, size_t whylen);
/* Read the back-end's whole config space (offset 0) into d->config. */
int vu_read_config(struct vhost_user_dev *d, char *why, size_t whylen);

/* ---- worker.c ---- */

int vu_worker_start(struct vhost_user_dev *d, char *why, size_t whylen);
/* Cancel whatever the worker waits for, and join it. */
void vu_worker_stop(struct vhost_user_dev *d);
/* Wake the worker: call after changing the wanted state. */
void vu_worker_wake(struct vhost_user_dev *d);

/* ---- device.c ---- */

/*
 * Connect to the back-end of @c, negotiate and describe the device for
 * the machine (vm_dev_attach() takes it from there). On error nothing is
 * left and @why says what failed.
 */
int vhost_user_dev_create(const struct dev_services *svc,
			  const struct vmm_vhost_user *c,
			  struct dev_desc *out, char *why, size_t whylen);

#endif /* VMM_DEVICES_VHOST_USER_DEV_H */
