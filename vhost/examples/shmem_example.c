/* SPDX-License-Identifier: MIT */
/*
 * vhost-user-shmem-example: a vhost-user back-end with VIRTIO Shared Memory
 * Regions, built on the vhost back-end library. Device type 63 (no Linux
 * driver claims it). Its queues echo: each chain's readable bytes are
 * copied into its writable buffers.
 *
 * A line-based control socket lets tests map memfds that hold a known
 * pattern, unmap them, check what the guest wrote, and send deliberately
 * malformed back-end requests. See docs/vhost-user.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost/backend.h"
#include "shmem_pattern.h"

#define EX_DEVICE_ID	63
#define EX_MAX_MAPS	1024
#define EX_LINE_MAX	512

struct ex_map {
	bool used;
	uint8_t shmid;
	uint64_t shm_offset;
	uint64_t len;
	int fd;
	uint8_t *mem;		/* our view of the memfd */
};

struct ex {
	const char *socket_path;
	const char *control_path;
	uint64_t shm_sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	unsigned int queues;
	bool bad_shmem_config;
	bool no_shmem;
	bool once;
	bool verbose;
	int listen_fd;
	int control_fd;
	int client_fd;
	char line[EX_LINE_MAX];
	size_t line_len;
	struct vhost_be *be;
	struct ex_map maps[EX_MAX_MAPS];
	bool quit;
	/* --map-at-start / --churn: mapping without a control client */
	unsigned int map_at_start;	/* pages to map as soon as accepted */
	unsigned int churn_ms;		/* then unmap or map a page this often */
	unsigned int auto_done;		/* pages of map_at_start mapped */
	bool config_sent;		/* GET_SHMEM_CONFIG answered */
	uint64_t churn_n;		/* churn steps taken */
	int64_t next_auto_ms;		/* when to take the next step */
};

static void ex_log(void *opaque, enum vhost_log_level level, const char *msg)
{
	struct ex *ex = opaque;

	if (level <= VHOST_LOG_WARN || ex->verbose)
		fprintf(stderr, "vhost-user-shmem-example: %s\n", msg);
}

static void ex_forget_maps(struct ex *ex)
{
	for (unsigned int i = 0; i < EX_MAX_MAPS; i++) {
		struct ex_map *m = &ex->maps[i];

		if (!m->used)
			continue;
		munmap(m->mem, m->len);
		close(m->fd);
		m->used = false;
	}
}

/* ---- device callbacks ---- */

static void ex_shmem_config(void *opaque, struct vhost_user_shmem_config *c)
{
	struct ex *ex = opaque;

	ex->config_sent = true;
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++) {
		c->memory_sizes[i] = ex->shm_sizes[i];
		c->nregions += ex->shm_sizes[i] != 0;
	}
	if (ex->bad_shmem_config) {
		/* A hostile answer: more regions than the protocol allows. */
		for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
			c->memory_sizes[i] = 1ull << 21;
		c->nregions = 300;
	}
}

static void ex_reset(void *opaque, struct vhost_be *be)
{
	/* The front-end drops every mapping on reset: so do we. */
	ex_forget_maps(opaque);
}

static int ex_get_config(void *opaque, uint32_t offset, void *buf,
			 uint32_t len)
{
	/* 8 bytes of config: "SHMEXMPL". */
	static const char cfg[8] = "SHMEXMPL";

	if (offset > sizeof(cfg) || len > sizeof(cfg) - offset)
		return -EINVAL;
	memcpy(buf, cfg + offset, len);
	return 0;
}

static const struct vhost_be_ops ex_ops = {
	.get_shmem_config = ex_shmem_config,
	.reset = ex_reset,
	.get_config = ex_get_config,
};

