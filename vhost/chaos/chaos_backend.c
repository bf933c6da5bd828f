// SPDX-License-Identifier: MIT
/*
 * vhost-user-chaos: a vhost-user back-end that misbehaves on purpose, for
 * tests and the chaos measurement (docs/testing.md). Not installed.
 *
 * It serves the front-end like any back-end built on the back-end library
 * (one queue, an 8-byte config space "CHAOSCFG" answered the way
 * libvhost-user back-ends answer it: from byte 0 whatever the offset, and
 * refused when longer than the device's config space) until it is armed,
 * then does what its mode says:
 *
 *   healthy            nothing: a well-behaved back-end, for comparisons
 *   never-accept       closes the connection, fills its listen queue and
 *                      never accepts again
 *   stop-reading       stays connected and never reads the socket again
 *   slow               answers every request after --delay-ms (4900)
 *   close-after-owner  closes the connection, and every later one right
 *                      after answering SET_OWNER
 *   fuse-fd            sends a SHMEM_MAP whose fd is a file on a FUSE
 *                      mount that never answers (needs root, /dev/fuse)
 *   flood              sends --count (1000000) bad requests on the
 *                      back-end channel, without asking for replies
 *
 * Armed by --arm: `start` (before the first connection), `owner` (once the
 * first SET_OWNER is answered) or `signal` (SIGUSR1). --status FILE is
 * rewritten after every event: "connections=N armed=0|1 sent=N result=S".
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vhost/backend.h"

#include "hungfs.h"

#define CHAOS_CONFIG		"CHAOSCFG"
#define CHAOS_CONFIG_SIZE	8

enum mode {
	M_HEALTHY, M_NEVER_ACCEPT, M_STOP_READING, M_SLOW, M_CLOSE_AFTER_OWNER,
	M_FUSE_FD, M_FLOOD,
};

static const char *const mode_names[] = {
	"healthy", "never-accept", "stop-reading", "slow", "close-after-owner",
	"fuse-fd", "flood",
};

enum arm { ARM_START, ARM_OWNER, ARM_SIGNAL };

struct chaos {
	enum mode mode;
	enum arm arm;
	const char *socket_path;
	const char *status_path;
	int delay_ms;
	unsigned long count;
	unsigned int queues;
	uint64_t shm_sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	bool have_shm;

	int lfd;
	bool accepting;
	int queue_filler;		/* never-accept: the connection in the queue */
	struct vhost_be *be;
	bool reading;
	bool armed;
	unsigned long connections;
	atomic_ulong sent;		/* flood */
	bool flooding;
	char result[128];
	struct hungfs *fs;
	int fs_fd;		/* closed only once the daemon is gone */
	char fs_dir[64];
};

