/* SPDX-License-Identifier: MIT */
/*
 * Front-end negotiation against a scripted back-end that lies: every bad
 * GET_SHMEM_CONFIG reply (wrong request code, wrong size, too many
 * regions, a count that does not match, a size that is not a page
 * multiple) and other refusals make vhost_fe_create() fail with an error
 * return, no abort, and no fd left open. After an honest negotiation, a
 * GET_VRING_BASE reply for another ring, a GET_CONFIG reply of the wrong
 * size or offset and a failure ack are refused.
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
	/* after negotiation: replies to later requests */
	VRING_BASE_OTHER_RING, CONFIG_SHORT, CONFIG_OTHER_OFFSET, ACK_FAILURE,
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

/* GET_CONFIG: @size bytes from @offset of a config space of 0xc5 bytes. */
static void config_reply(int s, struct vhost_msg *m, enum lie lie)
{
	struct vhost_user_config c = m->p.config;
	uint32_t size = VHOST_USER_CONFIG_HDR_SIZE + c.size;

	memset(c.payload, 0xc5, c.size);
	if (lie == CONFIG_SHORT)
		size -= 4;		/* payload shorter than config.size says */
	if (lie == CONFIG_OTHER_OFFSET)
		c.offset += 4;
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
			    (1ull << VHOST_USER_PROTOCOL_F_SHMEM) |
			    (1ull << VHOST_USER_PROTOCOL_F_CONFIG);
			reply(s, &m, 8, &v);
			continue;
		case VHOST_USER_GET_SHMEM_CONFIG:
			shmem_reply(s, &m, mk->lie);
			continue;
		case VHOST_USER_GET_VRING_BASE: {
			struct vhost_user_vring_state st = {
				.index = m.p.state.index +
					 (mk->lie == VRING_BASE_OTHER_RING),
				.num = 5,
			};

			reply(s, &m, sizeof(st), &st);
			continue;
		}
		case VHOST_USER_GET_CONFIG:
			config_reply(s, &m, mk->lie);
			continue;
		}
		if (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK) {
			v = (m.hdr.request == VHOST_USER_SET_OWNER &&
			     mk->lie == OWNER_NACK) ||
			    (m.hdr.request == VHOST_USER_SET_FEATURES &&
			     mk->lie == ACK_FAILURE) ? 22 : 0;
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

static char why[200];

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
	why[0] = '\0';
	ret = vhost_fe_create(&c, &fe, why, sizeof(why));
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

/* Each lie is refused with its errno and a reason that names it. */
static void refused(enum lie lie, int err, const char *reason)
{
	uint64_t sizes[256];

	cr_assert_eq(negotiate(lie, sizes), err, "lie %d", lie);
	cr_assert(strstr(why, reason), "lie %d: reason '%s' lacks '%s'", lie,
		  why, reason);
}

Test(negotiation, bad_shmem_config_replies_are_refused)
{
	refused(WRONG_CODE, -EPROTO, "GET_SHMEM_CONFIG: malformed reply");
	refused(SHORT, -EPROTO, "GET_SHMEM_CONFIG: malformed reply");
	refused(LONG, -EPROTO, "GET_SHMEM_CONFIG: malformed reply");
	refused(NREG_300, -EPROTO,
		"GET_SHMEM_CONFIG refused (nregions 300): more than 256 regions");
	refused(NREG_MISMATCH, -EPROTO, "sizes are non-zero");
	refused(UNALIGNED, -EPROTO, "is not a multiple of the page size");
	refused(HUGE, -EPROTO, "is larger than 1 TiB");
	refused(SILENT, -ETIMEDOUT, "GET_SHMEM_CONFIG: Connection timed out");
}

Test(negotiation, other_refusals)
{
	refused(NO_VERSION_1, -EPROTO,
		"the back-end does not offer VIRTIO_F_VERSION_1");
	refused(OWNER_NACK, -EIO, "SET_OWNER: the back-end replied failure");
}

Test(negotiation, nobody_listening_times_out)
{
	struct vhost_fe_config c = { .socket_path = "/nonexistent/vhost.sock",
				     .connect_timeout_ms = 100, .log = quiet };
	struct vhost_fe *fe = NULL;

	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), -ETIMEDOUT);
	cr_assert_null(fe);
	cr_assert(strstr(why, "cannot connect to /nonexistent/vhost.sock"),
		  "%s", why);
}

