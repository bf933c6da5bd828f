// SPDX-License-Identifier: MIT
/*
 * The device's worker thread: the one thread that talks to the back-end
 * once the guest runs (dev.h). vCPUs and the front-end's service thread
 * describe what they want (a reset, a start, a config write, a config
 * refresh) under work_lock and wake it; it carries that out in order,
 * without holding any lock a vCPU may wait for. A back-end that hangs or
 * crawls therefore delays only this device: every wait is bounded by the
 * front-end's reply timeout, a start or reset as a whole by
 * VU_OP_TIMEOUT_MS, and a stop cancels all of it at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vhost/frontend.h>

#include "common/clock.h"
#include "common/thread.h"
#include "common/why.h"

#include "devices/vhost_user/dev.h"

#define VU_LOG_BURST	10	/* the worker's lines a second, per device */

/*
 * The worker's own lines: a guest that resets a device in a loop, with a
 * back-end that fails every time, gets at most VU_LOG_BURST lines a
 * second; the lines held back are counted on the next one.
 */
static void vu_log(struct vhost_user_dev *d, enum vmm_log_level level,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void vu_log(struct vhost_user_dev *d, enum vmm_log_level level,
		   const char *fmt, ...)
{
	int64_t sec = clock_now_ms() / 1000;
	char line[300];
	va_list ap;

	if (level > d->svc->log->level)
		return;
	if (sec != d->log_sec) {
		d->log_sec = sec;
		d->log_burst = 0;
	}
	if (d->log_burst >= VU_LOG_BURST) {
		d->log_held++;
		return;
	}
	d->log_burst++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->log_held)
		vmm_logf(d->svc->log, level,
			 "vhost-user %s: %s (and %llu more lines not logged)",
			 d->name, line, (unsigned long long)d->log_held);
	else
		vmm_logf(d->svc->log, level, "vhost-user %s: %s", d->name,
			 line);
	d->log_held = 0;
}

/* What the worker took from the wanted state in one round. */
struct vu_round {
	uint32_t epoch;
	bool start;
	struct vu_start snap;
	bool refresh;
	bool write;
	struct vu_config_write w;
};

void vu_worker_wake(struct vhost_user_dev *d)
{
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, a wake-up is pending */
	}
}

/* Has this start or reset run out of time? Then give up on the back-end. */
static bool op_overdue(struct vhost_user_dev *d, int64_t deadline,
		       const char *what)
{
	char cause[96];

	if (clock_now_ms() < deadline)
		return false;
	snprintf(cause, sizeof(cause),
		 "the back-end took more than %d ms to %s the device",
		 VU_OP_TIMEOUT_MS, what);
	vhost_fe_drop(d->fe, cause);
	return true;
}

/* Stop every started ring (only while connected: nothing to ask else). */
static void stop_queues(struct vhost_user_dev *d, int64_t deadline)
{
	char why[VU_WHY_MAX];
	unsigned int i;
	uint32_t last;

	for (i = 0; i < d->nqueues; i++) {
		if (d->vring_on[i] && vhost_fe_connected(d->fe) &&
		    !op_overdue(d, deadline, "reset") &&
		    vhost_fe_vring_stop(d->fe, i, &last, why, sizeof(why)))
			vu_log(d, VMM_LOG_DEBUG, "cannot stop queue %u: %s", i,
			       why);
		d->vring_on[i] = false;
	}
}

/* Refresh the config copy from the back-end and tell the guest. */
static void refresh_config(struct vhost_user_dev *d)
{
	char why[VU_WHY_MAX];

	if (!d->be_config)
		return;
	if (vu_read_config(d, why, sizeof(why))) {
		/* A back-end that went away again is reported as such. */
		vu_log(d, vhost_fe_connected(d->fe) ? VMM_LOG_WARN :
		       VMM_LOG_DEBUG, "cannot read the config space: %s", why);
		return;
	}
	virtio_mmio_signal_config(&d->t);
}

