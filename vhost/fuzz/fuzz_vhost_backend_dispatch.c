/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the back-end library's front-end message handler
 * and its virtqueue code: random streams with random fds, partly shaped as
 * memory-table and vring requests over a small guest RAM whose contents
 * (rings, descriptors) also come from the input. After each input:
 *   - no crash (sanitizers),
 *   - every buffer a popped chain names lies inside guest RAM,
 *   - once the back-end is freed, no fd is left open and no mapping of
 *     the guest RAM memfd remains (/proc/self/maps).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost/backend.h"

#include "wire.h"

#define RAM_SIZE	(64 * 1024)
#define RAM_UVA		0x7f0000000000ull
#define RAM_GPA		0x100000ull
#define MAX_MSGS	64

static int ramfd, evfd;
static uint8_t *ram;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_vhost_backend_dispatch: %s:%d: %s\n",\
			__FILE__, __LINE__, #cond);			\
		abort();						\
	}								\
} while (0)

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static int get_config(void *o, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0x5a, len);
	return off + len <= 64 ? 0 : -1;
}

static int set_config(void *o, uint32_t off, const void *buf, uint32_t len)
{
	return off + len <= 64 ? 0 : -1;
}

static const struct vhost_be_ops ops = {
	.get_config = get_config, .set_config = set_config,
};

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

static size_t ram_mappings(void)
{
	char line[512];
	size_t n = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	CHECK(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "fuzz-be-ram") != NULL;
	fclose(f);
	return n;
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint32_t take_u32(struct input *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)take(in) << (8 * i);
	return v;
}

/* An address near guest RAM (user or guest view), sometimes outside. */
static uint64_t near(struct input *in, uint64_t base)
{
	uint8_t sel = take(in);
	uint64_t off = (uint64_t)(take_u32(in) % (RAM_SIZE + 4096));

	return sel < 220 ? base + (off & ~15ull) : base + off - 4096 * (sel & 3);
}

static size_t build(struct input *in, struct vhost_msg *m)
{
	static const uint32_t reqs[] = {
		VHOST_USER_SET_MEM_TABLE, VHOST_USER_SET_VRING_NUM,
		VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_BASE,
		VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
		VHOST_USER_GET_VRING_BASE, VHOST_USER_SET_VRING_ENABLE,
		VHOST_USER_SET_FEATURES, VHOST_USER_SET_PROTOCOL_FEATURES,
		VHOST_USER_GET_CONFIG, VHOST_USER_SET_CONFIG,
		VHOST_USER_ADD_MEM_REG, VHOST_USER_REM_MEM_REG,
		VHOST_USER_RESET_DEVICE, VHOST_USER_GET_SHMEM_CONFIG,
	};
	uint8_t sel = take(in);
	uint32_t req = reqs[sel % 16];
	uint32_t flags = sel & 0x80 ? VHOST_USER_NEED_REPLY_MASK : 0;
	struct vhost_user_mem_region reg = {
		.guest_addr = RAM_GPA, .size = RAM_SIZE - 4096 * (take(in) & 1),
		.user_addr = RAM_UVA, .mmap_offset = 4096 * (take(in) & 1),
	};

	vhost_msg_init(m, req, flags, 0);
	switch (req) {
	case VHOST_USER_SET_MEM_TABLE:
		m->hdr.size = 8 + 32;
		m->p.mem.nregions = 1;
		m->p.mem.regions[0] = reg;
		m->fds[0] = ramfd;
		m->nfds = 1;
		break;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		m->hdr.size = 40;
		m->p.memreg.region = reg;
		m->fds[0] = ramfd;
		m->nfds = req == VHOST_USER_ADD_MEM_REG;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		m->hdr.size = 40;
		m->p.addr.index = take(in) & 3;
		m->p.addr.desc_user_addr = near(in, RAM_UVA);
		m->p.addr.avail_user_addr = near(in, RAM_UVA);
		m->p.addr.used_user_addr = near(in, RAM_UVA);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
		m->hdr.size = 8;
		m->p.u64 = take(in) & 0x103;
		m->fds[0] = evfd;
		m->nfds = !(m->p.u64 & 0x100);
		break;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		m->p.config.offset = take(in);
		m->p.config.size = take(in) & 0x7f;
		m->hdr.size = 12 + m->p.config.size;
		break;
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_GET_SHMEM_CONFIG:
		break;
	default:	/* u64 and vring state payloads */
		m->hdr.size = 8;
		m->p.state.index = take(in) & 3;
		m->p.state.num = (uint32_t)1 << (take(in) % 18);
		break;
	}
	return 0;
}

static void pop_all(struct vhost_be *be)
{
	for (unsigned int q = 0; q < 2; q++) {
		struct vhost_be_elem e;

		for (int i = 0; i < 8 && vhost_be_vring_started(be, q) &&
		     vhost_be_vring_pop(be, q, &e) == 1; i++) {
			uint8_t *lo = vhost_be_gpa_to_va(be, RAM_GPA, 0);

			for (unsigned int j = 0; j < e.nrd + e.nwr; j++) {
				struct iovec *v = j < e.nrd ? &e.rd[j] :
						  &e.wr[j - e.nrd];
				uint8_t *b = v->iov_base;

				/* Inside the back-end's view of guest RAM. */
				CHECK(lo && b >= lo && b + v->iov_len <= lo + RAM_SIZE);
				if (j >= e.nrd && v->iov_len)
					b[0] = 1;
			}
			vhost_be_vring_push(be, q, e.head, 1);
			vhost_be_vring_notify(be, q);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct input in = { data, size };
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES,
		.num_queues = 2, .ops = &ops, .log = quiet,
	};
	struct vhost_be *be;
	size_t fds_before, maps_before;
	int sv[2];

	if (!ready) {
		ramfd = memfd_create("fuzz-be-ram", MFD_CLOEXEC);
		evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		CHECK(ramfd >= 0 && evfd >= 0 && !ftruncate(ramfd, RAM_SIZE));
		ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   ramfd, 0);
		CHECK(ram != MAP_FAILED);
		ready = true;
	}
	/* Guest RAM contents (rings and descriptors) come from the input. */
	memset(ram, 0, RAM_SIZE);
	for (unsigned int i = 0, n = take(&in); i < n && in.left; i++) {
		uint32_t at = (take(&in) | (uint32_t)take(&in) << 8) % RAM_SIZE;

		ram[at] = take(&in);
	}
	fds_before = fd_count();
	maps_before = ram_mappings();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(vhost_be_new(sv[1], &cfg, &be) == 0);

	/* Everything is queued first (the buffer is made large enough for
	 * MAX_MSGS writes), then served; replies are drained as they come. */
	{
		int big = 4 << 20;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	}
	for (int n = 0; n < MAX_MSGS && in.left; n++) {
		uint8_t ctl = take(&in);
		struct vhost_msg m;

		if (ctl & 0x80) {
			build(&in, &m);
			if (vhost_msg_send(sv[0], &m))
				break;
		} else {
			size_t len = ctl < in.left ? ctl : in.left;

			if (len && send(sv[0], in.p, len,
					MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
				break;
			in.p += len;
			in.left -= len;
		}
	}
	shutdown(sv[0], SHUT_WR);
	while (!vhost_be_dispatch(be)) {
		char sink[4096];

		while (recv(sv[0], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		pop_all(be);
	}
	pop_all(be);
	vhost_be_free(be);
	close(sv[0]);
	CHECK(fd_count() == fds_before);
	CHECK(ram_mappings() == maps_before);
	return 0;
}
