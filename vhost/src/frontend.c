/* SPDX-License-Identifier: MIT */
/*
 * vhost-user front-end: the connection, its negotiation, reconnection and
 * the table of shared memory regions the back-end may map into. Requests
 * are in frontend_requests.c, the service thread in frontend_worker.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/page.h"
#include "common/why.h"
#include "shmem/shmem.h"

#include "frontend_priv.h"

/* ---- the connection ---- */

static const char *connect_error(int err)
{
	if (err == EAGAIN)
		return "the back-end does not accept connections (its listen queue is full)";
	return strerror(err);
}

/* One non-blocking attempt: the connected fd, or -errno. */
static int fe_try_connect(const struct sockaddr_un *addr,
			  const struct vhost_wait *w)
{
	socklen_t len = sizeof(int);
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (!connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		return fd;
	err = errno;
	if (err == EINPROGRESS) {
		err = -vhost_wait_fd(fd, POLLOUT, w);
		if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (!err)
			return fd;
	}
	close(fd);
	return -err;
}

/*
 * Connect within connect_timeout_ms, retrying while the socket is absent,
 * refused or its listen queue full (a blocking connect() would wait there
 * for ever); a signal or a cancel ends nothing but the current try.
 */
static int fe_connect_socket(struct vhost_fe *fe, char *why, size_t whylen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vhost_wait w = fe_wait(fe, fe->cfg.connect_timeout_ms);
	int fd, err;

	if (strlen(fe->path) >= sizeof(addr.sun_path))
		return why_fail(why, whylen, -ENAMETOOLONG,
				"socket path %s is too long", fe->path);
	strcpy(addr.sun_path, fe->path);
	for (;;) {
		struct vhost_wait pause = w;

		fd = fe_try_connect(&addr, &w);
		if (fd >= 0)
			return fd;
		err = -fd;
		if (err == ECANCELED)
			return why_fail(why, whylen, -ECANCELED,
					"cannot connect to %s: cancelled",
					fe->path);
		if (err != ENOENT && err != ECONNREFUSED && err != EAGAIN &&
		    err != EINTR && err != ETIMEDOUT)
			return why_fail(why, whylen, -err,
					"cannot connect to %s: %s", fe->path,
					connect_error(err));
		/* 10 ms between tries, ended early by a cancel. */
		pause.deadline_ms = vhost_deadline_in(10);
		if (w.deadline_ms >= 0 && w.deadline_ms < pause.deadline_ms)
			pause.deadline_ms = w.deadline_ms;
		if (vhost_wait_fd(-1, 0, &pause) == -ECANCELED)
			return why_fail(why, whylen, -ECANCELED,
					"cannot connect to %s: cancelled",
					fe->path);
		if (w.deadline_ms >= 0 && clock_now_ms() >= w.deadline_ms)
			return why_fail(why, whylen, -ETIMEDOUT,
					"cannot connect to %s: %s", fe->path,
					err == ETIMEDOUT ? strerror(ETIMEDOUT) :
					connect_error(err));
	}
}

/* ---- GET_SHMEM_CONFIG ---- */

int vhost_fe_check_shmem_config(const struct vhost_user_shmem_config *c,
				char *why, size_t whylen)
{
	uint64_t page = host_page_size();
	uint32_t used = 0;

	if (c->nregions > VHOST_USER_MAX_SHMEM_REGIONS)
		return why_fail(why, whylen, -EPROTO,
				"GET_SHMEM_CONFIG refused (nregions %u): more than 256 regions",
				c->nregions);
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++) {
		uint64_t s = c->memory_sizes[i];

		if (!s)
			continue;
		used++;
		if (s % page)
			return why_fail(why, whylen, -EPROTO,
					"GET_SHMEM_CONFIG refused (shmid %u): size 0x%llx is not a multiple of the page size",
					i, (unsigned long long)s);
		if (s > SHMEM_REGION_MAX_SIZE)
			return why_fail(why, whylen, -EPROTO,
					"GET_SHMEM_CONFIG refused (shmid %u): size 0x%llx is larger than 1 TiB",
					i, (unsigned long long)s);
	}
	if (used != c->nregions)
		return why_fail(why, whylen, -EPROTO,
				"GET_SHMEM_CONFIG refused (nregions %u): %u sizes are non-zero",
				c->nregions, used);
	return 0;
}

static int fe_get_shmem_config(struct vhost_fe *fe,
			       struct vhost_user_shmem_config *out,
			       char *why, size_t whylen)
{
	struct vhost_msg m, r;
	int ret;

	vhost_msg_init(&m, VHOST_USER_GET_SHMEM_CONFIG, 0, 0);
	ret = fe_rpc(fe, &m, &r, why, whylen);
	if (!ret)
		ret = vhost_fe_check_shmem_config(&r.p.shmem, why, whylen);
	if (!ret)
		*out = r.p.shmem;
	return ret;
}

