// SPDX-License-Identifier: MIT
/*
 * A vhost-user device: the back-end drives the queues and fills the shared
 * memory regions; vmm only emulates the virtio-mmio registers and hands
 * over rings, eventfds and memory. Queue kicks go guest -> KVM ioeventfd ->
 * back-end and used-ring interrupts back-end -> KVM irqfd -> guest, never
 * through a vmm thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/virtio_mmio.h>

#include <shmem/shmem.h>
#include <vhost/frontend.h>

#include "kvm_shmem.h"
#include "vhost_user_dev.h"
#include "virtio_mmio.h"
#include "vm.h"

#define DEV_MMIO_ALLOC		0x1000	/* one page per device */
#define FS_CONFIG_SIZE		(VMM_VIRTIO_FS_TAG_MAX + 4)
#define FS_DEFAULT_QUEUES	2	/* hiprio + one request queue */
#define PAGE_4K			4096ULL

/* Transport features a vhost-user back-end cannot honour through us. */
#define VIRTIO_F_NOTIFICATION_DATA	38	/* notify value != queue index */
#define VIRTIO_F_RING_RESET		40	/* no per-queue reset register */
#define FEATURES_HIDDEN	((1ULL << VIRTIO_F_NOTIFICATION_DATA) | \
			 (1ULL << VIRTIO_F_RING_RESET))

struct dev_shm {
	uint8_t id;
	uint64_t size;
	uint64_t gpa;
	struct shmem_region *region;
};

struct vhost_user_dev {
	struct vmm *vm;
	char name[64];
	uint32_t virtio_id;
	struct vhost_fe *fe;
	struct virtio_mmio t;
	atomic_bool t_ready;		/* transport set up: callbacks may post */
	uint64_t base;
	uint32_t gsi;
	bool bus_on;
	int call_fd;			/* irqfd: every queue and config */
	bool irqfd_on;
	unsigned int nqueues;
	uint16_t queue_size;
	int kick_fd[VIRTIO_MMIO_MAX_QUEUES];
	bool kick_on[VIRTIO_MMIO_MAX_QUEUES];
	bool vring_on[VIRTIO_MMIO_MAX_QUEUES];
	unsigned int nshm;
	struct dev_shm shm[VMM_VHOST_USER_MAX_SHM];
	bool be_config;			/* back-end serves the config space */
	uint8_t config[FS_CONFIG_SIZE];	/* else this one (virtio-fs) */
	uint32_t config_size;
	atomic_bool broken;		/* back-end gone since last reset */
	/*
	 * While the device is being created, the front-end's errors are kept
	 * here for the one line vmm_add_vhost_user() reports, not printed.
	 */
	pthread_mutex_t log_lock;
	bool creating;
	char create_err[160];
};

void vmm_vhost_user_init(struct vmm_vhost_user *dev)
{
	memset(dev, 0, sizeof(*dev));
}

/* ---- logging ---------------------------------------------------------- */

/* The front-end starts its lines with "NAME: ". */
static const char *fe_msg_text(const struct vhost_user_dev *d, const char *msg)
{
	size_t n = strlen(d->name);

	if (!strncmp(msg, d->name, n) && !strncmp(msg + n, ": ", 2))
		return msg + n + 2;
	return msg;
}

static void fe_log(void *opaque, enum vhost_log_level level, const char *msg)
{
	struct vhost_user_dev *d = opaque;
	const char *text = fe_msg_text(d, msg);
	bool keep;

	pthread_mutex_lock(&d->log_lock);
	keep = d->creating && level <= VHOST_LOG_WARN;
	if (keep)
		snprintf(d->create_err, sizeof(d->create_err), "%s", text);
	pthread_mutex_unlock(&d->log_lock);
	if (keep)
		return;
	/* fe_disconnected() says it, with what it means for the guest. */
	if (level == VHOST_LOG_WARN && !strcmp(text, "back-end disconnected"))
		level = VHOST_LOG_INFO;
	vmm_logf(&d->vm->log, (enum vmm_log_level)level, "%s", msg);
}

static void creation_done(struct vhost_user_dev *d)
{
	pthread_mutex_lock(&d->log_lock);
	d->creating = false;
	pthread_mutex_unlock(&d->log_lock);
}

