/* SPDX-License-Identifier: MIT */
/* vhost-user front-end: connection, negotiation and device set-up. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "shmem/shmem.h"
#include "vhost/frontend.h"

#include "channel.h"
#include "log.h"
#include "wire.h"

#define FE_DEFAULT_TIMEOUT_MS	5000
#define FE_CHANNEL_MSG_TIMEOUT_MS 5000

struct vhost_fe {
	struct vhost_fe_config cfg;
	char *path;
	char *name;
	struct vhost_logger log;

	pthread_mutex_t req_lock;	/* one request on the main socket at once */
	int sock;			/* main socket, -1 when closed */
	int chan_sock;			/* our end of the back-end channel, or -1 */
	int stop_fd;			/* eventfd that stops the thread */
	pthread_t thread;
	bool thread_running;
	bool connected;			/* atomic */
	bool lost_reported;		/* atomic */
	bool stopping;			/* atomic: closing on purpose */

	uint64_t offered_features;
	uint64_t protocol_features;
	uint32_t max_queues;
	uint64_t max_mem_slots;
	bool have_shm_config;
	struct vhost_user_shmem_config shm_config;
	uint64_t generation;		/* owner tag of the current connection */

	struct vhost_fe_mem_region mem[VHOST_FE_MAX_MEM_REGIONS];
	unsigned int nmem;
	unsigned int nmem_added;	/* regions sent with ADD_MEM_REG */

	struct vhost_shm_table shm;
	struct vhost_channel chan;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool fe_pf(const struct vhost_fe *fe, unsigned int bit)
{
	return fe->protocol_features & (1ull << bit);
}

static bool fe_uses_pf(const struct vhost_fe *fe)
{
	return fe->offered_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

/* ---- the connection ---- */

static int fe_connect_socket(struct vhost_fe *fe)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int64_t deadline = mono_ms() + fe->cfg.connect_timeout_ms;
	int fd;

	if (strlen(fe->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, fe->path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			return fd;
		int err = errno;

		close(fd);
		if (err == EINTR)
			continue;
		if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN)
			return -err;
		if (mono_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

/* Mark the connection dead; the service thread reports it. */
static void fe_lost(struct vhost_fe *fe)
{
	__atomic_store_n(&fe->connected, false, __ATOMIC_SEQ_CST);
	if (fe->sock >= 0)
		shutdown(fe->sock, SHUT_RDWR);
}

/*
 * Send @m and wait for its reply (@reply != NULL) or, when REPLY_ACK is in
 * use, for the ack. Any protocol error ends the connection.
 */
static int fe_rpc(struct vhost_fe *fe, struct vhost_msg *m,
		  struct vhost_msg *reply)
{
	const char *what = vhost_user_request_name(m->hdr.request);
	bool ack = !reply && fe_pf(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK) &&
		   m->hdr.request != VHOST_USER_SET_PROTOCOL_FEATURES;
	struct vhost_msg ackmsg;
	int ret;

	if (!__atomic_load_n(&fe->connected, __ATOMIC_SEQ_CST))
		return -ENOTCONN;
	if (ack) {
		m->hdr.flags |= VHOST_USER_NEED_REPLY_MASK;
		reply = &ackmsg;
	}
	pthread_mutex_lock(&fe->req_lock);
	ret = vhost_msg_send(fe->sock, m);
	if (!ret && reply)
		ret = vhost_msg_recv(fe->sock, reply, VHOST_MSG_REPLY,
				     m->hdr.request, ack,
				     fe->cfg.reply_timeout_ms);
	pthread_mutex_unlock(&fe->req_lock);
	if (ret) {
		vlog_err(&fe->log, "%s: %s%s", what, strerror(-ret),
			 ret == -EBADMSG || ret == -EMSGSIZE ?
			 " (malformed reply)" : "");
		fe_lost(fe);
		return ret == -EBADMSG || ret == -EMSGSIZE ? -EPROTO : ret;
	}
	if (ack && ackmsg.p.u64) {
		vlog_err(&fe->log, "%s: back-end replied failure %llu", what,
			 (unsigned long long)ackmsg.p.u64);
		return -EIO;
	}
	return 0;
}

static int fe_get_u64(struct vhost_fe *fe, uint32_t request, uint64_t *val)
{
	struct vhost_msg m, r;
	int ret;

	vhost_msg_init(&m, request, 0, 0);
	ret = fe_rpc(fe, &m, &r);
	if (!ret)
		*val = r.p.u64;
	return ret;
}

static int fe_set_u64(struct vhost_fe *fe, uint32_t request, uint64_t val)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.u64));
	m.p.u64 = val;
	return fe_rpc(fe, &m, NULL);
}