/* ---- negotiation ---- */

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

static int fe_setup_channel(struct vhost_fe *fe, char *why, size_t whylen)
{
	struct vhost_msg m;
	int sv[2];
	int ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return why_fail(why, whylen, -errno, "socketpair: %s",
				strerror(errno));
	vhost_msg_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0, 0);
	m.fds[0] = sv[1];
	m.nfds = 1;
	ret = fe_rpc(fe, &m, NULL, why, whylen);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	fe->chan_sock = sv[0];
	return 0;
}

static int fe_negotiate_features(struct vhost_fe *fe, char *why,
				 size_t whylen)
{
	uint64_t pf = 0, want;
	int ret;

	ret = fe_get_u64(fe, VHOST_USER_GET_FEATURES, &fe->offered_features,
			 why, whylen);
	if (ret)
		return ret;
	if (!(fe->offered_features & (1ull << VIRTIO_F_VERSION_1)))
		return why_fail(why, whylen, -EPROTO,
				"the back-end does not offer VIRTIO_F_VERSION_1");
	fe->protocol_features = 0;
	if (!fe_uses_pf(fe))
		return 0;
	ret = fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &pf, why,
			 whylen);
	if (ret)
		return ret;
	want = pf & fe->cfg.protocol_features;
	ret = fe_set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES, want, why,
			 whylen);
	if (!ret)
		fe->protocol_features = want;
	return ret;
}

static int fe_negotiate_limits(struct vhost_fe *fe, char *why, size_t whylen)
{
	uint64_t q;
	int ret;

	fe->max_queues = 0;
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_MQ)) {
		ret = fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &q, why, whylen);
		if (ret)
			return ret;
		fe->max_queues = q > VHOST_USER_MAX_QUEUES ?
				 VHOST_USER_MAX_QUEUES : (uint32_t)q;
	}
	fe->max_mem_slots = 0;
	if (fe_pf(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))
		return fe_get_u64(fe, VHOST_USER_GET_MAX_MEM_SLOTS,
				  &fe->max_mem_slots, why, whylen);
	return 0;
}

static int fe_negotiate_shmem(struct vhost_fe *fe, char *why, size_t whylen)
{
	struct vhost_user_shmem_config c;
	int ret;

	if (!fe_pf(fe, VHOST_USER_PROTOCOL_F_SHMEM))
		return 0;
	ret = fe_get_shmem_config(fe, &c, why, whylen);
	if (ret)
		return ret;
	if (fe->have_shm_config && memcmp(&c, &fe->shm_config, sizeof(c)))
		return why_fail(why, whylen, -EPROTO,
				"the shared memory regions changed across a reconnect");
	fe->shm_config = c;
	fe->have_shm_config = true;
	return 0;
}

static int fe_negotiate(struct vhost_fe *fe, char *why, size_t whylen)
{
	struct vhost_msg m;
	int ret;

	ret = fe_negotiate_features(fe, why, whylen);
	if (!ret)
		ret = fe_negotiate_limits(fe, why, whylen);
	if (!ret && fe_pf(fe, VHOST_USER_PROTOCOL_F_BACKEND_REQ))
		ret = fe_setup_channel(fe, why, whylen);
	if (!ret) {
		vhost_msg_init(&m, VHOST_USER_SET_OWNER, 0, 0);
		ret = fe_rpc(fe, &m, NULL, why, whylen);
	}
	if (!ret)
		ret = fe_negotiate_shmem(fe, why, whylen);
	if (!ret)
		fe_log_negotiated(fe);
	return ret;
}

