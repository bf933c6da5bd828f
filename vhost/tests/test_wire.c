/* SPDX-License-Identifier: MIT */
/*
 * The wire layer: every message type survives a round trip with its fds,
 * and malformed input (short header, oversize or wrong size, missing or
 * extra fds, unknown request, truncated control data, disconnect
 * mid-message) is refused with the documented error and no fd left open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "wire.h"

static int sv[2];
static size_t fds_before;

static void setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fds_before = fd_count();
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(wire, .init = setup, .fini = teardown, .timeout = 30);

static void raw_send(int sock, const void *buf, size_t len, const int *fds,
		     unsigned int nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	cr_assert_eq(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_hdr(uint32_t req, uint32_t flags, uint32_t size,
		     const int *fds, unsigned int nfds)
{
	struct vhost_user_hdr h = { req, flags, size };

	raw_send(sv[0], &h, sizeof(h), fds, nfds);
}

static void send_zeros(size_t len)
{
	static const uint8_t z[4096];

	raw_send(sv[0], z, len, NULL, 0);
}

static bool same_file(int a, int b)
{
	struct stat x, y;

	return !fstat(a, &x) && !fstat(b, &y) && x.st_ino == y.st_ino &&
	       x.st_dev == y.st_dev;
}

struct rt {
	enum vhost_msg_kind kind;
	uint32_t request;
	uint32_t size;
	unsigned int nfds;
	bool ack;
};

static void round_trip(const struct rt *t)
{
	struct vhost_msg m, r;
	int efd = eventfd(0, EFD_CLOEXEC);
	uint32_t flags = t->kind == VHOST_MSG_REPLY ? VHOST_USER_REPLY_MASK : 0;

	vhost_msg_init(&m, t->request, flags, t->size);
	for (uint32_t i = 0; i < t->size; i++)
		m.p.raw[i] = (uint8_t)(i * 13 + t->request);
	if (t->request == VHOST_USER_SET_MEM_TABLE && t->kind == VHOST_MSG_FRONTEND_REQ)
		m.p.mem.nregions = t->nfds;
	for (unsigned int i = 0; i < t->nfds; i++)
		m.fds[i] = efd;
	m.nfds = t->nfds;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0, "send %u", t->request);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, t->kind, t->request, t->ack, 1000),
		     0, "request %u (%s) kind %d", t->request,
		     vhost_user_request_name(t->request), t->kind);
	cr_assert_eq(r.hdr.request, t->request);
	cr_assert_eq(r.hdr.size, t->size);
	cr_assert_eq(memcmp(&r.p, &m.p, t->size), 0);
	cr_assert_eq(r.nfds, t->nfds);
	for (unsigned int i = 0; i < r.nfds; i++)
		cr_assert(same_file(r.fds[i], efd));
	vhost_msg_close_fds(&r);
	close(efd);
}

Test(wire, every_message_type_round_trips)
{
	const uint32_t u64 = 8, st = 8, cfg = 12 + 16, mr = 40;
	const struct rt cases[] = {
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_FEATURES, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_FEATURES, u64, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_PROTOCOL_FEATURES, u64, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_OWNER, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_RESET_OWNER, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_RESET_DEVICE, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_MEM_TABLE, 8 + 2 * 32, 2, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_MEM_TABLE, 8 + 8 * 32, 8, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_MAX_MEM_SLOTS, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_ADD_MEM_REG, mr, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_REM_MEM_REG, mr, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_REM_MEM_REG, mr, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_NUM, st, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_ADDR, 40, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_BASE, st, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_VRING_BASE, st, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_KICK, u64, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_KICK, u64, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_CALL, u64, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_ERR, u64, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_VRING_ENABLE, st, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_QUEUE_NUM, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_CONFIG, cfg, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_CONFIG, cfg, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_BACKEND_REQ_FD, 0, 1, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_SET_STATUS, u64, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_STATUS, 0, 0, false },
		{ VHOST_MSG_FRONTEND_REQ, VHOST_USER_GET_SHMEM_CONFIG, 0, 0, false },
		{ VHOST_MSG_BACKEND_REQ, VHOST_USER_BACKEND_SHMEM_MAP, 40, 1, false },
		{ VHOST_MSG_BACKEND_REQ, VHOST_USER_BACKEND_SHMEM_UNMAP, 40, 0, false },
		{ VHOST_MSG_BACKEND_REQ, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 0, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_FEATURES, u64, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_PROTOCOL_FEATURES, u64, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_QUEUE_NUM, u64, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_MAX_MEM_SLOTS, u64, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_STATUS, u64, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_VRING_BASE, st, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_CONFIG, cfg, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_CONFIG, 0, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_GET_SHMEM_CONFIG, 2056, 0, false },
		{ VHOST_MSG_REPLY, VHOST_USER_SET_MEM_TABLE, u64, 0, true },
		{ VHOST_MSG_REPLY, VHOST_USER_BACKEND_SHMEM_MAP, u64, 0, true },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		round_trip(&cases[i]);
	cr_assert_eq(fd_count(), fds_before);
}

Test(wire, payload_split_across_writes_with_fd_on_a_later_byte)
{
	struct vhost_msg r;
	struct vhost_user_hdr h = { VHOST_USER_BACKEND_SHMEM_MAP, 1, 40 };
	uint8_t payload[40] = { 7 };
	int efd = eventfd(0, EFD_CLOEXEC);

	raw_send(sv[0], &h, 5, NULL, 0);
	raw_send(sv[0], (uint8_t *)&h + 5, 7, NULL, 0);
	raw_send(sv[0], payload, 1, NULL, 0);
	raw_send(sv[0], payload + 1, 39, &efd, 1);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), 0);
	cr_assert_eq(r.nfds, 1);
	cr_assert(same_file(r.fds[0], efd));
	cr_assert_eq(r.p.mmap.shmid, 7);
	vhost_msg_close_fds(&r);
	close(efd);
	cr_assert_eq(fd_count(), fds_before);
}

Test(wire, clean_eof_at_a_message_boundary)
{
	struct vhost_msg r;

	shutdown(sv[0], SHUT_WR);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -ECONNRESET);
}

Test(wire, header_cut_short_by_disconnect)
{
	struct vhost_msg r;
	struct vhost_user_hdr h = { VHOST_USER_SET_FEATURES, 1, 8 };

	raw_send(sv[0], &h, 5, NULL, 0);
	shutdown(sv[0], SHUT_WR);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EPROTO);
	cr_assert_eq(r.nfds, 0);
}

Test(wire, disconnect_mid_payload_closes_the_fd)
{
	struct vhost_msg r;
	int efd = eventfd(0, EFD_CLOEXEC);

	send_hdr(VHOST_USER_BACKEND_SHMEM_MAP, 1, 40, &efd, 1);
	send_zeros(10);
	close(efd);
	shutdown(sv[0], SHUT_WR);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), -EPROTO);
	cr_assert_eq(fd_count(), fds_before, "the received fd leaked");
}

Test(wire, oversize_is_refused_before_the_payload_is_read)
{
	struct vhost_msg r;
	int pending = 0;
	int efd = eventfd(0, EFD_CLOEXEC);

	send_hdr(VHOST_USER_SET_FEATURES, 1, 16, &efd, 1);
	send_zeros(16);
	close(efd);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EMSGSIZE);
	cr_assert_eq(ioctl(sv[1], FIONREAD, &pending), 0);
	cr_assert_eq(pending, 16, "payload bytes were read");
	cr_assert_eq(fd_count(), fds_before);
}

Test(wire, huge_size_on_unknown_request)
{
	struct vhost_msg r;

	send_hdr(999, 1, 1u << 30, NULL, 0);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EMSGSIZE);
	send_hdr(VHOST_USER_BACKEND_SHMEM_MAP, 1, 41, NULL, 0);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), -EMSGSIZE);
}

Test(wire, undersize_is_consumed_and_the_stream_stays_in_step)
{
	struct vhost_msg m, r;

	send_hdr(VHOST_USER_SET_VRING_ADDR, 1, 8, NULL, 0);
	send_zeros(8);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	vhost_msg_init(&m, VHOST_USER_SET_FEATURES, 0, 8);
	m.p.u64 = 0x1234;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), 0);
	cr_assert_eq(r.p.u64, 0x1234);
}

Test(wire, missing_and_extra_fds_are_refused_and_closed)
{
	struct vhost_msg r;
	int fds[3];

	for (int i = 0; i < 3; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	send_hdr(VHOST_USER_SET_BACKEND_REQ_FD, 1, 0, NULL, 0);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	send_hdr(VHOST_USER_BACKEND_SHMEM_MAP, 1, 40, NULL, 0);
	send_zeros(40);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), -EBADMSG);
	send_hdr(VHOST_USER_BACKEND_SHMEM_MAP, 1, 40, fds, 2);
	send_zeros(40);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), -EBADMSG);
	cr_assert_eq(r.nfds, 0);
	send_hdr(VHOST_USER_BACKEND_SHMEM_UNMAP, 1, 40, fds, 1);
	send_zeros(40);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), -EBADMSG);
	send_hdr(VHOST_USER_SET_FEATURES, 1, 8, fds, 3);
	send_zeros(8);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	cr_assert_eq(fd_count(), fds_before, "a refused message leaked an fd");
}

Test(wire, too_many_fds_truncate_control_data_and_are_all_closed)
{
	struct vhost_msg r;
	int fds[20];

	for (int i = 0; i < 20; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	send_hdr(VHOST_USER_SET_FEATURES, 1, 8, fds, 20);
	send_zeros(8);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	cr_assert_eq(fd_count(), fds_before);
}

Test(wire, unknown_request_is_delivered_for_a_failure_reply)
{
	struct vhost_msg r;
	int efd = eventfd(0, EFD_CLOEXEC);

	send_hdr(77, 1 | VHOST_USER_NEED_REPLY_MASK, 16, &efd, 1);
	send_zeros(16);
	close(efd);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), 0);
	cr_assert_eq(r.hdr.request, 77);
	cr_assert_not(vhost_msg_rule(VHOST_MSG_BACKEND_REQ, 77, false).known);
	vhost_msg_close_fds(&r);
	cr_assert_eq(fd_count(), fds_before);
}

Test(wire, bad_header_flags)
{
	struct vhost_msg r;

	send_hdr(VHOST_USER_SET_OWNER, 2, 0, NULL, 0);		/* version 2 */
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	send_hdr(VHOST_USER_SET_OWNER, 1 | (1u << 9), 0, NULL, 0);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_FRONTEND_REQ, 0, false,
				    1000), -EBADMSG);
	/* A reply without the REPLY bit, and one for another request. */
	send_hdr(VHOST_USER_GET_FEATURES, 1, 8, NULL, 0);
	send_zeros(8);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_REPLY,
				    VHOST_USER_GET_FEATURES, false, 1000),
		     -EBADMSG);
	send_hdr(VHOST_USER_GET_QUEUE_NUM, 5, 8, NULL, 0);
	send_zeros(8);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_REPLY,
				    VHOST_USER_GET_FEATURES, false, 1000),
		     -EBADMSG);
}

