// SPDX-License-Identifier: MIT
/*
 * A vhost-user device (dev.h): created from services, described to the
 * machine, driven by the guest through its virtio-mmio registers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_mmio.h>

#include <vhost/frontend.h>

#include "common/why.h"

#include "devices/vhost_user/dev.h"

/* Transport features a vhost-user back-end cannot honour through us. */
#define VIRTIO_F_NOTIFICATION_DATA	38	/* notify value != queue index */
#define VIRTIO_F_RING_RESET		40	/* no per-queue reset register */
#define FEATURES_HIDDEN	((1ULL << VIRTIO_F_NOTIFICATION_DATA) | \
			 (1ULL << VIRTIO_F_RING_RESET))

#define DEV_MMIO_WINDOW		0x1000	/* one page per device */

static void eventfd_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the event is pending */
	}
}

/* ---- transport callbacks (vCPU threads, transport lock held) ---------- */
/*
 * None of these talks to the back-end: a read is served from the copy of
 * the config space, everything else is posted to the worker (worker.c).
 */

static void dev_config_read(void *opaque, uint32_t off, void *buf,
			    uint32_t len)
{
	struct vhost_user_dev *d = opaque;

	memset(buf, 0, len);
	pthread_mutex_lock(&d->cfg_lock);
	if (off < d->config_size)
		memcpy(buf, d->config + off,
		       len < d->config_size - off ? len : d->config_size - off);
	pthread_mutex_unlock(&d->cfg_lock);
}

static void dev_config_write(void *opaque, uint32_t off, const void *buf,
			     uint32_t len)
{
	struct vhost_user_dev *d = opaque;
	struct vu_config_write w = { .off = off, .len = len };

	/* The virtio-fs config space built here is read-only. */
	if (!d->be_config || len > sizeof(w.data) || off >= d->config_size ||
	    len > d->config_size - off)
		return;
	memcpy(w.data, buf, len);
	/* The guest reads back what it wrote, as from the device. */
	pthread_mutex_lock(&d->cfg_lock);
	memcpy(d->config + off, buf, len);
	pthread_mutex_unlock(&d->cfg_lock);
	pthread_mutex_lock(&d->work_lock);
	if (d->nwrites < VU_MAX_WRITES)
		d->writes[d->nwrites++] = w;
	else
		log_debug(d->svc->log,
			  "vhost-user %s: config write at %u dropped: %d writes wait already",
			  d->name, off, VU_MAX_WRITES);
	pthread_mutex_unlock(&d->work_lock);
	vu_worker_wake(d);
}

/* DRIVER_OK: the worker starts the back-end; a failure comes back later. */
static int dev_driver_ok(void *opaque, struct virtio_mmio *t)
{
	struct vhost_user_dev *d = opaque;

	pthread_mutex_lock(&d->work_lock);
	d->start.features = t->driver_features;
	d->start.resets = t->resets;
	memcpy(d->start.queues, t->queues, sizeof(d->start.queues));
	d->want_start = true;
	pthread_mutex_unlock(&d->work_lock);
	vu_worker_wake(d);
	return 0;
}

/*
 * Status 0: the registers are reset at once (the transport does that); the
 * back-end, its rings and the device's mappings are reset by the worker,
 * before it starts anything the driver asks for next.
 */
static void dev_reset(void *opaque, struct virtio_mmio *t)
{
	struct vhost_user_dev *d = opaque;

	(void)t;
	pthread_mutex_lock(&d->work_lock);
	d->want_epoch++;
	d->want_start = false;
	d->nwrites = 0;
	pthread_mutex_unlock(&d->work_lock);
	vu_worker_wake(d);
}

static void dev_queue_notify(void *opaque, uint32_t q)
{
	struct vhost_user_dev *d = opaque;

	/*
	 * Only when no ioeventfd caught it: pass it on all the same. A kick
	 * before the back-end has the ring waits in the eventfd's counter.
	 */
	if (q < d->nqueues)
		eventfd_kick(d->kick_fd[q]);
}

static void dev_interrupt(void *opaque)
{
	eventfd_kick(((struct vhost_user_dev *)opaque)->call_fd);
}

static const struct virtio_mmio_ops transport_ops = {
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.driver_ok = dev_driver_ok,
	.reset = dev_reset,
	.queue_notify = dev_queue_notify,
	.interrupt = dev_interrupt,
};

/* ---- front-end callbacks (its service thread: never block on a vCPU) -- */

