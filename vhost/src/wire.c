/* SPDX-License-Identifier: MIT */
/* vhost-user message framing: send and receive with SCM_RIGHTS fds. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#include "wire.h"

#define U64	((uint32_t)sizeof(uint64_t))
#define STATE	((uint32_t)sizeof(struct vhost_user_vring_state))

void vhost_msg_init(struct vhost_msg *m, uint32_t request, uint32_t flags,
		    uint32_t size)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	memset(&m->p, 0, size <= sizeof(m->p) ? size : sizeof(m->p));
	m->hdr.request = request;
	m->hdr.flags = flags | VHOST_USER_VERSION;
	m->hdr.size = size;
	m->nfds = 0;
	for (unsigned int i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;
}

void vhost_msg_close_fds(struct vhost_msg *m)
{
	for (unsigned int i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

void vhost_msg_drop_fds(struct vhost_msg *m, const struct vhost_wait *w)
{
	if (!w->close_fd) {
		vhost_msg_close_fds(m);
		return;
	}
	for (unsigned int i = 0; i < m->nfds; i++) {
		if (m->fds[i] >= 0)
			w->close_fd(w->close_opaque, m->fds[i]);
		m->fds[i] = -1;
	}
	m->nfds = 0;
}

int vhost_msg_take_fd(struct vhost_msg *m, unsigned int i)
{
	int fd;

	if (i >= m->nfds)
		return -1;
	fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

static struct vhost_msg_rule rule(uint32_t min, uint32_t max, uint8_t min_fds,
				  uint8_t max_fds)
{
	return (struct vhost_msg_rule){ min, max, min_fds, max_fds, true };
}

static struct vhost_msg_rule frontend_req_rule(uint32_t request)
{
	const uint32_t mem_max = sizeof(struct vhost_user_mem_table);
	const uint32_t cfg_max = sizeof(struct vhost_user_config);
	const uint32_t memreg = sizeof(struct vhost_user_mem_reg);

	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_OWNER:
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_GET_SHMEM_CONFIG:
		return rule(0, 0, 0, 0);
	case VHOST_USER_RESET_OWNER:	/* old front-ends sent a u64 */
		return rule(0, U64, 0, 0);
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_STATUS:
		return rule(U64, U64, 0, 0);
	case VHOST_USER_SET_MEM_TABLE:
		return rule(8, mem_max, 0, VHOST_USER_MEM_REGIONS);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		return rule(STATE, STATE, 0, 0);
	case VHOST_USER_SET_VRING_ADDR:
		return rule(sizeof(struct vhost_user_vring_addr),
			    sizeof(struct vhost_user_vring_addr), 0, 0);
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return rule(U64, U64, 0, 1);
	case VHOST_USER_SET_BACKEND_REQ_FD:
		return rule(0, 0, 1, 1);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return rule(VHOST_USER_CONFIG_HDR_SIZE, cfg_max, 0, 0);
	case VHOST_USER_ADD_MEM_REG:
		return rule(memreg, memreg, 1, 1);
	case VHOST_USER_REM_MEM_REG:	/* spec: MAY carry one fd */
		return rule(memreg, memreg, 0, 1);
	default:
		return (struct vhost_msg_rule){ 0, VHOST_USER_MAX_PAYLOAD, 0,
						VHOST_USER_MAX_FDS, false };
	}
}

static struct vhost_msg_rule backend_req_rule(uint32_t request)
{
	const uint32_t mm = sizeof(struct vhost_user_mmap);

	switch (request) {
	case VHOST_USER_BACKEND_CONFIG_CHANGE_MSG:
		return rule(0, 0, 0, 0);
	case VHOST_USER_BACKEND_SHMEM_MAP:
		return rule(mm, mm, 1, 1);
	case VHOST_USER_BACKEND_SHMEM_UNMAP:
		return rule(mm, mm, 0, 0);
	default:
		return (struct vhost_msg_rule){ 0, VHOST_USER_MAX_PAYLOAD, 0,
						VHOST_USER_MAX_FDS, false };
	}
}

