/* SPDX-License-Identifier: MIT */
/*
 * A small library for writing vhost-user back-ends.
 *
 * One struct vhost_be per front-end connection. It is single-threaded and
 * event-driven: poll vhost_be_fd() and the kick fds of started vrings, call
 * vhost_be_dispatch() when the socket is readable, and pop/push descriptor
 * chains when a kick arrives. The library answers negotiation, keeps the
 * memory table (mapping the front-end's fds), serves GET_SHMEM_CONFIG and
 * sends SHMEM_MAP / SHMEM_UNMAP on the back-end channel.
 *
 * Errors are negative errno values. Nothing here exits or aborts.
 */
#ifndef VHOST_BACKEND_H
#define VHOST_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost/log.h"
#include "vhost/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_be;

/* Protocol features the library implements. */
#define VHOST_BE_PROTOCOL_FEATURES					\
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |				\
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_STATUS) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_SHMEM))

#define VHOST_BE_MAX_QUEUES	64
#define VHOST_BE_MAX_MEM_SLOTS	32
#define VHOST_BE_MAX_SG		512	/* buffers of each kind in one chain */
/*
 * VIRTIO_RING_F_INDIRECT_DESC: when the device offers this bit in
 * vhost_be_config.features and the front-end acks it, a chain's head may
 * point to an indirect descriptor table (checked like the ring: inside
 * guest memory, a whole number of descriptors, at most 2 * VHOST_BE_MAX_SG,
 * no NEXT on the head, no table inside a table).
 */
#define VHOST_BE_F_INDIRECT_DESC	28

struct vhost_be_ops {
	/* Config space access; NULL or a negative return refuses it. */
	int (*get_config)(void *opaque, uint32_t offset, void *buf,
			  uint32_t len);
	int (*set_config)(void *opaque, uint32_t offset, const void *buf,
			  uint32_t len);
	/*
	 * Fill the GET_SHMEM_CONFIG reply. NULL: built from
	 * vhost_be_config.shm_sizes. (A test back-end may lie here.)
	 */
	void (*get_shmem_config)(void *opaque,
				 struct vhost_user_shmem_config *reply);
	/* A vring got its kick fd and addresses / was stopped. */
	void (*vring_started)(void *opaque, struct vhost_be *be,
			      unsigned int idx);
	void (*vring_stopped)(void *opaque, struct vhost_be *be,
			      unsigned int idx);
	/* RESET_DEVICE / RESET_OWNER: rings are already stopped. */
	void (*reset)(void *opaque, struct vhost_be *be);
};

struct vhost_be_config {
	uint64_t features;		/* device features (include VERSION_1) */
	uint64_t protocol_features;	/* offered; masked by the library's */
	unsigned int num_queues;	/* <= VHOST_BE_MAX_QUEUES */
	/* sizes[shmid], 0 = unused; NULL = no shared memory */
	const uint64_t *shm_sizes;
	const struct vhost_be_ops *ops;	/* may be NULL */
	void *opaque;
	vhost_log_fn log;		/* may be NULL */
	void *log_opaque;
	int backend_reply_timeout_ms;	/* 0: 5000 */
	/*
	 * false: a chain with a buffer outside guest memory is malformed
	 * (vhost_be_vring_pop() fails). true: such a buffer comes back with
	 * iov_base NULL and its length, counted in vhost_be_elem.nunmapped,
	 * so the device can fail that one request and return the chain. For
	 * devices whose guest may point a buffer into a shared memory region
	 * (a virtio-fs DAX window), which the memory table does not cover.
	 * Descriptor tables and every other rule are checked either way.
	 */
	bool unmapped_buffers;
};

/* A descriptor chain: device-readable buffers then device-writable ones. */
struct vhost_be_elem {
	uint16_t head;
	unsigned int nrd, nwr;
	unsigned int nunmapped;	/* buffers with iov_base NULL (see above) */
	struct iovec rd[VHOST_BE_MAX_SG];
	struct iovec wr[VHOST_BE_MAX_SG];
};