static void fe_disconnected(void *opaque, struct vhost_fe *fe, const char *why)
{
	struct vhost_user_dev *d = opaque;

	(void)fe;
	if (atomic_exchange(&d->broken, true))
		return;
	log_err(d->svc->log,
		"vhost-user %s: back-end disconnected (%s); device stopped",
		d->name, why);
	if (atomic_load(&d->t_ready))
		virtio_mmio_post(&d->t, VIRTIO_MMIO_EV_NEEDS_RESET);
}

/* CONFIG_CHANGE_MSG: the worker reads the config space again, then tells
 * the guest. */
static void fe_config_changed(void *opaque, struct vhost_fe *fe)
{
	struct vhost_user_dev *d = opaque;

	(void)fe;
	pthread_mutex_lock(&d->work_lock);
	d->want_refresh = true;
	pthread_mutex_unlock(&d->work_lock);
	vu_worker_wake(d);
}

static const struct vhost_fe_ops fe_ops = {
	.disconnected = fe_disconnected,
	.config_changed = fe_config_changed,
};

/* The front-end's own lines (negotiation, refusals), under our prefix. */
static void fe_log(void *opaque, enum vhost_log_level level, const char *msg)
{
	struct vhost_user_dev *d = opaque;

	vmm_logf(d->svc->log, (enum vmm_log_level)level, "vhost-user %s", msg);
}

/* ---- the MMIO window ---------------------------------------------------- */

static void bus_rd(void *opaque, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(&((struct vhost_user_dev *)opaque)->t, off, data, len);
}

static void bus_wr(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_write(&((struct vhost_user_dev *)opaque)->t, off, data,
			  len);
}

static const struct bus_ops window_ops = { .read = bus_rd, .write = bus_wr };

/* ---- wiring and teardown (the machine's calls) ------------------------ */

/* Serve the regions the machine created, and publish them to the guest. */
static int dev_wired(void *opaque, const struct dev_wiring *w, char *why,
		     size_t whylen)
{
	struct vhost_user_dev *d = opaque;
	unsigned int i;
	int ret;

	for (i = 0; i < w->nshm; i++) {
		ret = vhost_fe_attach_region(d->fe, w->shm[i].id,
					     w->shm[i].region);
		if (!ret)
			ret = virtio_mmio_add_shm(&d->t, w->shm[i].id,
						  w->shm[i].gpa, w->shm[i].size);
		if (ret)
			return why_fail(why, whylen, ret, "shm %u: %s",
					w->shm[i].id, strerror(-ret));
	}
	log_info(d->svc->log,
		 "vhost-user %s: virtio id %u at 0x%llx irq %u, %u queues of %u, %u shm regions",
		 d->name, d->virtio_id, (unsigned long long)w->base[0], w->gsi,
		 d->nqueues, d->queue_size, w->nshm);
	return 0;
}

/* vmm_run() starts: the worker takes over the back-end. */
static int dev_start(void *opaque, char *why, size_t whylen)
{
	return vu_worker_start(opaque, why, whylen);
}

/* The vCPUs stopped: end whatever the worker waits for, and join it. */
static void dev_stop(void *opaque)
{
	vu_worker_stop(opaque);
}

/*
 * Nothing here waits on the back-end: the worker is gone, the front-end is
 * cancelled, and its service thread stops on its own eventfd. The back-end
 * sees the connection close and resets itself.
 */
static void dev_destroy(void *opaque)
{
	struct vhost_user_dev *d = opaque;
	unsigned int i;

	vu_worker_stop(d);
	if (d->fe)
		vhost_fe_cancel(d->fe);
	/* The service thread stops first: no SHMEM_MAP after this. */
	vhost_fe_destroy(d->fe);
	if (atomic_load(&d->t_ready))
		virtio_mmio_destroy(&d->t);
	if (d->call_fd >= 0)
		close(d->call_fd);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	for (i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		if (d->kick_fd[i] >= 0)
			close(d->kick_fd[i]);
	pthread_mutex_destroy(&d->work_lock);
	pthread_mutex_destroy(&d->cfg_lock);
	free(d);
}

static const struct dev_ops machine_ops = {
	.wired = dev_wired,
	.start = dev_start,
	.stop = dev_stop,
	.destroy = dev_destroy,
};

/* ---- creation ----------------------------------------------------------- */

static int connect_backend(struct vhost_user_dev *d,
			   const struct vmm_vhost_user *c, char *why,
			   size_t whylen)
{
	struct vhost_fe_config fc = {
		.socket_path = c->socket_path,
		.name = d->name,
		/* A stop of the machine ends every wait on the back-end. */
		.has_cancel_fd = true,
		.cancel_fd = d->svc->stop_fd,
		.ops = &fe_ops,
		.opaque = d,
		.log = fe_log,
		.log_opaque = d,
	};

	return vhost_fe_create(&fc, &d->fe, why, whylen);
}

static int open_eventfds(struct vhost_user_dev *d, char *why, size_t whylen)
{
	unsigned int i;

	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->call_fd < 0)
		return why_fail(why, whylen, -errno, "eventfd: %s",
				strerror(errno));
	for (i = 0; i < d->nqueues; i++) {
		d->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->kick_fd[i] < 0)
			return why_fail(why, whylen, -errno, "eventfd: %s",
					strerror(errno));
	}
	return 0;
}

