/* SPDX-License-Identifier: MIT */
/* Front-end side of the back-end channel: SHMEM_MAP / SHMEM_UNMAP. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/why.h"
#include "shmem/shmem.h"

#include "channel.h"
#include "wire.h"

#define CHANNEL_LOG_BURST	10	/* refusal lines a second */

void vhost_shm_table_init(struct vhost_shm_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	memset(t->regions, 0, sizeof(t->regions));
}

void vhost_shm_table_destroy(struct vhost_shm_table *t)
{
	pthread_mutex_destroy(&t->lock);
}

/*
 * A back-end that stops reading its own channel cannot hold the reply (and
 * so the service thread) for longer than one message's timeout.
 */
static void channel_close_fd(void *opaque, int fd)
{
	struct vhost_channel *ch = opaque;

	if (ch->reaper)
		vhost_fd_close(ch->reaper, fd, ch->peer);
	else
		close(fd);
}

static int channel_reply(struct vhost_channel *ch,
			 const struct vhost_user_hdr *req, int result,
			 int timeout_ms)
{
	struct vhost_wait w = VHOST_WAIT_FOREVER;
	struct vhost_msg r;

	if (!ch->reply_ack || !(req->flags & VHOST_USER_NEED_REPLY_MASK))
		return 0;
	vhost_msg_init(&r, req->request, VHOST_USER_REPLY_MASK, sizeof(r.p.u64));
	/* 0 = success; failures carry the positive errno (non-zero). */
	r.p.u64 = result < 0 ? (uint64_t)-result : 0;
	w.deadline_ms = vhost_deadline_in(timeout_ms);
	return vhost_msg_send_wait(ch->sock, &r, &w);
}

/*
 * One line per refused request, at most CHANNEL_LOG_BURST a second: a
 * back-end that floods bad requests cannot flood the log. The lines held
 * back are counted and reported with the next line that gets through.
 */
