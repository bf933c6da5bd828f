// SPDX-License-Identifier: MIT
/*
 * virtio-mmio transport, version 2: register emulation.
 * Register layout: VIRTIO 1.2, section 4.2.2; Linux include/uapi/linux/virtio_mmio.h.
 */
#include "devices/virtio_mmio.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define VIRTIO_MMIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION_2	2

static struct virtio_mmio_queue *cur_queue(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->nqueues)
		return NULL;
	return &t->queues[t->queue_sel];
}

static const struct virtio_mmio_shm *cur_shm(const struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < t->nshm; i++)
		if (t->shm[i].id == t->shm_sel)
			return &t->shm[i];
	return NULL;
}

int virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_config *cfg)
{
	uint16_t qmax = cfg->queue_size_max;

	if (!cfg->ops || cfg->nqueues > VIRTIO_MMIO_MAX_QUEUES ||
	    cfg->config_size > VIRTIO_MMIO_WINDOW_SIZE - VIRTIO_MMIO_CONFIG ||
	    qmax == 0 || (qmax & (qmax - 1)))
		return -EINVAL;

	memset(t, 0, sizeof(*t));
	if (pthread_mutex_init(&t->lock, NULL))
		return -ENOMEM;
	t->device_id = cfg->device_id;
	t->device_features = cfg->device_features | (1ULL << VIRTIO_F_VERSION_1);
	t->nqueues = cfg->nqueues;
	for (unsigned int i = 0; i < cfg->nqueues; i++)
		t->queues[i].num_max = qmax;
	t->config_size = cfg->config_size;
	t->ops = cfg->ops;
	t->dev = cfg->dev;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

int virtio_mmio_add_shm(struct virtio_mmio *t, uint8_t id, uint64_t base,
			uint64_t len)
{
	if (t->nshm == VIRTIO_MMIO_MAX_SHM)
		return -ENOSPC;
	if (len == 0 || len == ~0ULL || base + len < base)
		return -EINVAL;
	for (unsigned int i = 0; i < t->nshm; i++)
		if (t->shm[i].id == id)
			return -EEXIST;
	t->shm[t->nshm++] = (struct virtio_mmio_shm){ id, base, len };
	return 0;
}

/* Bring the transport back to its initial state; device reset semantics. */
static void reset_locked(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev, t);
	t->resets++;
	t->started = false;
	t->status = 0;
	t->interrupt_status = 0;
	t->driver_features = 0;
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->queue_sel = 0;
	for (unsigned int i = 0; i < t->nqueues; i++) {
		uint16_t max = t->queues[i].num_max;

		t->queues[i] = (struct virtio_mmio_queue){ .num_max = max };
	}
}

static void needs_reset_locked(struct virtio_mmio *t)
{
	t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	t->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
	t->config_generation++;
	if (t->ops->interrupt)
		t->ops->interrupt(t->dev);
}

/*
 * Apply what virtio_mmio_post() recorded; its interrupt was already raised.
 * A posted NEEDS_RESET only counts for a device the driver has started:
 * before that, there is nothing to reset.
 */
static void apply_posted_locked(struct virtio_mmio *t)
{
	unsigned int ev = atomic_exchange(&t->posted, 0);

	if (!ev)
		return;
	if ((ev & VIRTIO_MMIO_EV_NEEDS_RESET) && t->status)
		t->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	t->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
	t->config_generation++;
}

/* The driver may only accept features the device offered; VERSION_1 is required. */
static bool features_ok(const struct virtio_mmio *t)
{
	if (t->driver_features & ~t->device_features)
		return false;
	return t->driver_features & (1ULL << VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_mmio *t, uint32_t val)
{
	uint32_t added = val & ~t->status;

	if (val == 0) {
		reset_locked(t);
		return;
	}
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !features_ok(t))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	t->status = val;
	if (!(added & VIRTIO_CONFIG_S_DRIVER_OK) || t->started)
		return;
	if (!(val & VIRTIO_CONFIG_S_FEATURES_OK) || !t->ops->driver_ok) {
		needs_reset_locked(t);
		return;
	}
	if (t->ops->driver_ok(t->dev, t) < 0) {
		needs_reset_locked(t);
		return;
	}
	t->started = true;
}

