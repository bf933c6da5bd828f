// SPDX-License-Identifier: MIT
/*
 * The shape of a vhost-user device as the guest sees it, decided once at
 * creation from the user's config and the back-end's negotiation answers.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <linux/virtio_mmio.h>

#include <shmem/shmem.h>
#include <vhost/frontend.h>

#include "common/page.h"
#include "common/why.h"

#include "devices/vhost_user/dev.h"

#define FS_DEFAULT_QUEUES	2	/* hiprio + one request queue */

int vu_check_config(const struct vmm_vhost_user *c, char *why, size_t whylen)
{
	unsigned int i, j;

	if (!c->socket_path || !*c->socket_path)
		return why_fail(why, whylen, -EINVAL, "no socket path");
	if (!c->virtio_id || c->virtio_id > 0xffff)
		return why_fail(why, whylen, -EINVAL,
				"virtio-id %u: must be 1 to 65535", c->virtio_id);
	if (c->queues > VMM_VHOST_USER_MAX_QUEUES)
		return why_fail(why, whylen, -EINVAL, "queues %u: must be 1 to %d",
				c->queues, VMM_VHOST_USER_MAX_QUEUES);
	if (c->queue_size > VMM_VHOST_USER_MAX_QUEUE_SIZE ||
	    (c->queue_size & (c->queue_size - 1)))
		return why_fail(why, whylen, -EINVAL,
				"queue-size %u: must be a power of two up to %d",
				c->queue_size, VMM_VHOST_USER_MAX_QUEUE_SIZE);
	if (c->tag && (!*c->tag || strlen(c->tag) > VMM_VIRTIO_FS_TAG_MAX))
		return why_fail(why, whylen, -EINVAL,
				"tag '%s': must be 1 to %d bytes", c->tag,
				VMM_VIRTIO_FS_TAG_MAX);
	if (c->nshm > VMM_VHOST_USER_MAX_SHM)
		return why_fail(why, whylen, -EINVAL,
				"more than %d shm regions", VMM_VHOST_USER_MAX_SHM);
	for (i = 0; i < c->nshm; i++) {
		if (!c->shm[i].size || c->shm[i].size % PAGE_SIZE_4K ||
		    c->shm[i].size > SHMEM_REGION_MAX_SIZE)
			return why_fail(why, whylen, -EINVAL,
					"shm %u: size must be a multiple of 4K up to 1T",
					c->shm[i].id);
		for (j = 0; j < i; j++)
			if (c->shm[j].id == c->shm[i].id)
				return why_fail(why, whylen, -EINVAL,
						"shm %u given twice",
						c->shm[i].id);
	}
	return 0;
}

int vu_pick_queues(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen)
{
	uint32_t max = vhost_fe_max_queues(d->fe);	/* 0: no MQ */
	unsigned int n = c->queues;

	if (!n)
		n = d->virtio_id == VMM_VIRTIO_ID_FS ? FS_DEFAULT_QUEUES :
		    (max ? max : 1);
	if (n > VMM_VHOST_USER_MAX_QUEUES)
		n = VMM_VHOST_USER_MAX_QUEUES;
	if (max && n > max)
		return why_fail(why, whylen, -EINVAL,
				"queues=%u: the back-end has only %u", n, max);
	if (d->virtio_id == VMM_VIRTIO_ID_FS && n < 2)
		return why_fail(why, whylen, -EINVAL,
				"queues=%u: virtio-fs needs a hiprio and a request queue",
				n);
	d->nqueues = n;
	d->queue_size = (uint16_t)(c->queue_size ? c->queue_size :
				   VMM_VHOST_USER_DEFAULT_QUEUE_SIZE);
	return 0;
}

int vu_read_config(struct vhost_user_dev *d, char *why, size_t whylen)
{
	uint8_t buf[VU_CONFIG_MAX];
	int ret;

	ret = vhost_fe_get_config(d->fe, 0, buf, d->config_size, why, whylen);
	if (ret)
		return ret;
	pthread_mutex_lock(&d->cfg_lock);
	memcpy(d->config, buf, d->config_size);
	pthread_mutex_unlock(&d->cfg_lock);
	return 0;
}

