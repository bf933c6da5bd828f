/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the front-end's back-end channel handler: random
 * byte streams, split into writes that carry random fd combinations, some
 * chunks shaped as plausible SHMEM_MAP / SHMEM_UNMAP requests so the
 * shmem paths are reached. After each input:
 *   - no crash (sanitizers),
 *   - no fd left open (/proc/self/fd count back to the baseline),
 *   - no mapping of a fuzzer memfd outside a region's reservation
 *     (/proc/self/maps), and the region's table stays inside the region.
 *
 * scripts/fuzz.sh fails unless the corpus reaches these functions:
 * fuzz-reach: vhost_channel_serve_one channel_map channel_unmap channel_reply channel_refused shmem_map place shmem_unmap
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shmem/shmem.h"

#include "channel.h"
#include "wire.h"
#include "fuzz_input.h"

#define NREG 2
static const uint8_t reg_shmid[NREG] = { 0, 2 };
static const uint64_t reg_pages[NREG] = { 16, 64 };

static struct shmem_region *regions[NREG];
static struct vhost_shm_table table;
static struct vhost_logger logger;
static int files[3];		/* memfd rw, memfd small, eventfd */
static uint64_t page;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_vhost_backend_channel: %s:%d: %s\n",\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static void quiet_shmem(void *o, enum shmem_log_level l, const char *m)
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

static void init_once(void)
{
	page = (uint64_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < NREG; i++) {
		struct shmem_region_config rc = {
			.size = reg_pages[i] * page, .shmid = reg_shmid[i],
			.log = quiet_shmem,
		};

		CHECK(shmem_region_create(&rc, &regions[i], NULL, 0) == 0);
	}
	vhost_shm_table_init(&table);
	for (int i = 0; i < NREG; i++)
		table.regions[reg_shmid[i]] = regions[i];
	logger = (struct vhost_logger){ quiet, NULL, NULL };
	files[0] = memfd_create("fuzz-vhost-big", MFD_CLOEXEC);
	files[1] = memfd_create("fuzz-vhost-small", MFD_CLOEXEC);
	files[2] = eventfd(0, EFD_CLOEXEC);
	CHECK(files[0] >= 0 && files[1] >= 0 && files[2] >= 0);
	CHECK(ftruncate(files[0], (off_t)(32 * page)) == 0);
	CHECK(ftruncate(files[1], (off_t)page) == 0);
}

/* A small page-multiple or, rarely, a raw value. */
static uint64_t take_offset(struct input *in)
{
	uint8_t sel = take(in);

	if (sel < 200)
		return (uint64_t)(sel % 72) * page;
	if (sel < 230)
		return (uint64_t)(sel % 72) * page + (take(in) & 0xfff);
	return take_u64(in);
}

static bool send_chunk(int sock, const void *buf, size_t len, uint8_t fdsel)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned int nfds = fdsel & 3;

	if (!len)
		return true;
	if (nfds == 3 && !(fdsel & 4))
		nfds = 1;
	if (nfds) {
		struct cmsghdr *c;
		int fds[3];

		for (unsigned int i = 0; i < nfds; i++)
			fds[i] = files[((fdsel >> (3 + 2 * i)) & 3) % 3];
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

/* A plausible request: header + VhostUserMMap built from the input. */
static size_t build_request(struct input *in, uint8_t *buf)
{
	static const uint32_t reqs[] = {
		VHOST_USER_BACKEND_SHMEM_MAP, VHOST_USER_BACKEND_SHMEM_UNMAP,
		VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 1, 3, 11, 0xffffffff,
	};
	static const uint8_t shmids[] = { 0, 2, 1, 255 };
	uint8_t sel = take(in);
	struct vhost_user_hdr h = {
		.request = reqs[(sel & 7) % 7],
		.flags = VHOST_USER_VERSION |
			 (sel & 8 ? VHOST_USER_NEED_REPLY_MASK : 0),
		.size = sizeof(struct vhost_user_mmap),
	};
	struct vhost_user_mmap mm = {
		.shmid = shmids[(sel >> 4) & 3],
		.shm_offset = take_offset(in),
		.len = take_offset(in),
		.fd_offset = take_offset(in),
		.flags = sel & 64 ? take_u64(in) : (sel >> 7),
	};

	if (h.request == VHOST_USER_BACKEND_CONFIG_CHANGE_MSG)
		h.size = 0;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &mm, h.size);
	return sizeof(h) + h.size;
}

static int check_mapping(void *arg, const struct shmem_mapping_info *m)
{
	uint64_t size = *(uint64_t *)arg;

	CHECK(m->len && m->shm_offset < size && m->len <= size - m->shm_offset);
	CHECK(m->shm_offset % page == 0 && m->len % page == 0);
	return 0;
}

/* Every mapping of a fuzzer memfd lies inside a region. */
static void check_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		bool inside = false;

		if (!strstr(line, "fuzz-vhost-"))
			continue;
		CHECK(sscanf(line, "%lx-%lx", &lo, &hi) == 2);
		for (int i = 0; i < NREG; i++) {
			uintptr_t b = (uintptr_t)shmem_region_hva(regions[i]);

			inside |= lo >= b && hi <= b + reg_pages[i] * page;
		}
		if (!inside)
			fprintf(stderr, "mapping outside a region: %s", line);
		CHECK(inside);
	}
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct input in = { data, size };
	struct vhost_channel ch;
	uint8_t buf[4096];
	size_t fds_before;
	int sv[2];

	if (!ready) {
		init_once();
		ready = true;
	}
	fds_before = fd_count();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ch = (struct vhost_channel){ .sock = sv[1], .owner = 1,
		.reply_ack = take(&in) & 1, .shm = &table, .log = &logger };

	while (in.left) {
		uint8_t ctl = take(&in), fdsel = take(&in);
		size_t len;

		if (ctl & 0x80) {
			len = build_request(&in, buf);
		} else {
			len = ctl < in.left ? ctl : in.left;
			memcpy(buf, in.p, len);
			in.p += len;
			in.left -= len;
		}
		if (!send_chunk(sv[0], buf, len, fdsel))
			break;
	}
	shutdown(sv[0], SHUT_WR);
	while (!vhost_channel_serve_one(&ch, 100, NULL, 0))
		;
	close(sv[0]);
	close(sv[1]);

	for (int i = 0; i < NREG; i++) {
		uint64_t rsize = reg_pages[i] * page;

		CHECK(shmem_foreach(regions[i], check_mapping, &rsize) == 0);
	}
	check_maps();
	for (int i = 0; i < NREG; i++)
		shmem_reset(regions[i]);
	CHECK(fd_count() == fds_before);
	return 0;
}