uint32_t virtio_mmio_interrupt_status(struct virtio_mmio *t)
{
	uint32_t v = t->interrupt_status;

	if (t->started)
		v |= VIRTIO_MMIO_INT_VRING;
	return v;
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_queue *q = cur_queue(t);
	const struct virtio_mmio_shm *shm;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >>
				  (32 * t->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return virtio_mmio_interrupt_status(t);
	case VIRTIO_MMIO_STATUS:
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		shm = cur_shm(t);
		if (!shm)
			return ~0U;	/* all ones: no such region */
		return off == VIRTIO_MMIO_SHM_LEN_LOW ?
		       (uint32_t)shm->len : (uint32_t)(shm->len >> 32);
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		shm = cur_shm(t);
		if (!shm)
			return ~0U;
		return off == VIRTIO_MMIO_SHM_BASE_LOW ?
		       (uint32_t)shm->base : (uint32_t)(shm->base >> 32);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return t->config_generation;
	default:
		return 0;	/* write-only or reserved */
	}
}

static void set_lo(uint64_t *v, uint32_t lo)
{
	*v = (*v & ~0xffffffffULL) | lo;
}

static void set_hi(uint64_t *v, uint32_t hi)
{
	*v = (*v & 0xffffffffULL) | ((uint64_t)hi << 32);
}

/* Queue registers may only change while the queue is not ready. */
static void write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	struct virtio_mmio_queue *q = cur_queue(t);

	if (!q)
		return;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		q->ready = val & 1;
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (val && val <= q->num_max && !(val & (val - 1)))
			q->num = (uint16_t)val;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:   set_lo(&q->desc, val);  break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:  set_hi(&q->desc, val);  break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:  set_lo(&q->avail, val); break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: set_hi(&q->avail, val); break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:   set_lo(&q->used, val);  break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH:  set_hi(&q->used, val);  break;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Features are frozen once FEATURES_OK is set. */
		if (t->driver_features_sel > 1 ||
		    (t->status & VIRTIO_CONFIG_S_FEATURES_OK))
			break;
		if (t->driver_features_sel == 0)
			set_lo(&t->driver_features, val);
		else
			set_hi(&t->driver_features, val);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (val < t->nqueues && t->ops->queue_notify)
			t->ops->queue_notify(t->dev, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->interrupt_status &= ~val;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = val;
		break;
	default:
		write_queue_reg(t, off, val);
		break;
	}
}

static bool in_config(const struct virtio_mmio *t, uint64_t off, uint32_t len)
{
	return off >= VIRTIO_MMIO_CONFIG &&
	       off - VIRTIO_MMIO_CONFIG + len <= t->config_size;
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, void *data,
		      uint32_t len)
{
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	apply_posted_locked(t);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (in_config(t, off, len) && t->ops->config_read)
			t->ops->config_read(t->dev, off - VIRTIO_MMIO_CONFIG,
					    data, len);
	} else if (len == 4 && !(off & 3)) {
		/* The spec allows only aligned 32-bit register access. */
		v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const void *data,
		       uint32_t len)
{
	uint32_t v;

	pthread_mutex_lock(&t->lock);
	apply_posted_locked(t);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (in_config(t, off, len) && t->ops->config_write)
			t->ops->config_write(t->dev, off - VIRTIO_MMIO_CONFIG,
					     data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		write_reg(t, off, v);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_signal_config(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	t->config_generation++;
	t->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
	if (t->ops->interrupt)
		t->ops->interrupt(t->dev);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
	needs_reset_locked(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_start_failed(struct virtio_mmio *t, uint32_t resets)
{
	pthread_mutex_lock(&t->lock);
	if (t->resets == resets && t->status)
		needs_reset_locked(t);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_post(struct virtio_mmio *t, unsigned int events)
{
	atomic_fetch_or(&t->posted, events);
	if (t->ops->interrupt)
		t->ops->interrupt(t->dev);
}
