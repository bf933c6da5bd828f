/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the front-end's parsing of back-end replies
 * (frontend.c and the wire layer's reply rules). A scripted back-end on a
 * thread answers each request the front-end sends; the input decides, per
 * request, whether the answer is honest, lies in one field (request code,
 * flags, size, payload: feature bits, queue counts, GET_SHMEM_CONFIG
 * sizes and counts, GET_CONFIG offset and size, GET_VRING_BASE index, ack
 * values), is raw bytes, or is the connection closing. The front-end is
 * created (negotiation), then driven through config reads and writes,
 * features, a memory table, a ring start and stop, status and reset.
 * After each input:
 *   - no crash (sanitizers), no hang (every answer arrives or the socket
 *     closes; replies are awaited at most 100 ms),
 *   - a shared memory config the front-end accepted obeys every rule
 *     (at most 256 regions, count matching, page multiples, <= 1 TiB),
 *   - a config read that succeeded on an honest answer returned the bytes
 *     the back-end sent,
 *   - every call that fails words why into its reason buffer,
 *   - vhost_fe_create() failing leaves no front-end behind, and once the
 *     front-end is destroyed no fd is left open.
 *
 * fuzz-reach: fe_rpc fe_negotiate fe_get_shmem_config vhost_fe_check_shmem_config vhost_fe_get_config vhost_fe_vring_stop vhost_fe_reset
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shmem/shmem.h"
#include "vhost/frontend.h"

#include "wire.h"
#include "fuzz_input.h"

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_vhost_frontend_replies: %s:%d: %s\n",\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

#define CONFIG_FILL	0xc3	/* every config byte the back-end sends */
#define RAM_SIZE	(1u << 16)

static char sock_path[108];
static int listen_fd;
static uint64_t page;

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static size_t fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The scripted back-end: one connection, one answer per request. */
struct backend {
	struct input in;
	int sock;
	int chan;		/* the back-end channel, kept open */
	pthread_mutex_t lock;	/* guards in and config_honest */
	bool config_honest;	/* the last GET_CONFIG answer was not a lie */
};

static uint8_t be_take(struct backend *b)
{
	uint8_t v;

	pthread_mutex_lock(&b->lock);
	v = take(&b->in);
	pthread_mutex_unlock(&b->lock);
	return v;
}

static uint64_t be_take_u64(struct backend *b)
{
	uint64_t v;

	pthread_mutex_lock(&b->lock);
	v = take_u64(&b->in);
	pthread_mutex_unlock(&b->lock);
	return v;
}

/* A GET_SHMEM_CONFIG answer: mostly valid, each rule broken now and then. */
static uint32_t shmem_answer(struct backend *b, struct vhost_user_shmem_config *c)
{
	uint8_t sel = be_take(b), n = be_take(b) % 5;

	memset(c, 0, sizeof(*c));
	for (unsigned int i = 0; i < n; i++) {
		uint8_t id = be_take(b);
		uint8_t how = be_take(b);

		c->memory_sizes[id] = (uint64_t)(1 + how % 16) * page << (how >> 4);
		if (how == 0xff)
			c->memory_sizes[id] = be_take_u64(b);
	}
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		c->nregions += c->memory_sizes[i] != 0;
	if (sel & 1)
		c->nregions += sel >> 4;		/* count mismatch */
	if (sel == 0xfe)
		c->nregions = 300;
	return sizeof(*c);
}

/* The honest answer to @m, into @r; false if the request has none. */
static bool honest_answer(struct backend *b, const struct vhost_msg *m,
			  struct vhost_msg *r)
{
	uint64_t pf = VHOST_FE_PROTOCOL_FEATURES |
		      (1ull << VHOST_USER_PROTOCOL_F_STATUS);

	vhost_msg_init(r, m->hdr.request, VHOST_USER_REPLY_MASK, 0);
	switch (m->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		r->hdr.size = 8;
		r->p.u64 = (1ull << VIRTIO_F_VERSION_1) | (1ull << 30) |
			   (be_take(b) & 1 ? be_take_u64(b) : 0);
		return true;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		r->hdr.size = 8;
		r->p.u64 = be_take(b) & 1 ? pf & be_take_u64(b) : pf;
		return true;
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
	case VHOST_USER_GET_STATUS:
		r->hdr.size = 8;
		r->p.u64 = be_take(b);
		return true;
	case VHOST_USER_GET_SHMEM_CONFIG:
		r->hdr.size = shmem_answer(b, &r->p.shmem);
		return true;
	case VHOST_USER_GET_VRING_BASE:
		r->hdr.size = sizeof(r->p.state);
		r->p.state.index = m->p.state.index;
		r->p.state.num = be_take(b);
		return true;
	case VHOST_USER_GET_CONFIG:
		r->p.config = m->p.config;
		r->hdr.size = VHOST_USER_CONFIG_HDR_SIZE + m->p.config.size;
		memset(r->p.config.payload, CONFIG_FILL, sizeof(r->p.config.payload));
		return true;
	default:
		if (!(m->hdr.flags & VHOST_USER_NEED_REPLY_MASK))
			return false;
		r->hdr.size = 8;
		r->p.u64 = be_take(b) == 0xff;	/* rarely a failure ack */
		return true;
	}
}

/* Lie in one field of @r, as the input says. */
static void lie(struct backend *b, struct vhost_msg *r, uint8_t how)
{
	switch (how % 8) {
	case 0: r->hdr.request = be_take(b); break;
	case 1: r->hdr.flags = be_take(b); break;
	case 2: r->hdr.size = be_take(b) | be_take(b) << 8; break;
	case 3: r->hdr.size = be_take(b) % (r->hdr.size + 1); break;
	case 4: r->p.raw[be_take(b) % sizeof(r->p.raw)] ^= be_take(b); break;
	case 5:
		for (unsigned int i = 0; i < 16; i++)
			r->p.raw[be_take(b)] = be_take(b);
		break;
	case 6: r->p.config.offset = be_take(b); break;
	default: r->p.state.index = be_take(b); break;
	}
}

static void *backend_main(void *arg)
{
	struct backend *b = arg;
	struct vhost_msg m, r;

	while (!vhost_msg_recv(b->sock, &m, VHOST_MSG_FRONTEND_REQ, 0, false,
			       -1)) {
		uint8_t what = be_take(b);
		bool answer;

		/* Closing the channel would be a disconnect: keep it. */
		if (m.hdr.request == VHOST_USER_SET_BACKEND_REQ_FD && b->chan < 0)
			b->chan = vhost_msg_take_fd(&m, 0);
		vhost_msg_close_fds(&m);
		answer = honest_answer(b, &m, &r);
		if (m.hdr.request == VHOST_USER_GET_CONFIG) {
			pthread_mutex_lock(&b->lock);
			b->config_honest = what < 0xa0;
			pthread_mutex_unlock(&b->lock);
		}
		if (what >= 0xf8)		/* hang up instead */
			break;
		if (what >= 0xe0) {		/* raw bytes, a header's worth or more */
			uint8_t junk[64];
			size_t n = sizeof(struct vhost_user_hdr) + what % 32;

			for (size_t i = 0; i < n; i++)
				junk[i] = be_take(b);
			if (send(b->sock, junk, n, MSG_NOSIGNAL) < 0)
				break;
			continue;
		}
		if (!answer)
			continue;
		if (what >= 0xa0)
			lie(b, &r, what);
		if (r.hdr.size > sizeof(r.p)) {
			/* Only the header: it announces more than follows. */
			if (send(b->sock, &r.hdr, sizeof(r.hdr), MSG_NOSIGNAL) < 0)
				break;
			continue;
		}
		if (vhost_msg_send(b->sock, &r))
			break;
	}
	close(b->sock);
	if (b->chan >= 0)
		close(b->chan);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct backend *b = arg;

	b->sock = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(b->sock >= 0);
	return backend_main(b);
}

static void init_once(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/fuzz-fe-XXXXXX";

	page = (uint64_t)sysconf(_SC_PAGESIZE);
	CHECK(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/be.sock", dir);
	strcpy(a.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(listen_fd >= 0);
	CHECK(!bind(listen_fd, (struct sockaddr *)&a, sizeof(a)));
	CHECK(!listen(listen_fd, 4));
}

static void check_shmem_config(struct vhost_fe *fe)
{
	uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	int n = vhost_fe_shmem_config(fe, sizes), used = 0;

	if (n == -EOPNOTSUPP)
		return;
	CHECK(n >= 0 && n <= VHOST_USER_MAX_SHMEM_REGIONS);
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++) {
		if (!sizes[i])
			continue;
		used++;
		CHECK(sizes[i] % page == 0);
		CHECK(sizes[i] <= SHMEM_REGION_MAX_SIZE);
	}
	CHECK(used == n);
}

/*
 * Every refusal words its reason: a call that fails leaves a non-empty
 * line in the reason buffer.
 */
static char why[256];

static int said(int ret)
{
	CHECK(ret <= 0);
	if (ret < 0 && !why[0]) {
		fprintf(stderr, "fuzz_vhost_frontend_replies: error %d without a reason\n",
			ret);
		abort();
	}
	why[0] = '\0';
	return ret;
}

/* The calls an owner makes, in the order a device goes through them. */
static void drive(struct vhost_fe *fe, struct backend *b, int ramfd, void *ram)
{
	struct vhost_fe_mem_region reg = {
		.gpa = 0, .size = RAM_SIZE, .hva = ram, .fd = ramfd,
	};
	struct vhost_fe_vring v = {
		.num = 16, .desc_gpa = 0x1000, .avail_gpa = 0x2000,
		.used_gpa = 0x3000, .kick_fd = ramfd, .call_fd = -1,
	};
	uint8_t buf[VHOST_USER_MAX_CONFIG_SIZE], status;
	uint32_t off = be_take(b), len = be_take(b) % 64, last = 0;
	int ret;

	check_shmem_config(fe);
	memset(buf, 0, sizeof(buf));
	ret = said(vhost_fe_get_config(fe, off, buf, len, why, sizeof(why)));
	pthread_mutex_lock(&b->lock);
	if (ret == 0 && b->config_honest)
		for (uint32_t i = 0; i < len; i++)
			CHECK(buf[i] == CONFIG_FILL);
	pthread_mutex_unlock(&b->lock);
	said(vhost_fe_set_config(fe, off, buf, len, why, sizeof(why)));
	said(vhost_fe_set_features(fe, 1ull << VIRTIO_F_VERSION_1, why, sizeof(why)));
	said(vhost_fe_set_mem_table(fe, &reg, 1, why, sizeof(why)));
	if (said(vhost_fe_vring_start(fe, 0, &v, why, sizeof(why))) == 0)
		said(vhost_fe_vring_stop(fe, 0, &last, why, sizeof(why)));
	said(vhost_fe_set_status(fe, 0xf, why, sizeof(why)));
	said(vhost_fe_get_status(fe, &status, why, sizeof(why)));
	said(vhost_fe_reset(fe, why, sizeof(why)));
	check_shmem_config(fe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static int ramfd;
	static void *ram;
	struct backend b = { .in = { data, size }, .sock = -1, .chan = -1 };
	struct vhost_fe_config c = {
		.socket_path = sock_path, .name = "fuzz", .log = quiet,
		.connect_timeout_ms = 1000, .reply_timeout_ms = 100,
	};
	struct vhost_fe *fe = NULL;
	size_t fds_before;
	pthread_t th;
	int ret;

	if (!ready) {
		init_once();
		ramfd = memfd_create("fuzz-fe-ram", MFD_CLOEXEC);
		CHECK(ramfd >= 0 && !ftruncate(ramfd, RAM_SIZE));
		ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   ramfd, 0);
		CHECK(ram != MAP_FAILED);
		ready = true;
	}
	fds_before = fd_count();
	pthread_mutex_init(&b.lock, NULL);
	CHECK(pthread_create(&th, NULL, accept_main, &b) == 0);
	why[0] = '\0';
	ret = said(vhost_fe_create(&c, &fe, why, sizeof(why)));
	if (ret) {
		CHECK(fe == NULL);
	} else {
		drive(fe, &b, ramfd, ram);
		vhost_fe_destroy(fe);
	}
	/* The back-end sees the connection end and returns. */
	pthread_join(th, NULL);
	pthread_mutex_destroy(&b.lock);
	CHECK(fd_count() == fds_before);
	return 0;
}
