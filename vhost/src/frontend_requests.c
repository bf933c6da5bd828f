/* SPDX-License-Identifier: MIT */
/*
 * Requests on the main socket: one at a time (the request lock), each
 * waiting for its reply or ack at most reply_timeout_ms. A failure is
 * worded into the caller's reason buffer ("SET_VRING_ADDR: the back-end
 * replied failure 1"); nothing here logs it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/why.h"
#include "shmem/shmem.h"

#include "frontend_priv.h"

void fe_lost(struct vhost_fe *fe, const char *why)
{
	pthread_mutex_lock(&fe->lost_lock);
	if (!fe->lost_why[0])
		snprintf(fe->lost_why, sizeof(fe->lost_why), "%s", why);
	pthread_mutex_unlock(&fe->lost_lock);
	__atomic_store_n(&fe->connected, false, __ATOMIC_SEQ_CST);
	if (fe->sock >= 0)
		shutdown(fe->sock, SHUT_RDWR);
}

static void fe_close_fd(void *opaque, int fd)
{
	struct vhost_fe *fe = opaque;

	vhost_fd_close(&fe->reaper, fd, fe->peer);
}

struct vhost_wait fe_wait(const struct vhost_fe *fe, int timeout_ms)
{
	struct vhost_wait w = {
		.deadline_ms = vhost_deadline_in(timeout_ms),
		.cancel = { fe->cancel_fd,
			    fe->cfg.has_cancel_fd ? fe->cfg.cancel_fd : -1 },
		.close_fd = fe_close_fd,
		.close_opaque = (void *)fe,
	};

	if (fe->nego_deadline_ms >= 0 && (w.deadline_ms < 0 ||
					  fe->nego_deadline_ms < w.deadline_ms))
		w.deadline_ms = fe->nego_deadline_ms;
	return w;
}

void vhost_fe_cancel(struct vhost_fe *fe)
{
	uint64_t one = 1;

	__atomic_store_n(&fe->stopping, true, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fe->cancelled, true, __ATOMIC_SEQ_CST);
	/* A one-shot eventfd write cannot fail short of a closed fd. */
	if (write(fe->cancel_fd, &one, sizeof(one)) != sizeof(one))
		one = 0;
}

void vhost_fe_drop(struct vhost_fe *fe, const char *why)
{
	fe_lost(fe, why);
}

int fe_rpc(struct vhost_fe *fe, struct vhost_msg *m, struct vhost_msg *reply,
	   char *why, size_t whylen)
{
	const char *what = vhost_user_request_name(m->hdr.request);
	bool ack = !reply && fe_pf(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK) &&
		   m->hdr.request != VHOST_USER_SET_PROTOCOL_FEATURES;
	struct vhost_msg ackmsg;
	char lost[FE_WHY_MAX];
	struct vhost_wait w;
	int ret;

	if (__atomic_load_n(&fe->cancelled, __ATOMIC_SEQ_CST))
		return why_fail(why, whylen, -ECANCELED,
				"%s: cancelled", what);
	if (!__atomic_load_n(&fe->connected, __ATOMIC_SEQ_CST))
		return why_fail(why, whylen, -ENOTCONN,
				"%s: the back-end is not connected", what);
	if (ack) {
		m->hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
		reply = &ackmsg;
	}
	pthread_mutex_lock(&fe->req_lock);
	/* One deadline for the send and the reply together. */
	w = fe_wait(fe, fe->cfg.reply_timeout_ms);
	ret = vhost_msg_send_wait(fe->sock, m, &w);
	if (!ret && reply)
		ret = vhost_msg_recv_wait(fe->sock, reply, VHOST_MSG_REPLY,
					  m->hdr.request, ack, &w);
	pthread_mutex_unlock(&fe->req_lock);
	if (ret == -EBADMSG || ret == -EMSGSIZE) {
		snprintf(lost, sizeof(lost), "%s: malformed reply", what);
		fe_lost(fe, lost);
		return why_fail(why, whylen, -EPROTO, "%s", lost);
	}
	if (ret) {
		snprintf(lost, sizeof(lost), "%s: %s", what, strerror(-ret));
		fe_lost(fe, lost);
		return why_fail(why, whylen, ret, "%s", lost);
	}
	if (ack && ackmsg.p.u64)
		return why_fail(why, whylen, -EIO,
				"%s: the back-end replied failure %llu", what,
				(unsigned long long)ackmsg.p.u64);
	return 0;
}

