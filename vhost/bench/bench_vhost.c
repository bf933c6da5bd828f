/* SPDX-License-Identifier: MIT */
/*
 * bench_vhost: the cost of one SHMEM_MAP + ack followed by one
 * SHMEM_UNMAP + ack, timed in a back-end process (our back-end library)
 * against our front-end (service thread + shmem region), compared with the
 * floor measured in the same run: the same two socket round trips, the
 * first carrying one fd, served by a bare thread that does nothing but the
 * two mmap calls. Blocks of both alternate so they share the machine's
 * noise. Prints median and p99 per pair and their ratio.
 *
 * usage: bench_vhost [PAIRS] [MAP_BYTES] [split|same]
 *   defaults 100000, 4096, split: back-end on CPU 0, front-end threads on
 *   CPU 1 (every hop crosses CPUs); same: all on CPU 0.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#include "shmem/shmem.h"
#include "vhost/backend.h"
#include "vhost/frontend.h"

#define BLOCK	100

static int fe_cpu;	/* CPU of the front-end's threads; the back-end's is 0 */

struct msg52 {
	struct vhost_user_hdr h;
	struct vhost_user_mmap mm;
} __attribute__((packed));

struct msg20 {
	struct vhost_user_hdr h;
	uint64_t v;
} __attribute__((packed));

/*
 * Pin the calling thread (and what it creates later) to @cpu, so the
 * back-end and both serving threads sit on the same CPUs in both runs.
 */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_vhost: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the floor: two round trips and two bare mmap calls ---- */

struct floor_peer {
	int sock;
	uint8_t *base;
};

static int recv_msg(int sock, void *buf, size_t len, int *fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	if (fd)
		*fd = -1;
	if (n != (ssize_t)len)
		return -1;
	if (c && c->cmsg_type == SCM_RIGHTS && fd)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static void *floor_thread(void *arg)
{
	struct floor_peer *p = arg;
	struct msg52 m;
	struct msg20 r = { .h = { VHOST_USER_BACKEND_SHMEM_MAP, 5, 8 } };
	int fd;

	while (!recv_msg(p->sock, &m, sizeof(m), &fd)) {
		if (m.h.request == VHOST_USER_BACKEND_SHMEM_MAP) {
			if (mmap(p->base + m.mm.shm_offset, m.mm.len,
				 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				 fd, 0) == MAP_FAILED)
				r.v = 1;
			close(fd);
		} else if (mmap(p->base + m.mm.shm_offset, m.mm.len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				MAP_NORESERVE, -1, 0) == MAP_FAILED) {
			r.v = 1;
		}
		r.h.request = m.h.request;
		if (send(p->sock, &r, sizeof(r), MSG_NOSIGNAL) != sizeof(r))
			break;
	}
	return NULL;
}

static void floor_send(int sock, uint32_t req, uint64_t len, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} ctl;
	struct msg52 m = { .h = { req, 1 | 8, 40 },
			   .mm = { .len = len, .flags = 1 } };
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct msg20 r;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != sizeof(m) ||
	    recv_msg(sock, &r, sizeof(r), NULL) || r.v)
		die("floor round trip", EPROTO);
}

static void errors_only(void *o, enum vhost_log_level l, const char *msg)
{
	if (l == VHOST_LOG_ERROR)
		fprintf(stderr, "bench_vhost: %s\n", msg);
}