Test(negotiation, check_shmem_config_rules)
{
	struct vhost_user_shmem_config c = { 0 };
	char w[200] = "";

	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), 0);
	c.nregions = 2;
	c.memory_sizes[0] = 4096;
	c.memory_sizes[255] = 8192;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), 0,
		     "gaps allowed");
	c.memory_sizes[7] = 4096;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), -EPROTO);
	cr_assert(strstr(w, "(nregions 2): 3 sizes are non-zero"), "%s", w);
	/* Each rule refuses with its own reason. */
	c.nregions = 300;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), -EPROTO);
	cr_assert(strstr(w, "(nregions 300): more than 256 regions"), "%s", w);
	c.nregions = 3;
	c.memory_sizes[7] = 4097;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), -EPROTO);
	cr_assert(strstr(w, "(shmid 7): size 0x1001 is not a multiple of the page size"),
		  "%s", w);
	c.memory_sizes[7] = 1ull << 41;
	cr_assert_eq(vhost_fe_check_shmem_config(&c, w, sizeof(w)), -EPROTO);
	cr_assert(strstr(w, "(shmid 7): size 0x20000000000 is larger than 1 TiB"),
		  "%s", w);
}

/*
 * After an honest negotiation: run @fn against a mock that lies in its
 * replies to later requests; no fd may be left open.
 */
static char w[256];	/* the reason of the last refusal */

static void with_frontend(enum lie lie, void (*fn)(struct vhost_fe *fe))
{
	char *dir = make_tmpdir(), path[256];
	struct mock mk = { .lie = lie };
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .reply_timeout_ms = 1000 };
	struct vhost_fe *fe = NULL;
	size_t fds = fd_count();
	pthread_t th;

	snprintf(path, sizeof(path), "%s/s", dir);
	mk.lfd = vhost_be_listen(path);
	cr_assert(mk.lfd >= 0);
	pthread_create(&th, NULL, mock_main, &mk);
	cr_assert_eq(vhost_fe_create(&c, &fe, w, sizeof(w)), 0, "%s", w);
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_CONFIG));
	fn(fe);
	vhost_fe_destroy(fe);
	pthread_join(th, NULL);
	close(mk.lfd);
	cr_assert_eq(fd_count(), fds, "an fd leaked (lie %d)", lie);
	rm_tree(dir);
	free(dir);
}

static void stop_ring_3(struct vhost_fe *fe)
{
	uint32_t last = 0;

	cr_assert_eq(vhost_fe_vring_stop(fe, 3, &last, w, sizeof(w)), 0, "%s", w);
	cr_assert_eq(last, 5);
}

static void stop_ring_3_lied_to(struct vhost_fe *fe)
{
	uint32_t last = 77;

	cr_assert_eq(vhost_fe_vring_stop(fe, 3, &last, w, sizeof(w)), -EPROTO);
	cr_assert(strstr(w, "GET_VRING_BASE: reply for vring 4, not 3"), "%s", w);
	cr_assert_eq(last, 77, "the other ring's index was reported");
}

Test(negotiation, get_vring_base_reply_must_name_the_ring)
{
	with_frontend(HONEST, stop_ring_3);
	with_frontend(VRING_BASE_OTHER_RING, stop_ring_3_lied_to);
}

static void read_config(struct vhost_fe *fe)
{
	uint8_t buf[8] = { 0 };

	cr_assert_eq(vhost_fe_get_config(fe, 8, buf, sizeof(buf), w, sizeof(w)), 0,
		     "%s", w);
	cr_assert_eq(buf[0], 0xc5);
	cr_assert_eq(buf[7], 0xc5);
}

static void read_config_lied_to(struct vhost_fe *fe)
{
	uint8_t buf[8] = { 0 };

	cr_assert_eq(vhost_fe_get_config(fe, 8, buf, sizeof(buf), w, sizeof(w)),
		     -EIO);
	cr_assert(strstr(w, "GET_CONFIG offset 8 len 8: the reply does not match"),
		  "%s", w);
	cr_assert_eq(buf[0], 0, "a refused reply was copied out");
}

Test(negotiation, get_config_reply_must_match_the_request)
{
	with_frontend(HONEST, read_config);
	with_frontend(CONFIG_SHORT, read_config_lied_to);
	with_frontend(CONFIG_OTHER_OFFSET, read_config_lied_to);
}

static void set_features_nacked(struct vhost_fe *fe)
{
	cr_assert_eq(vhost_fe_set_features(fe, 1ull << VIRTIO_F_VERSION_1, w,
					   sizeof(w)), -EIO);
	cr_assert(strstr(w, "SET_FEATURES: the back-end replied failure 22"), "%s", w);
	cr_assert(vhost_fe_connected(fe), "a failure ack is not a broken peer");
}

Test(negotiation, failure_ack_is_an_error)
{
	with_frontend(ACK_FAILURE, set_features_nacked);
}