Test(wire, silent_peer_times_out)
{
	struct vhost_msg r;

	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_REPLY,
				    VHOST_USER_GET_FEATURES, false, 50),
		     -ETIMEDOUT);
}

Test(wire, send_to_a_closed_peer_fails_without_sigpipe)
{
	struct vhost_msg m;

	close(sv[1]);
	vhost_msg_init(&m, VHOST_USER_SET_OWNER, 0, 0);
	cr_assert_eq(vhost_msg_send(sv[0], &m), -EPIPE);
	sv[1] = eventfd(0, EFD_CLOEXEC);
}

/* ---- EINTR and short writes ---- */

static void on_alarm(int sig)
{
}

struct slow_sender {
	int sock;
	const uint8_t *buf;
	size_t len;
};

static void *slow_send(void *arg)
{
	struct slow_sender *s = arg;

	for (size_t i = 0; i < s->len; i += 7) {
		size_t n = s->len - i < 7 ? s->len - i : 7;

		usleep(200);
		if (write(s->sock, s->buf + i, n) != (ssize_t)n)
			break;
	}
	return NULL;
}

Test(wire, interrupted_reads_and_trickled_bytes)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	struct vhost_msg m, r;
	uint8_t wire[12 + 2056];
	struct slow_sender s = { sv[0], wire, sizeof(wire) };
	pthread_t th;

	vhost_msg_init(&m, VHOST_USER_GET_SHMEM_CONFIG, VHOST_USER_REPLY_MASK,
		       2056);
	m.p.shmem.nregions = 1;
	m.p.shmem.memory_sizes[255] = 1 << 20;
	memcpy(wire, &m.hdr, 12);
	memcpy(wire + 12, &m.p, 2056);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_create(&th, NULL, slow_send, &s);
	cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_REPLY,
				    VHOST_USER_GET_SHMEM_CONFIG, false, 20000), 0);
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	pthread_join(th, NULL);
	cr_assert_eq(r.p.shmem.memory_sizes[255], 1 << 20);
}