static void shm_log(void *opaque, enum shmem_log_level level, const char *msg)
{
	struct vhost_user_dev *d = opaque;

	vmm_logf(&d->vm->log, (enum vmm_log_level)level, "%s", msg);
}

/* ---- KVM plumbing ----------------------------------------------------- */

static int ioeventfd_set(struct vhost_user_dev *d, unsigned int q, bool on)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = d->kick_fd[q],
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (on ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (d->kick_on[q] == on)
		return 0;
	if (ioctl(vm_kvm_fd(d->vm), KVM_IOEVENTFD, &io) < 0)
		return -errno;
	d->kick_on[q] = on;
	return 0;
}

static int irqfd_set(struct vhost_user_dev *d, bool on)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)d->call_fd,
		.gsi = d->gsi,
		.flags = on ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm_kvm_fd(d->vm), KVM_IRQFD, &irq) < 0)
		return -errno;
	d->irqfd_on = on;
	return 0;
}

static void eventfd_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the event is pending */
	}
}

/* ---- transport callbacks (vCPU threads, transport lock held) ---------- */

static void dev_config_read(void *opaque, uint32_t off, void *buf,
			    uint32_t len)
{
	struct vhost_user_dev *d = opaque;

	if (!d->be_config) {
		if (off < d->config_size && len <= d->config_size - off)
			memcpy(buf, d->config + off, len);
		return;
	}
	if (vhost_fe_get_config(d->fe, off, buf, len) < 0)
		memset(buf, 0, len);
}

static void dev_config_write(void *opaque, uint32_t off, const void *buf,
			     uint32_t len)
{
	struct vhost_user_dev *d = opaque;

	if (d->be_config)
		vhost_fe_set_config(d->fe, off, buf, len);
	/* the virtio-fs config space is read-only */
}

static int send_mem_table(struct vhost_user_dev *d)
{
	const struct guest_ram *ram = vm_ram(d->vm);
	struct vhost_fe_mem_region m[RAM_MAX_REGIONS];
	unsigned int i;

	for (i = 0; i < ram->nregions; i++)
		m[i] = (struct vhost_fe_mem_region){
			.gpa = ram->regions[i].gpa,
			.size = ram->regions[i].size,
			.hva = ram->regions[i].hva,
			.fd = ram->memfd,
			.fd_offset = ram->regions[i].fd_offset,
		};
	return vhost_fe_set_mem_table(d->fe, m, ram->nregions);
}

/* Stop every started ring and take the ioeventfds away. */
static void stop_queues(struct vhost_user_dev *d)
{
	bool live = vhost_fe_connected(d->fe);
	unsigned int i;
	uint32_t last;

	for (i = 0; i < d->nqueues; i++) {
		if (d->vring_on[i] && live)
			vhost_fe_vring_stop(d->fe, i, &last);
		d->vring_on[i] = false;
		if (ioeventfd_set(d, i, false))
			log_warn(&d->vm->log,
				 "vhost-user %s: cannot remove queue %u's ioeventfd",
				 d->name, i);
	}
}

static int start_queue(struct vhost_user_dev *d, unsigned int i,
		       const struct virtio_mmio_queue *q)
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

	ret = ioeventfd_set(d, i, true);
	if (ret)
		return ret;
	ret = vhost_fe_vring_start(d->fe, i, &v);
	if (ret)
		return ret;
	d->vring_on[i] = true;
	return 0;
}

static bool try_reconnect(struct vhost_user_dev *d)
{
	int ret = vhost_fe_reconnect(d->fe);

	if (ret) {
		log_warn(&d->vm->log,
			 "vhost-user %s: reconnect failed: %s; device stays stopped",
			 d->name, strerror(-ret));
		return false;
	}
	atomic_store(&d->broken, false);
	log_info(&d->vm->log, "vhost-user %s: back-end reconnected", d->name);
	return true;
}

