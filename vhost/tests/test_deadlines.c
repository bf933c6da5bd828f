/* SPDX-License-Identifier: MIT */
/*
 * The front-end never waits on a back-end without a deadline: a listen
 * queue that stays full, a back-end that stops reading, one that answers
 * slowly, and an owner that cancels. Signals arrive all along and never
 * restart a wait.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost/frontend.h"

#include "helpers.h"
#include "wire.h"

static char *dir;
static char path[256];
static char why[200];
static size_t fds_before;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
	if (getenv("VHOST_TEST_VERBOSE"))
		fprintf(stderr, "fe: %s\n", m);
}

static void on_signal(int sig)
{
}

static void setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: calls see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	dir = make_tmpdir();
	snprintf(path, sizeof(path), "%s/be.sock", dir);
	fds_before = fd_count();
}

static void teardown(void)
{
	rm_tree(dir);
	free(dir);
}

TestSuite(deadlines, .init = setup, .fini = teardown, .timeout = 30);

/* ---- a thread that keeps interrupting another one with SIGUSR1 ---- */

struct pinger {
	pthread_t target, thread;
	atomic_bool stop;
	int every_ms;
	int cancel_after_ms;	/* > 0: write cancel_fd then */
	int cancel_fd;
	struct vhost_fe *fe;	/* cancel_after_ms with fe: vhost_fe_cancel */
};

static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	int64_t t0 = now_ms();
	uint64_t one = 1;
	bool cancelled = false;

	while (!atomic_load(&p->stop)) {
		usleep((useconds_t)p->every_ms * 1000);
		pthread_kill(p->target, SIGUSR1);
		if (!cancelled && p->cancel_after_ms > 0 &&
		    now_ms() - t0 >= p->cancel_after_ms) {
			cancelled = true;
			if (p->fe)
				vhost_fe_cancel(p->fe);
			else
				cr_assert_eq(write(p->cancel_fd, &one, 8), 8);
		}
	}
	return NULL;
}

static void pinger_start(struct pinger *p)
{
	p->target = pthread_self();
	atomic_store(&p->stop, false);
	cr_assert_eq(pthread_create(&p->thread, NULL, pinger_main, p), 0);
}

static void pinger_stop(struct pinger *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
}

/* A listening socket whose queue is full and which never accepts. */
static int full_listener(int *client)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, path);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	*client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_eq(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0,
		     "the first connection waits in the queue");
	return lfd;
}

Test(deadlines, connect_to_a_full_listen_queue_ends_at_the_timeout)
{
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .connect_timeout_ms = 500 };
	struct pinger p = { .every_ms = 20 };
	struct vhost_fe *fe = NULL;
	int client, lfd = full_listener(&client);
	int64_t t0 = now_ms(), took;
	int ret;

	pinger_start(&p);
	ret = vhost_fe_create(&c, &fe, why, sizeof(why));
	took = now_ms() - t0;
	pinger_stop(&p);
	cr_assert_eq(ret, -ETIMEDOUT, "got %d (%s)", ret, why);
	cr_assert(strstr(why, "listen queue is full"), "why: %s", why);
	cr_assert(took >= 450 && took < 2500, "took %lld ms",
		  (long long)took);
	cr_assert_null(fe);
	close(client);
	close(lfd);
	cr_assert_eq(fd_count(), fds_before);
}

Test(deadlines, connect_ends_at_once_when_the_owner_cancels)
{
	int efd = eventfd(0, EFD_CLOEXEC);
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .connect_timeout_ms = 60000,
				     .has_cancel_fd = true, .cancel_fd = efd };
	struct pinger p = { .every_ms = 20, .cancel_after_ms = 200,
			    .cancel_fd = efd };
	struct vhost_fe *fe = NULL;
	int client, lfd = full_listener(&client);
	int64_t t0 = now_ms(), took;
	int ret;

	pinger_start(&p);
	ret = vhost_fe_create(&c, &fe, why, sizeof(why));
	took = now_ms() - t0;
	pinger_stop(&p);
	cr_assert_eq(ret, -ECANCELED, "got %d (%s)", ret, why);
	cr_assert(took < 1500, "took %lld ms", (long long)took);
	close(client);
	close(lfd);
	close(efd);
	cr_assert_eq(fd_count(), fds_before);
}

/* ---- a scripted back-end that negotiates, then misbehaves ---- */

enum after { STOP_READING, SILENT, SLOW };

struct peer {
	int lfd;
	enum after after;
	bool reply_ack;
	int slow_ms;		/* SLOW: before every reply, negotiation too */
	atomic_bool stop;
	pthread_t thread;
};

static void peer_reply(int s, const struct vhost_msg *req, uint64_t v)
{
	struct vhost_msg r;

	vhost_msg_init(&r, req->hdr.request, VHOST_USER_REPLY_MASK, 8);
	r.p.u64 = v;
	vhost_msg_send(s, &r);
}