/*
 * How large the back-end's config space is. The protocol does not say,
 * and libvhost-user back-ends (qemu-storage-daemon, virtiofsd) refuse a
 * GET_CONFIG longer than their device's config structure, while they
 * ignore its offset: ask for the whole window first, then for the longest
 * size they accept (a binary search, at most eight more requests, all at
 * offset 0). QEMU knows each device's size instead; this needs no table.
 */
static int probe_config_size(struct vhost_user_dev *d, char *why,
			     size_t whylen)
{
	uint32_t lo = 0, hi = VU_CONFIG_MAX;	/* lo accepted, hi+1 refused */
	uint8_t buf[VU_CONFIG_MAX];
	int ret;

	ret = vhost_fe_get_config(d->fe, 0, buf, VU_CONFIG_MAX, why, whylen);
	if (!ret)
		return VU_CONFIG_MAX;
	if (ret != -EIO)
		return ret;
	hi = VU_CONFIG_MAX - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		ret = vhost_fe_get_config(d->fe, 0, buf, mid, why, whylen);
		if (!ret)
			lo = mid;
		else if (ret == -EIO && vhost_fe_connected(d->fe))
			hi = mid - 1;
		else
			return ret;
	}
	if (!lo)
		return why_fail(why, whylen, -EPROTO,
				"the back-end offers CONFIG but answers no GET_CONFIG");
	return (int)lo;
}

int vu_pick_config(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		   char *why, size_t whylen)
{
	uint32_t nreq;
	int ret;

	d->be_config = vhost_fe_has(d->fe, VHOST_USER_PROTOCOL_F_CONFIG);
	if (d->be_config) {
		if (c->tag)
			log_warn(d->svc->log,
				 "vhost-user %s: tag= ignored: the back-end serves the config space",
				 d->name);
		ret = probe_config_size(d, why, whylen);
		if (ret < 0)
			return ret;
		d->config_size = (uint32_t)ret;
		return vu_read_config(d, why, whylen);
	}
	if (d->virtio_id != VMM_VIRTIO_ID_FS)
		return 0;
	if (!c->tag)
		return why_fail(why, whylen, -EINVAL,
				"virtio-fs needs tag= (the back-end does not serve the config space)");
	memset(d->config, 0, sizeof(d->config));
	memcpy(d->config, c->tag, strlen(c->tag));
	nreq = d->nqueues - 1;		/* little-endian le32 */
	memcpy(d->config + VMM_VIRTIO_FS_TAG_MAX, &nreq, 4);
	d->config_size = VU_FS_CONFIG_SIZE;
	return 0;
}

static int shm_from_backend(struct vhost_user_dev *d,
			    const struct vmm_vhost_user *c,
			    const uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS],
			    int n, char *why, size_t whylen)
{
	unsigned int i;

	for (i = 0; i < c->nshm; i++)
		if (sizes[c->shm[i].id] != c->shm[i].size)
			return why_fail(why, whylen, -EINVAL,
					"shm=%u:%llu disagrees with the back-end's GET_SHMEM_CONFIG (%llu bytes)",
					c->shm[i].id,
					(unsigned long long)c->shm[i].size,
					(unsigned long long)sizes[c->shm[i].id]);
	if (c->nshm && (int)c->nshm != n)
		return why_fail(why, whylen, -EINVAL,
				"shm= names %u regions, the back-end's GET_SHMEM_CONFIG %d",
				c->nshm, n);
	if (n > VMM_VHOST_USER_MAX_SHM)
		return why_fail(why, whylen, -ENOSPC,
				"the back-end announces %d shared memory regions; vmm supports %d per device",
				n, VMM_VHOST_USER_MAX_SHM);
	for (i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (sizes[i])
			d->shm[d->nshm++] = (struct dev_shm_req){
				.id = (uint8_t)i, .size = sizes[i],
			};
	return 0;
}

int vu_pick_shm(struct vhost_user_dev *d, const struct vmm_vhost_user *c,
		char *why, size_t whylen)
{
	uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	unsigned int i;
	int n;

	n = vhost_fe_shmem_config(d->fe, sizes);
	if (n >= 0)
		return shm_from_backend(d, c, sizes, n, why, whylen);
	if (n != -EOPNOTSUPP)
		return why_fail(why, whylen, n, "GET_SHMEM_CONFIG: %s",
				strerror(-n));
	for (i = 0; i < c->nshm; i++)
		d->shm[d->nshm++] = (struct dev_shm_req){
			.id = c->shm[i].id, .size = c->shm[i].size,
		};
	return 0;
}