static void fe_close_connection(struct vhost_fe *fe)
{
	if (fe->thread_running) {
		fe_worker_stop(fe);
		fe->thread_running = false;
	}
	__atomic_store_n(&fe->connected, false, __ATOMIC_SEQ_CST);
	if (fe->chan_sock >= 0)
		close(fe->chan_sock);
	if (fe->sock >= 0)
		close(fe->sock);
	fe->chan_sock = -1;
	fe->sock = -1;
	fe->nmem_added = 0;
	/* After vhost_fe_cancel() nothing is reported any more. */
	__atomic_store_n(&fe->stopping,
			 __atomic_load_n(&fe->cancelled, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
}

/* Who listens on the other end of @sock (as the listener was at listen()). */
static pid_t peer_pid(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    len != sizeof(cred) || cred.pid <= 0)
		return 0;
	return cred.pid;
}

static int fe_open_connection(struct vhost_fe *fe, char *why, size_t whylen)
{
	int ret;

	ret = fe_connect_socket(fe, why, whylen);
	if (ret < 0)
		return ret;
	fe->sock = ret;
	fe->generation++;
	fe->peer = peer_pid(ret);
	pthread_mutex_lock(&fe->lost_lock);
	fe->lost_why[0] = '\0';
	pthread_mutex_unlock(&fe->lost_lock);
	__atomic_store_n(&fe->lost_reported, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fe->connected, true, __ATOMIC_SEQ_CST);
	/* Negotiation as a whole gets one reply timeout. */
	fe->nego_deadline_ms = vhost_deadline_in(fe->cfg.reply_timeout_ms);
	ret = fe_negotiate(fe, why, whylen);
	fe->nego_deadline_ms = -1;
	if (!ret) {
		ret = fe_worker_start(fe);
		if (ret)
			why_fail(why, whylen, ret,
				 "cannot start the service thread: %s",
				 strerror(-ret));
	}
	if (ret) {
		fe_close_connection(fe);
		return ret;
	}
	fe->thread_running = true;
	return 0;
}

/* ---- lifecycle ---- */

static int fe_alloc(const struct vhost_fe_config *cfg, struct vhost_fe **out,
		    char *why, size_t whylen)
{
	struct vhost_fe *fe;

	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return why_fail(why, whylen, -ENOMEM, "out of memory");
	fe->cfg = *cfg;
	if (!fe->cfg.connect_timeout_ms)
		fe->cfg.connect_timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	if (!fe->cfg.reply_timeout_ms)
		fe->cfg.reply_timeout_ms = FE_DEFAULT_TIMEOUT_MS;
	if (!fe->cfg.protocol_features)
		fe->cfg.protocol_features = VHOST_FE_PROTOCOL_FEATURES;
	fe->sock = fe->chan_sock = -1;
	fe->nego_deadline_ms = -1;
	fe->path = strdup(cfg->socket_path);
	fe->name = strdup(cfg->name ? cfg->name : cfg->socket_path);
	fe->stop_fd = eventfd(0, EFD_CLOEXEC);
	fe->cancel_fd = eventfd(0, EFD_CLOEXEC);
	if (!fe->path || !fe->name || fe->stop_fd < 0 || fe->cancel_fd < 0) {
		int ret = fe->stop_fd < 0 || fe->cancel_fd < 0 ? -errno : -ENOMEM;

		if (fe->stop_fd >= 0)
			close(fe->stop_fd);
		if (fe->cancel_fd >= 0)
			close(fe->cancel_fd);
		free(fe->path);
		free(fe->name);
		free(fe);
		return why_fail(why, whylen, ret, "%s", strerror(-ret));
	}
	fe->log = (struct vhost_logger){ cfg->log, cfg->log_opaque, fe->name };
	fe->cfg.socket_path = fe->path;
	fe->cfg.name = fe->name;
	pthread_mutex_init(&fe->req_lock, NULL);
	pthread_mutex_init(&fe->lost_lock, NULL);
	vhost_shm_table_init(&fe->shm);
	vhost_fd_reaper_init(&fe->reaper);
	*out = fe;
	return 0;
}

int vhost_fe_create(const struct vhost_fe_config *cfg, struct vhost_fe **out,
		    char *why, size_t whylen)
{
	struct vhost_fe *fe = NULL;
	int ret;

	if (!cfg || !cfg->socket_path || !out)
		return why_fail(why, whylen, -EINVAL, "no socket path");
	ret = fe_alloc(cfg, &fe, why, whylen);
	if (ret)
		return ret;
	ret = fe_open_connection(fe, why, whylen);
	if (ret) {
		vhost_fe_destroy(fe);
		return ret;
	}
	*out = fe;
	return 0;
}

void vhost_fe_destroy(struct vhost_fe *fe)
{
	if (!fe)
		return;
	fe_close_connection(fe);
	vhost_shm_table_destroy(&fe->shm);
	vhost_fd_reaper_destroy(&fe->reaper);
	pthread_mutex_destroy(&fe->lost_lock);
	pthread_mutex_destroy(&fe->req_lock);
	close(fe->stop_fd);
	close(fe->cancel_fd);
	free(fe->path);
	free(fe->name);
	free(fe);
}

int vhost_fe_reconnect(struct vhost_fe *fe, char *why, size_t whylen)
{
	if (fe->thread_running && pthread_equal(pthread_self(), fe->thread))
		return why_fail(why, whylen, -EDEADLK,
				"reconnect from the service thread");
	if (__atomic_load_n(&fe->cancelled, __ATOMIC_SEQ_CST))
		return why_fail(why, whylen, -ECANCELED, "reconnect: cancelled");
	fe_close_connection(fe);
	return fe_open_connection(fe, why, whylen);
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