static int dev_driver_ok(void *opaque, struct virtio_mmio *t)
{
	struct vhost_user_dev *d = opaque;
	unsigned int i;
	int ret;

	if (atomic_load(&d->broken) && !try_reconnect(d))
		return -ENOTCONN;
	ret = vhost_fe_set_features(d->fe, t->driver_features);
	if (!ret)
		ret = send_mem_table(d);
	for (i = 0; !ret && i < d->nqueues; i++)
		if (t->queues[i].ready)
			ret = start_queue(d, i, &t->queues[i]);
	if (ret) {
		log_err(&d->vm->log, "vhost-user %s: cannot start the device: %s",
			d->name, strerror(-ret));
		stop_queues(d);
		return ret;
	}
	log_info(&d->vm->log, "vhost-user %s: started, features 0x%llx",
		 d->name, (unsigned long long)t->driver_features);
	return 0;
}

static void dev_reset(void *opaque, struct virtio_mmio *t)
{
	struct vhost_user_dev *d = opaque;

	(void)t;
	stop_queues(d);
	/* Drops every mapping of the device, even with the back-end gone. */
	vhost_fe_reset(d->fe);
	if (atomic_load(&d->broken))
		try_reconnect(d);
}

static void dev_queue_notify(void *opaque, uint32_t q)
{
	struct vhost_user_dev *d = opaque;

	/* Only when no ioeventfd caught it: pass it on all the same. */
	if (q < d->nqueues && d->vring_on[q])
		eventfd_kick(d->kick_fd[q]);
}

static void dev_interrupt(void *opaque)
{
	eventfd_kick(((struct vhost_user_dev *)opaque)->call_fd);
}

static const struct virtio_mmio_ops dev_ops = {
	.config_read = dev_config_read,
	.config_write = dev_config_write,
	.driver_ok = dev_driver_ok,
	.reset = dev_reset,
	.queue_notify = dev_queue_notify,
	.interrupt = dev_interrupt,
};

/* ---- front-end callbacks (its service thread: never block on a vCPU) -- */

static void fe_disconnected(void *opaque, struct vhost_fe *fe)
{
	struct vhost_user_dev *d = opaque;

	(void)fe;
	if (atomic_exchange(&d->broken, true))
		return;
	log_err(&d->vm->log,
		"vhost-user %s: back-end disconnected; device stopped", d->name);
	if (atomic_load(&d->t_ready))
		virtio_mmio_post(&d->t, VIRTIO_MMIO_EV_NEEDS_RESET);
}

static void fe_config_changed(void *opaque, struct vhost_fe *fe)
{
	struct vhost_user_dev *d = opaque;

	(void)fe;
	if (atomic_load(&d->t_ready))
		virtio_mmio_post(&d->t, VIRTIO_MMIO_EV_CONFIG);
}

static const struct vhost_fe_ops fe_ops = {
	.disconnected = fe_disconnected,
	.config_changed = fe_config_changed,
};

/* ---- MMIO bus --------------------------------------------------------- */

static void bus_rd(void *opaque, uint64_t off, void *data, uint32_t len)
{
	virtio_mmio_read(&((struct vhost_user_dev *)opaque)->t, off, data, len);
}

static void bus_wr(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_write(&((struct vhost_user_dev *)opaque)->t, off, data,
			  len);
}

static const struct bus_ops dev_bus_ops = { .read = bus_rd, .write = bus_wr };

/* ---- creation --------------------------------------------------------- */

struct why {
	char *buf;
	size_t len;
};

static int failf(struct why *w, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failf(struct why *w, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->buf, w->len, fmt, ap);
	va_end(ap);
	return ret;
}