int fe_get_u64(struct vhost_fe *fe, uint32_t request, uint64_t *val,
	       char *why, size_t whylen)
{
	struct vhost_msg m, r;
	int ret;

	vhost_msg_init(&m, request, 0, 0);
	ret = fe_rpc(fe, &m, &r, why, whylen);
	if (!ret)
		*val = r.p.u64;
	return ret;
}

int fe_set_u64(struct vhost_fe *fe, uint32_t request, uint64_t val,
	       char *why, size_t whylen)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.u64));
	m.p.u64 = val;
	return fe_rpc(fe, &m, NULL, why, whylen);
}

static int fe_set_state(struct vhost_fe *fe, uint32_t request, uint32_t idx,
			uint32_t num, char *why, size_t whylen)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.state));
	m.p.state.index = idx;
	m.p.state.num = num;
	return fe_rpc(fe, &m, NULL, why, whylen);
}

/* ---- features and the memory table ---- */

int vhost_fe_set_features(struct vhost_fe *fe, uint64_t features,
			  char *why, size_t whylen)
{
	features &= ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if (features & ~vhost_fe_device_features(fe))
		return why_fail(why, whylen, -EINVAL,
				"features 0x%llx include bits the back-end does not offer (0x%llx)",
				(unsigned long long)features,
				(unsigned long long)vhost_fe_device_features(fe));
	if (fe_uses_pf(fe))
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	return fe_set_u64(fe, VHOST_USER_SET_FEATURES, features, why, whylen);
}

static void fe_region_wire(const struct vhost_fe_mem_region *r,
			   struct vhost_user_mem_region *w)
{
	w->guest_addr = r->gpa;
	w->size = r->size;
	w->user_addr = (uint64_t)(uintptr_t)r->hva;
	w->mmap_offset = r->fd_offset;
}

static int fe_mem_reg(struct vhost_fe *fe, uint32_t request,
		      const struct vhost_fe_mem_region *r, char *why,
		      size_t whylen)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.memreg));
	fe_region_wire(r, &m.p.memreg.region);
	if (request == VHOST_USER_ADD_MEM_REG) {
		m.fds[0] = r->fd;
		m.nfds = 1;
	}
	return fe_rpc(fe, &m, NULL, why, whylen);
}

static int fe_send_mem_table(struct vhost_fe *fe,
			     const struct vhost_fe_mem_region *regions,
			     unsigned int n, char *why, size_t whylen)
{
	struct vhost_msg m;

	vhost_msg_init(&m, VHOST_USER_SET_MEM_TABLE, 0,
		       8 + n * (uint32_t)sizeof(struct vhost_user_mem_region));
	m.p.mem.nregions = n;
	for (unsigned int i = 0; i < n; i++) {
		fe_region_wire(&regions[i], &m.p.mem.regions[i]);
		m.fds[i] = regions[i].fd;
	}
	m.nfds = n;
	return fe_rpc(fe, &m, NULL, why, whylen);
}

static int fe_add_mem_regions(struct vhost_fe *fe,
			      const struct vhost_fe_mem_region *regions,
			      unsigned int n, char *why, size_t whylen)
{
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ||
	    n > fe->max_mem_slots)
		return why_fail(why, whylen, -E2BIG,
				"%u memory regions: the back-end takes %llu",
				n, (unsigned long long)(fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ?
							fe->max_mem_slots : VHOST_USER_MEM_REGIONS));
	/* Remove what an earlier call added, then add the new table. */
	for (unsigned int i = 0; i < fe->nmem_added; i++) {
		ret = fe_mem_reg(fe, VHOST_USER_REM_MEM_REG, &fe->mem[i], why,
				 whylen);
		if (ret)
			return ret;
	}
	fe->nmem_added = 0;
	for (unsigned int i = 0; i < n; i++) {
		ret = fe_mem_reg(fe, VHOST_USER_ADD_MEM_REG, &regions[i], why,
				 whylen);
		if (ret)
			return ret;
		fe->nmem_added = i + 1;
	}
	return 0;
}

int vhost_fe_set_mem_table(struct vhost_fe *fe,
			   const struct vhost_fe_mem_region *regions,
			   unsigned int n, char *why, size_t whylen)
{
	int ret;

	if (n > VHOST_FE_MAX_MEM_REGIONS)
		return why_fail(why, whylen, -E2BIG,
				"%u memory regions: at most %d", n,
				VHOST_FE_MAX_MEM_REGIONS);
	for (unsigned int i = 0; i < n; i++)
		if (!regions[i].size || regions[i].fd < 0 ||
		    regions[i].gpa + regions[i].size < regions[i].gpa)
			return why_fail(why, whylen, -EINVAL,
					"memory region %u: empty, wrapping or without an fd",
					i);
	if (n <= VHOST_USER_MEM_REGIONS && !fe->nmem_added)
		ret = fe_send_mem_table(fe, regions, n, why, whylen);
	else
		ret = fe_add_mem_regions(fe, regions, n, why, whylen);
	if (ret)
		return ret;
	memcpy(fe->mem, regions, n * sizeof(*regions));
	fe->nmem = n;
	return 0;
}