static void channel_refused(struct vhost_channel *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void channel_refused(struct vhost_channel *ch, const char *fmt, ...)
{
	int64_t sec = clock_now_ms() / 1000;
	char line[400];
	uint64_t held;
	va_list ap;

	if (sec != ch->log_sec) {
		ch->log_sec = sec;
		ch->log_burst = 0;
	}
	if (ch->log_burst >= CHANNEL_LOG_BURST) {
		ch->log_held++;
		return;
	}
	ch->log_burst++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	held = ch->log_held;
	ch->log_held = 0;
	if (held)
		vlog_warn(ch->log, "%s (and %llu more refusals not logged)",
			  line, (unsigned long long)held);
	else
		vlog_warn(ch->log, "%s", line);
}

static int channel_map(struct vhost_channel *ch, struct vhost_msg *m)
{
	const struct vhost_user_mmap *mm = &m->p.mmap;
	struct shmem_map_req q = {
		.shm_offset = mm->shm_offset,
		.len = mm->len,
		.fd = vhost_msg_take_fd(m, 0),
		.fd_offset = mm->fd_offset,
		.flags = mm->flags & VHOST_USER_FLAG_MAP_RW,
		.owner = ch->owner,
		.peer = ch->peer,
	};
	char why[SHMEM_WHY_MAX];
	struct shmem_region *r;
	int ret;

	if (mm->flags & ~VHOST_USER_FLAG_MAP_MASK) {
		ret = -EINVAL;
		snprintf(why, sizeof(why), "unknown flag bits 0x%llx",
			 (unsigned long long)(mm->flags & ~VHOST_USER_FLAG_MAP_MASK));
		goto out;
	}
	/*
	 * What the fd is, before the table lock: a refused fd never holds
	 * the lock that a device reset and teardown take, and nothing in the
	 * check waits on another process (a hung FUSE daemon, say).
	 */
	ret = shmem_check_fd(q.fd, q.fd_offset, q.len, q.peer, why,
			     sizeof(why));
	if (ret)
		goto out;
	pthread_mutex_lock(&ch->shm->lock);
	r = ch->shm->regions[mm->shmid];
	if (r)
		ret = shmem_map(r, &q, why, sizeof(why));
	else
		ret = -ENOENT;
	pthread_mutex_unlock(&ch->shm->lock);
	if (!r)
		snprintf(why, sizeof(why), "no region with shmid %u", mm->shmid);
out:
	if (ret)
		channel_refused(ch,
				"SHMEM_MAP shmid %u offset 0x%llx len 0x%llx fd_offset 0x%llx flags 0x%llx refused: %s",
				mm->shmid, (unsigned long long)mm->shm_offset,
				(unsigned long long)mm->len,
				(unsigned long long)mm->fd_offset,
				(unsigned long long)mm->flags, why);
	channel_close_fd(ch, q.fd);
	return ret;
}

static int channel_unmap(struct vhost_channel *ch, struct vhost_msg *m)
{
	const struct vhost_user_mmap *mm = &m->p.mmap;
	char why[SHMEM_WHY_MAX];
	struct shmem_region *r;
	int ret;

	pthread_mutex_lock(&ch->shm->lock);
	r = ch->shm->regions[mm->shmid];
	if (r)
		ret = shmem_unmap(r, mm->shm_offset, mm->len, why, sizeof(why));
	else
		ret = -ENOENT;
	pthread_mutex_unlock(&ch->shm->lock);
	if (!r)
		snprintf(why, sizeof(why), "no region with shmid %u", mm->shmid);
	if (ret)
		channel_refused(ch,
				"SHMEM_UNMAP shmid %u offset 0x%llx len 0x%llx refused: %s",
				mm->shmid, (unsigned long long)mm->shm_offset,
				(unsigned long long)mm->len, why);
	return ret;
}

static int channel_dispatch(struct vhost_channel *ch, struct vhost_msg *m)
{
	switch (m->hdr.request) {
	case VHOST_USER_BACKEND_SHMEM_MAP:
		return channel_map(ch, m);
	case VHOST_USER_BACKEND_SHMEM_UNMAP:
		return channel_unmap(ch, m);
	case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
		if (ch->config_changed)
			ch->config_changed(ch->opaque);
		return 0;
	default:
		channel_refused(ch, "back-end request %u not supported",
				m->hdr.request);
		return -EOPNOTSUPP;
	}
}

static void channel_count_refusal(struct vhost_channel *ch)
{
	struct timespec ts;

	__atomic_fetch_add(&ch->refused, 1, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((int64_t)ts.tv_sec != ch->refuse_sec) {
		ch->refuse_sec = (int64_t)ts.tv_sec;
		ch->refuse_count = 0;
	}
	if (++ch->refuse_count == VHOST_CHANNEL_REFUSALS_PER_SEC)
		channel_refused(ch,
				"the back-end had %d requests refused in a second: its channel waits for the next one",
				VHOST_CHANNEL_REFUSALS_PER_SEC);
}

int vhost_channel_pause_ms(struct vhost_channel *ch)
{
	struct timespec ts;

	if (ch->refuse_count < VHOST_CHANNEL_REFUSALS_PER_SEC)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if ((int64_t)ts.tv_sec != ch->refuse_sec)
		return 0;
	return (int)((1000000000L - ts.tv_nsec) / 1000000) + 1;
}

int vhost_channel_serve_one(struct vhost_channel *ch, int timeout_ms,
			    char *why, size_t whylen)
{
	struct vhost_wait w = VHOST_WAIT_FOREVER;
	struct vhost_msg m;
	int ret;

	w.deadline_ms = vhost_deadline_in(timeout_ms);
	w.close_fd = channel_close_fd;
	w.close_opaque = ch;
	ret = vhost_msg_recv_wait(ch->sock, &m, VHOST_MSG_BACKEND_REQ, 0, false,
				  &w);
	if (ret == -EBADMSG) {
		channel_refused(ch,
				"back-end %s (%u) malformed: size %u, %s, flags 0x%x",
				vhost_user_backend_request_name(m.hdr.request),
				m.hdr.request, m.hdr.size,
				"wrong fd count or header", m.hdr.flags);
		channel_count_refusal(ch);
		ret = channel_reply(ch, &m.hdr, -EBADMSG, timeout_ms);
		goto sent;
	}
	if (ret == -ECONNRESET)
		return why_fail(why, whylen, ret,
				"the back-end closed its channel");
	if (ret)
		return why_fail(why, whylen, ret, "back-end channel: %s",
				strerror(-ret));
	ret = channel_dispatch(ch, &m);
	vhost_msg_drop_fds(&m, &w);
	if (ret)
		channel_count_refusal(ch);
	else if (m.hdr.request == VHOST_USER_BACKEND_SHMEM_MAP)
		__atomic_fetch_add(&ch->maps, 1, __ATOMIC_RELAXED);
	else if (m.hdr.request == VHOST_USER_BACKEND_SHMEM_UNMAP)
		__atomic_fetch_add(&ch->unmaps, 1, __ATOMIC_RELAXED);
	ret = channel_reply(ch, &m.hdr, ret, timeout_ms);
sent:
	if (ret)
		return why_fail(why, whylen, ret,
				"back-end channel: cannot reply: %s",
				strerror(-ret));
	return 0;
}