static int fe_set_state(struct vhost_fe *fe, uint32_t request, uint32_t idx,
			uint32_t num)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.state));
	m.p.state.index = idx;
	m.p.state.num = num;
	return fe_rpc(fe, &m, NULL);
}

/* ---- GET_SHMEM_CONFIG ---- */

int vhost_fe_check_shmem_config(const struct vhost_user_shmem_config *c,
				const char **why)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint32_t used = 0;

	if (c->nregions > VHOST_USER_MAX_SHMEM_REGIONS) {
		*why = "more than 256 regions";
		return -EPROTO;
	}
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++) {
		uint64_t s = c->memory_sizes[i];

		if (!s)
			continue;
		used++;
		if (s % page) {
			*why = "a region size is not a multiple of the page size";
			return -EPROTO;
		}
		if (s > SHMEM_REGION_MAX_SIZE) {
			*why = "a region is larger than 1 TiB";
			return -EPROTO;
		}
	}
	if (used != c->nregions) {
		*why = "nregions differs from the number of non-zero sizes";
		return -EPROTO;
	}
	*why = NULL;
	return 0;
}

static int fe_get_shmem_config(struct vhost_fe *fe,
			       struct vhost_user_shmem_config *out)
{
	struct vhost_msg m, r;
	const char *why;
	int ret;

	vhost_msg_init(&m, VHOST_USER_GET_SHMEM_CONFIG, 0, 0);
	ret = fe_rpc(fe, &m, &r);
	if (ret)
		return ret;
	ret = vhost_fe_check_shmem_config(&r.p.shmem, &why);
	if (ret) {
		vlog_err(&fe->log, "GET_SHMEM_CONFIG refused (nregions %u): %s",
			 r.p.shmem.nregions, why);
		return ret;
	}
	*out = r.p.shmem;
	return 0;
}

/* ---- the service thread ---- */

static void fe_chan_config_changed(void *opaque)
{
	struct vhost_fe *fe = opaque;

	if (fe->cfg.ops && fe->cfg.ops->config_changed)
		fe->cfg.ops->config_changed(fe->cfg.opaque, fe);
}

static void fe_report_lost(struct vhost_fe *fe)
{
	/* Whatever broke, the back-end must see the connection end too. */
	fe_lost(fe);
	if (__atomic_exchange_n(&fe->lost_reported, true, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&fe->stopping, __ATOMIC_SEQ_CST))
		return;
	vlog_warn(&fe->log, "back-end disconnected");
	if (fe->cfg.ops && fe->cfg.ops->disconnected)
		fe->cfg.ops->disconnected(fe->cfg.opaque, fe);
}

static void *fe_thread(void *arg)
{
	struct vhost_fe *fe = arg;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = fe->stop_fd, .events = POLLIN },
			{ .fd = fe->sock, .events = POLLRDHUP },
			{ .fd = fe->chan_sock, .events = POLLIN },
		};
		int n = poll(p, fe->chan_sock >= 0 ? 3 : 2, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[0].revents)
			return NULL;
		if (p[1].revents)
			break;
		if (p[2].revents &&
		    vhost_channel_serve_one(&fe->chan, FE_CHANNEL_MSG_TIMEOUT_MS))
			break;
	}
	fe_report_lost(fe);
	return NULL;
}