/* Echo queue: copy readable bytes into the writable buffers. */
static void ex_serve_queue(struct ex *ex, unsigned int q)
{
	struct vhost_be_elem e;
	int ret;

	vhost_be_vring_drain_kick(ex->be, q);
	while ((ret = vhost_be_vring_pop(ex->be, q, &e)) == 1) {
		uint32_t written = 0;
		unsigned int ri = 0, wi = 0;
		size_t roff = 0, woff = 0;

		while (ri < e.nrd && wi < e.nwr) {
			size_t n = e.rd[ri].iov_len - roff;

			if (n > e.wr[wi].iov_len - woff)
				n = e.wr[wi].iov_len - woff;
			memcpy((uint8_t *)e.wr[wi].iov_base + woff,
			       (uint8_t *)e.rd[ri].iov_base + roff, n);
			written += (uint32_t)n;
			roff += n;
			woff += n;
			if (roff == e.rd[ri].iov_len) {
				ri++;
				roff = 0;
			}
			if (woff == e.wr[wi].iov_len) {
				wi++;
				woff = 0;
			}
		}
		vhost_be_vring_push(ex->be, q, e.head, written);
	}
	if (ret < 0)
		fprintf(stderr, "vhost-user-shmem-example: queue %u: bad chain\n", q);
	vhost_be_vring_notify(ex->be, q);
}

/* ---- control commands ---- */