/* ---- vrings ---- */

/* Translate [gpa, gpa + len) into the owner's address for the back-end. */
static int fe_gpa_to_uva(const struct vhost_fe *fe, uint64_t gpa,
			 uint64_t len, uint64_t *uva)
{
	for (unsigned int i = 0; i < fe->nmem; i++) {
		const struct vhost_fe_mem_region *r = &fe->mem[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa)) {
			*uva = (uint64_t)(uintptr_t)r->hva + (gpa - r->gpa);
			return 0;
		}
	}
	return -EFAULT;
}

static int fe_vring_fd(struct vhost_fe *fe, uint32_t request,
		       unsigned int idx, int fd, char *why, size_t whylen)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.u64));
	m.p.u64 = idx & VHOST_USER_VRING_IDX_MASK;
	if (fd < 0) {
		m.p.u64 |= VHOST_USER_VRING_NOFD_MASK;
	} else {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	return fe_rpc(fe, &m, NULL, why, whylen);
}

static int fe_vring_addr(struct vhost_fe *fe, unsigned int idx,
			 const struct vhost_fe_vring *v, char *why,
			 size_t whylen)
{
	struct vhost_msg m;
	uint64_t n = v->num;
	int ret;

	vhost_msg_init(&m, VHOST_USER_SET_VRING_ADDR, 0, sizeof(m.p.addr));
	m.p.addr.index = idx;
	ret = fe_gpa_to_uva(fe, v->desc_gpa, 16 * n, &m.p.addr.desc_user_addr);
	if (!ret)
		ret = fe_gpa_to_uva(fe, v->avail_gpa, 6 + 2 * n,
				    &m.p.addr.avail_user_addr);
	if (!ret)
		ret = fe_gpa_to_uva(fe, v->used_gpa, 6 + 8 * n,
				    &m.p.addr.used_user_addr);
	if (ret)
		return why_fail(why, whylen, ret,
				"vring %u: rings at 0x%llx/0x%llx/0x%llx are outside guest memory",
				idx, (unsigned long long)v->desc_gpa,
				(unsigned long long)v->avail_gpa,
				(unsigned long long)v->used_gpa);
	return fe_rpc(fe, &m, NULL, why, whylen);
}

int vhost_fe_vring_start(struct vhost_fe *fe, unsigned int idx,
			 const struct vhost_fe_vring *v, char *why,
			 size_t whylen)
{
	int ret;

	if (idx >= VHOST_USER_MAX_QUEUES || !v->num || v->num > 32768 ||
	    (v->num & (v->num - 1)) || v->kick_fd < 0)
		return why_fail(why, whylen, -EINVAL,
				"vring %u: size %u or kick fd %d is invalid",
				idx, v->num, v->kick_fd);
	ret = fe_set_state(fe, VHOST_USER_SET_VRING_NUM, idx, v->num, why,
			   whylen);
	if (!ret)
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_BASE, idx, v->base,
				   why, whylen);
	if (!ret)
		ret = fe_vring_addr(fe, idx, v, why, whylen);
	if (!ret)
		ret = fe_vring_fd(fe, VHOST_USER_SET_VRING_CALL, idx,
				  v->call_fd, why, whylen);
	if (!ret)
		ret = fe_vring_fd(fe, VHOST_USER_SET_VRING_KICK, idx,
				  v->kick_fd, why, whylen);
	if (!ret && fe_uses_pf(fe))
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, 1,
				   why, whylen);
	return ret;
}

int vhost_fe_vring_stop(struct vhost_fe *fe, unsigned int idx,
			uint32_t *last_avail, char *why, size_t whylen)
{
	struct vhost_msg m, r;
	int ret;

	if (idx >= VHOST_USER_MAX_QUEUES)
		return why_fail(why, whylen, -EINVAL, "vring %u does not exist",
				idx);
	if (fe_uses_pf(fe)) {
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, 0,
				   why, whylen);
		if (ret)
			return ret;
	}
	vhost_msg_init(&m, VHOST_USER_GET_VRING_BASE, 0, sizeof(m.p.state));
	m.p.state.index = idx;
	ret = fe_rpc(fe, &m, &r, why, whylen);
	if (ret)
		return ret;
	if (r.p.state.index != idx)
		return why_fail(why, whylen, -EPROTO,
				"GET_VRING_BASE: reply for vring %u, not %u",
				r.p.state.index, idx);
	if (last_avail)
		*last_avail = r.p.state.num;
	return 0;
}