/*
 * The service thread needs a few KiB of stack; glibc's 8 MiB default can
 * cost a 2 MiB page on hosts whose transparent huge pages are "always".
 */
#define FE_THREAD_STACK_SIZE	(256u << 10)

static int fe_thread_start(struct vhost_fe *fe)
{
	pthread_attr_t attr;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return ret;
	ret = pthread_attr_setstacksize(&attr, FE_THREAD_STACK_SIZE);
	if (!ret)
		ret = pthread_create(&fe->thread, &attr, fe_thread, fe);
	pthread_attr_destroy(&attr);
	return ret;
}

/* ---- connect / negotiate ---- */

static void fe_log_negotiated(struct vhost_fe *fe)
{
	static const char *const names[] = {
		[VHOST_USER_PROTOCOL_F_MQ] = "MQ",
		[VHOST_USER_PROTOCOL_F_REPLY_ACK] = "REPLY_ACK",
		[VHOST_USER_PROTOCOL_F_BACKEND_REQ] = "BACKEND_REQ",
		[VHOST_USER_PROTOCOL_F_CONFIG] = "CONFIG",
		[VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
		[VHOST_USER_PROTOCOL_F_RESET_DEVICE] = "RESET_DEVICE",
		[VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
		[VHOST_USER_PROTOCOL_F_STATUS] = "STATUS",
		[VHOST_USER_PROTOCOL_F_SHMEM] = "SHMEM",
	};
	char buf[256] = "";
	size_t off = 0;

	for (unsigned int b = 0; b < sizeof(names) / sizeof(names[0]); b++)
		if (names[b] && fe_pf(fe, b) && off < sizeof(buf))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						" %s", names[b]);
	vlog_info(&fe->log,
		  "negotiated: device features 0x%llx, protocol features 0x%llx (%s ), queues %u, memory slots %llu, shmem regions %u",
		  (unsigned long long)vhost_fe_device_features(fe),
		  (unsigned long long)fe->protocol_features, buf,
		  fe->max_queues, (unsigned long long)fe->max_mem_slots,
		  fe->have_shm_config ? fe->shm_config.nregions : 0);
	for (unsigned int i = 0; fe->have_shm_config &&
	     i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (fe->shm_config.memory_sizes[i])
			vlog_info(&fe->log, "shmid %u: 0x%llx bytes", i,
				  (unsigned long long)fe->shm_config.memory_sizes[i]);
}

static int fe_setup_channel(struct vhost_fe *fe)
{
	struct vhost_msg m;
	int sv[2];
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	vhost_msg_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0, 0);
	m.fds[0] = sv[1];
	m.nfds = 1;
	ret = fe_rpc(fe, &m, NULL);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	fe->chan_sock = sv[0];
	return 0;
}

static int fe_negotiate(struct vhost_fe *fe)
{
	uint64_t pf = 0, want;
	int ret;

	ret = fe_get_u64(fe, VHOST_USER_GET_FEATURES, &fe->offered_features);
	if (ret)
		return ret;
	if (!(fe->offered_features & (1ull << VIRTIO_F_VERSION_1))) {
		vlog_err(&fe->log, "back-end does not offer VIRTIO_F_VERSION_1");
		return -EPROTO;
	}
	fe->protocol_features = 0;
	if (fe_uses_pf(fe)) {
		ret = fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
		if (ret)
			return ret;
		want = pf & fe->cfg.protocol_features;
		ret = fe_set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES, want);
		if (ret)
			return ret;
		fe->protocol_features = want;
	}
	fe->max_queues = 0;
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_MQ)) {
		uint64_t q;

		ret = fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &q);
		if (ret)
			return ret;
		fe->max_queues = q > VHOST_USER_MAX_QUEUES ?
				 VHOST_USER_MAX_QUEUES : (uint32_t)q;
	}
	fe->max_mem_slots = 0;
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		ret = fe_get_u64(fe, VHOST_USER_GET_MAX_MEM_SLOTS,
				 &fe->max_mem_slots);
		if (ret)
			return ret;
	}
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_BACKEND_REQ)) {
		ret = fe_setup_channel(fe);
		if (ret)
			return ret;
	}
	{
		struct vhost_msg m;

		vhost_msg_init(&m, VHOST_USER_SET_OWNER, 0, 0);
		ret = fe_rpc(fe, &m, NULL);
		if (ret)
			return ret;
	}
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_SHMEM)) {
		struct vhost_user_shmem_config c;

		ret = fe_get_shmem_config(fe, &c);
		if (ret)
			return ret;
		if (fe->have_shm_config &&
		    memcmp(&c, &fe->shm_config, sizeof(c))) {
			vlog_err(&fe->log,
				 "shared memory regions changed across reconnect");
			return -EPROTO;
		}
		fe->shm_config = c;
		fe->have_shm_config = true;
	}
	fe_log_negotiated(fe);
	return 0;
}