static void ex_reply(struct ex *ex, const char *fmt, ...)
{
	char buf[EX_LINE_MAX * 2 + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	/* A client that went away is noticed by the next read. */
	if (send(ex->client_fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static struct ex_map *ex_find(struct ex *ex, uint8_t shmid, uint64_t off)
{
	for (unsigned int i = 0; i < EX_MAX_MAPS; i++)
		if (ex->maps[i].used && ex->maps[i].shmid == shmid &&
		    ex->maps[i].shm_offset == off)
			return &ex->maps[i];
	return NULL;
}

static struct ex_map *ex_free_slot(struct ex *ex)
{
	for (unsigned int i = 0; i < EX_MAX_MAPS; i++)
		if (!ex->maps[i].used)
			return &ex->maps[i];
	return NULL;
}

static void ex_reply_result(struct ex *ex, int ret)
{
	if (!ret)
		ex_reply(ex, "ok");
	else if (ret == -EREMOTEIO)
		ex_reply(ex, "err refused by front-end");
	else
		ex_reply(ex, "err %s", strerror(-ret));
}

static int ex_make_memfd(uint64_t len, uint64_t seed, int *fdp, uint8_t **memp)
{
	int fd = memfd_create("vhost-user-shmem-example", MFD_CLOEXEC);
	uint8_t *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return -errno;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	shmem_pattern_fill(p, len, seed);
	*fdp = fd;
	*memp = p;
	return 0;
}

/*
 * The fd sent for a read-only map is opened read-only (a new open file
 * description of the same memfd, through /proc/self/fd), so a front-end
 * that ignored MAP_RW clear and mapped it writable would be refused by the
 * kernel instead of silently handing the guest write access.
 */
static int ex_read_only_fd(int fd)
{
	char path[64];
	int ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	return ro < 0 ? -errno : ro;
}

/* A new memfd of @len bytes holding pattern @seed, mapped at @off of @shmid. */
static int ex_map_one(struct ex *ex, uint8_t shmid, uint64_t off, uint64_t len,
		      uint64_t seed, bool rw)
{
	struct ex_map *m = ex_free_slot(ex);
	int ret, fd;

	if (!m)
		return -ENOSPC;
	ret = ex_make_memfd(len, seed, &m->fd, &m->mem);
	if (ret)
		return ret;
	fd = rw ? m->fd : ex_read_only_fd(m->fd);
	ret = fd < 0 ? fd :
	      vhost_be_shmem_map(ex->be, shmid, off, len, fd, 0,
				 rw ? VHOST_USER_FLAG_MAP_RW : 0);
	if (fd >= 0 && fd != m->fd)
		close(fd);
	if (ret) {
		munmap(m->mem, len);
		close(m->fd);
		return ret;
	}
	*m = (struct ex_map){ true, shmid, off, len, m->fd, m->mem };
	return 0;
}

static int ex_unmap_one(struct ex *ex, uint8_t shmid, uint64_t off,
			uint64_t len)
{
	int ret = vhost_be_shmem_unmap(ex->be, shmid, off, len);
	struct ex_map *m = ex_find(ex, shmid, off);

	if (!ret && m && m->len == len) {
		munmap(m->mem, m->len);
		close(m->fd);
		m->used = false;
	}
	return ret;
}

static void cmd_map(struct ex *ex, const char *args)
{
	unsigned int shmid;
	uint64_t off, len, seed;
	char mode[4];
	int ret;

	if (sscanf(args, "%u %" SCNi64 " %" SCNi64 " %" SCNi64 " %3s", &shmid,
		   &off, &len, &seed, mode) != 5 || shmid > 255 || !len ||
	    (strcmp(mode, "rw") && strcmp(mode, "ro")))
		return ex_reply(ex, "err usage: map SHMID SHM_OFFSET LEN SEED rw|ro");
	ret = ex_map_one(ex, (uint8_t)shmid, off, len, seed, !strcmp(mode, "rw"));
	if (ret == -ENOSPC)
		return ex_reply(ex, "err too many mappings");
	ex_reply_result(ex, ret);
}

static void cmd_unmap(struct ex *ex, const char *args)
{
	unsigned int shmid;
	uint64_t off, len;

	if (sscanf(args, "%u %" SCNi64 " %" SCNi64, &shmid, &off, &len) != 3 ||
	    shmid > 255)
		return ex_reply(ex, "err usage: unmap SHMID SHM_OFFSET LEN");
	ex_reply_result(ex, ex_unmap_one(ex, (uint8_t)shmid, off, len));
}

/* The mapping at (shmid, shm_offset) and a byte range in it. */
static struct ex_map *ex_range(struct ex *ex, const char *args, uint64_t *off,
			       uint64_t *len, uint64_t *seed)
{
	unsigned int shmid;
	uint64_t shm_off;
	struct ex_map *m;
	int n;

	n = sscanf(args, "%u %" SCNi64 " %" SCNi64 " %" SCNi64 " %" SCNi64,
		   &shmid, &shm_off, off, len, seed);
	if (n < (seed ? 5 : 4) || shmid > 255)
		return NULL;
	m = ex_find(ex, (uint8_t)shmid, shm_off);
	if (!m || *off > m->len || *len > m->len - *off)
		return NULL;
	return m;
}

static void cmd_check(struct ex *ex, const char *args)
{
	uint64_t off, len, seed, bad;
	struct ex_map *m = ex_range(ex, args, &off, &len, &seed);

	if (!m)
		return ex_reply(ex, "err usage: check SHMID SHM_OFFSET OFF LEN SEED (of a live mapping)");
	bad = shmem_pattern_check(m->mem + off, len, seed);
	if (bad)
		return ex_reply(ex, "err mismatch %" PRIu64 " bytes", bad);
	ex_reply(ex, "ok");
}

static void cmd_read(struct ex *ex, const char *args)
{
	char hex[EX_LINE_MAX];
	uint64_t off, len;
	struct ex_map *m = ex_range(ex, args, &off, &len, NULL);

	if (!m || len > (sizeof(hex) - 1) / 2)
		return ex_reply(ex, "err usage: read SHMID SHM_OFFSET OFF LEN (LEN <= 255)");
	for (uint64_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", m->mem[off + i]);
	hex[2 * len] = '\0';
	ex_reply(ex, "ok %s", hex);
}

static void cmd_memcheck(struct ex *ex, const char *args)
{
	uint64_t gpa, len, seed, bad;
	uint8_t *p;

	if (sscanf(args, "%" SCNi64 " %" SCNi64 " %" SCNi64, &gpa, &len,
		   &seed) != 3)
		return ex_reply(ex, "err usage: memcheck GPA LEN SEED");
	p = vhost_be_gpa_to_va(ex->be, gpa, len);
	if (!p)
		return ex_reply(ex, "err not in guest memory");
	bad = shmem_pattern_check(p, len, seed);
	if (bad)
		return ex_reply(ex, "err mismatch %" PRIu64 " bytes", bad);
	ex_reply(ex, "ok");
}

static unsigned int ex_first_shmid(struct ex *ex)
{
	for (unsigned int i = 0; i < VHOST_USER_MAX_SHMEM_REGIONS; i++)
		if (ex->shm_sizes[i])
			return i;
	return 0;
}

/*
 * The lowest page-aligned offset of region @shmid where @pages pages meet
 * none of our live mappings, or UINT64_MAX.
 */
static uint64_t ex_free_offset(struct ex *ex, unsigned int shmid,
			       uint64_t pages)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t size = ex->shm_sizes[shmid], len = pages * page;

	for (uint64_t off = 0; size >= len && off <= size - len; off += page) {
		bool clear = true;

		for (unsigned int i = 0; i < EX_MAX_MAPS && clear; i++) {
			const struct ex_map *m = &ex->maps[i];

			clear = !m->used || m->shmid != shmid ||
				m->shm_offset >= off + len ||
				m->shm_offset + m->len <= off;
		}
		if (clear)
			return off;
	}
	return UINT64_MAX;
}

/*
 * Build one malformed SHMEM_MAP / SHMEM_UNMAP and send it raw. Each kind
 * breaks one rule only: where a kind does not need an offset of its own,
 * it uses pages no live mapping touches, so no overlap can stand in for
 * the rule it is meant to hit.
 */
static void cmd_hostile(struct ex *ex, const char *args)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), reply = 0;
	uint32_t request = VHOST_USER_BACKEND_SHMEM_MAP;
	char kind[32];
	unsigned int shmid, nfds = 1;
	struct vhost_user_mmap mm;
	int fds[2] = { -1, -1 };
	uint8_t *mem;
	int ret, n;

	n = sscanf(args, "%31s %u", kind, &shmid);
	if (n < 1)
		return ex_reply(ex, "err usage: hostile KIND [SHMID]");
	if (n < 2)
		shmid = ex_first_shmid(ex);
	if (shmid > 255)
		return ex_reply(ex, "err bad shmid");
	memset(&mm, 0, sizeof(mm));
	mm.shmid = (uint8_t)shmid;
	mm.len = page;
	mm.flags = VHOST_USER_FLAG_MAP_RW;
	mm.shm_offset = ex_free_offset(ex, shmid, 2);
	if (mm.shm_offset == UINT64_MAX &&
	    strcmp(kind, "overflow") && strcmp(kind, "beyond") &&
	    strcmp(kind, "overlap"))
		return ex_reply(ex, "err no two free pages in shmid %u", shmid);
	if (!strcmp(kind, "unaligned")) {
		mm.shm_offset += page / 2;
	} else if (!strcmp(kind, "overflow")) {
		mm.shm_offset = UINT64_MAX - page + 1;
		mm.len = 2 * page;
	} else if (!strcmp(kind, "beyond")) {
		mm.shm_offset = ex->shm_sizes[shmid];
	} else if (!strcmp(kind, "unknown-shmid")) {
		mm.shmid = 255;
		while (mm.shmid && ex->shm_sizes[mm.shmid])
			mm.shmid--;
	} else if (!strcmp(kind, "overlap")) {
		struct ex_map *m = NULL;

		for (unsigned int i = 0; i < EX_MAX_MAPS && !m; i++)
			if (ex->maps[i].used && ex->maps[i].shmid == shmid)
				m = &ex->maps[i];
		if (!m)
			return ex_reply(ex, "err overlap needs a live mapping in shmid %u", shmid);
		mm.shm_offset = m->shm_offset;
	} else if (!strcmp(kind, "no-fd")) {
		nfds = 0;
	} else if (!strcmp(kind, "two-fds")) {
		nfds = 2;
	} else if (!strcmp(kind, "bad-flags")) {
		mm.flags = VHOST_USER_FLAG_MAP_RW | (1ull << 7);
	} else if (!strcmp(kind, "unmap-unknown")) {
		request = VHOST_USER_BACKEND_SHMEM_UNMAP;
		nfds = 0;
	} else {
		return ex_reply(ex, "err unknown kind (unaligned overflow beyond unknown-shmid overlap no-fd two-fds bad-flags unmap-unknown)");
	}
	ret = ex_make_memfd(2 * page, 1, &fds[0], &mem);
	if (ret)
		return ex_reply_result(ex, ret);
	munmap(mem, 2 * page);
	fds[1] = dup(fds[0]);
	ret = vhost_be_backend_request(ex->be, request, &mm, sizeof(mm), fds,
				       nfds, true, &reply);
	close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	if (ret)
		return ex_reply_result(ex, ret);
	ex_reply(ex, "reply %" PRIu64, reply);
}

static void cmd_status(struct ex *ex)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < EX_MAX_MAPS; i++)
		n += ex->maps[i].used;
	if (!ex->be)
		return ex_reply(ex, "ok connected=0");
	ex_reply(ex, "ok connected=1 channel=%d features=0x%" PRIx64
		 " protocol=0x%" PRIx64 " memregions=%u maps=%u", 
		 vhost_be_has_backend_channel(ex->be),
		 vhost_be_acked_features(ex->be),
		 vhost_be_protocol_features(ex->be),
		 vhost_be_mem_regions(ex->be), n);
}