static void status(struct chaos *c)
{
	char tmp[300];
	FILE *f;

	if (!c->status_path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->status_path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "connections=%lu armed=%d sent=%lu result=%s\n",
		c->connections, c->armed, atomic_load(&c->sent),
		c->result[0] ? c->result : "-");
	fclose(f);
	rename(tmp, c->status_path);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("chaos: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Like libvhost-user back-ends: offset ignored, too long refused. */
static int get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	(void)opaque;
	(void)off;
	if (len > CHAOS_CONFIG_SIZE)
		return -1;
	memcpy(buf, CHAOS_CONFIG, len);
	return 0;
}

static int set_config(void *opaque, uint32_t off, const void *buf,
		      uint32_t len)
{
	return 0;
}

static const struct vhost_be_ops chaos_ops = {
	.get_config = get_config,
	.set_config = set_config,
};

static void drop_connection(struct chaos *c)
{
	vhost_be_free(c->be);
	c->be = NULL;
}

/* ---- the misbehaviours ---- */

/* A slice of the flood, between two looks at the main socket. */
static void flood_some(struct chaos *c)
{
	struct vhost_user_mmap mm = { .len = 0x1000 };
	unsigned long i, sent = atomic_load(&c->sent);

	for (i = 0; i < 256 && sent < c->count; i++, sent++) {
		int ret;

		if (sent % 10 == 9) {
			ret = vhost_be_backend_request(c->be, 99, NULL, 0,
						       NULL, 0, false, NULL);
		} else {
			mm.shm_offset = 0x800 + (sent << 12);	/* unaligned */
			ret = vhost_be_backend_request(
				c->be, VHOST_USER_BACKEND_SHMEM_UNMAP, &mm,
				sizeof(mm), NULL, 0, false, NULL);
		}
		if (ret) {
			snprintf(c->result, sizeof(c->result), "send-%d", -ret);
			c->flooding = false;
			break;
		}
	}
	atomic_store(&c->sent, sent);
	if (sent >= c->count) {
		c->flooding = false;
		snprintf(c->result, sizeof(c->result), "flooded");
		status(c);
	}
}

static void send_fuse_fd(struct chaos *c)
{
	char why[200];
	int fd, ret;
	uint8_t shmid = 0;

	while (shmid < 255 && !c->shm_sizes[shmid])
		shmid++;
	snprintf(c->fs_dir, sizeof(c->fs_dir), "/tmp/vhost-chaos-fuse.XXXXXX");
	if (!mkdtemp(c->fs_dir) ||
	    hungfs_mount(c->fs_dir, 1 << 20, &c->fs, why, sizeof(why))) {
		say("fuse-fd: %s", why);
		snprintf(c->result, sizeof(c->result), "no-fuse");
		return;
	}
	fd = hungfs_open(c->fs);
	if (fd < 0) {
		snprintf(c->result, sizeof(c->result), "open-%d", -fd);
		return;
	}
	hungfs_hang(c->fs);
	say("fuse-fd: SHMEM_MAP of %s/f (the FUSE daemon hangs)", c->fs_dir);
	ret = vhost_be_shmem_map(c->be, shmid, 0, 4096, fd, 0,
				 VHOST_USER_FLAG_MAP_RW);
	/* A close() now would wait for FLUSH, which nobody answers. */
	c->fs_fd = fd;
	snprintf(c->result, sizeof(c->result), "%s",
		 ret == 0 ? "mapped" : ret == -EREMOTEIO ? "refused" :
		 ret == -ETIMEDOUT ? "no-reply" : strerror(-ret));
	say("fuse-fd: the front-end's answer: %s", c->result);
}

static void fill_queue(struct chaos *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->socket_path);
	c->accepting = false;
	c->queue_filler = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(c->queue_filler, (struct sockaddr *)&a, sizeof(a)))
		say("never-accept: cannot fill the queue: %s", strerror(errno));
}

static void arm(struct chaos *c)
{
	if (c->armed)
		return;
	c->armed = true;
	say("armed: %s", mode_names[c->mode]);
	switch (c->mode) {
	case M_NEVER_ACCEPT:
		if (c->be)
			drop_connection(c);
		fill_queue(c);
		break;
	case M_CLOSE_AFTER_OWNER:
		if (c->be)
			drop_connection(c);
		break;
	case M_STOP_READING:
		c->reading = false;
		break;
	case M_FUSE_FD:
		if (c->be)
			send_fuse_fd(c);
		break;
	case M_FLOOD:
		c->flooding = c->be != NULL;
		break;
	default:
		break;
	}
	status(c);
}

/* ---- the connection ---- */

static uint32_t peek_request(int fd)
{
	struct vhost_user_hdr h;

	if (recv(fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT) != sizeof(h))
		return 0;
	return h.request;
}

static void serve(struct chaos *c)
{
	uint32_t req = peek_request(vhost_be_fd(c->be));
	int ret;

	if (c->armed && c->mode == M_SLOW)
		usleep((useconds_t)c->delay_ms * 1000);
	ret = vhost_be_dispatch(c->be);
	if (ret) {
		say("connection %lu ended: %s", c->connections, strerror(-ret));
		drop_connection(c);
		if (c->mode == M_NEVER_ACCEPT && c->armed)
			fill_queue(c);
		return;
	}
	if (req != VHOST_USER_SET_OWNER)
		return;
	if (c->arm == ARM_OWNER)
		arm(c);
	if (c->armed && c->mode == M_CLOSE_AFTER_OWNER)
		drop_connection(c);
}

static void accept_one(struct chaos *c, const struct vhost_be_config *cfg)
{
	int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (c->be)
		drop_connection(c);
	if (vhost_be_new(fd, cfg, &c->be))
		return;
	/* Armed, a back-end that stopped reading stops on every connection. */
	c->reading = !(c->armed && c->mode == M_STOP_READING);
	c->connections++;
	status(c);
}