/*
 * A new connection. broken is cleared first: if the new connection ends
 * at once, its service thread reports it and sets broken again, so no
 * report is ever lost between the reconnect and this function's return.
 */
static bool reconnect(struct vhost_user_dev *d)
{
	char why[VU_WHY_MAX];
	int ret;

	atomic_store(&d->broken, false);
	ret = vhost_fe_reconnect(d->fe, why, sizeof(why));
	if (ret) {
		atomic_store(&d->broken, true);
		if (ret != -ECANCELED)
			vu_log(d, VMM_LOG_WARN,
			       "reconnect failed: %s; device stays stopped", why);
		return false;
	}
	vu_log(d, VMM_LOG_INFO, "back-end reconnected");
	refresh_config(d);
	return true;
}

static bool needs_reconnect(struct vhost_user_dev *d)
{
	return atomic_load(&d->broken) || !vhost_fe_connected(d->fe);
}

/* The guest reset the device: rings, RESET_DEVICE, mappings, reconnect. */
static void do_reset(struct vhost_user_dev *d)
{
	int64_t deadline = clock_now_ms() + VU_OP_TIMEOUT_MS;
	char why[VU_WHY_MAX];

	stop_queues(d, deadline);
	/* Drops every mapping of the device, even with the back-end gone. */
	if (vhost_fe_reset(d->fe, why, sizeof(why)) && !needs_reconnect(d))
		vu_log(d, VMM_LOG_WARN, "reset: %s", why);
	op_overdue(d, deadline, "reset");
	if (needs_reconnect(d))
		reconnect(d);
}

static int send_mem_table(struct vhost_user_dev *d, char *why, size_t whylen)
{
	const struct dev_services *svc = d->svc;
	struct vhost_fe_mem_region m[DEV_MAX_RAM];
	unsigned int i;

	for (i = 0; i < svc->nram; i++)
		m[i] = (struct vhost_fe_mem_region){
			.gpa = svc->ram[i].gpa,
			.size = svc->ram[i].size,
			.hva = svc->ram[i].hva,
			.fd = svc->ram_fd,
			.fd_offset = svc->ram[i].fd_offset,
		};
	return vhost_fe_set_mem_table(d->fe, m, svc->nram, why, whylen);
}

static int start_queue(struct vhost_user_dev *d, unsigned int i,
		       const struct virtio_mmio_queue *q, char *why,
		       size_t whylen)
{
	struct vhost_fe_vring v = {
		.num = q->num ? q->num : q->num_max,
		.desc_gpa = q->desc,
		.avail_gpa = q->avail,
		.used_gpa = q->used,
		.kick_fd = d->kick_fd[i],
		.call_fd = d->call_fd,
	};
	int ret;

	ret = vhost_fe_vring_start(d->fe, i, &v, why, whylen);
	if (!ret)
		d->vring_on[i] = true;
	return ret;
}

static int start_device(struct vhost_user_dev *d, const struct vu_start *s,
			int64_t deadline, char *why, size_t whylen)
{
	unsigned int i;
	int ret;

	if (needs_reconnect(d) && !reconnect(d))
		return why_fail(why, whylen, -ENOTCONN,
				"the back-end is not connected");
	ret = vhost_fe_set_features(d->fe, s->features, why, whylen);
	if (!ret)
		ret = send_mem_table(d, why, whylen);
	for (i = 0; !ret && i < d->nqueues; i++) {
		if (op_overdue(d, deadline, "start"))
			return why_fail(why, whylen, -ETIMEDOUT,
					"the back-end took more than %d ms",
					VU_OP_TIMEOUT_MS);
		if (s->queues[i].ready)
			ret = start_queue(d, i, &s->queues[i], why, whylen);
	}
	if (!ret && op_overdue(d, deadline, "start"))
		ret = why_fail(why, whylen, -ETIMEDOUT,
			       "the back-end took more than %d ms",
			       VU_OP_TIMEOUT_MS);
	return ret;
}

