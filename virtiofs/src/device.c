/* SPDX-License-Identifier: MIT */
/* The virtio-fs device over the vhost back-end library (device.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhost/backend.h"

#include "device.h"

/* A chain a worker serves. */
struct job {
	struct job *next;
	unsigned int q;
	struct vhost_be_elem e;
};

struct dev {
	const struct vfs_device_config *cfg;
	struct vhost_be *be;
	bool bad_chain_logged;
	/* Worker pool (threads > 0). */
	pthread_t *tids;
	unsigned int nthreads;
	pthread_mutex_t lock;	/* jobs, inflight, stopping, and the vrings */
	pthread_cond_t work, idle;
	struct job *head, *tail;
	unsigned int inflight;
	bool stopping;
};

static void dlog(struct dev *d, enum vhost_log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void dlog(struct dev *d, enum vhost_log_level l, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (d->cfg->log)
		d->cfg->log(d->cfg->log_opaque, l, buf);
	else if (l <= VHOST_LOG_WARN)
		fprintf(stderr, "vmm-virtiofsd: %s\n", buf);
}

static void be_reset(void *opaque, struct vhost_be *be)
{
	struct dev *d = opaque;

	(void)be;
	/* Rings are stopped and no request is in flight (see quiesce). */
	virtiofs_server_reset(d->cfg->srv);
}

static const struct vhost_be_ops dev_ops = {
	.reset = be_reset,
};

/* ---- the DAX window: shared memory region 0 ---- */

#define DAX_SHMID	0	/* VIRTIO_FS_SHMCAP_ID_CACHE */

/*
 * A mapping is answered to the guest only once the front-end placed it,
 * so SHMEM_MAP needs REPLY_ACK (the library then waits for the ack).
 */
static int dax_ready(struct vhost_be *be)
{
	uint64_t need = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			(1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
			(1ull << VHOST_USER_PROTOCOL_F_SHMEM);

	if (!be || !vhost_be_has_backend_channel(be))
		return -ENOTCONN;
	if ((vhost_be_protocol_features(be) & need) != need)
		return -EOPNOTSUPP;
	return 0;
}

static int dax_map(void *opaque, uint64_t moffset, uint64_t len, int fd,
		   uint64_t foffset, bool writable)
{
	struct vhost_be *be = ((struct vfs_device_dax *)opaque)->be;
	int ret = dax_ready(be);

	if (ret)
		return ret;
	return vhost_be_shmem_map(be, DAX_SHMID, moffset, len, fd, foffset,
				  writable ? VHOST_USER_FLAG_MAP_RW : 0);
}

static int dax_unmap(void *opaque, uint64_t moffset, uint64_t len)
{
	struct vhost_be *be = ((struct vfs_device_dax *)opaque)->be;
	int ret = dax_ready(be);

	if (ret)
		return ret;
	return vhost_be_shmem_unmap(be, DAX_SHMID, moffset, len);
}

const struct virtiofs_dax_ops vfs_device_dax_ops = {
	.map = dax_map,
	.unmap = dax_unmap,
};

static uint32_t serve(struct dev *d, struct vhost_be_elem *e)
{
	return virtiofs_server_handle(d->cfg->srv, e->rd, e->nrd, e->wr, e->nwr);
}

/* ---- worker pool ---- */

static void *worker(void *opaque)
{
	struct dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct job *j;
		uint32_t len;

		while (!d->head && !d->stopping)
			pthread_cond_wait(&d->work, &d->lock);
		if (!d->head)
			break;
		j = d->head;
		d->head = j->next;
		if (!d->head)
			d->tail = NULL;
		pthread_mutex_unlock(&d->lock);
		len = serve(d, &j->e);
		pthread_mutex_lock(&d->lock);
		vhost_be_vring_push(d->be, j->q, j->e.head, len);
		vhost_be_vring_notify(d->be, j->q);
		free(j);
		if (--d->inflight == 0)
			pthread_cond_broadcast(&d->idle);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int pool_start(struct dev *d)
{
	unsigned int n = d->cfg->threads;

	d->tids = calloc(n, sizeof(*d->tids));
	if (!d->tids)
		return -ENOMEM;
	for (d->nthreads = 0; d->nthreads < n; d->nthreads++) {
		int ret = pthread_create(&d->tids[d->nthreads], NULL, worker, d);

		if (ret)
			return -ret;
	}
	return 0;
}

static void pool_stop(struct dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work);
	pthread_mutex_unlock(&d->lock);
	for (unsigned int i = 0; i < d->nthreads; i++)
		pthread_join(d->tids[i], NULL);
	free(d->tids);
}

/* Wait until no request is in flight. */
static void quiesce(struct dev *d)
{
	if (!d->nthreads)
		return;
	pthread_mutex_lock(&d->lock);
	while (d->inflight)
		pthread_cond_wait(&d->idle, &d->lock);
	pthread_mutex_unlock(&d->lock);
}

/* ---- queues ---- */

static bool queue_runs(struct dev *d, unsigned int q)
{
	bool need_enable = vhost_be_acked_features(d->be) &
			   (1ull << VHOST_USER_F_PROTOCOL_FEATURES);

	return vhost_be_vring_started(d->be, q) &&
	       (!need_enable || vhost_be_vring_enabled(d->be, q));
}

static void bad_chain(struct dev *d, unsigned int q)
{
	if (d->bad_chain_logged)
		return;
	d->bad_chain_logged = true;
	dlog(d, VHOST_LOG_WARN, "queue %u: malformed descriptor chain dropped", q);
}

static void serve_inline(struct dev *d, unsigned int q)
{
	struct vhost_be_elem e;
	int ret;

	while ((ret = vhost_be_vring_pop(d->be, q, &e)) == 1) {
		vhost_be_vring_push(d->be, q, e.head, serve(d, &e));
		vhost_be_vring_notify(d->be, q);
	}
	if (ret < 0)
		bad_chain(d, q);
}

static void serve_pool(struct dev *d, unsigned int q)
{
	for (;;) {
		struct job *j = malloc(sizeof(*j));
		int ret;

		if (!j) {
			dlog(d, VHOST_LOG_ERROR, "out of memory");
			return;
		}
		pthread_mutex_lock(&d->lock);
		ret = vhost_be_vring_pop(d->be, q, &j->e);
		if (ret == 1) {
			j->q = q;
			j->next = NULL;
			if (d->tail)
				d->tail->next = j;
			else
				d->head = j;
			d->tail = j;
			d->inflight++;
			pthread_cond_signal(&d->work);
		}
		pthread_mutex_unlock(&d->lock);
		if (ret != 1) {
			free(j);
			if (ret < 0)
				bad_chain(d, q);
			return;
		}
	}
}

static void serve_queue(struct dev *d, unsigned int q)
{
	vhost_be_vring_drain_kick(d->be, q);
	if (!queue_runs(d, q))
		return;
	if (d->nthreads)
		serve_pool(d, q);
	else
		serve_inline(d, q);
}

/* ---- connections ---- */

static int accept_frontend(struct dev *d)
{
	uint64_t shm[VHOST_USER_MAX_SHMEM_REGIONS] = {
		[DAX_SHMID] = d->cfg->dax_window,
	};
	struct vhost_be_config c = {
		/* Indirect tables: a 1 MiB request in one ring slot. */
		.features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VHOST_BE_F_INDIRECT_DESC),
		/* No config space: the front-end has the tag. */
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES &
			~(1ull << VHOST_USER_PROTOCOL_F_CONFIG),
		.num_queues = VFS_DEVICE_QUEUES,
		/* The DAX window, announced by GET_SHMEM_CONFIG; none: no SHMEM. */
		.shm_sizes = d->cfg->dax_window ? shm : NULL,
		.ops = &dev_ops,
		.opaque = d,
		.log = d->cfg->log,
		.log_opaque = d->cfg->log_opaque,
		/* A buffer in the DAX window fails its request (EFAULT). */
		.unmapped_buffers = true,
	};
	int ret = vhost_be_accept(d->cfg->listen_fd, 0, &c, &d->be);

	if (!ret && d->cfg->dax)
		d->cfg->dax->be = d->be;
	if (ret)
		dlog(d, VHOST_LOG_WARN, "cannot accept a front-end: %s",
		     strerror(-ret));
	else
		dlog(d, VHOST_LOG_INFO, "front-end connected");
	d->bad_chain_logged = false;
	return ret;
}

/* @why: what vhost_be_dispatch() said, or 0 when we are stopping. */
static void drop_frontend(struct dev *d, int why)
{
	quiesce(d);
	virtiofs_server_reset(d->cfg->srv);
	if (d->cfg->dax)
		d->cfg->dax->be = NULL;
	vhost_be_free(d->be);
	d->be = NULL;
	if (why)
		dlog(d, VHOST_LOG_INFO, "front-end %s; waiting for the next one",
		     why == -ECONNRESET ? "disconnected" : "dropped");
}

static int run_loop(struct dev *d)
{
	for (;;) {
		struct pollfd p[3 + VFS_DEVICE_QUEUES];
		unsigned int n = 0;

		p[n++] = (struct pollfd){ .fd = d->cfg->stop_fd, .events = POLLIN };
		p[n++] = (struct pollfd){
			.fd = d->be ? vhost_be_fd(d->be) : d->cfg->listen_fd,
			.events = POLLIN };
		for (unsigned int q = 0; q < VFS_DEVICE_QUEUES; q++)
			p[n++] = (struct pollfd){
				.fd = d->be && vhost_be_vring_started(d->be, q) ?
				      vhost_be_vring_kick_fd(d->be, q) : -1,
				.events = POLLIN };
		/* Host files changing size under DAX mappings. */
		p[n++] = (struct pollfd){
			.fd = virtiofs_server_dax_fd(d->cfg->srv),
			.events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[0].revents)
			return 0;
		if (p[1].revents && !d->be) {
			accept_frontend(d);
			continue;
		}
		if (p[1].revents) {
			int ret;

			quiesce(d);
			ret = vhost_be_dispatch(d->be);
			if (ret) {
				drop_frontend(d, ret);
				continue;
			}
		}
		for (unsigned int q = 0; q < VFS_DEVICE_QUEUES; q++)
			if (p[2 + q].revents && d->be)
				serve_queue(d, q);
		if (p[2 + VFS_DEVICE_QUEUES].revents)
			virtiofs_server_dax_poll(d->cfg->srv);
	}
}

int vfs_device_run(const struct vfs_device_config *cfg)
{
	struct dev d = { .cfg = cfg };
	int ret = 0;

	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.work, NULL);
	pthread_cond_init(&d.idle, NULL);
	if (cfg->threads)
		ret = pool_start(&d);
	if (!ret)
		ret = run_loop(&d);
	if (d.be)
		drop_frontend(&d, 0);
	if (cfg->threads)
		pool_stop(&d);
	pthread_cond_destroy(&d.idle);
	pthread_cond_destroy(&d.work);
	pthread_mutex_destroy(&d.lock);
	return ret;
}