/* ---- config space, status, reset ---- */

int vhost_fe_get_config(struct vhost_fe *fe, uint32_t offset, void *buf,
			uint32_t len, char *why, size_t whylen)
{
	struct vhost_msg m, r;
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIG))
		return why_fail(why, whylen, -EOPNOTSUPP,
				"the back-end does not serve the config space");
	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return why_fail(why, whylen, -EINVAL,
				"config read of %u bytes: at most %d", len,
				VHOST_USER_MAX_CONFIG_SIZE);
	vhost_msg_init(&m, VHOST_USER_GET_CONFIG, 0,
		       VHOST_USER_CONFIG_HDR_SIZE + len);
	m.p.config.offset = offset;
	m.p.config.size = len;
	ret = fe_rpc(fe, &m, &r, why, whylen);
	if (ret)
		return ret;
	if (r.hdr.size != VHOST_USER_CONFIG_HDR_SIZE + len ||
	    r.p.config.size != len || r.p.config.offset != offset)
		return why_fail(why, whylen, -EIO,
				"GET_CONFIG offset %u len %u: %s", offset, len,
				r.hdr.size ? "the reply does not match" :
				"the back-end refused");
	memcpy(buf, r.p.config.payload, len);
	return 0;
}

int vhost_fe_set_config(struct vhost_fe *fe, uint32_t offset,
			const void *buf, uint32_t len, char *why,
			size_t whylen)
{
	struct vhost_msg m;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIG))
		return why_fail(why, whylen, -EOPNOTSUPP,
				"the back-end does not serve the config space");
	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return why_fail(why, whylen, -EINVAL,
				"config write of %u bytes: at most %d", len,
				VHOST_USER_MAX_CONFIG_SIZE);
	vhost_msg_init(&m, VHOST_USER_SET_CONFIG, 0,
		       VHOST_USER_CONFIG_HDR_SIZE + len);
	m.p.config.offset = offset;
	m.p.config.size = len;
	memcpy(m.p.config.payload, buf, len);
	return fe_rpc(fe, &m, NULL, why, whylen);
}

int vhost_fe_set_status(struct vhost_fe *fe, uint8_t status, char *why,
			size_t whylen)
{
	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_STATUS))
		return why_fail(why, whylen, -EOPNOTSUPP,
				"the back-end does not take SET_STATUS");
	return fe_set_u64(fe, VHOST_USER_SET_STATUS, status, why, whylen);
}

int vhost_fe_get_status(struct vhost_fe *fe, uint8_t *status, char *why,
			size_t whylen)
{
	uint64_t v;
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_STATUS))
		return why_fail(why, whylen, -EOPNOTSUPP,
				"the back-end does not take GET_STATUS");
	ret = fe_get_u64(fe, VHOST_USER_GET_STATUS, &v, why, whylen);
	if (!ret)
		*status = (uint8_t)v;
	return ret;
}

int vhost_fe_reset(struct vhost_fe *fe, char *why, size_t whylen)
{
	struct vhost_msg m;
	size_t dropped = 0;
	int ret;

	vhost_msg_init(&m, fe_pf(fe, VHOST_USER_PROTOCOL_F_RESET_DEVICE) ?
		       VHOST_USER_RESET_DEVICE : VHOST_USER_RESET_OWNER, 0, 0);
	ret = fe_rpc(fe, &m, NULL, why, whylen);
	pthread_mutex_lock(&fe->shm.lock);
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (fe->shm.regions[i])
			dropped += shmem_reset(fe->shm.regions[i]);
	pthread_mutex_unlock(&fe->shm.lock);
	vlog_info(&fe->log, "device reset: %zu mappings dropped%s", dropped,
		  ret ? " (the back-end did not take the reset)" : "");
	return ret;
}

void vhost_fe_get_stats(struct vhost_fe *fe, struct vhost_fe_stats *st)
{
	st->maps = __atomic_load_n(&fe->chan.maps, __ATOMIC_RELAXED);
	st->unmaps = __atomic_load_n(&fe->chan.unmaps, __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&fe->chan.refused, __ATOMIC_RELAXED);
}
