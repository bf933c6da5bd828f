/* SPDX-License-Identifier: MIT */
/* Back-end library: split virtqueues in guest memory. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "backend_priv.h"

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
/* Descriptors in one indirect table at most (two full chains). */
#define INDIRECT_MAX		(2 * VHOST_BE_MAX_SG)

struct vring_desc_wire {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail_wire {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem_wire {
	uint32_t id;
	uint32_t len;
};

struct vring_used_wire {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem_wire ring[];
};

void be_vring_init(struct be_vring *vq)
{
	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = vq->call_fd = vq->err_fd = -1;
}

void be_vring_reset(struct be_vring *vq)
{
	if (vq->kick_fd >= 0)
		close(vq->kick_fd);
	if (vq->call_fd >= 0)
		close(vq->call_fd);
	if (vq->err_fd >= 0)
		close(vq->err_fd);
	be_vring_init(vq);
}

int be_vring_translate(struct vhost_be *be, struct be_vring *vq)
{
	uint64_t n = vq->num;

	vq->desc = be_uva_to_va(be, vq->desc_uva, 16 * n);
	vq->avail = be_uva_to_va(be, vq->avail_uva, 6 + 2 * n);
	vq->used = be_uva_to_va(be, vq->used_uva, 6 + 8 * n);
	/* Virtio alignment: descriptors 16, avail ring 2, used ring 4. */
	if (!n || !vq->desc || !vq->avail || !vq->used ||
	    (uintptr_t)vq->desc % 16 || (uintptr_t)vq->avail % 2 ||
	    (uintptr_t)vq->used % 4) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	return 0;
}

static struct be_vring *be_vq(const struct vhost_be *be, unsigned int idx)
{
	if (idx >= be->cfg.num_queues)
		return NULL;
	return (struct be_vring *)&be->vq[idx];
}

bool vhost_be_vring_started(const struct vhost_be *be, unsigned int idx)
{
	struct be_vring *vq = be_vq(be, idx);

	return vq && vq->kick_fd >= 0 && vq->desc;
}

bool vhost_be_vring_enabled(const struct vhost_be *be, unsigned int idx)
{
	struct be_vring *vq = be_vq(be, idx);

	return vq && vq->enabled;
}

int vhost_be_vring_kick_fd(const struct vhost_be *be, unsigned int idx)
{
	struct be_vring *vq = be_vq(be, idx);

	return vq ? vq->kick_fd : -1;
}

void vhost_be_vring_drain_kick(struct vhost_be *be, unsigned int idx)
{
	struct be_vring *vq = be_vq(be, idx);
	uint64_t v;

	if (vq && vq->kick_fd >= 0 && read(vq->kick_fd, &v, sizeof(v)) < 0)
		v = 0;
}

static int walk_indirect(struct vhost_be *be, const struct vring_desc_wire *d,
			 struct vhost_be_elem *e);

static int elem_add(struct vhost_be_elem *e, void *p, uint32_t len, bool wr)
{
	if (wr) {
		if (e->nwr >= VHOST_BE_MAX_SG)
			return -EINVAL;
		e->wr[e->nwr++] = (struct iovec){ p, len };
	} else {
		/* Device-readable buffers come first. */
		if (e->nwr || e->nrd >= VHOST_BE_MAX_SG)
			return -EINVAL;
		e->rd[e->nrd++] = (struct iovec){ p, len };
	}
	return 0;
}

/*
 * Follow descriptors from @i in @table (@n entries) into @e. Each entry is
 * copied before it is used; the walk ends after at most @n hops.
 */
static int walk_descs(struct vhost_be *be, const struct vring_desc_wire *table,
		      uint32_t n, uint32_t i, bool indirect,
		      struct vhost_be_elem *e)
{
	for (uint32_t hops = 0;; hops++) {
		struct vring_desc_wire d;
		void *p;
		int ret;

		if (i >= n || hops >= n)
			return -EINVAL;
		memcpy(&d, &table[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/* Only the head of a ring chain may be a table. */
			if (indirect || hops)
				return -EINVAL;
			return walk_indirect(be, &d, e);
		}
		p = vhost_be_gpa_to_va(be, d.addr, d.len);
		if (!p && (!be->cfg.unmapped_buffers || !d.len))
			return -EINVAL;
		if (!p)
			e->nunmapped++;
		ret = elem_add(e, p, d.len, d.flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		i = d.next;
	}
}

/*
 * An indirect table (VIRTIO_RING_F_INDIRECT_DESC, when negotiated): a whole
 * number of descriptors inside guest memory, no NEXT on the descriptor that
 * points to it, no table inside it.
 */
static int walk_indirect(struct vhost_be *be, const struct vring_desc_wire *d,
			 struct vhost_be_elem *e)
{
	const struct vring_desc_wire *table;
	uint32_t n = d->len / sizeof(*d);

	if (!(be->acked_features & (1ull << VHOST_BE_F_INDIRECT_DESC)) ||
	    (d->flags & VRING_DESC_F_NEXT) || d->len % sizeof(*d) || !n ||
	    n > INDIRECT_MAX)
		return -EINVAL;
	table = vhost_be_gpa_to_va(be, d->addr, d->len);
	if (!table)
		return -EINVAL;
	return walk_descs(be, table, n, 0, true, e);
}

static int walk_chain(struct vhost_be *be, struct be_vring *vq, uint16_t head,
		      struct vhost_be_elem *e)
{
	e->head = head;
	e->nrd = e->nwr = e->nunmapped = 0;
	return walk_descs(be, vq->desc, vq->num, head, false, e);
}

int vhost_be_vring_pop(struct vhost_be *be, unsigned int idx,
		       struct vhost_be_elem *e)
{
	struct be_vring *vq = be_vq(be, idx);
	uint16_t avail_idx, head;

	if (!vq || !vq->desc)
		return -EINVAL;
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num)
		return -EINVAL;
	head = vq->avail->ring[vq->last_avail % vq->num];
	vq->last_avail++;
	return walk_chain(be, vq, head, e);
}

int vhost_be_vring_push(struct vhost_be *be, unsigned int idx, uint16_t head,
			uint32_t len)
{
	struct be_vring *vq = be_vq(be, idx);
	struct vring_used_elem_wire *u;

	if (!vq || !vq->used || head >= vq->num)
		return -EINVAL;
	u = &vq->used->ring[vq->used_idx % vq->num];
	u->id = head;
	u->len = len;
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	return 0;
}

int vhost_be_vring_notify(struct vhost_be *be, unsigned int idx)
{
	struct be_vring *vq = be_vq(be, idx);
	uint64_t one = 1;

	if (!vq || vq->call_fd < 0)
		return -EINVAL;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (write(vq->call_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}