static int check_cfg(const struct vmm_vhost_user *c, struct why *w)
{
	unsigned int i, j;

	if (!c->socket_path || !*c->socket_path)
		return failf(w, -EINVAL, "no socket path");
	if (!c->virtio_id || c->virtio_id > 0xffff)
		return failf(w, -EINVAL, "virtio-id %u: must be 1 to 65535",
			     c->virtio_id);
	if (c->queues > VMM_VHOST_USER_MAX_QUEUES)
		return failf(w, -EINVAL, "queues %u: must be 1 to %d",
			     c->queues, VMM_VHOST_USER_MAX_QUEUES);
	if (c->queue_size > VMM_VHOST_USER_MAX_QUEUE_SIZE ||
	    (c->queue_size & (c->queue_size - 1)))
		return failf(w, -EINVAL,
			     "queue-size %u: must be a power of two up to %d",
			     c->queue_size, VMM_VHOST_USER_MAX_QUEUE_SIZE);
	if (c->tag && (!*c->tag || strlen(c->tag) > VMM_VIRTIO_FS_TAG_MAX))
		return failf(w, -EINVAL, "tag '%s': must be 1 to %d bytes",
			     c->tag, VMM_VIRTIO_FS_TAG_MAX);
	if (c->nshm > VMM_VHOST_USER_MAX_SHM)
		return failf(w, -EINVAL, "more than %d shm regions",
			     VMM_VHOST_USER_MAX_SHM);
	for (i = 0; i < c->nshm; i++) {
		if (!c->shm[i].size || c->shm[i].size % PAGE_4K ||
		    c->shm[i].size > SHMEM_REGION_MAX_SIZE)
			return failf(w, -EINVAL,
				     "shm %u: size must be a multiple of 4K up to 1T",
				     c->shm[i].id);
		for (j = 0; j < i; j++)
			if (c->shm[j].id == c->shm[i].id)
				return failf(w, -EINVAL, "shm %u given twice",
					     c->shm[i].id);
	}
	return 0;
}

static int open_eventfds(struct vhost_user_dev *d, struct why *w)
{
	unsigned int i;

	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->call_fd < 0)
		return failf(w, -errno, "eventfd: %s", strerror(errno));
	for (i = 0; i < d->nqueues; i++) {
		d->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->kick_fd[i] < 0)
			return failf(w, -errno, "eventfd: %s", strerror(errno));
	}
	return 0;
}

static int connect_backend(struct vhost_user_dev *d,
			   const struct vmm_vhost_user *c, struct why *w)
{
	struct vhost_fe_config fc = {
		.socket_path = c->socket_path,
		.name = d->name,
		.ops = &fe_ops,
		.opaque = d,
		.log = fe_log,
		.log_opaque = d,
	};
	int ret;

	ret = vhost_fe_create(&fc, &d->fe);
	creation_done(d);
	if (ret && d->create_err[0])
		return failf(w, ret, "%s", d->create_err);
	if (ret)
		return failf(w, ret, "back-end at %s: %s", c->socket_path,
			     strerror(-ret));
	return 0;
}

static int pick_queues(struct vhost_user_dev *d,
		       const struct vmm_vhost_user *c, struct why *w)
{
	uint32_t max = vhost_fe_max_queues(d->fe);	/* 0: no MQ */
	unsigned int n = c->queues;

	if (!n)
		n = d->virtio_id == VMM_VIRTIO_ID_FS ? FS_DEFAULT_QUEUES :
		    (max ? max : 1);
	if (n > VMM_VHOST_USER_MAX_QUEUES)
		n = VMM_VHOST_USER_MAX_QUEUES;
	if (max && n > max)
		return failf(w, -EINVAL, "queues=%u: the back-end has only %u",
			     n, max);
	if (d->virtio_id == VMM_VIRTIO_ID_FS && n < 2)
		return failf(w, -EINVAL,
			     "queues=%u: virtio-fs needs a hiprio and a request queue",
			     n);
	d->nqueues = n;
	d->queue_size = (uint16_t)(c->queue_size ? c->queue_size :
				   VMM_VHOST_USER_DEFAULT_QUEUE_SIZE);
	if (!c->queue_size && d->queue_size > VMM_VHOST_USER_MAX_QUEUE_SIZE)
		d->queue_size = VMM_VHOST_USER_MAX_QUEUE_SIZE;
	return 0;
}