static void fe_close_connection(struct vhost_fe *fe)
{
	if (fe->thread_running) {
		uint64_t one = 1;

		__atomic_store_n(&fe->stopping, true, __ATOMIC_SEQ_CST);
		if (write(fe->stop_fd, &one, sizeof(one)) != sizeof(one))
			vlog_err(&fe->log, "cannot stop the service thread");
		if (fe->chan_sock >= 0)
			shutdown(fe->chan_sock, SHUT_RDWR);
		pthread_join(fe->thread, NULL);
		fe->thread_running = false;
		if (read(fe->stop_fd, &one, sizeof(one)) < 0)
			one = 0;
	}
	__atomic_store_n(&fe->connected, false, __ATOMIC_SEQ_CST);
	if (fe->chan_sock >= 0)
		close(fe->chan_sock);
	if (fe->sock >= 0)
		close(fe->sock);
	fe->chan_sock = -1;
	fe->sock = -1;
	fe->nmem_added = 0;
	__atomic_store_n(&fe->stopping, false, __ATOMIC_SEQ_CST);
}

static int fe_open_connection(struct vhost_fe *fe)
{
	int ret;

	ret = fe_connect_socket(fe);
	if (ret < 0) {
		vlog_err(&fe->log, "cannot connect to %s: %s", fe->path,
			 strerror(-ret));
		return ret;
	}
	fe->sock = ret;
	fe->generation++;
	__atomic_store_n(&fe->lost_reported, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fe->connected, true, __ATOMIC_SEQ_CST);
	ret = fe_negotiate(fe);
	if (ret)
		goto fail;
	fe->chan = (struct vhost_channel){
		.sock = fe->chan_sock,
		.reply_ack = fe_pf(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK),
		.owner = fe->generation,
		.shm = &fe->shm,
		.log = &fe->log,
		.config_changed = fe_chan_config_changed,
		.opaque = fe,
	};
	ret = -fe_thread_start(fe);
	if (ret)
		goto fail;
	fe->thread_running = true;
	return 0;
fail:
	fe_close_connection(fe);
	return ret;
}

