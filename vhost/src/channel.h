/* SPDX-License-Identifier: MIT */
/*
 * The front-end's end of the back-end channel: reads one back-end request,
 * checks it, applies SHMEM_MAP / SHMEM_UNMAP to the attached shmem region
 * and replies (only when REPLY_ACK is in use and NEED_REPLY is set,
 * exactly once). Each refusal is logged here, once, with the reason the
 * refusing layer gave, and at most ten lines a second. Used by the front-end's service thread, and directly by
 * the fuzz target and tests.
 */
#ifndef VHOST_CHANNEL_H
#define VHOST_CHANNEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdclose.h"
#include "log.h"
#include "vhost/proto.h"

struct shmem_region;

/* shmid -> region, fixed size: pointers into it are never invalidated. */
struct vhost_shm_table {
	pthread_mutex_t lock;
	struct shmem_region *regions[VHOST_USER_MAX_SHMEM_REGIONS];
};

struct vhost_channel {
	int sock;
	bool reply_ack;			/* REPLY_ACK negotiated */
	uint64_t owner;			/* shmem owner tag of this connection */
	pid_t peer;			/* the back-end's pid, 0: unknown */
	struct vhost_shm_table *shm;
	const struct vhost_logger *log;
	void (*config_changed)(void *opaque);
	void *opaque;
	/* Closes the back-end's fds; NULL: close() (tests, fuzzing). */
	struct vhost_fd_reaper *reaper;
	/* counters, updated by the serving thread only */
	uint64_t maps, unmaps, refused;
	/* refusal log rate limit: the second, lines in it, lines held back */
	int64_t log_sec;
	unsigned int log_burst;
	uint64_t log_held;
	/* refusals in the current second, for vhost_channel_pause_ms() */
	int64_t refuse_sec;
	unsigned int refuse_count;
};

/* Refused requests a back-end may cost the VMM each second. */
#define VHOST_CHANNEL_REFUSALS_PER_SEC	1000

void vhost_shm_table_init(struct vhost_shm_table *t);
void vhost_shm_table_destroy(struct vhost_shm_table *t);

/*
 * Serve one request. @timeout_ms bounds the wait for the whole message.
 * Returns 0 when the message was handled (even if refused, which is
 * logged here), or a fatal -errno with its cause worded into @why: the
 * channel is unusable (-ECONNRESET: the back-end closed it).
 */
int vhost_channel_serve_one(struct vhost_channel *ch, int timeout_ms,
			    char *why, size_t whylen);

/*
 * How long to leave the channel unread before serving it again: 0, or the
 * rest of the second once the back-end had VHOST_CHANNEL_REFUSALS_PER_SEC
 * requests refused in it. A back-end that floods bad requests then costs
 * the VMM a bounded share of a CPU instead of a whole one; valid requests
 * are never refused, so they are never slowed.
 */
int vhost_channel_pause_ms(struct vhost_channel *ch);

#endif