/* The config space: the back-end's (CONFIG), or virtio-fs's built here. */
static int pick_config(struct vhost_user_dev *d,
		       const struct vmm_vhost_user *c, struct why *w)
{
	uint32_t nreq;

	d->be_config = vhost_fe_has(d->fe, VHOST_USER_PROTOCOL_F_CONFIG);
	if (d->be_config) {
		d->config_size = VIRTIO_MMIO_WINDOW_SIZE - VIRTIO_MMIO_CONFIG;
		if (c->tag)
			log_warn(&d->vm->log,
				 "vhost-user %s: tag= ignored: the back-end serves the config space",
				 d->name);
		return 0;
	}
	if (d->virtio_id != VMM_VIRTIO_ID_FS)
		return 0;
	if (!c->tag)
		return failf(w, -EINVAL,
			     "virtio-fs needs tag= (the back-end does not serve the config space)");
	memset(d->config, 0, sizeof(d->config));
	memcpy(d->config, c->tag, strlen(c->tag));
	nreq = d->nqueues - 1;		/* little-endian le32 */
	memcpy(d->config + VMM_VIRTIO_FS_TAG_MAX, &nreq, 4);
	d->config_size = FS_CONFIG_SIZE;
	return 0;
}

/* Region sizes: GET_SHMEM_CONFIG, else shm=; both must then agree. */
static int pick_shm(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		    struct why *w)
{
	uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	unsigned int i;
	int n;

	n = vhost_fe_shmem_config(d->fe, sizes);
	if (n == -EOPNOTSUPP) {
		for (i = 0; i < c->nshm; i++)
			d->shm[d->nshm++] = (struct dev_shm){
				.id = c->shm[i].id, .size = c->shm[i].size,
			};
		return 0;
	}
	if (n < 0)
		return failf(w, n, "GET_SHMEM_CONFIG: %s", strerror(-n));
	for (i = 0; i < c->nshm; i++)
		if (sizes[c->shm[i].id] != c->shm[i].size)
			return failf(w, -EINVAL,
				     "shm=%u:%llu disagrees with the back-end's GET_SHMEM_CONFIG (%llu bytes)",
				     c->shm[i].id,
				     (unsigned long long)c->shm[i].size,
				     (unsigned long long)sizes[c->shm[i].id]);
	if (c->nshm && (int)c->nshm != n)
		return failf(w, -EINVAL,
			     "shm= names %u regions, the back-end's GET_SHMEM_CONFIG %d",
			     c->nshm, n);
	if (n > VMM_VHOST_USER_MAX_SHM)
		return failf(w, -ENOSPC,
			     "the back-end announces %d shared memory regions; vmm supports %d per device",
			     n, VMM_VHOST_USER_MAX_SHM);
	for (i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (sizes[i])
			d->shm[d->nshm++] = (struct dev_shm){
				.id = (uint8_t)i, .size = sizes[i],
			};
	return 0;
}

static int create_region(struct vhost_user_dev *d, struct shm_space *space,
			 struct dev_shm *s, struct why *w)
{
	struct shmem_region_config rc = {
		.size = s->size,
		.shmid = s->id,
		.name = d->name,
		.hv_ops = &kvm_shmem_hv_ops,
		.hv = &d->vm->kvm,
		.log = shm_log,
		.log_opaque = d,
	};
	char why[SHMEM_WHY_MAX];
	int ret;

	ret = shm_space_alloc(space, s->size, &s->gpa);
	if (ret)
		return failf(w, ret,
			     "shm %u (%llu bytes): no room below the guest's physical address limit",
			     s->id, (unsigned long long)s->size);
	rc.gpa = s->gpa;
	rc.align = shm_space_host_align(s->size);
	ret = shmem_region_create(&rc, &s->region, why, sizeof(why));
	if (ret)
		return failf(w, ret, "shm %u: %s", s->id, why);
	ret = vhost_fe_attach_region(d->fe, s->id, s->region);
	if (!ret)
		ret = virtio_mmio_add_shm(&d->t, s->id, s->gpa, s->size);
	if (!ret)
		ret = shm_space_add(space, d->name, s->id, s->gpa, s->size,
				    s->region);
	if (ret)
		return failf(w, ret, "shm %u: %s", s->id, strerror(-ret));
	return 0;
}

static int setup_transport(struct vhost_user_dev *d, struct why *w)
{
	struct virtio_mmio_config tc = {
		.device_id = d->virtio_id,
		.device_features = vhost_fe_device_features(d->fe) &
				   ~FEATURES_HIDDEN,
		.nqueues = d->nqueues,
		.queue_size_max = d->queue_size,
		.config_size = d->config_size,
		.ops = &dev_ops,
		.dev = d,
	};
	int ret;

	ret = virtio_mmio_init(&d->t, &tc);
	if (ret)
		return failf(w, ret, "transport: %s", strerror(-ret));
	d->t_ready = true;
	return 0;
}

/* MMIO window, interrupt line, irqfd, DSDT entry. */
static int wire_machine(struct vhost_user_dev *d, struct why *w)
{
	int ret;

	ret = vm_mmio_alloc(d->vm, DEV_MMIO_ALLOC, &d->base);
	if (!ret)
		ret = vm_irq_alloc(d->vm, &d->gsi);
	if (ret)
		return failf(w, ret, "no MMIO window or interrupt line left");
	ret = bus_register(vm_mmio_bus(d->vm), d->base,
			   VIRTIO_MMIO_WINDOW_SIZE, &dev_bus_ops, d);
	if (ret)
		return failf(w, ret, "MMIO window: %s", strerror(-ret));
	d->bus_on = true;
	ret = irqfd_set(d, true);
	if (ret)
		return failf(w, ret, "KVM_IRQFD: %s", strerror(-ret));
	/* Edge: an irqfd without a resample fd pulses the line. */
	ret = vm_add_virtio_mmio(d->vm, d->base, VIRTIO_MMIO_WINDOW_SIZE,
				 d->gsi, false);
	if (ret)
		return failf(w, ret, "DSDT entry: %s", strerror(-ret));
	return 0;
}

static void dev_destroy(struct vhost_user_dev *d, struct shm_space *space)
{
	unsigned int i;

	if (!d)
		return;
	if (d->fe && d->t_ready)
		stop_queues(d);
	/* The service thread stops first: no SHMEM_MAP after this. */
	vhost_fe_destroy(d->fe);
	for (i = 0; i < d->nshm; i++) {
		if (space && d->shm[i].region)
			shm_space_remove(space, d->shm[i].gpa);
		shmem_region_destroy(d->shm[i].region);
	}
	if (d->irqfd_on)
		irqfd_set(d, false);
	if (d->bus_on)
		bus_unregister(vm_mmio_bus(d->vm), d->base);
	if (d->t_ready)
		virtio_mmio_destroy(&d->t);
	pthread_mutex_destroy(&d->log_lock);
	if (d->call_fd >= 0)
		close(d->call_fd);
	for (i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		if (d->kick_fd[i] >= 0)
			close(d->kick_fd[i]);
	free(d);
}

static struct vhost_user_dev *dev_alloc(struct vmm *vm,
					const struct vmm_vhost_user *c)
{
	struct vhost_user_dev *d = calloc(1, sizeof(*d));
	unsigned int i;

	if (!d)
		return NULL;
	if (pthread_mutex_init(&d->log_lock, NULL)) {
		free(d);
		return NULL;
	}
	d->creating = true;
	d->vm = vm;
	d->virtio_id = c->virtio_id;
	d->call_fd = -1;
	for (i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		d->kick_fd[i] = -1;
	snprintf(d->name, sizeof(d->name), "%s",
		 c->name && *c->name ? c->name : c->socket_path);
	return d;
}

static int dev_create(struct vmm *vm, struct shm_space *space,
		      const struct vmm_vhost_user *c, struct vhost_user_dev **out,
		      struct why *w)
{
	struct vhost_user_dev *d;
	unsigned int i;
	int ret;

	d = dev_alloc(vm, c);
	if (!d)
		return failf(w, -ENOMEM, "out of memory");
	ret = connect_backend(d, c, w);
	if (!ret)
		ret = pick_queues(d, c, w);
	if (!ret)
		ret = pick_config(d, c, w);
	if (!ret)
		ret = pick_shm(d, c, w);
	if (!ret)
		ret = open_eventfds(d, w);
	if (!ret)
		ret = setup_transport(d, w);
	for (i = 0; !ret && i < d->nshm; i++)
		ret = create_region(d, space, &d->shm[i], w);
	if (!ret)
		ret = wire_machine(d, w);
	if (ret) {
		dev_destroy(d, space);
		return ret;
	}
	*out = d;
	return 0;
}

/* ---- the VM's set of devices ------------------------------------------ */

static unsigned int guest_phys_bits(const struct vmm *vm)
{
	const struct kvm_cpuid2 *c = vm->kvm.cpuid;
	uint32_t i;

	for (i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008)
			return shm_space_phys_bits(c->entries[i].eax);
	return shm_space_phys_bits(0);
}

static struct vhost_user_devs *devs_get(struct vmm *vm)
{
	const struct guest_ram *ram = vm_ram(vm);
	uint64_t ram_end = 0;
	unsigned int i;

	if (vm->vhost_user)
		return vm->vhost_user;
	vm->vhost_user = calloc(1, sizeof(*vm->vhost_user));
	if (!vm->vhost_user)
		return NULL;
	for (i = 0; i < ram->nregions; i++)
		if (ram->regions[i].gpa + ram->regions[i].size > ram_end)
			ram_end = ram->regions[i].gpa + ram->regions[i].size;
	shm_space_init(&vm->vhost_user->space, ram_end, guest_phys_bits(vm));
	return vm->vhost_user;
}

void vhost_user_devs_destroy(struct vhost_user_devs *devs)
{
	unsigned int i;

	if (!devs)
		return;
	for (i = 0; i < devs->n; i++)
		dev_destroy(devs->dev[i], NULL);
	free(devs);
}

const struct shm_space *vhost_user_shm_space(const struct vmm *vm)
{
	return vm->vhost_user ? &vm->vhost_user->space : NULL;
}

static enum vmm_error_kind error_kind(int ret)
{
	switch (ret) {
	case -EINVAL:
		return VMM_ERROR_CONFIG;
	case -ENOENT:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EPIPE:
	case -EPROTO:
	case -EIO:
	case -EACCES:
	case -ENOTSOCK:
	case -ENAMETOOLONG:
		return VMM_ERROR_INPUT;
	default:
		return VMM_ERROR_HOST;
	}
}

int vmm_add_vhost_user(struct vmm *vm, const struct vmm_vhost_user *dev,
		       struct vmm_error *err)
{
	struct vmm_error local;
	struct vhost_user_devs *devs;
	struct vhost_user_dev *d = NULL;
	const char *name;
	char why[200] = "";
	struct why w = { why, sizeof(why) };
	int ret;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	if (!vm || !dev) {
		ret = -EINVAL;
		snprintf(why, sizeof(why), "no device");
		goto fail;
	}
	name = dev->name && *dev->name ? dev->name :
	       dev->socket_path ? dev->socket_path : "?";
	ret = check_cfg(dev, &w);
	if (!ret && vm->ran)
		ret = failf(&w, -EBUSY, "the VM already ran");
	if (!ret && vm_ram(vm)->memfd < 0)
		ret = failf(&w, -EINVAL,
			    "guest memory is private; a vhost-user back-end needs it shared (vmm_config.memory_shared)");
	devs = ret ? NULL : devs_get(vm);
	if (!ret && !devs)
		ret = failf(&w, -ENOMEM, "out of memory");
	if (!ret && devs->n == VMM_VHOST_USER_MAX_DEVICES)
		ret = failf(&w, -ENOSPC, "at most %d vhost-user devices",
			    VMM_VHOST_USER_MAX_DEVICES);
	if (!ret)
		ret = dev_create(vm, &devs->space, dev, &d, &w);
	if (ret) {
		err->kind = error_kind(ret);
		err->errnum = -ret;
		snprintf(err->msg, sizeof(err->msg), "vhost-user %s: %s", name,
			 why);
		return ret;
	}
	devs->dev[devs->n++] = d;
	log_info(&vm->log,
		 "vhost-user %s: virtio id %u at 0x%llx irq %u, %u queues of %u, %u shm regions",
		 d->name, d->virtio_id, (unsigned long long)d->base, d->gsi,
		 d->nqueues, d->queue_size, d->nshm);
	return 0;
fail:
	err->kind = VMM_ERROR_CONFIG;
	err->errnum = -ret;
	snprintf(err->msg, sizeof(err->msg), "vhost-user: %s", why);
	return ret;
}
