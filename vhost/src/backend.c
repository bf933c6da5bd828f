/* SPDX-License-Identifier: MIT */
/* Back-end library: the connection, front-end requests, back-end channel. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend_priv.h"
#include "wire.h"

#define BE_DEFAULT_TIMEOUT_MS	5000

/* Outcome of one handler: reply already built in @r, or an ack value. */
enum { BE_ACK = 0, BE_REPLY = 1 };

static bool be_pf(const struct vhost_be *be, unsigned int bit)
{
	return be->protocol_features & (1ull << bit);
}

/* ---- sockets ---- */

int vhost_be_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 4)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int vhost_be_accept(int listen_fd, int timeout_ms,
		    const struct vhost_be_config *cfg, struct vhost_be **out)
{
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	int n, fd;

	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	return vhost_be_new(fd, cfg, out);
}

int vhost_be_new(int sock, const struct vhost_be_config *cfg,
		 struct vhost_be **out)
{
	struct vhost_be *be;

	if (cfg->num_queues > VHOST_BE_MAX_QUEUES) {
		close(sock);
		return -EINVAL;
	}
	be = calloc(1, sizeof(*be));
	if (!be) {
		close(sock);
		return -ENOMEM;
	}
	be->cfg = *cfg;
	if (!be->cfg.backend_reply_timeout_ms)
		be->cfg.backend_reply_timeout_ms = BE_DEFAULT_TIMEOUT_MS;
	be->cfg.protocol_features &= VHOST_BE_PROTOCOL_FEATURES;
	if (!cfg->shm_sizes)
		be->cfg.protocol_features &= ~(1ull << VHOST_USER_PROTOCOL_F_SHMEM);
	else
		memcpy(be->shm_sizes, cfg->shm_sizes, sizeof(be->shm_sizes));
	be->log = (struct vhost_logger){ cfg->log, cfg->log_opaque, NULL };
	be->sock = sock;
	be->chan = -1;
	for (unsigned int i = 0; i < VHOST_BE_MAX_QUEUES; i++)
		be_vring_init(&be->vq[i]);
	*out = be;
	return 0;
}

static void be_reset_rings(struct vhost_be *be)
{
	for (unsigned int i = 0; i < VHOST_BE_MAX_QUEUES; i++)
		be_vring_reset(&be->vq[i]);
}

void vhost_be_free(struct vhost_be *be)
{
	if (!be)
		return;
	be_reset_rings(be);
	be_mem_clear(be);
	if (be->chan >= 0)
		close(be->chan);
	close(be->sock);
	free(be);
}

int vhost_be_fd(const struct vhost_be *be)
{
	return be->sock;
}

uint64_t vhost_be_acked_features(const struct vhost_be *be)
{
	return be->acked_features;
}

uint64_t vhost_be_protocol_features(const struct vhost_be *be)
{
	return be->protocol_features;
}

bool vhost_be_has_backend_channel(const struct vhost_be *be)
{
	return be->chan >= 0;
}

uint8_t vhost_be_status(const struct vhost_be *be)
{
	return be->status;
}

/* ---- front-end requests ---- */

static void reply_u64(struct vhost_msg *r, uint64_t v)
{
	r->hdr.size = sizeof(r->p.u64);
	r->p.u64 = v;
}

static struct be_vring *msg_vq(struct vhost_be *be, uint32_t idx)
{
	return idx < be->cfg.num_queues ? &be->vq[idx] : NULL;
}

static int be_vring_state(struct vhost_be *be, struct vhost_msg *m)
{
	struct be_vring *vq = msg_vq(be, m->p.state.index);
	uint32_t num = m->p.state.num;

	if (!vq)
		return -EINVAL;
	switch (m->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
		if (!num || num > 32768 || (num & (num - 1)))
			return -EINVAL;
		vq->num = num;
		/*
		 * The rings were translated for the old size: a larger one
		 * would index past them. Translate again, or stop the ring.
		 */
		if (vq->has_addr && be_vring_translate(be, vq)) {
			vlog_warn(&be->log,
				  "vring %u: %u entries do not fit its rings' memory",
				  m->p.state.index, num);
			return -EFAULT;
		}
		return 0;
	case VHOST_USER_SET_VRING_BASE:
		if (num > 0xffff)
			return -EINVAL;
		vq->last_avail = (uint16_t)num;
		vq->used_idx = (uint16_t)num;
		return 0;
	case VHOST_USER_SET_VRING_ENABLE:
		if (num > 1)
			return -EINVAL;
		vq->enabled = num;
		return 0;
	}
	return -EINVAL;
}