static int setup_transport(struct vhost_user_dev *d, char *why, size_t whylen)
{
	struct virtio_mmio_config tc = {
		.device_id = d->virtio_id,
		.device_features = vhost_fe_device_features(d->fe) &
				   ~FEATURES_HIDDEN,
		.nqueues = d->nqueues,
		.queue_size_max = d->queue_size,
		.config_size = d->config_size,
		.ops = &transport_ops,
		.dev = d,
	};
	int ret;

	ret = virtio_mmio_init(&d->t, &tc);
	if (ret)
		return why_fail(why, whylen, ret, "transport: %s",
				strerror(-ret));
	atomic_store(&d->t_ready, true);
	return 0;
}

/* Window, interrupt eventfd, one notify eventfd per queue, regions, DSDT. */
static void describe(struct vhost_user_dev *d, struct dev_desc *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	out->name = d->name;
	out->dev = d;
	out->ops = &machine_ops;
	out->nwindows = 1;
	out->windows[0] = (struct dev_window){
		DEV_BUS_MMIO, 0, DEV_MMIO_WINDOW, &window_ops, d,
	};
	out->irq = DEV_IRQ_EVENTFD;
	out->irq_fd = d->call_fd;
	out->nnotify = d->nqueues;
	for (i = 0; i < d->nqueues; i++)
		out->notify[i] = (struct dev_notify){
			VIRTIO_MMIO_QUEUE_NOTIFY, i, d->kick_fd[i],
		};
	out->nshm = d->nshm;
	memcpy(out->shm, d->shm, d->nshm * sizeof(d->shm[0]));
	out->max_mappings = d->max_mappings;
	out->acpi_virtio_mmio = true;
}

/* NULL with errno set on failure. */
static struct vhost_user_dev *dev_alloc(const struct dev_services *svc,
					const struct vmm_vhost_user *c)
{
	struct vhost_user_dev *d = calloc(1, sizeof(*d));
	unsigned int i;

	if (!d)
		return NULL;
	d->svc = svc;
	d->virtio_id = c->virtio_id;
	d->max_mappings = c->max_mappings;
	d->call_fd = -1;
	for (i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		d->kick_fd[i] = -1;
	snprintf(d->name, sizeof(d->name), "%s",
		 c->name && *c->name ? c->name : c->socket_path);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->wake_fd < 0) {
		free(d);
		return NULL;
	}
	pthread_mutex_init(&d->work_lock, NULL);
	pthread_mutex_init(&d->cfg_lock, NULL);
	return d;
}

int vhost_user_dev_create(const struct dev_services *svc,
			  const struct vmm_vhost_user *c,
			  struct dev_desc *out, char *why, size_t whylen)
{
	struct vhost_user_dev *d;
	int ret;

	ret = vu_check_config(c, why, whylen);
	if (ret)
		return ret;
	if (svc->ram_fd < 0)
		return why_fail(why, whylen, -EINVAL,
				"guest memory is private; a vhost-user back-end needs it shared (vmm_config.memory_shared)");
	d = dev_alloc(svc, c);
	if (!d)
		return why_fail(why, whylen, -errno, "%s", strerror(errno));
	ret = connect_backend(d, c, why, whylen);
	if (!ret)
		ret = vu_pick_queues(d, c, why, whylen);
	if (!ret)
		ret = vu_pick_config(d, c, why, whylen);
	if (!ret)
		ret = vu_pick_shm(d, c, why, whylen);
	if (!ret)
		ret = open_eventfds(d, why, whylen);
	if (!ret)
		ret = setup_transport(d, why, whylen);
	if (ret) {
		dev_destroy(d);
		return ret;
	}
	describe(d, out);
	return 0;
}
