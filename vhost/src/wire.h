/* SPDX-License-Identifier: MIT */
/*
 * vhost-user message framing shared by the front-end and the back-end
 * library: one message = header + payload + up to VHOST_USER_MAX_FDS fds
 * passed with SCM_RIGHTS.
 *
 * Ownership: a received message owns its fds. Whoever consumes one sets
 * its slot to -1 (vhost_msg_take_fd()); vhost_msg_close_fds() closes the
 * rest. Every receive path closes the fds of a message it refuses.
 */
#ifndef VHOST_WIRE_H
#define VHOST_WIRE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost/proto.h"

struct vhost_msg {
	struct vhost_user_hdr hdr;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem_table mem;
		struct vhost_user_mem_reg memreg;
		struct vhost_user_config config;
		struct vhost_user_shmem_config shmem;
		struct vhost_user_mmap mmap;
		uint8_t raw[VHOST_USER_MAX_PAYLOAD];
	} p;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
};

/* Which rules apply to a received message. */
enum vhost_msg_kind {
	VHOST_MSG_FRONTEND_REQ,	/* a request from a front-end (back-end side) */
	VHOST_MSG_BACKEND_REQ,	/* a request on the back-end channel */
	VHOST_MSG_REPLY,	/* a reply to the request in @expect */
};

/* What a message of a given request may carry. */
struct vhost_msg_rule {
	uint32_t min_size;
	uint32_t max_size;
	uint8_t min_fds;
	uint8_t max_fds;
	bool known;
};

void vhost_msg_init(struct vhost_msg *m, uint32_t request, uint32_t flags,
		    uint32_t size);
void vhost_msg_close_fds(struct vhost_msg *m);
/* Take ownership of fd @i (or -1). */
int vhost_msg_take_fd(struct vhost_msg *m, unsigned int i);

/*
 * Rule for @request as a message of @kind. For VHOST_MSG_REPLY, @request is
 * the request being answered and @ack says whether a REPLY_ACK u64 is
 * expected instead of the request's own reply payload.
 */
struct vhost_msg_rule vhost_msg_rule(enum vhost_msg_kind kind,
				     uint32_t request, bool ack);

/*
 * How long a send or a receive may wait for the peer: until @deadline_ms
 * (CLOCK_MONOTONIC milliseconds; -1: no deadline), and never once one of
 * the @cancel fds (-1: unused) is readable, e.g. an eventfd its owner
 * writes when it stops. A signal (EINTR) never restarts the wait from
 * scratch: the deadline stays where it was.
 */
struct vhost_wait {
	int64_t deadline_ms;
	int cancel[2];
	/*
	 * How a receive closes the fds of a message it refuses: NULL is
	 * close(); a front-end passes one that never waits on the back-end
	 * (fdclose.h).
	 */
	void (*close_fd)(void *opaque, int fd);
	void *close_opaque;
};

#define VHOST_WAIT_FOREVER	((struct vhost_wait){ -1, { -1, -1 }, NULL, NULL })

/* vhost_msg_close_fds() through @w's close_fd. */
void vhost_msg_drop_fds(struct vhost_msg *m, const struct vhost_wait *w);

/* The deadline @ms milliseconds from now (-1: none). */
int64_t vhost_deadline_in(int ms);

/*
 * Wait until @fd is ready for @events (POLLIN, POLLOUT), within @w.
 * 0, -ETIMEDOUT, -ECANCELED or another -errno.
 */
int vhost_wait_fd(int fd, short events, const struct vhost_wait *w);

/*
 * Send @m (header, hdr.size payload bytes, m->nfds fds). Handles EINTR and
 * short writes; fds go with the first byte. The fds stay the caller's.
 * Returns 0, -EPIPE/-ECONNRESET (peer gone) or another -errno. It waits
 * as long as the peer does not read.
 */
int vhost_msg_send(int sock, const struct vhost_msg *m);
/*
 * The same, waiting for buffer space only within @w: a peer that stops
 * reading makes it fail with -ETIMEDOUT (or -ECANCELED), and the message
 * may then be partly sent: the stream is lost. Never blocks in a system
 * call, whether or not @sock is non-blocking.
 */
int vhost_msg_send_wait(int sock, const struct vhost_msg *m,
			const struct vhost_wait *w);

/*
 * Receive one message, waiting at most @timeout_ms in total (-1: forever).
 * The header's size is checked against the rule for @kind before any
 * payload byte is read.
 *
 * Returns:
 *  0            a well-formed message (it owns m->fds);
 *  -EBADMSG     a whole message was consumed but broke a rule (fd count,
 *               version, MSG_CTRUNC): its fds are closed, the stream is
 *               still in step and the caller may reply with a failure;
 *  -ECONNRESET  the peer closed the connection at a message boundary;
 *  -EPROTO      the peer closed mid-message;
 *  -EMSGSIZE    the header's size is more than its request allows (the
 *               payload was not read: the stream is lost);
 *  -ETIMEDOUT, other -errno: the stream is lost.
 * On every error return m->nfds is 0 and no fd is left open.
 */
int vhost_msg_recv(int sock, struct vhost_msg *m, enum vhost_msg_kind kind,
		   uint32_t expect, bool ack, int timeout_ms);
/* The same within @w; -ECANCELED when a cancel fd became readable. */
int vhost_msg_recv_wait(int sock, struct vhost_msg *m,
			enum vhost_msg_kind kind, uint32_t expect, bool ack,
			const struct vhost_wait *w);

/* True when @err means the connection can no longer be used. */
static inline bool vhost_msg_fatal(int err)
{
	return err < 0 && err != -EBADMSG;
}

#endif /* VHOST_WIRE_H */
