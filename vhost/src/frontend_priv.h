/* SPDX-License-Identifier: MIT */
/*
 * The front-end's private state, shared by its three parts:
 *   frontend.c           connection, negotiation, reconnect, the region table
 *   frontend_requests.c  every request on the main socket (fe_rpc)
 *   frontend_worker.c    the service thread: back-end channel and hang-up
 */
#ifndef VHOST_FRONTEND_PRIV_H
#define VHOST_FRONTEND_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/frontend.h"

#include "channel.h"
#include "log.h"
#include "wire.h"

#define FE_DEFAULT_TIMEOUT_MS		5000
#define FE_CHANNEL_MSG_TIMEOUT_MS	5000
#define FE_WHY_MAX			200

struct vhost_fe {
	struct vhost_fe_config cfg;
	char *path;
	char *name;
	struct vhost_logger log;

	pthread_mutex_t req_lock;	/* one request on the main socket at once */
	int sock;			/* main socket (non-blocking), -1 when closed */
	int chan_sock;			/* our end of the back-end channel, or -1 */
	int stop_fd;			/* eventfd that stops the thread */
	int cancel_fd;			/* eventfd: vhost_fe_cancel() */
	bool cancelled;			/* atomic */
	int64_t nego_deadline_ms;	/* -1, or the end of negotiation */
	pthread_t thread;
	bool thread_running;
	bool connected;			/* atomic */
	bool lost_reported;		/* atomic */
	bool stopping;			/* atomic: closing on purpose */
	pthread_mutex_t lost_lock;
	char lost_why[FE_WHY_MAX];	/* why the connection ended, first cause */

	uint64_t offered_features;
	uint64_t protocol_features;
	uint32_t max_queues;
	uint64_t max_mem_slots;
	bool have_shm_config;
	struct vhost_user_shmem_config shm_config;
	uint64_t generation;		/* owner tag of the current connection */
	/*
	 * The back-end's pid (SO_PEERCRED of the main socket), 0: unknown.
	 * Its mount table names the file systems of the files it maps from
	 * a mount namespace of its own. Set before the worker starts.
	 */
	pid_t peer;

	struct vhost_fe_mem_region mem[VHOST_FE_MAX_MEM_REGIONS];
	unsigned int nmem;
	unsigned int nmem_added;	/* regions sent with ADD_MEM_REG */

	struct vhost_shm_table shm;
	struct vhost_channel chan;
	struct vhost_fd_reaper reaper;	/* the back-end's fds are closed here */
};

static inline bool fe_pf(const struct vhost_fe *fe, unsigned int bit)
{
	return fe->protocol_features & (1ull << bit);
}

static inline bool fe_uses_pf(const struct vhost_fe *fe)
{
	return fe->offered_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

/* ---- frontend_requests.c ---- */

/*
 * Send @m and wait for its reply (@reply != NULL) or, when REPLY_ACK is in
 * use, for the ack. A broken stream ends the connection. The failure is
 * worded into @why as "REQUEST: reason".
 */
int fe_rpc(struct vhost_fe *fe, struct vhost_msg *m, struct vhost_msg *reply,
	   char *why, size_t whylen);
int fe_get_u64(struct vhost_fe *fe, uint32_t request, uint64_t *val,
	       char *why, size_t whylen);
int fe_set_u64(struct vhost_fe *fe, uint32_t request, uint64_t val,
	       char *why, size_t whylen);

/*
 * The connection is dead: record the first @why, shut the socket down so
 * the back-end sees it too; the service thread reports it.
 */
void fe_lost(struct vhost_fe *fe, const char *why);

/* How long a request may wait: reply timeout, negotiation, cancel fds. */
struct vhost_wait fe_wait(const struct vhost_fe *fe, int timeout_ms);

/* ---- frontend_worker.c ---- */

/* Start the service thread for the current connection: 0 or -errno. */
int fe_worker_start(struct vhost_fe *fe);
/* Stop and join it (never from the thread itself). */
void fe_worker_stop(struct vhost_fe *fe);

#endif /* VHOST_FRONTEND_PRIV_H */
