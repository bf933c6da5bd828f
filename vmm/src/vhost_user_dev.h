/* SPDX-License-Identifier: MIT */
/*
 * vhost-user devices of a VM: each one a vhost front-end (vhost/), a
 * virtio-mmio transport, its shared memory regions (shmem/, one memslot
 * each), an irqfd and one ioeventfd per queue. docs/architecture.md.
 *
 * Threads: the transport's callbacks run on vCPU threads under the
 * transport lock; the front-end's disconnected/config_changed callbacks run
 * on its service thread and only post events to the transport (no lock),
 * because a vCPU may be joining that thread from a device reset
 * (vhost_fe_reconnect).
 */
#ifndef VMM_VHOST_USER_DEV_H
#define VMM_VHOST_USER_DEV_H

#include <stddef.h>
#include <stdint.h>

#include <vmm/vhost_user.h>

#include "shm_space.h"

struct vmm;
struct vhost_user_dev;

/* Everything vhost-user in one VM: hung off struct vmm on first use. */
struct vhost_user_devs {
	struct shm_space space;
	unsigned int n;
	struct vhost_user_dev *dev[VMM_VHOST_USER_MAX_DEVICES];
};

/* Tear down every device (after the vCPUs stopped, before KVM goes). */
void vhost_user_devs_destroy(struct vhost_user_devs *devs);

/* The shared memory regions of @vm, or NULL when it has none. */
const struct shm_space *vhost_user_shm_space(const struct vmm *vm);

#endif /* VMM_VHOST_USER_DEV_H */
