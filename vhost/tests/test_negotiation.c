/* SPDX-License-Identifier: MIT */
/*
 * Front-end negotiation against a scripted back-end that lies: every bad
 * GET_SHMEM_CONFIG reply (wrong request code, wrong size, too many
 * regions, a count that does not match, a size that is not a page
 * multiple) and other refusals make vhost_fe_create() fail with an error
 * return, no abort, and no fd left open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost/backend.h"
#include "vhost/frontend.h"

#include "helpers.h"
#include "wire.h"

enum lie {
	HONEST, WRONG_CODE, SHORT, LONG, NREG_300, NREG_MISMATCH, UNALIGNED,
	HUGE, NO_VERSION_1, OWNER_NACK, SILENT,
};

struct mock {
	int lfd;
	enum lie lie;
};

static void reply(int s, const struct vhost_msg *req, uint32_t size,
		  const void *payload)
{
	struct vhost_msg r;

	vhost_msg_init(&r, req->hdr.request, VHOST_USER_REPLY_MASK, size);
	memcpy(&r.p, payload, size);
	cr_assert_eq(vhost_msg_send(s, &r), 0);
}

static void shmem_reply(int s, struct vhost_msg *m, enum lie lie)
{
	struct vhost_user_shmem_config c = { .nregions = 1 };
	uint32_t size = sizeof(c);

	c.memory_sizes[0] = 1 << 20;
	switch (lie) {
	case WRONG_CODE: m->hdr.request = VHOST_USER_GET_FEATURES; break;
	case SHORT: size = 8; break;
	case NREG_300: c.nregions = 300; break;
	case NREG_MISMATCH: c.nregions = 2; break;
	case UNALIGNED: c.memory_sizes[0] = 4097; break;
	case HUGE: c.memory_sizes[0] = 1ull << 41; break;
	case SILENT: return;
	default: break;
	}
	if (lie == LONG) {
		struct vhost_user_hdr h = { m->hdr.request, 5, 4096 };

		cr_assert_eq(write(s, &h, sizeof(h)), sizeof(h));
		return;
	}
	reply(s, m, size, &c);
}

static void *mock_main(void *arg)
{
	struct mock *mk = arg;
	int s = accept4(mk->lfd, NULL, NULL, SOCK_CLOEXEC);
	struct vhost_msg m;

	while (s >= 0 && !vhost_msg_recv(s, &m, VHOST_MSG_FRONTEND_REQ, 0,
					 false, 5000)) {
		uint64_t v = 0;

		vhost_msg_close_fds(&m);
		switch (m.hdr.request) {
		case VHOST_USER_GET_FEATURES:
			v = (1ull << 30) |
			    (mk->lie == NO_VERSION_1 ? 0 : 1ull << VIRTIO_F_VERSION_1);
			reply(s, &m, 8, &v);
			continue;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			v = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
			    (1ull << VHOST_USER_PROTOCOL_F_SHMEM);
			reply(s, &m, 8, &v);
			continue;
		case VHOST_USER_GET_SHMEM_CONFIG:
			shmem_reply(s, &m, mk->lie);
			continue;
		}
		if (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK) {
			v = m.hdr.request == VHOST_USER_SET_OWNER &&
			    mk->lie == OWNER_NACK;
			reply(s, &m, 8, &v);
		}
	}
	if (s >= 0)
		close(s);
	return NULL;
}

static void quiet(void *o, enum vhost_log_level l, const char *msg)
{
}

static int negotiate(enum lie lie, uint64_t sizes[256])
{
	char *dir = make_tmpdir(), path[256];
	struct mock mk = { .lie = lie };
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .reply_timeout_ms = 300 };
	struct vhost_fe *fe = NULL;
	size_t fds = fd_count();
	pthread_t th;
	int ret;

	snprintf(path, sizeof(path), "%s/s", dir);
	mk.lfd = vhost_be_listen(path);
	cr_assert(mk.lfd >= 0);
	pthread_create(&th, NULL, mock_main, &mk);
	ret = vhost_fe_create(&c, &fe);
	if (!ret) {
		cr_assert_eq(vhost_fe_shmem_config(fe, sizes), 1);
		vhost_fe_destroy(fe);
	} else {
		cr_assert_null(fe);
	}
	pthread_join(th, NULL);
	close(mk.lfd);
	cr_assert_eq(fd_count(), fds, "an fd leaked (lie %d)", lie);
	rm_tree(dir);
	free(dir);
	return ret;
}

Test(negotiation, honest_backend)
{
	uint64_t sizes[256];

	cr_assert_eq(negotiate(HONEST, sizes), 0);
	cr_assert_eq(sizes[0], 1 << 20);
}

Test(negotiation, bad_shmem_config_replies_are_refused)
{
	uint64_t sizes[256];

	cr_assert_eq(negotiate(WRONG_CODE, sizes), -EPROTO);
	cr_assert_eq(negotiate(SHORT, sizes), -EPROTO);
	cr_assert_eq(negotiate(LONG, sizes), -EPROTO);
	cr_assert_eq(negotiate(NREG_300, sizes), -EPROTO);
	cr_assert_eq(negotiate(NREG_MISMATCH, sizes), -EPROTO);
	cr_assert_eq(negotiate(UNALIGNED, sizes), -EPROTO);
	cr_assert_eq(negotiate(HUGE, sizes), -EPROTO);
	cr_assert_eq(negotiate(SILENT, sizes), -ETIMEDOUT);
}

Test(negotiation, other_refusals)
{
	uint64_t sizes[256];

	cr_assert_eq(negotiate(NO_VERSION_1, sizes), -EPROTO);
	cr_assert_eq(negotiate(OWNER_NACK, sizes), -EIO);
}

Test(negotiation, nobody_listening_times_out)
{
	struct vhost_fe_config c = { .socket_path = "/nonexistent/vhost.sock",
				     .connect_timeout_ms = 100, .log = quiet };
	struct vhost_fe *fe = NULL;

	cr_assert_eq(vhost_fe_create(&c, &fe), -ETIMEDOUT);
	cr_assert_null(fe);
}

Test(negotiation, check_shmem_config_rules)
{
	struct vhost_user_shmem_config c = { 0 };
	const char *why;

	cr_assert_eq(vhost_fe_check_shmem_config(&c, &why), 0);
	c.nregions = 2;
	c.memory_sizes[0] = 4096;
	c.memory_sizes[255] = 8192;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, &why), 0, "gaps allowed");
	c.memory_sizes[7] = 4096;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, &why), -EPROTO);
	cr_assert(why);
}