static void ex_command(struct ex *ex, char *line)
{
	char *args = strchr(line, ' ');

	if (args)
		*args++ = '\0';
	else
		args = line + strlen(line);
	if (!strcmp(line, "status"))
		return cmd_status(ex);
	if (!strcmp(line, "quit")) {
		ex->quit = true;
		return ex_reply(ex, "ok");
	}
	if (!ex->be)
		return ex_reply(ex, "err no front-end connected");
	if (!strcmp(line, "map"))
		return cmd_map(ex, args);
	if (!strcmp(line, "unmap"))
		return cmd_unmap(ex, args);
	if (!strcmp(line, "check"))
		return cmd_check(ex, args);
	if (!strcmp(line, "read"))
		return cmd_read(ex, args);
	if (!strcmp(line, "memcheck"))
		return cmd_memcheck(ex, args);
	if (!strcmp(line, "hostile"))
		return cmd_hostile(ex, args);
	ex_reply(ex, "err unknown command");
}

static void ex_control_input(struct ex *ex)
{
	ssize_t n = read(ex->client_fd, ex->line + ex->line_len,
			 sizeof(ex->line) - 1 - ex->line_len);
	char *nl;

	if (n <= 0) {
		close(ex->client_fd);
		ex->client_fd = -1;
		ex->line_len = 0;
		return;
	}
	ex->line_len += (size_t)n;
	ex->line[ex->line_len] = '\0';
	while ((nl = strchr(ex->line, '\n'))) {
		*nl = '\0';
		if (nl > ex->line && nl[-1] == '\r')
			nl[-1] = '\0';
		ex_command(ex, ex->line);
		ex->line_len -= (size_t)(nl + 1 - ex->line);
		memmove(ex->line, nl + 1, ex->line_len + 1);
	}
	if (ex->line_len == sizeof(ex->line) - 1) {
		ex_reply(ex, "err line too long");
		ex->line_len = 0;
	}
}