struct sender {
	int sock;
	struct vhost_msg *m;
	int ret;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;

	for (int i = 0; i < 50 && !s->ret; i++)
		s->ret = vhost_msg_send(s->sock, s->m);
	return NULL;
}

Test(wire, short_writes_on_a_full_socket)
{
	int small = 1024, fl = fcntl(sv[0], F_GETFL);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct vhost_msg m, r;
	struct sender s = { sv[0], &m, 0 };
	pthread_t th;

	/* A tiny non-blocking send buffer: sendmsg takes part of the
	 * message, then says EAGAIN until the reader drains it. */
	cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
				sizeof(small)), 0);
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)), 0);
	cr_assert_eq(fcntl(sv[0], F_SETFL, fl | O_NONBLOCK), 0);
	vhost_msg_init(&m, VHOST_USER_GET_SHMEM_CONFIG, VHOST_USER_REPLY_MASK,
		       2056);
	for (unsigned int i = 0; i < 256; i++)
		m.p.shmem.memory_sizes[i] = i * 4096ull;
	m.p.shmem.nregions = 255;
	m.fds[0] = efd;
	m.nfds = 0;
	pthread_create(&th, NULL, send_thread, &s);
	usleep(20000);		/* let the sender fill the buffer */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(vhost_msg_recv(sv[1], &r, VHOST_MSG_REPLY,
					    VHOST_USER_GET_SHMEM_CONFIG, false,
					    5000), 0, "message %d", i);
		cr_assert_eq(memcmp(&r.p, &m.p, 2056), 0);
	}
	pthread_join(th, NULL);
	cr_assert_eq(s.ret, 0);
	close(efd);
}