static int be_vring_addr(struct vhost_be *be, struct vhost_msg *m)
{
	struct be_vring *vq = msg_vq(be, m->p.addr.index);

	if (!vq)
		return -EINVAL;
	vq->desc_uva = m->p.addr.desc_user_addr;
	vq->avail_uva = m->p.addr.avail_user_addr;
	vq->used_uva = m->p.addr.used_user_addr;
	vq->has_addr = true;
	if (be_vring_translate(be, vq)) {
		vlog_warn(&be->log, "vring %u: addresses outside guest memory",
			  m->p.addr.index);
		return -EFAULT;
	}
	return 0;
}

static int be_vring_fd(struct vhost_be *be, struct vhost_msg *m)
{
	uint32_t idx = m->p.u64 & VHOST_USER_VRING_IDX_MASK;
	bool nofd = m->p.u64 & VHOST_USER_VRING_NOFD_MASK;
	struct be_vring *vq = msg_vq(be, idx);
	int *slot;

	if (!vq || nofd != (m->nfds == 0) ||
	    (m->p.u64 & ~(uint64_t)(VHOST_USER_VRING_IDX_MASK |
				    VHOST_USER_VRING_NOFD_MASK)))
		return -EINVAL;
	if (m->hdr.request == VHOST_USER_SET_VRING_KICK)
		slot = &vq->kick_fd;
	else if (m->hdr.request == VHOST_USER_SET_VRING_CALL)
		slot = &vq->call_fd;
	else
		slot = &vq->err_fd;
	if (*slot >= 0)
		close(*slot);
	*slot = vhost_msg_take_fd(m, 0);
	if (m->hdr.request == VHOST_USER_SET_VRING_KICK && *slot >= 0 &&
	    be->cfg.ops && be->cfg.ops->vring_started)
		be->cfg.ops->vring_started(be->cfg.opaque, be, idx);
	return 0;
}

static int be_get_vring_base(struct vhost_be *be, struct vhost_msg *m,
			     struct vhost_msg *r)
{
	uint32_t idx = m->p.state.index;
	struct be_vring *vq = msg_vq(be, idx);

	r->hdr.size = sizeof(r->p.state);
	r->p.state.index = idx;
	r->p.state.num = 0;
	if (!vq)
		return BE_REPLY;
	r->p.state.num = vq->last_avail;
	if (be->cfg.ops && be->cfg.ops->vring_stopped && vq->kick_fd >= 0)
		be->cfg.ops->vring_stopped(be->cfg.opaque, be, idx);
	be_vring_reset(vq);
	return BE_REPLY;
}

static int be_config(struct vhost_be *be, struct vhost_msg *m,
		     struct vhost_msg *r)
{
	const struct vhost_be_ops *ops = be->cfg.ops;
	uint32_t off = m->p.config.offset, len = m->p.config.size;
	bool ok = m->hdr.size == VHOST_USER_CONFIG_HDR_SIZE + len &&
		  len <= VHOST_USER_MAX_CONFIG_SIZE &&
		  off <= VHOST_USER_MAX_CONFIG_SIZE - len;

	if (m->hdr.request == VHOST_USER_SET_CONFIG) {
		if (!ok || !ops || !ops->set_config)
			return -EINVAL;
		return ops->set_config(be->cfg.opaque, off, m->p.config.payload,
				       len) < 0 ? -EIO : 0;
	}
	r->hdr.size = 0;	/* an empty reply reports failure */
	if (ok && ops && ops->get_config &&
	    ops->get_config(be->cfg.opaque, off, r->p.config.payload, len) >= 0) {
		r->hdr.size = VHOST_USER_CONFIG_HDR_SIZE + len;
		r->p.config.offset = off;
		r->p.config.size = len;
		r->p.config.flags = 0;
	}
	return BE_REPLY;
}