/* ---- mapping on its own (--map-at-start, --churn) ---- */

static int64_t ex_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Only once GET_SHMEM_CONFIG is answered: vmm's front-end serves the
 * back-end channel from a thread it starts after negotiation, so a
 * SHMEM_MAP sent earlier (waiting for its ack) and the front-end waiting
 * for the ack of SET_OWNER would wait for each other until the front-end's
 * reply timeout.
 */
static bool ex_auto_pending(const struct ex *ex)
{
	return ex->be && ex->config_sent &&
	       (ex->auto_done < ex->map_at_start || ex->churn_ms);
}

static void ex_auto_log(struct ex *ex, const char *what, uint64_t off, int ret)
{
	struct timespec ts;

	if (!ex->verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "vhost-user-shmem-example: %lld.%06ld %s 0x%llx: %s\n",
		(long long)ts.tv_sec, ts.tv_nsec / 1000, what,
		(unsigned long long)off, ret ? strerror(-ret) : "ok");
}

/*
 * One step: map the next of the first map_at_start pages of the lowest
 * shmid (read-only and read-write by turns), retrying every 5 ms while
 * the front-end refuses (it has not attached the region yet); then, with
 * churn_ms, unmap or map again one page above them every churn_ms.
 */
static void ex_auto_step(struct ex *ex)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), off;
	uint8_t shmid = (uint8_t)ex_first_shmid(ex);
	int64_t now = ex_now_ms();
	struct ex_map *m;
	int ret;

	if (!ex_auto_pending(ex) || now < ex->next_auto_ms)
		return;
	if (ex->auto_done < ex->map_at_start) {
		off = ex->auto_done * page;
		ret = ex_map_one(ex, shmid, off, page, ex->auto_done + 1,
				 ex->auto_done % 2);
		ex_auto_log(ex, "map", off, ret);
		if (ret == -EREMOTEIO || ret == -ENOTCONN) {
			/* refused: the region is not attached yet */
			ex->next_auto_ms = now + 5;
		} else if (ret) {
			fprintf(stderr, "vhost-user-shmem-example: map at start: %s\n",
				strerror(-ret));
			ex->auto_done = ex->map_at_start;
			ex->churn_ms = 0;
		} else {
			ex->auto_done++;
		}
		return;
	}
	off = (ex->map_at_start + ex->churn_n / 2 % 16) * page;
	m = ex_find(ex, shmid, off);
	if (m) {
		ret = ex_unmap_one(ex, shmid, off, page);
		ex_auto_log(ex, "unmap", off, ret);
	} else {
		ret = ex_map_one(ex, shmid, off, page, ex->churn_n, true);
		ex_auto_log(ex, "map", off, ret);
	}
	ex->churn_n++;
	ex->next_auto_ms = now + ex->churn_ms;
}

