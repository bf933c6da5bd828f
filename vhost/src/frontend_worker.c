/* SPDX-License-Identifier: MIT */
/*
 * The front-end's service thread, one per connection: it serves the
 * back-end channel (SHMEM_MAP, SHMEM_UNMAP, CONFIG_CHANGE_MSG, through
 * channel.c) and watches the main socket for the back-end's hang-up. It
 * never takes the request lock, so a request waiting for the back-end
 * never blocks a SHMEM_MAP, and it never waits for the owner: the owner
 * may be joining it (fe_worker_stop()).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/thread.h"

#include "frontend_priv.h"

static void worker_config_changed(void *opaque)
{
	struct vhost_fe *fe = opaque;

	if (fe->cfg.ops && fe->cfg.ops->config_changed)
		fe->cfg.ops->config_changed(fe->cfg.opaque, fe);
}

/* Report the end of the connection to the owner, once, with its cause. */
static void worker_report_lost(struct vhost_fe *fe, const char *why)
{
	char cause[FE_WHY_MAX];

	/* Whatever broke, the back-end must see the connection end too. */
	fe_lost(fe, why);
	if (__atomic_exchange_n(&fe->lost_reported, true, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&fe->stopping, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&fe->lost_lock);
	snprintf(cause, sizeof(cause), "%s", fe->lost_why);
	pthread_mutex_unlock(&fe->lost_lock);
	if (fe->cfg.ops && fe->cfg.ops->disconnected)
		fe->cfg.ops->disconnected(fe->cfg.opaque, fe, cause);
	else
		vlog_warn(&fe->log, "back-end disconnected: %s", cause);
}

/*
 * A back-end that exits closes both of its sockets at once, but this
 * thread may see the channel's end first: wait a moment for the main
 * socket's, so that the cause named is the same either way.
 */
static const char *channel_end_cause(struct vhost_fe *fe, const char *why)
{
	struct pollfd p = { .fd = fe->sock, .events = POLLRDHUP };

	if (poll(&p, 1, 100) == 1 && (p.revents & (POLLRDHUP | POLLHUP)))
		return "the back-end closed the connection";
	return why;
}

static void *worker_main(void *arg)
{
	struct vhost_fe *fe = arg;
	char why[FE_WHY_MAX];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = fe->stop_fd, .events = POLLIN },
			{ .fd = fe->sock, .events = POLLRDHUP },
			{ .fd = fe->chan_sock, .events = POLLIN },
		};
		/* A back-end flooding bad requests waits for the next second. */
		int pause = fe->chan_sock >= 0 ?
			    vhost_channel_pause_ms(&fe->chan) : 0;
		int n = poll(p, fe->chan_sock >= 0 && !pause ? 3 : 2,
			     pause ? pause : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[0].revents)
			return NULL;
		if (p[1].revents) {
			worker_report_lost(fe, "the back-end closed the connection");
			return NULL;
		}
		if (!p[2].revents)
			continue;
		n = vhost_channel_serve_one(&fe->chan, FE_CHANNEL_MSG_TIMEOUT_MS,
					    why, sizeof(why));
		if (n == -ECONNRESET) {
			worker_report_lost(fe, channel_end_cause(fe, why));
			return NULL;
		}
		if (n) {
			worker_report_lost(fe, why);
			return NULL;
		}
	}
}

int fe_worker_start(struct vhost_fe *fe)
{
	fe->chan = (struct vhost_channel){
		.sock = fe->chan_sock,
		.reply_ack = fe_pf(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK),
		.owner = fe->generation,
		.peer = fe->peer,
		.shm = &fe->shm,
		.log = &fe->log,
		.config_changed = worker_config_changed,
		.opaque = fe,
		.reaper = &fe->reaper,
	};
	return -thread_start(&fe->thread, worker_main, fe);
}

void fe_worker_stop(struct vhost_fe *fe)
{
	uint64_t one = 1;

	__atomic_store_n(&fe->stopping, true, __ATOMIC_SEQ_CST);
	/* A one-shot eventfd write cannot fail short of a closed fd. */
	if (write(fe->stop_fd, &one, sizeof(one)) != sizeof(one))
		one = 0;
	if (fe->chan_sock >= 0)
		shutdown(fe->chan_sock, SHUT_RDWR);
	pthread_join(fe->thread, NULL);
	if (read(fe->stop_fd, &one, sizeof(one)) < 0)
		one = 0;
}