/* Create a listening socket at @path (a stale socket file is replaced). */
int vhost_be_listen(const char *path);
/* Accept one front-end (waiting at most @timeout_ms, -1 forever). */
int vhost_be_accept(int listen_fd, int timeout_ms,
		    const struct vhost_be_config *cfg, struct vhost_be **out);
/* Serve an already connected socket (takes ownership of @sock). */
int vhost_be_new(int sock, const struct vhost_be_config *cfg,
		 struct vhost_be **out);
/* Close everything: socket, channel, eventfds, memory mappings. */
void vhost_be_free(struct vhost_be *be);

/* The socket to poll for POLLIN. */
int vhost_be_fd(const struct vhost_be *be);
/*
 * Read and answer one front-end message. 0 when served (even if refused),
 * -ECONNRESET when the front-end closed the connection, another -errno
 * when the connection is unusable.
 */
int vhost_be_dispatch(struct vhost_be *be);

uint64_t vhost_be_acked_features(const struct vhost_be *be);
uint64_t vhost_be_protocol_features(const struct vhost_be *be);
bool vhost_be_has_backend_channel(const struct vhost_be *be);
uint8_t vhost_be_status(const struct vhost_be *be);	/* SET_STATUS */

/* Guest memory: a pointer to [gpa, gpa + len) or NULL if not all mapped. */
void *vhost_be_gpa_to_va(struct vhost_be *be, uint64_t gpa, uint64_t len);
unsigned int vhost_be_mem_regions(const struct vhost_be *be);

/* ---- split virtqueues ---- */
bool vhost_be_vring_started(const struct vhost_be *be, unsigned int idx);
bool vhost_be_vring_enabled(const struct vhost_be *be, unsigned int idx);
/* The kick eventfd to poll, or -1. */
int vhost_be_vring_kick_fd(const struct vhost_be *be, unsigned int idx);
/* Consume a kick (read the eventfd). */
void vhost_be_vring_drain_kick(struct vhost_be *be, unsigned int idx);
/*
 * Take the next available chain. 1 = @e filled, 0 = ring empty, -EINVAL
 * a malformed chain (bad index, loop, a buffer outside guest memory unless
 * vhost_be_config.unmapped_buffers, a bad indirect table).
 */
int vhost_be_vring_pop(struct vhost_be *be, unsigned int idx,
		       struct vhost_be_elem *e);
/* Return chain @head with @len bytes written to the used ring. */
int vhost_be_vring_push(struct vhost_be *be, unsigned int idx, uint16_t head,
			uint32_t len);
/* Signal the call eventfd. */
int vhost_be_vring_notify(struct vhost_be *be, unsigned int idx);

/* ---- the back-end channel ---- */

/*
 * SHMEM_MAP @len bytes of @fd (from @fd_offset) at @shm_offset of region
 * @shmid; @flags is VHOST_USER_FLAG_MAP_RW or 0. With REPLY_ACK the call
 * waits for the front-end: 0, or -EREMOTEIO if it refused (see
 * vhost_be_backend_request() for the code). Without REPLY_ACK, 0 = sent.
 * The fd stays the caller's.
 */
int vhost_be_shmem_map(struct vhost_be *be, uint8_t shmid,
		       uint64_t shm_offset, uint64_t len, int fd,
		       uint64_t fd_offset, uint64_t flags);
int vhost_be_shmem_unmap(struct vhost_be *be, uint8_t shmid,
			 uint64_t shm_offset, uint64_t len);
/* CONFIG_CHANGE_MSG. */
int vhost_be_config_changed(struct vhost_be *be);

/*
 * Send any request on the back-end channel, exactly as given (tests use it
 * to send malformed requests). With @need_reply and REPLY_ACK the
 * front-end's u64 answer goes to *reply; returns 0 when the request went
 * out (and the reply, if awaited, came back), -errno otherwise.
 */
int vhost_be_backend_request(struct vhost_be *be, uint32_t request,
			     const void *payload, uint32_t size,
			     const int *fds, unsigned int nfds,
			     bool need_reply, uint64_t *reply);

#ifdef __cplusplus
}
#endif

#endif /* VHOST_BACKEND_H */