static void be_shmem_config(struct vhost_be *be, struct vhost_msg *r)
{
	struct vhost_user_shmem_config *c = &r->p.shmem;

	r->hdr.size = sizeof(*c);
	memset(c, 0, sizeof(*c));
	if (be->cfg.ops && be->cfg.ops->get_shmem_config) {
		be->cfg.ops->get_shmem_config(be->cfg.opaque, c);
		return;
	}
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++) {
		c->memory_sizes[i] = be->shm_sizes[i];
		c->nregions += be->shm_sizes[i] != 0;
	}
}

static int be_reset(struct vhost_be *be)
{
	be_reset_rings(be);
	be->acked_features = 0;
	be->status = 0;
	if (be->cfg.ops && be->cfg.ops->reset)
		be->cfg.ops->reset(be->cfg.opaque, be);
	return 0;
}

static int be_set_backend_fd(struct vhost_be *be, struct vhost_msg *m)
{
	if (be->chan >= 0)
		close(be->chan);
	be->chan = vhost_msg_take_fd(m, 0);
	return 0;
}

static int be_mem_table(struct vhost_be *be, struct vhost_msg *m)
{
	uint32_t n = m->p.mem.nregions;

	if (n > VHOST_USER_MEM_REGIONS ||
	    m->hdr.size != 8 + n * sizeof(struct vhost_user_mem_region))
		return -EINVAL;
	return be_mem_set_table(be, &m->p.mem, m->fds, m->nfds);
}

