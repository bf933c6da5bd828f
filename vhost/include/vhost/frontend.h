/* SPDX-License-Identifier: MIT */
/*
 * vhost-user front-end: drives one back-end over its UNIX socket and serves
 * the back-end channel (SHMEM_MAP / SHMEM_UNMAP into shmem/ regions).
 *
 * Threading: each front-end runs one service thread, started when a
 * connection is made and stopped by vhost_fe_destroy() or
 * vhost_fe_reconnect(). It reads the back-end channel, turns SHMEM_MAP and
 * SHMEM_UNMAP into shmem_map()/shmem_unmap() and watches the main socket for
 * hang-up. The ops callbacks run on that thread; they must not call
 * vhost_fe_reconnect() or vhost_fe_destroy(), nor wait for a lock that the
 * caller of those two may hold (both join the thread): set a flag or wake
 * the owner's loop instead. All other vhost_fe_* calls may come from any
 * thread; requests on the main socket are serialised by an internal lock,
 * and each blocks until the back-end answers (at most reply_timeout_ms).
 *
 * Waiting: nothing here waits on the back-end without a deadline. The
 * connection attempt ends at connect_timeout_ms, every request (its send
 * and its reply together) at reply_timeout_ms, and negotiation as a whole
 * at reply_timeout_ms too; a signal never restarts a wait. A back-end that
 * misses a deadline is dropped (disconnect reported). vhost_fe_cancel() and
 * the config's cancel fd end every wait at once: an owner that stops never
 * waits on its back-end.
 *
 * Errors: every call that can fail returns a negative errno and words one
 * line into the caller's reason buffer (char *why, size_t whylen; NULL is
 * allowed), e.g. "SET_VRING_ADDR: the back-end replied failure 1". The
 * front-end does not log what it returns: the caller reports it once. It
 * logs only what no caller sees: the negotiated features (info), the
 * back-end channel's refusals (at most ten a second) and, with no
 * disconnected callback, the end of the connection. A back-end's bad reply
 * is an error return, never an abort.
 */
#ifndef VHOST_FRONTEND_H
#define VHOST_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/log.h"
#include "vhost/proto.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_fe;
struct shmem_region;

/* Protocol features the front-end uses when the back-end offers them. */
#define VHOST_FE_PROTOCOL_FEATURES					\
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |				\
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |			\
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |		\
	 (1ull << VHOST_USER_PROTOCOL_F_SHMEM))

#define VHOST_FE_MAX_MEM_REGIONS	32

struct vhost_fe_ops {
	/*
	 * The back-end hung up or broke the protocol: once per connection,
	 * with why ("the back-end closed the connection", "GET_CONFIG:
	 * Connection timed out", ...).
	 */
	void (*disconnected)(void *opaque, struct vhost_fe *fe,
			     const char *why);
	/* CONFIG_CHANGE_MSG: the device config space changed. */
	void (*config_changed)(void *opaque, struct vhost_fe *fe);
};

struct vhost_fe_config {
	const char *socket_path;
	const char *name;		/* for log lines; may be NULL */
	int connect_timeout_ms;		/* 0: 5000; retries while absent or
					   while its listen queue is full */
	int reply_timeout_ms;		/* 0: 5000 */
	/*
	 * With has_cancel_fd: an fd (eventfd, pipe) that becomes readable,
	 * and stays so, when the owner stops. Every wait on the back-end
	 * polls it and ends with -ECANCELED, vhost_fe_create() included.
	 */
	bool has_cancel_fd;
	int cancel_fd;
	uint64_t protocol_features;	/* 0: VHOST_FE_PROTOCOL_FEATURES */
	const struct vhost_fe_ops *ops;	/* may be NULL */
	void *opaque;
	vhost_log_fn log;		/* may be NULL */
	void *log_opaque;
};

/* One block of guest RAM backed by a shareable fd (memfd). */
struct vhost_fe_mem_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;			/* where the owner mapped it */
	int fd;				/* borrowed */
	uint64_t fd_offset;
};

/* A virtqueue as the guest driver laid it out. */
struct vhost_fe_vring {
	uint32_t num;			/* queue size, a power of two */
	uint32_t base;			/* first avail index, normally 0 */
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	int kick_fd;			/* borrowed eventfd (ioeventfd) */
	int call_fd;			/* borrowed eventfd (irqfd); -1: none */
};

/*
 * Connect (retrying ENOENT/ECONNREFUSED until the timeout) and negotiate:
 * GET_FEATURES (VIRTIO_F_VERSION_1 required), GET/SET_PROTOCOL_FEATURES,
 * GET_QUEUE_NUM (MQ), GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS),
 * SET_BACKEND_REQ_FD (BACKEND_REQ), SET_OWNER, GET_SHMEM_CONFIG (SHMEM).
 */
int vhost_fe_create(const struct vhost_fe_config *cfg, struct vhost_fe **out,
		    char *why, size_t whylen);
/* Stop the thread and close the connection. Regions stay the owner's. */
void vhost_fe_destroy(struct vhost_fe *fe);

/*
 * Drop the current connection (if any) and make a new one, negotiating
 * again. Mappings made through the old connection stay until
 * vhost_fe_reset(). Features, memory table and vrings must be sent again.
 * -EPROTO if the new GET_SHMEM_CONFIG differs while regions are attached.
 */
