/* SPDX-License-Identifier: MIT */
/*
 * libvmm: vhost-user devices.
 *
 *	struct vmm_vhost_user d;
 *
 *	vmm_vhost_user_init(&d);
 *	d.socket_path = "/run/fs.sock";
 *	d.virtio_id = VMM_VIRTIO_ID_FS;
 *	d.tag = "share";
 *	if (vmm_add_vhost_user(vm, &d, &err) < 0)	(after vmm_create)
 *		... err.msg says why ...
 *	vmm_run(vm, &ex);
 *
 * Each device is a virtio-mmio (version 2) transport in the guest, found
 * through an LNRO0005 entry in the DSDT, driven by a vhost-user back-end
 * over its UNIX socket. The back-end's VIRTIO Shared Memory Regions are
 * placed in guest-physical space above RAM, one KVM memslot each, and
 * filled by the back-end's SHMEM_MAP requests. docs/architecture.md.
 */
#ifndef VMM_VHOST_USER_H
#define VMM_VHOST_USER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vmm;
struct vmm_error;

#define VMM_VIRTIO_ID_FS		26
#define VMM_VHOST_USER_MAX_DEVICES	8	/* one interrupt line each */
#define VMM_VHOST_USER_MAX_SHM		8	/* regions per device */
#define VMM_VHOST_USER_MAX_QUEUES	64
#define VMM_VHOST_USER_MAX_QUEUE_SIZE	32768
#define VMM_VHOST_USER_DEFAULT_QUEUE_SIZE 256
#define VMM_VIRTIO_FS_TAG_MAX		36	/* bytes, without a NUL */

struct vmm_vhost_user_shm {
	uint8_t id;			/* shmid */
	uint64_t size;			/* bytes, a multiple of 4 KiB */
};

struct vmm_vhost_user {
	const char *socket_path;	/* back-end's listening socket; required */
	const char *name;		/* for log lines; NULL: socket_path */
	uint32_t virtio_id;		/* device id; required (26: virtio-fs) */
	unsigned int queues;		/* 0: the back-end's count (2 for fs) */
	unsigned int queue_size;	/* 0: 256; power of two up to 32768 */
	/*
	 * virtio-fs mount tag, used when the back-end does not serve the
	 * config space itself (no PROTOCOL_F_CONFIG): then required for
	 * virtio_id 26.
	 */
	const char *tag;
	/*
	 * Shared memory regions for back-ends without GET_SHMEM_CONFIG.
	 * When the back-end answers it too, both must name the same ids
	 * and sizes.
	 */
	unsigned int nshm;
	struct vmm_vhost_user_shm shm[VMM_VHOST_USER_MAX_SHM];
	/*
	 * Live SHMEM_MAP mappings the device may hold, all its regions and
	 * connections together; 0: half of the machine's budget, which is
	 * what vm.max_map_count leaves back-ends (docs/shmem.md). A request
	 * over it gets a failure reply.
	 */
	uint64_t max_mappings;
};

/* Zero the structure: no shared memory, default queues. */
void vmm_vhost_user_init(struct vmm_vhost_user *dev);

/*
 * Add a vhost-user device: between vmm_create() and vmm_run(). Connects to
 * the back-end (waiting up to 5 s for its socket), negotiates, creates its
 * shared memory regions and memslots. Errors: -EINVAL (a bad field,
 * VMM_ERROR_CONFIG), -ENOENT/-ECONNREFUSED/-ETIMEDOUT (no back-end),
 * -EPROTO (the back-end broke the protocol, e.g. a GET_SHMEM_CONFIG reply
 * with more than 256 regions; VMM_ERROR_INPUT), -ENOSPC (no MMIO window,
 * interrupt line or guest-physical space left), -EBUSY (the VM already
 * ran), -ENOMEM and KVM errors (VMM_ERROR_HOST). On error the VM is as
 * before and may still run without the device.
 */
int vmm_add_vhost_user(struct vmm *vm, const struct vmm_vhost_user *dev,
		       struct vmm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* VMM_VHOST_USER_H */