/* ---- the back-end process ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void stats(uint64_t *v, size_t n, double *med, double *p99)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*med = v[n / 2] / 1000.0;
	*p99 = v[(n * 99) / 100] / 1000.0;
}

static void backend_main(int listen_fd, int go_fd, int floor_sock,
			 size_t pairs, uint64_t len)
{
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES,
		.num_queues = 1,
		.shm_sizes = (uint64_t[256]){ [0] = 64ull << 20 },
	};
	uint64_t *vh = calloc(pairs, sizeof(uint64_t));
	uint64_t *fl = calloc(pairs, sizeof(uint64_t));
	struct vhost_be *be;
	double m1, p1, m2, p2;
	int memfd, ret;

	if (!vh || !fl)
		die("calloc", ENOMEM);
	ret = vhost_be_accept(listen_fd, 10000, &cfg, &be);
	if (ret)
		die("accept", -ret);
	for (;;) {
		struct pollfd p[2] = { { vhost_be_fd(be), POLLIN, 0 },
				       { go_fd, POLLIN, 0 } };

		if (poll(p, 2, -1) < 0)
			die("poll", errno);
		if (p[1].revents)
			break;
		if (vhost_be_dispatch(be))
			die("dispatch", EPROTO);
	}
	memfd = memfd_create("bench", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)len))
		die("memfd", errno);

	for (size_t done = 0; done < pairs; done += BLOCK) {
		size_t end = done + BLOCK < pairs ? done + BLOCK : pairs;

		for (size_t i = done; i < end; i++) {
			uint64_t t0 = clock_now_ns();

			if (vhost_be_shmem_map(be, 0, 0, len, memfd, 0,
					       VHOST_USER_FLAG_MAP_RW) ||
			    vhost_be_shmem_unmap(be, 0, 0, len))
				die("map/unmap", EPROTO);
			vh[i] = clock_now_ns() - t0;
		}
		for (size_t i = done; i < end; i++) {
			uint64_t t0 = clock_now_ns();

			floor_send(floor_sock, VHOST_USER_BACKEND_SHMEM_MAP,
				   len, memfd);
			floor_send(floor_sock, VHOST_USER_BACKEND_SHMEM_UNMAP,
				   len, -1);
			fl[i] = clock_now_ns() - t0;
		}
	}
	stats(vh, pairs, &m1, &p1);
	stats(fl, pairs, &m2, &p2);
	printf("bench_vhost: %zu pairs of SHMEM_MAP+ack / SHMEM_UNMAP+ack, %llu-byte mapping, back-end on CPU 0, front-end on CPU %d\n",
	       pairs, (unsigned long long)len, fe_cpu);
	printf("| path | median per pair (us) | p99 per pair (us) |\n");
	printf("|---|---|---|\n");
	printf("| back-end -> front-end -> shmem | %.2f | %.2f |\n", m1, p1);
	printf("| floor: 2 round trips (1 fd) + 2 bare mmap | %.2f | %.2f |\n",
	       m2, p2);
	printf("| ratio | %.2fx | %.2fx |\n", m1 / m2, p1 / p2);
	vhost_be_free(be);
	exit(0);
}

int main(int argc, char **argv)
{
	size_t pairs = argc > 1 ? strtoull(argv[1], NULL, 0) : 100000;
	bool same = argc > 3 && !strcmp(argv[3], "same");
	uint64_t len = argc > 2 ? strtoull(argv[2], NULL, 0) : 4096;
	struct shmem_region_config rc = { .size = 64ull << 20, .name = "bench" };
	char path[] = "/tmp/bench_vhost-XXXXXX";
	char sock[64];
	struct vhost_fe_config fc = { .socket_path = sock, .log = errors_only };
	struct shmem_region *r;
	struct floor_peer peer;
	struct vhost_fe *fe;
	pthread_t th;
	int go[2], fsv[2], lfd, status, ret;
	pid_t pid;

	if (!pairs || !len || len % 4096 || len > rc.size)
		die("usage: bench_vhost [PAIRS] [MAP_BYTES] [split|same]", EINVAL);
	fe_cpu = !same && sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	if (!mkdtemp(path))
		die("mkdtemp", errno);
	snprintf(sock, sizeof(sock), "%s/s", path);
	lfd = vhost_be_listen(sock);
	if (lfd < 0)
		die("listen", -lfd);
	if (pipe(go) || socketpair(AF_UNIX, SOCK_STREAM, 0, fsv))
		die("pipe", errno);
	pid = fork();
	if (pid == 0) {
		close(fsv[1]);
		pin(0);
		backend_main(lfd, go[0], fsv[0], pairs, len);
	}
	/* Back-end on CPU 0, front-end threads on the last CPU. */
	pin(fe_cpu);
	close(fsv[0]);
	close(lfd);

	ret = shmem_region_create(&rc, &r, NULL, 0);
	if (ret)
		die("region", -ret);
	ret = vhost_fe_create(&fc, &fe, NULL, 0);
	if (ret)
		die("front-end", -ret);
	if (vhost_fe_attach_region(fe, 0, r))
		die("attach", EEXIST);
	/* The floor's peer maps into its own reservation of the same size. */
	peer.sock = fsv[1];
	peer.base = mmap(NULL, rc.size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (peer.base == MAP_FAILED)
		die("reserve", errno);
	pthread_create(&th, NULL, floor_thread, &peer);
	if (write(go[1], "g", 1) != 1)
		die("go", errno);
	waitpid(pid, &status, 0);
	shutdown(fsv[1], SHUT_RDWR);
	pthread_join(th, NULL);
	vhost_fe_destroy(fe);
	shmem_region_destroy(r);
	unlink(sock);
	rmdir(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