static struct vhost_msg_rule reply_rule(uint32_t request, bool ack)
{
	const uint32_t cfg_max = sizeof(struct vhost_user_config);

	if (ack)
		return rule(U64, U64, 0, 0);
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
		return rule(U64, U64, 0, 0);
	case VHOST_USER_GET_VRING_BASE:
		return rule(STATE, STATE, 0, 0);
	case VHOST_USER_GET_CONFIG:	/* size 0 reports an error */
		return rule(0, cfg_max, 0, 0);
	case VHOST_USER_GET_SHMEM_CONFIG:
		return rule(sizeof(struct vhost_user_shmem_config),
			    sizeof(struct vhost_user_shmem_config), 0, 0);
	default:
		return (struct vhost_msg_rule){ 0, 0, 0, 0, false };
	}
}

struct vhost_msg_rule vhost_msg_rule(enum vhost_msg_kind kind,
				     uint32_t request, bool ack)
{
	switch (kind) {
	case VHOST_MSG_FRONTEND_REQ:
		return frontend_req_rule(request);
	case VHOST_MSG_BACKEND_REQ:
		return backend_req_rule(request);
	case VHOST_MSG_REPLY:
	default:
		return reply_rule(request, ack);
	}
}

/* ---- waiting ---- */

int64_t vhost_deadline_in(int ms)
{
	return ms < 0 ? -1 : clock_now_ms() + ms;
}

int vhost_wait_fd(int fd, short events, const struct vhost_wait *w)
{
	struct pollfd p[3] = {
		{ .fd = fd, .events = events },
		{ .fd = w->cancel[0], .events = POLLIN },
		{ .fd = w->cancel[1], .events = POLLIN },
	};

	for (;;) {
		int timeout = -1;
		int n;

		if (w->deadline_ms >= 0) {
			int64_t left = w->deadline_ms - clock_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > 1000000 ? 1000000 : (int)left;
		}
		/* Negative fds in p[1], p[2] are ignored by poll(). */
		n = poll(p, 3, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (p[1].revents || p[2].revents)
			return -ECANCELED;
		if (n > 0)
			return 0;
	}
}

/* ---- sending ---- */

static int send_all(int sock, const struct vhost_msg *m,
		    const struct vhost_wait *w)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ (void *)&m->hdr, sizeof(m->hdr) },
		{ (void *)&m->p, m->hdr.size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t left = sizeof(m->hdr) + m->hdr.size;
	bool fds_sent = m->nfds == 0;
	/* With a bound on the wait, never block inside sendmsg(). */
	int flags = MSG_NOSIGNAL | (w ? MSG_DONTWAIT : 0);

	if (m->hdr.size > sizeof(m->p) || m->nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	if (m->nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
	}
	while (left) {
		ssize_t n = sendmsg(sock, &mh, flags);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct vhost_wait forever = VHOST_WAIT_FOREVER;
				int ret = vhost_wait_fd(sock, POLLOUT,
							w ? w : &forever);

				if (ret)
					return ret;
				continue;
			}
			return -errno;
		}
		if (!fds_sent) {
			fds_sent = true;
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
		}
		left -= (size_t)n;
		while (n > 0 && mh.msg_iovlen) {
			size_t step = (size_t)n < mh.msg_iov->iov_len ?
				      (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + step;
			mh.msg_iov->iov_len -= step;
			n -= (ssize_t)step;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

int vhost_msg_send(int sock, const struct vhost_msg *m)
{
	return send_all(sock, m, NULL);
}

int vhost_msg_send_wait(int sock, const struct vhost_msg *m,
			const struct vhost_wait *w)
{
	return send_all(sock, m, w);
}

/* ---- receiving ---- */

struct rx {
	int sock;
	struct vhost_wait w;	/* deadline -1 and no cancel fd: block */
	bool bounded;		/* poll before every read */
	struct vhost_msg *m;
	bool bad;		/* rule broken: consume, then refuse */
};

static void rx_collect_fds(struct rx *rx, struct msghdr *mh)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		rx->bad = true;
	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (rx->m->nfds < VHOST_USER_MAX_FDS) {
				rx->m->fds[rx->m->nfds++] = fd;
			} else {
				if (rx->w.close_fd)
					rx->w.close_fd(rx->w.close_opaque, fd);
				else
					close(fd);
				rx->bad = true;
			}
		}
	}
}