/* Handle @m; returns BE_REPLY with @r filled, or an ack value (0/-errno). */
static int be_handle(struct vhost_be *be, struct vhost_msg *m,
		     struct vhost_msg *r)
{
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		reply_u64(r, be->cfg.features |
			  (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
		return BE_REPLY;
	case VHOST_USER_SET_FEATURES:
		if (m->p.u64 & ~(be->cfg.features |
				 (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
			return -EINVAL;
		be->acked_features = m->p.u64;
		return 0;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		reply_u64(r, be->cfg.protocol_features);
		return BE_REPLY;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		be->protocol_features = m->p.u64 & be->cfg.protocol_features;
		return 0;
	case VHOST_USER_SET_OWNER:
		return 0;
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
		return be_reset(be);
	case VHOST_USER_SET_MEM_TABLE:
		return be_mem_table(be, m);
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		reply_u64(r, VHOST_BE_MAX_MEM_SLOTS);
		return BE_REPLY;
	case VHOST_USER_ADD_MEM_REG:
		return be_mem_add(be, &m->p.memreg.region, m->fds[0]);
	case VHOST_USER_REM_MEM_REG:
		return be_mem_remove(be, &m->p.memreg.region);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		return be_vring_state(be, m);
	case VHOST_USER_SET_VRING_ADDR:
		return be_vring_addr(be, m);
	case VHOST_USER_GET_VRING_BASE:
		return be_get_vring_base(be, m, r);
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return be_vring_fd(be, m);
	case VHOST_USER_GET_QUEUE_NUM:
		reply_u64(r, be->cfg.num_queues);
		return BE_REPLY;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return be_config(be, m, r);
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return be_set_backend_fd(be, m);
	case VHOST_USER_SET_STATUS:
		be->status = (uint8_t)m->p.u64;
		return 0;
	case VHOST_USER_GET_STATUS:
		reply_u64(r, be->status);
		return BE_REPLY;
	case VHOST_USER_GET_SHMEM_CONFIG:
		be_shmem_config(be, r);
		return BE_REPLY;
	default:
		vlog_warn(&be->log, "front-end request %u not supported",
			  m->hdr.request);
		return -EOPNOTSUPP;
	}
}

int vhost_be_dispatch(struct vhost_be *be)
{
	struct vhost_msg m, r;
	int ret;

	ret = vhost_msg_recv(be->sock, &m, VHOST_MSG_FRONTEND_REQ, 0, false, -1);
	if (ret && ret != -EBADMSG)
		return ret;
	vhost_msg_init(&r, m.hdr.request, VHOST_USER_REPLY_MASK, 0);
	if (ret == -EBADMSG) {
		vlog_warn(&be->log, "malformed %s (%u), size %u",
			  vhost_user_request_name(m.hdr.request),
			  m.hdr.request, m.hdr.size);
	} else {
		ret = be_handle(be, &m, &r);
		vhost_msg_close_fds(&m);
	}
	if (ret == BE_REPLY)
		return vhost_msg_send(be->sock, &r);
	if (ret)
		vlog_warn(&be->log, "%s refused: %s",
			  vhost_user_request_name(m.hdr.request), strerror(-ret));
	if (!(m.hdr.flags & VHOST_USER_NEED_REPLY_MASK) ||
	    !be_pf(be, VHOST_USER_PROTOCOL_F_REPLY_ACK))
		return 0;
	reply_u64(&r, ret ? (uint64_t)-ret : 0);
	return vhost_msg_send(be->sock, &r);
}

/* ---- the back-end channel ---- */

int vhost_be_backend_request(struct vhost_be *be, uint32_t request,
			     const void *payload, uint32_t size,
			     const int *fds, unsigned int nfds,
			     bool need_reply, uint64_t *reply)
{
	struct vhost_msg m, r;
	bool wait;
	int ret;

	if (be->chan < 0)
		return -ENOTCONN;
	if (size > sizeof(m.p) || nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	wait = need_reply && be_pf(be, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	vhost_msg_init(&m, request, need_reply ? VHOST_USER_NEED_REPLY_MASK : 0,
		       size);
	if (size)
		memcpy(&m.p, payload, size);
	for (unsigned int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	m.nfds = nfds;
	ret = vhost_msg_send(be->chan, &m);
	if (ret || !wait)
		return ret;
	ret = vhost_msg_recv(be->chan, &r, VHOST_MSG_REPLY, request, true,
			     be->cfg.backend_reply_timeout_ms);
	if (ret)
		return ret;
	if (reply)
		*reply = r.p.u64;
	return 0;
}

static int be_mmap_request(struct vhost_be *be, uint32_t request,
			   const struct vhost_user_mmap *mm, int fd)
{
	uint64_t reply = 0;
	int ret;

	if (be->chan < 0)
		return -ENOTCONN;
	if (request == VHOST_USER_BACKEND_SHMEM_MAP &&
	    !be_pf(be, VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD))
		return -EOPNOTSUPP;
	ret = vhost_be_backend_request(be, request, mm, sizeof(*mm),
				       fd >= 0 ? &fd : NULL, fd >= 0,
				       true, &reply);
	if (ret)
		return ret;
	return reply ? -EREMOTEIO : 0;
}

int vhost_be_shmem_map(struct vhost_be *be, uint8_t shmid,
		       uint64_t shm_offset, uint64_t len, int fd,
		       uint64_t fd_offset, uint64_t flags)
{
	struct vhost_user_mmap mm = {
		.shmid = shmid, .fd_offset = fd_offset,
		.shm_offset = shm_offset, .len = len, .flags = flags,
	};

	if (fd < 0)
		return -EBADF;
	return be_mmap_request(be, VHOST_USER_BACKEND_SHMEM_MAP, &mm, fd);
}

int vhost_be_shmem_unmap(struct vhost_be *be, uint8_t shmid,
			 uint64_t shm_offset, uint64_t len)
{
	struct vhost_user_mmap mm = {
		.shmid = shmid, .shm_offset = shm_offset, .len = len,
	};

	return be_mmap_request(be, VHOST_USER_BACKEND_SHMEM_UNMAP, &mm, -1);
}

int vhost_be_config_changed(struct vhost_be *be)
{
	return vhost_be_backend_request(be, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
					NULL, 0, NULL, 0, true, NULL);
}
