/* SPDX-License-Identifier: MIT */
/* Back-end library internals shared by its files. */
#ifndef VHOST_BACKEND_PRIV_H
#define VHOST_BACKEND_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost/backend.h"

#include "log.h"

struct be_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;		/* the front-end's address */
	void *map;		/* our mmap of [0, mmap_offset + size) */
	uint64_t map_len;
	uint64_t mmap_offset;
};

struct be_vring {
	uint32_t num;
	uint16_t last_avail;
	uint16_t used_idx;
	bool has_addr;
	bool enabled;
	uint64_t desc_uva, avail_uva, used_uva;
	struct vring_desc_wire *desc;	/* translated at start */
	struct vring_avail_wire *avail;
	struct vring_used_wire *used;
	int kick_fd;
	int call_fd;
	int err_fd;
};

struct vhost_be {
	struct vhost_be_config cfg;
	struct vhost_logger log;
	int sock;
	int chan;		/* back-end channel, -1 until SET_BACKEND_REQ_FD */
	uint64_t acked_features;
	uint64_t protocol_features;
	uint8_t status;
	uint64_t shm_sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	struct be_mem_region mem[VHOST_BE_MAX_MEM_SLOTS];
	unsigned int nmem;
	struct be_vring vq[VHOST_BE_MAX_QUEUES];
};

/* backend_mem.c */
void be_mem_clear(struct vhost_be *be);
int be_mem_set_table(struct vhost_be *be, const struct vhost_user_mem_table *t,
		     int *fds, unsigned int nfds);
int be_mem_add(struct vhost_be *be, const struct vhost_user_mem_region *r,
	       int fd);
int be_mem_remove(struct vhost_be *be, const struct vhost_user_mem_region *r);
void *be_uva_to_va(struct vhost_be *be, uint64_t uva, uint64_t len);

/* backend_vring.c */
void be_vring_init(struct be_vring *vq);
void be_vring_reset(struct be_vring *vq);
int be_vring_translate(struct vhost_be *be, struct be_vring *vq);

#endif