static int rx_bytes(struct rx *rx, void *buf, size_t len, bool boundary)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n;
		int ret;

		if (rx->bounded) {
			ret = vhost_wait_fd(rx->sock, POLLIN, &rx->w);
			if (ret)
				return ret;
		}
		n = recvmsg(rx->sock, &mh, MSG_CMSG_CLOEXEC |
			    (rx->bounded ? MSG_DONTWAIT : 0));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				ret = vhost_wait_fd(rx->sock, POLLIN, &rx->w);
				if (ret)
					return ret;
				continue;
			}
			return -errno;
		}
		rx_collect_fds(rx, &mh);
		if (n == 0)
			return boundary && done == 0 ? -ECONNRESET : -EPROTO;
		done += (size_t)n;
	}
	return 0;
}

static bool hdr_flags_ok(const struct vhost_user_hdr *h,
			 enum vhost_msg_kind kind)
{
	bool reply = h->flags & VHOST_USER_REPLY_MASK;

	if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return false;
	if (h->flags & ~VHOST_USER_FLAGS_KNOWN)
		return false;
	return kind == VHOST_MSG_REPLY ? reply : !reply;
}

int vhost_msg_recv(int sock, struct vhost_msg *m, enum vhost_msg_kind kind,
		   uint32_t expect, bool ack, int timeout_ms)
{
	struct vhost_wait w = VHOST_WAIT_FOREVER;

	w.deadline_ms = vhost_deadline_in(timeout_ms);
	return vhost_msg_recv_wait(sock, m, kind, expect, ack, &w);
}

int vhost_msg_recv_wait(int sock, struct vhost_msg *m,
			enum vhost_msg_kind kind, uint32_t expect, bool ack,
			const struct vhost_wait *w)
{
	struct rx rx = { .sock = sock, .m = m, .w = *w };
	struct vhost_msg_rule r;
	int ret;

	m->nfds = 0;
	for (unsigned int i = 0; i < VHOST_USER_MAX_FDS; i++)
		m->fds[i] = -1;
	rx.bounded = w->deadline_ms >= 0 || w->cancel[0] >= 0 ||
		     w->cancel[1] >= 0;

	ret = rx_bytes(&rx, &m->hdr, sizeof(m->hdr), true);
	if (ret)
		goto fail;
	if (kind == VHOST_MSG_REPLY && m->hdr.request != expect)
		rx.bad = true;
	r = vhost_msg_rule(kind, kind == VHOST_MSG_REPLY ? expect :
			   m->hdr.request, ack);
	/* Never read a payload larger than the request allows. */
	if (m->hdr.size > r.max_size || m->hdr.size > sizeof(m->p)) {
		ret = -EMSGSIZE;
		goto fail;
	}
	ret = rx_bytes(&rx, &m->p, m->hdr.size, false);
	if (ret)
		goto fail;
	if (m->hdr.size < r.min_size || !hdr_flags_ok(&m->hdr, kind) ||
	    m->nfds < r.min_fds || m->nfds > r.max_fds)
		rx.bad = true;
	if (rx.bad) {
		ret = -EBADMSG;
		goto fail;
	}
	return 0;
fail:
	vhost_msg_drop_fds(m, &rx.w);
	return ret;
}