/* The driver set DRIVER_OK: hand the rings over, or report the failure. */
static void do_start(struct vhost_user_dev *d, const struct vu_start *s)
{
	int64_t deadline = clock_now_ms() + VU_OP_TIMEOUT_MS;
	char why[VU_WHY_MAX];
	int ret;

	ret = start_device(d, s, deadline, why, sizeof(why));
	if (ret == -ECANCELED)
		return;
	if (ret) {
		vu_log(d, VMM_LOG_ERROR, "cannot start the device: %s", why);
		stop_queues(d, deadline);
		virtio_mmio_start_failed(&d->t, s->resets);
		return;
	}
	vu_log(d, VMM_LOG_INFO, "started, features 0x%llx",
	       (unsigned long long)s->features);
}

static void do_write(struct vhost_user_dev *d, const struct vu_config_write *w)
{
	char why[VU_WHY_MAX];

	if (vhost_fe_set_config(d->fe, w->off, w->data, w->len, why,
				sizeof(why)) < 0)
		vu_log(d, VMM_LOG_DEBUG, "config write: %s", why);
}

/*
 * Take the next piece of work, in the order the guest asked for it: a
 * reset first (it makes everything before it moot), then the start of the
 * current epoch, then config writes one by one, then a refresh. False
 * when there is nothing to do.
 */
static bool take_work(struct vhost_user_dev *d, struct vu_round *r)
{
	bool any = true;

	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&d->work_lock);
	r->epoch = d->want_epoch;
	if (d->want_epoch != d->done_epoch) {
		/* the reset itself */
	} else if (d->want_start) {
		r->start = true;
		r->snap = d->start;
		d->want_start = false;
	} else if (d->nwrites) {
		r->write = true;
		r->w = d->writes[0];
		memmove(d->writes, d->writes + 1,
			--d->nwrites * sizeof(d->writes[0]));
	} else if (d->want_refresh) {
		r->refresh = true;
		d->want_refresh = false;
	} else {
		any = false;
	}
	pthread_mutex_unlock(&d->work_lock);
	return any;
}

static bool stopping(struct vhost_user_dev *d)
{
	bool s;

	pthread_mutex_lock(&d->work_lock);
	s = d->stopping;
	pthread_mutex_unlock(&d->work_lock);
	return s;
}

static void wait_for_work(struct vhost_user_dev *d)
{
	struct pollfd p = { .fd = d->wake_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, -1) > 0 && read(d->wake_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: another round already took the count */
	}
}

static void *worker_main(void *arg)
{
	struct vhost_user_dev *d = arg;
	struct vu_round r;

	pthread_setname_np(pthread_self(), "vhost-user");
	while (!stopping(d)) {
		if (!take_work(d, &r)) {
			wait_for_work(d);
			continue;
		}
		if (r.epoch != d->done_epoch) {
			do_reset(d);
			d->done_epoch = r.epoch;
		} else if (r.start) {
			do_start(d, &r.snap);
		} else if (r.write) {
			do_write(d, &r.w);
		} else if (r.refresh) {
			refresh_config(d);
		}
	}
	return NULL;
}

int vu_worker_start(struct vhost_user_dev *d, char *why, size_t whylen)
{
	int ret;

	ret = thread_start(&d->worker, worker_main, d);
	if (ret)
		return why_fail(why, whylen, -ret,
				"cannot start the worker thread: %s",
				strerror(ret));
	d->worker_running = true;
	return 0;
}

void vu_worker_stop(struct vhost_user_dev *d)
{
	if (!d->worker_running)
		return;
	pthread_mutex_lock(&d->work_lock);
	d->stopping = true;
	pthread_mutex_unlock(&d->work_lock);
	/* Whatever the worker waits for on the back-end ends now. */
	vhost_fe_cancel(d->fe);
	vu_worker_wake(d);
	pthread_join(d->worker, NULL);
	d->worker_running = false;
}