int vhost_fe_reconnect(struct vhost_fe *fe, char *why, size_t whylen);
bool vhost_fe_connected(struct vhost_fe *fe);

/*
 * End every wait on the back-end now, from any thread: a request in
 * progress returns -ECANCELED, and so does every later one (a reconnect
 * included). The connection is not reported as lost. Used by an owner that
 * stops, before vhost_fe_destroy(), so that nothing waits for a back-end
 * that hangs. Cannot be undone.
 */
void vhost_fe_cancel(struct vhost_fe *fe);

/*
 * Drop the connection because the owner gave up on the back-end (e.g. it
 * took too long to start the device): @why is the cause the disconnected
 * callback reports.
 */
void vhost_fe_drop(struct vhost_fe *fe, const char *why);

/* Virtio features the back-end offers (bit 30 removed). */
uint64_t vhost_fe_device_features(const struct vhost_fe *fe);
/* Protocol features in use on this connection. */
uint64_t vhost_fe_protocol_features(const struct vhost_fe *fe);
static inline bool vhost_fe_has(const struct vhost_fe *fe, unsigned int bit)
{
	return vhost_fe_protocol_features(fe) & (1ull << bit);
}
/* GET_QUEUE_NUM's answer, or 0 without MQ. */
uint32_t vhost_fe_max_queues(const struct vhost_fe *fe);

/*
 * The validated GET_SHMEM_CONFIG answer: sizes[shmid], 0 = unused.
 * Returns the number of regions, or -EOPNOTSUPP without SHMEM.
 */
int vhost_fe_shmem_config(const struct vhost_fe *fe,
			  uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS]);
/*
 * Check a GET_SHMEM_CONFIG payload: nregions <= 256, nregions equal to the
 * non-zero entries, every size a page multiple and <= 1 TiB. 0 or -EPROTO
 * with the rule worded into @why.
 */
int vhost_fe_check_shmem_config(const struct vhost_user_shmem_config *c,
				char *why, size_t whylen);

/*
 * Serve back-end mappings for @shmid in @r (created by the owner). The
 * table has 256 fixed slots. -EEXIST if the slot is taken. When the
 * back-end answered GET_SHMEM_CONFIG, @shmid must be one it announced
 * (-ENOENT) and @r must have the announced size (-EINVAL); otherwise any
 * shmid is accepted (regions configured by the owner).
 */
int vhost_fe_attach_region(struct vhost_fe *fe, uint8_t shmid,
			   struct shmem_region *r);
/* Stop serving @shmid; returns the region (still the owner's) or NULL. */
struct shmem_region *vhost_fe_detach_region(struct vhost_fe *fe,
					    uint8_t shmid);

/* SET_FEATURES with the driver's features (bit 30 added when in use). */
int vhost_fe_set_features(struct vhost_fe *fe, uint64_t features,
			  char *why, size_t whylen);
/*
 * Send the guest memory table: SET_MEM_TABLE for up to 8 regions, else
 * ADD_MEM_REG per region when CONFIGURE_MEM_SLOTS is in use. The table is
 * kept to translate vring addresses.
 */
int vhost_fe_set_mem_table(struct vhost_fe *fe,
			   const struct vhost_fe_mem_region *regions,
			   unsigned int n, char *why, size_t whylen);
/*
 * SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR (guest addresses translated
 * through the memory table), SET_VRING_CALL, SET_VRING_KICK, then
 * SET_VRING_ENABLE 1 when protocol features are in use.
 */
int vhost_fe_vring_start(struct vhost_fe *fe, unsigned int idx,
			 const struct vhost_fe_vring *v, char *why,
			 size_t whylen);
/* SET_VRING_ENABLE 0 (if in use) and GET_VRING_BASE. */
int vhost_fe_vring_stop(struct vhost_fe *fe, unsigned int idx,
			uint32_t *last_avail, char *why, size_t whylen);
/* GET_CONFIG / SET_CONFIG; -EOPNOTSUPP without CONFIG. len <= 256. */
int vhost_fe_get_config(struct vhost_fe *fe, uint32_t offset, void *buf,
			uint32_t len, char *why, size_t whylen);
int vhost_fe_set_config(struct vhost_fe *fe, uint32_t offset,
			const void *buf, uint32_t len, char *why,
			size_t whylen);
/* SET_STATUS / GET_STATUS; -EOPNOTSUPP without STATUS. */
int vhost_fe_set_status(struct vhost_fe *fe, uint8_t status, char *why,
			size_t whylen);
int vhost_fe_get_status(struct vhost_fe *fe, uint8_t *status, char *why,
			size_t whylen);

/*
 * Device reset: RESET_DEVICE (RESET_OWNER for back-ends without
 * RESET_DEVICE), then every mapping in every attached region is dropped
 * (shmem_reset). Mappings are dropped even when the back-end is gone;
 * the return value reports the message only.
 */
int vhost_fe_reset(struct vhost_fe *fe, char *why, size_t whylen);

/* Back-end channel counters, for logs and tests. */
struct vhost_fe_stats {
	uint64_t maps;		/* successful SHMEM_MAP */
	uint64_t unmaps;	/* successful SHMEM_UNMAP */
	uint64_t refused;	/* back-end requests answered with failure */
};
void vhost_fe_get_stats(struct vhost_fe *fe, struct vhost_fe_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* VHOST_FRONTEND_H */