int vhost_fe_create(const struct vhost_fe_config *cfg, struct vhost_fe **out)
{
	struct vhost_fe *fe;
	int ret;

	if (!cfg->socket_path)
		return -EINVAL;
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return -ENOMEM;
	fe->cfg = *cfg;
	if (!fe->cfg.connect_timeout_ms)
		fe->cfg.connect_timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	if (!fe->cfg.reply_timeout_ms)
		fe->cfg.reply_timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	if (!fe->cfg.protocol_features)
		fe->cfg.protocol_features = VHOST_FE_PROTOCOL_FEATURES;
	fe->sock = fe->chan_sock = -1;
	fe->path = strdup(cfg->socket_path);
	fe->name = strdup(cfg->name ? cfg->name : cfg->socket_path);
	fe->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!fe->path || !fe->name || fe->stop_fd < 0) {
		ret = fe->stop_fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	fe->log = (struct vhost_logger){ cfg->log, cfg->log_opaque, fe->name };
	fe->cfg.socket_path = fe->path;
	fe->cfg.name = fe->name;
	pthread_mutex_init(&fe->req_lock, NULL);
	vhost_shm_table_init(&fe->shm);
	ret = fe_open_connection(fe);
	if (ret) {
		vhost_fe_destroy(fe);
		return ret;
	}
	*out = fe;
	return 0;
fail:
	if (fe->stop_fd >= 0)
		close(fe->stop_fd);
	free(fe->path);
	free(fe->name);
	free(fe);
	return ret;
}

void vhost_fe_destroy(struct vhost_fe *fe)
{
	if (!fe)
		return;
	fe_close_connection(fe);
	vhost_shm_table_destroy(&fe->shm);
	pthread_mutex_destroy(&fe->req_lock);
	close(fe->stop_fd);
	free(fe->path);
	free(fe->name);
	free(fe);
}

int vhost_fe_reconnect(struct vhost_fe *fe)
{
	if (fe->thread_running && pthread_equal(pthread_self(), fe->thread))
		return -EDEADLK;
	fe_close_connection(fe);
	return fe_open_connection(fe);
}

bool vhost_fe_connected(struct vhost_fe *fe)
{
	return __atomic_load_n(&fe->connected, __ATOMIC_SEQ_CST);
}

uint64_t vhost_fe_device_features(const struct vhost_fe *fe)
{
	return fe->offered_features & ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

uint64_t vhost_fe_protocol_features(const struct vhost_fe *fe)
{
	return fe->protocol_features;
}

uint32_t vhost_fe_max_queues(const struct vhost_fe *fe)
{
	return fe->max_queues;
}

int vhost_fe_shmem_config(const struct vhost_fe *fe,
			  uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS])
{
	if (!fe->have_shm_config)
		return -EOPNOTSUPP;
	memcpy(sizes, fe->shm_config.memory_sizes,
	       sizeof(fe->shm_config.memory_sizes));
	return (int)fe->shm_config.nregions;
}

/* ---- shared memory regions ---- */

int vhost_fe_attach_region(struct vhost_fe *fe, uint8_t shmid,
			   struct shmem_region *r)
{
	int ret = 0;

	if (!r)
		return -EINVAL;
	/* With GET_SHMEM_CONFIG, only announced regions of the announced size. */
	if (fe->have_shm_config && !fe->shm_config.memory_sizes[shmid])
		return -ENOENT;
	if (fe->have_shm_config &&
	    fe->shm_config.memory_sizes[shmid] != shmem_region_size(r))
		return -EINVAL;
	pthread_mutex_lock(&fe->shm.lock);
	if (fe->shm.regions[shmid])
		ret = -EEXIST;
	else
		fe->shm.regions[shmid] = r;
	pthread_mutex_unlock(&fe->shm.lock);
	return ret;
}

struct shmem_region *vhost_fe_detach_region(struct vhost_fe *fe, uint8_t shmid)
{
	struct shmem_region *r;

	pthread_mutex_lock(&fe->shm.lock);
	r = fe->shm.regions[shmid];
	fe->shm.regions[shmid] = NULL;
	pthread_mutex_unlock(&fe->shm.lock);
	return r;
}

/* ---- device set-up ---- */