/* ---- main loop ---- */

static void ex_drop_frontend(struct ex *ex)
{
	vhost_be_free(ex->be);
	ex->be = NULL;
	ex_forget_maps(ex);
	if (ex->once)
		ex->quit = true;
}

static int ex_accept_frontend(struct ex *ex)
{
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES,
		.num_queues = ex->queues,
		.shm_sizes = ex->shm_sizes,
		.ops = &ex_ops,
		.opaque = ex,
		.log = ex_log,
		.log_opaque = ex,
	};

	if (ex->no_shmem)
		cfg.protocol_features &= ~(1ull << VHOST_USER_PROTOCOL_F_SHMEM);
	return vhost_be_accept(ex->listen_fd, 0, &cfg, &ex->be);
}

static int ex_loop(struct ex *ex)
{
	while (!ex->quit) {
		struct pollfd p[4 + VHOST_BE_MAX_QUEUES];
		unsigned int n = 0, qbase;
		int timeout;

		p[n++] = (struct pollfd){ .fd = ex->be ? -1 : ex->listen_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = ex->be ? vhost_be_fd(ex->be) : -1, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = ex->client_fd < 0 ? ex->control_fd : -1, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = ex->client_fd, .events = POLLIN };
		qbase = n;
		for (unsigned int q = 0; q < ex->queues; q++)
			p[n++] = (struct pollfd){
				.fd = ex->be && vhost_be_vring_started(ex->be, q) ?
				      vhost_be_vring_kick_fd(ex->be, q) : -1,
				.events = POLLIN };
		timeout = -1;
		if (ex_auto_pending(ex)) {
			int64_t left = ex->next_auto_ms - ex_now_ms();

			timeout = left < 0 ? 0 : (int)left;
		}
		if (poll(p, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ex_auto_step(ex);
		if (p[0].revents && ex_accept_frontend(ex))
			fprintf(stderr, "vhost-user-shmem-example: accept failed\n");
		else if (p[0].revents) {
			ex->config_sent = false;
			ex->auto_done = 0;
			ex->churn_n = 0;
			ex->next_auto_ms = ex_now_ms();
		}
		if (p[1].revents && ex->be && vhost_be_dispatch(ex->be)) {
			ex_drop_frontend(ex);
			continue;
		}
		if (p[2].revents)
			ex->client_fd = accept4(ex->control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (p[3].revents && ex->client_fd >= 0)
			ex_control_input(ex);
		for (unsigned int q = 0; ex->be && q < ex->queues; q++)
			if (p[qbase + q].revents)
				ex_serve_queue(ex, q);
	}
	return 0;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_shm(struct ex *ex, const char *arg)
{
	char *colon;
	unsigned long id = strtoul(arg, &colon, 0);
	uint64_t size;

	if (*colon != ':' || id > 255 || parse_size(colon + 1, &size) || !size)
		return -EINVAL;
	ex->shm_sizes[id] = size;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vhost-user-shmem-example --socket PATH [options]\n"
"       vhost-user-shmem-example --send CONTROL_PATH COMMAND...\n"
"         (send one control command, print the answer; exit 0 if ok)\n"
"  --socket PATH        listen for the front-end at PATH\n"
"  --shm ID:SIZE        a shared memory region (repeatable; SIZE may end in K/M/G)\n"
"  --control PATH       line-based control socket (see docs/vhost-user.md)\n"
"  --queues N           number of virtqueues (default 1, at most %d)\n"
"  --bad-shmem-config   answer GET_SHMEM_CONFIG with 300 regions\n"
"  --no-shmem-config    do not offer PROTOCOL_F_SHMEM\n"
"  --once               exit when the front-end disconnects\n"
"  --map-at-start N     map N pages of the lowest shmid (ro, rw by turns) as\n"
"                       soon as the front-end takes them (from the answer to\n"
"                       GET_SHMEM_CONFIG on, retrying every 5 ms)\n"
"  --churn MS           then unmap or map one page above them every MS ms\n"
"  -v, --verbose        log every refused request and more\n"
"Virtio device id: %d.\n", VHOST_BE_MAX_QUEUES, EX_DEVICE_ID);
}

static int parse_args(struct ex *ex, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "shm", required_argument, NULL, 'm' },
		{ "control", required_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "bad-shmem-config", no_argument, NULL, 'B' },
		{ "no-shmem-config", no_argument, NULL, 'N' },
		{ "once", no_argument, NULL, 'o' },
		{ "map-at-start", required_argument, NULL, 'A' },
		{ "churn", required_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': ex->socket_path = optarg; break;
		case 'c': ex->control_path = optarg; break;
		case 'B': ex->bad_shmem_config = true; break;
		case 'N': ex->no_shmem = true; break;
		case 'o': ex->once = true; break;
		case 'A': ex->map_at_start = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'C': ex->churn_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'v': ex->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		case 'm':
			if (parse_shm(ex, optarg)) {
				fprintf(stderr, "vhost-user-shmem-example: bad --shm %s\n", optarg);
				return -1;
			}
			break;
		case 'q':
			ex->queues = (unsigned int)strtoul(optarg, NULL, 0);
			if (!ex->queues || ex->queues > VHOST_BE_MAX_QUEUES) {
				fprintf(stderr, "vhost-user-shmem-example: bad --queues %s\n", optarg);
				return -1;
			}
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!ex->socket_path || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/*
 * Client mode for shell scripts: send one command to a running instance's
 * control socket, print the answer, exit 0 for "ok"/"reply", 1 otherwise.
 */
static int send_command(const char *path, int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[EX_LINE_MAX], reply[EX_LINE_MAX * 2 + 64];
	size_t len = 0, got = 0;
	int fd;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s",
				 i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= sizeof(line) - len - 1)
			return 2;
		len += (size_t)n;
	}
	line[len++] = '\n';
	if (strlen(path) >= sizeof(a.sun_path))
		return 2;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "vhost-user-shmem-example: %s: %s\n", path,
			strerror(errno));
		return 2;
	}
	while (got + 1 < sizeof(reply)) {
		ssize_t n = read(fd, reply + got, 1);

		if (n <= 0 || reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	close(fd);
	printf("%s\n", reply);
	return strncmp(reply, "ok", 2) && strncmp(reply, "reply ", 6) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct ex ex = { .queues = 1, .control_fd = -1, .client_fd = -1 };
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && !strcmp(argv[1], "--send"))
		return send_command(argv[2], argc - 3, argv + 3);
	if (parse_args(&ex, argc, argv))
		return 1;
	ex.listen_fd = vhost_be_listen(ex.socket_path);
	if (ex.listen_fd < 0) {
		fprintf(stderr, "vhost-user-shmem-example: %s: %s\n",
			ex.socket_path, strerror(-ex.listen_fd));
		return 2;
	}
	if (ex.control_path) {
		ex.control_fd = vhost_be_listen(ex.control_path);
		if (ex.control_fd < 0) {
			fprintf(stderr, "vhost-user-shmem-example: %s: %s\n",
				ex.control_path, strerror(-ex.control_fd));
			return 2;
		}
	}
	ret = ex_loop(&ex);
	if (ex.be)
		ex_drop_frontend(&ex);
	unlink(ex.socket_path);
	if (ex.control_path)
		unlink(ex.control_path);
	return ret ? 2 : 0;
}