static void *peer_main(void *arg)
{
	struct peer *pr = arg;
	int s = accept4(pr->lfd, NULL, NULL, SOCK_CLOEXEC);
	bool owned = false;
	struct vhost_msg m;

	while (s >= 0 && !atomic_load(&pr->stop)) {
		if (owned && pr->after != SLOW) {
			/* Connected, never reading again. */
			usleep(10000);
			continue;
		}
		if (vhost_msg_recv(s, &m, VHOST_MSG_FRONTEND_REQ, 0, false,
				   200))
			continue;
		vhost_msg_close_fds(&m);
		if (pr->after == SLOW)
			usleep((useconds_t)pr->slow_ms * 1000);
		switch (m.hdr.request) {
		case VHOST_USER_GET_FEATURES:
			peer_reply(s, &m, (1ull << 30) |
				   (1ull << VIRTIO_F_VERSION_1));
			continue;
		case VHOST_USER_GET_PROTOCOL_FEATURES:
			peer_reply(s, &m,
				   (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
				   (pr->reply_ack ?
				    1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK : 0));
			continue;
		case VHOST_USER_SET_OWNER:
			owned = true;
			break;
		}
		if (m.hdr.flags & VHOST_USER_NEED_REPLY_MASK)
			peer_reply(s, &m, 0);
	}
	if (s >= 0)
		close(s);
	return NULL;
}

static void peer_start(struct peer *pr)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	strcpy(a.sun_path, path);
	pr->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(pr->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(pr->lfd, 4), 0);
	atomic_store(&pr->stop, false);
	cr_assert_eq(pthread_create(&pr->thread, NULL, peer_main, pr), 0);
}

static void peer_stop(struct peer *pr)
{
	atomic_store(&pr->stop, true);
	pthread_join(pr->thread, NULL);
	close(pr->lfd);
}

static atomic_int lost;

static void on_lost(void *o, struct vhost_fe *fe, const char *cause)
{
	atomic_fetch_add(&lost, 1);
}

static const struct vhost_fe_ops lost_ops = { .disconnected = on_lost };

Test(deadlines, sends_to_a_back_end_that_stopped_reading_end_at_the_timeout)
{
	struct peer pr = { .after = STOP_READING };
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .reply_timeout_ms = 1000,
				     .ops = &lost_ops };
	struct pinger p = { .every_ms = 20 };
	uint8_t cfg[256] = { 0 };
	struct vhost_fe *fe = NULL;
	int64_t t0 = 0, took;
	int ret = 0, calls;

	atomic_store(&lost, 0);
	peer_start(&pr);
	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), 0, "%s", why);
	pinger_start(&p);
	/* No REPLY_ACK: each SET_CONFIG only fills the socket's buffer. */
	for (calls = 0; calls < 100000; calls++) {
		t0 = now_ms();
		ret = vhost_fe_set_config(fe, 0, cfg, sizeof(cfg), why,
					  sizeof(why));
		if (ret)
			break;
	}
	took = now_ms() - t0;
	pinger_stop(&p);
	cr_assert_eq(ret, -ETIMEDOUT, "call %d: %d (%s)", calls, ret, why);
	cr_assert(took >= 900 && took < 3000, "the failing call took %lld ms",
		  (long long)took);
	cr_assert_not(vhost_fe_connected(fe));
	for (int i = 0; i < 100 && !atomic_load(&lost); i++)
		usleep(10000);
	cr_assert_eq(atomic_load(&lost), 1, "the disconnect is reported once");
	vhost_fe_destroy(fe);
	peer_stop(&pr);
	cr_assert_eq(fd_count(), fds_before);
}

struct call {
	struct vhost_fe *fe;
	int ret;
	int64_t took;
	char why[200];
};

static void *call_main(void *arg)
{
	struct call *cl = arg;
	uint8_t b[4] = { 0 };
	int64_t t0 = now_ms();

	cl->ret = vhost_fe_set_config(cl->fe, 0, b, sizeof(b), cl->why,
				      sizeof(cl->why));
	cl->took = now_ms() - t0;
	return NULL;
}

Test(deadlines, cancel_ends_a_request_in_progress_at_once)
{
	struct peer pr = { .after = SILENT, .reply_ack = true };
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .reply_timeout_ms = 60000,
				     .ops = &lost_ops };
	struct call cl = { 0 };
	pthread_t th;

	atomic_store(&lost, 0);
	peer_start(&pr);
	cr_assert_eq(vhost_fe_create(&c, &cl.fe, why, sizeof(why)), 0, "%s",
		     why);
	cr_assert_eq(pthread_create(&th, NULL, call_main, &cl), 0);
	usleep(200000);
	vhost_fe_cancel(cl.fe);
	pthread_join(th, NULL);
	cr_assert_eq(cl.ret, -ECANCELED, "got %d (%s)", cl.ret, cl.why);
	cr_assert(cl.took < 1200, "took %lld ms", (long long)cl.took);
	/* Later calls fail at once, and a reconnect too. */
	cr_assert_eq(vhost_fe_set_config(cl.fe, 0, why, 1, why, sizeof(why)),
		     -ECANCELED);
	cr_assert_eq(vhost_fe_reconnect(cl.fe, why, sizeof(why)), -ECANCELED);
	vhost_fe_destroy(cl.fe);
	cr_assert_eq(atomic_load(&lost), 0, "a cancel is not a lost back-end");
	peer_stop(&pr);
	cr_assert_eq(fd_count(), fds_before);
}

Test(deadlines, negotiation_as_a_whole_gets_one_reply_timeout)
{
	/* Each answer comes within the timeout; all of them do not. */
	struct peer pr = { .after = SLOW, .slow_ms = 300, .reply_ack = true };
	struct vhost_fe_config c = { .socket_path = path, .log = quiet,
				     .reply_timeout_ms = 1000 };
	struct vhost_fe *fe = NULL;
	int64_t t0 = now_ms(), took;
	int ret;

	peer_start(&pr);
	ret = vhost_fe_create(&c, &fe, why, sizeof(why));
	took = now_ms() - t0;
	cr_assert_eq(ret, -ETIMEDOUT, "got %d (%s)", ret, why);
	cr_assert(took < 2500, "took %lld ms", (long long)took);
	peer_stop(&pr);
	cr_assert_eq(fd_count(), fds_before);
}