static int run(struct chaos *c)
{
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES &
				     ~(1ull << VHOST_USER_PROTOCOL_F_STATUS),
		.num_queues = c->queues,
		.shm_sizes = c->have_shm ? c->shm_sizes : NULL,
		.ops = &chaos_ops,
		.opaque = c,
	};
	sigset_t sigs;
	int sfd;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	c->lfd = vhost_be_listen(c->socket_path);
	if (c->lfd < 0 || sfd < 0) {
		say("cannot listen at %s: %s", c->socket_path,
		    strerror(c->lfd < 0 ? -c->lfd : errno));
		return 1;
	}
	/* A queue of one: never-accept fills it with a single connection. */
	listen(c->lfd, 0);
	c->accepting = true;
	if (c->arm == ARM_START)
		arm(c);
	status(c);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = c->accepting ? c->lfd : -1, .events = POLLIN },
			{ .fd = c->be && c->reading ? vhost_be_fd(c->be) : -1,
			  .events = POLLIN },
		};

		if (poll(p, 3, c->flooding && c->be ? 0 : -1) < 0)
			continue;
		if (c->flooding && c->be)
			flood_some(c);
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo != SIGUSR1)
				break;
			arm(c);
			continue;
		}
		if (p[1].revents)
			accept_one(c, &cfg);
		if (p[2].revents && c->be)
			serve(c);
	}
	if (c->be)
		drop_connection(c);
	hungfs_destroy(c->fs);	/* ends every request still waiting */
	if (c->fs_fd >= 0)
		close(c->fs_fd);
	if (c->fs)
		rmdir(c->fs_dir);
	unlink(c->socket_path);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: vhost-user-chaos --socket PATH --mode MODE [options]\n"
	      "  --mode MODE      healthy, never-accept, stop-reading, slow,\n"
	      "                   close-after-owner, fuse-fd, flood\n"
	      "  --arm WHEN       start, owner (default) or signal (SIGUSR1)\n"
	      "  --delay-ms N     slow: per request (default 4900)\n"
	      "  --count N        flood: requests (default 1000000)\n"
	      "  --shm ID:SIZE    a shared memory region (bytes)\n"
	      "  --queues N       virtqueues (default 1)\n"
	      "  --status FILE    state, rewritten after every event\n", f);
}

static int parse_mode(const char *s, enum mode *m)
{
	for (unsigned int i = 0; i < sizeof(mode_names) / sizeof(*mode_names); i++)
		if (!strcmp(s, mode_names[i])) {
			*m = (enum mode)i;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "arm", required_argument, NULL, 'a' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "shm", required_argument, NULL, 'S' },
		{ "queues", required_argument, NULL, 'q' },
		{ "status", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct chaos c = { .arm = ARM_OWNER, .delay_ms = 4900,
			   .count = 1000000, .queues = 1, .queue_filler = -1,
			   .fs_fd = -1 };
	unsigned int id;
	unsigned long long size;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': c.socket_path = optarg; break;
		case 'm':
			if (parse_mode(optarg, &c.mode))
				goto bad;
			break;
		case 'a':
			if (!strcmp(optarg, "start"))
				c.arm = ARM_START;
			else if (!strcmp(optarg, "owner"))
				c.arm = ARM_OWNER;
			else if (!strcmp(optarg, "signal"))
				c.arm = ARM_SIGNAL;
			else
				goto bad;
			break;
		case 'd': c.delay_ms = atoi(optarg); break;
		case 'c': c.count = strtoul(optarg, NULL, 0); break;
		case 'q': c.queues = (unsigned int)atoi(optarg); break;
		case 't': c.status_path = optarg; break;
		case 'S':
			if (sscanf(optarg, "%u:%llu", &id, &size) != 2 ||
			    id > 255)
				goto bad;
			c.shm_sizes[id] = size;
			c.have_shm = true;
			break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (!c.socket_path || !c.queues || c.queues > VHOST_BE_MAX_QUEUES)
		goto bad;
	setvbuf(stderr, NULL, _IOLBF, 0);
	return run(&c);
bad:
	usage(stderr);
	return 2;
}
