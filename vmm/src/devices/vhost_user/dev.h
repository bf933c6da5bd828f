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
 *              wiring and teardown
 *   shape.c    what the guest sees, from the user's config and the
 *              back-end's answers: queues, config space, shm regions
 *
 * Threads: the transport's callbacks run on vCPU threads under the
 * transport lock; the front-end's callbacks run on its service thread and
 * only post events to the transport (no lock), because a vCPU may be
 * joining that thread from a device reset (vhost_fe_reconnect()).
 */
#ifndef VMM_DEVICES_VHOST_USER_DEV_H
#define VMM_DEVICES_VHOST_USER_DEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmm/vhost_user.h>

#include "devices/device.h"
#include "devices/virtio_mmio.h"

#define VU_FS_CONFIG_SIZE	(VMM_VIRTIO_FS_TAG_MAX + 4)
#define VU_WHY_MAX		200

struct vhost_fe;

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
	bool vring_on[VIRTIO_MMIO_MAX_QUEUES];
	unsigned int nshm;
	struct dev_shm_req shm[VMM_VHOST_USER_MAX_SHM];
	bool be_config;			/* back-end serves the config space */
	uint8_t config[VU_FS_CONFIG_SIZE];	/* else this one (virtio-fs) */
	uint32_t config_size;
	atomic_bool broken;		/* back-end gone since last reset */
};

/* ---- shape.c ---- */

/* The user's device config, before anything is connected. */
int vu_check_config(const struct vmm_vhost_user *c, char *why, size_t whylen);
/* Queue count and size: the user's, else the device's or back-end's. */
int vu_pick_queues(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen);
/* The config space: the back-end's (CONFIG), or virtio-fs's built here. */
int vu_pick_config(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen);
/* Region ids and sizes: GET_SHMEM_CONFIG, else shm=; both must agree. */
int vu_pick_shm(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		char *why, size_t whylen);

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