int vhost_fe_set_features(struct vhost_fe *fe, uint64_t features)
{
	features &= ~(1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	if (features & ~vhost_fe_device_features(fe))
		return -EINVAL;
	if (fe_uses_pf(fe))
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	return fe_set_u64(fe, VHOST_USER_SET_FEATURES, features);
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
		      const struct vhost_fe_mem_region *r)
{
	struct vhost_msg m;

	vhost_msg_init(&m, request, 0, sizeof(m.p.memreg));
	fe_region_wire(r, &m.p.memreg.region);
	if (request == VHOST_USER_ADD_MEM_REG) {
		m.fds[0] = r->fd;
		m.nfds = 1;
	}
	return fe_rpc(fe, &m, NULL);
}

static int fe_send_mem_table(struct vhost_fe *fe,
			     const struct vhost_fe_mem_region *regions,
			     unsigned int n)
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
	return fe_rpc(fe, &m, NULL);
}

static int fe_add_mem_regions(struct vhost_fe *fe,
			      const struct vhost_fe_mem_region *regions,
			      unsigned int n)
{
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) ||
	    n > fe->max_mem_slots)
		return -E2BIG;
	/* Remove what an earlier call added, then add the new table. */
	for (unsigned int i = 0; i < fe->nmem_added; i++) {
		ret = fe_mem_reg(fe, VHOST_USER_REM_MEM_REG, &fe->mem[i]);
		if (ret)
			return ret;
	}
	fe->nmem_added = 0;
	for (unsigned int i = 0; i < n; i++) {
		ret = fe_mem_reg(fe, VHOST_USER_ADD_MEM_REG, &regions[i]);
		if (ret)
			return ret;
		fe->nmem_added = i + 1;
	}
	return 0;
}

int vhost_fe_set_mem_table(struct vhost_fe *fe,
			   const struct vhost_fe_mem_region *regions,
			   unsigned int n)
{
	int ret;

	if (n > VHOST_FE_MAX_MEM_REGIONS)
		return -E2BIG;
	for (unsigned int i = 0; i < n; i++)
		if (!regions[i].size || regions[i].fd < 0 ||
		    regions[i].gpa + regions[i].size < regions[i].gpa)
			return -EINVAL;
	if (n <= VHOST_USER_MEM_REGIONS && !fe->nmem_added)
		ret = fe_send_mem_table(fe, regions, n);
	else
		ret = fe_add_mem_regions(fe, regions, n);
	if (ret)
		return ret;
	memcpy(fe->mem, regions, n * sizeof(*regions));
	fe->nmem = n;
	return 0;
}

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
		       unsigned int idx, int fd)
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
	return fe_rpc(fe, &m, NULL);
}

static int fe_vring_addr(struct vhost_fe *fe, unsigned int idx,
			 const struct vhost_fe_vring *v)
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
	if (ret) {
		vlog_err(&fe->log, "vring %u: addresses outside guest memory",
			 idx);
		return ret;
	}
	return fe_rpc(fe, &m, NULL);
}

int vhost_fe_vring_start(struct vhost_fe *fe, unsigned int idx,
			 const struct vhost_fe_vring *v)
{
	int ret;

	if (idx >= VHOST_USER_MAX_QUEUES || !v->num || v->num > 32768 ||
	    (v->num & (v->num - 1)) || v->kick_fd < 0)
		return -EINVAL;
	ret = fe_set_state(fe, VHOST_USER_SET_VRING_NUM, idx, v->num);
	if (!ret)
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_BASE, idx, v->base);
	if (!ret)
		ret = fe_vring_addr(fe, idx, v);
	if (!ret)
		ret = fe_vring_fd(fe, VHOST_USER_SET_VRING_CALL, idx, v->call_fd);
	if (!ret)
		ret = fe_vring_fd(fe, VHOST_USER_SET_VRING_KICK, idx, v->kick_fd);
	if (!ret && fe_uses_pf(fe))
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, 1);
	return ret;
}

int vhost_fe_vring_stop(struct vhost_fe *fe, unsigned int idx,
			uint32_t *last_avail)
{
	struct vhost_msg m, r;
	int ret;

	if (idx >= VHOST_USER_MAX_QUEUES)
		return -EINVAL;
	if (fe_uses_pf(fe)) {
		ret = fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, 0);
		if (ret)
			return ret;
	}
	vhost_msg_init(&m, VHOST_USER_GET_VRING_BASE, 0, sizeof(m.p.state));
	m.p.state.index = idx;
	ret = fe_rpc(fe, &m, &r);
	if (ret)
		return ret;
	if (r.p.state.index != idx) {
		vlog_err(&fe->log, "GET_VRING_BASE: reply for vring %u, not %u",
			 r.p.state.index, idx);
		return -EPROTO;
	}
	if (last_avail)
		*last_avail = r.p.state.num;
	return 0;
}

int vhost_fe_get_config(struct vhost_fe *fe, uint32_t offset, void *buf,
			uint32_t len)
{
	struct vhost_msg m, r;
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	vhost_msg_init(&m, VHOST_USER_GET_CONFIG, 0,
		       VHOST_USER_CONFIG_HDR_SIZE + len);
	m.p.config.offset = offset;
	m.p.config.size = len;
	ret = fe_rpc(fe, &m, &r);
	if (ret)
		return ret;
	if (r.hdr.size != VHOST_USER_CONFIG_HDR_SIZE + len ||
	    r.p.config.size != len || r.p.config.offset != offset) {
		vlog_err(&fe->log, "GET_CONFIG offset %u len %u: %s", offset,
			 len, r.hdr.size ? "reply does not match" :
			 "back-end refused");
		return -EIO;
	}
	memcpy(buf, r.p.config.payload, len);
	return 0;
}

int vhost_fe_set_config(struct vhost_fe *fe, uint32_t offset,
			const void *buf, uint32_t len)
{
	struct vhost_msg m;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIG))
		return -EOPNOTSUPP;
	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	vhost_msg_init(&m, VHOST_USER_SET_CONFIG, 0,
		       VHOST_USER_CONFIG_HDR_SIZE + len);
	m.p.config.offset = offset;
	m.p.config.size = len;
	memcpy(m.p.config.payload, buf, len);
	return fe_rpc(fe, &m, NULL);
}

int vhost_fe_set_status(struct vhost_fe *fe, uint8_t status)
{
	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_STATUS))
		return -EOPNOTSUPP;
	return fe_set_u64(fe, VHOST_USER_SET_STATUS, status);
}

int vhost_fe_get_status(struct vhost_fe *fe, uint8_t *status)
{
	uint64_t v;
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_STATUS))
		return -EOPNOTSUPP;
	ret = fe_get_u64(fe, VHOST_USER_GET_STATUS, &v);
	if (!ret)
		*status = (uint8_t)v;
	return ret;
}

int vhost_fe_reset(struct vhost_fe *fe)
{
	struct vhost_msg m;
	size_t dropped = 0;
	int ret;

	vhost_msg_init(&m, fe_pf(fe, VHOST_USER_PROTOCOL_F_RESET_DEVICE) ?
		       VHOST_USER_RESET_DEVICE : VHOST_USER_RESET_OWNER, 0, 0);
	ret = fe_rpc(fe, &m, NULL);
	pthread_mutex_lock(&fe->shm.lock);
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (fe->shm.regions[i])
			dropped += shmem_reset(fe->shm.regions[i]);
	pthread_mutex_unlock(&fe->shm.lock);
	vlog_info(&fe->log, "device reset: %zu mappings dropped%s", dropped,
		  ret ? " (back-end did not take the reset)" : "");
	return ret;
}

void vhost_fe_get_stats(struct vhost_fe *fe, struct vhost_fe_stats *st)
{
	st->maps = __atomic_load_n(&fe->chan.maps, __ATOMIC_RELAXED);
	st->unmaps = __atomic_load_n(&fe->chan.unmaps, __ATOMIC_RELAXED);
	st->refused = __atomic_load_n(&fe->chan.refused, __ATOMIC_RELAXED);
}
