/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the back-end library's front-end message handler
 * and its virtqueue code. Two kinds of input, chosen by the low bit of the
 * first byte:
 *
 *   0, rings: the harness first sets the device up the way a front-end
 *      would (memory table, then for queues 0 and 1: num, base, ring
 *      addresses, call and kick fds, enable), and lays the rings out in
 *      guest RAM itself: a small avail index (1..num chains, rarely one
 *      past a full ring), heads and descriptors from the input, mostly
 *      pointing into guest RAM, with NEXT/WRITE/INDIRECT flags and next
 *      indices (loops included) from the input. So every input walks
 *      descriptor chains; an empty input pops one one-buffer chain.
 *   1, raw: guest RAM bytes come from the input, and the set-up messages
 *      are fuzzed like any other (the rings are rarely valid).
 *
 * The rest of the input is hostile front-end messages (memory tables,
 * vring set-up, config, resets, raw bytes, random fds). After every
 * message the rings are popped; after each input:
 *   - no crash (sanitizers),
 *   - every buffer of a popped chain lies inside guest RAM, readable ones
 *     first, and the used ring holds exactly what was pushed,
 *   - once the back-end is freed, no fd is left open and no mapping of
 *     the guest RAM memfd remains (/proc/self/maps).
 *
 * Seeds: vhost/fuzz/corpus/fuzz_vhost_backend_dispatch/ (scripts/fuzz.sh).
 * scripts/fuzz.sh fails unless the corpus reaches these functions:
 * fuzz-reach: walk_chain elem_add vhost_be_vring_pop vhost_be_vring_push vhost_be_vring_notify be_vring_translate
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
#include "fuzz_input.h"

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

/* The rings the harness laid out (rings mode): where, and what was pushed. */
#define NQ		2
#define RING_BASE(q)	(0x4000u * (q))	/* desc +0, avail +0x1000, used +0x2000 */

struct layout {
	bool rings;
	uint32_t num[NQ];
	uint16_t pushed[NQ];
	uint16_t heads[NQ][256];
};

static void pop_all(struct vhost_be *be, struct layout *lay)
{
	for (unsigned int q = 0; q < NQ; q++) {
		struct vhost_be_elem e;

		for (int i = 0; i < 8 && vhost_be_vring_started(be, q) &&
		     vhost_be_vring_pop(be, q, &e) == 1; i++) {
			uint8_t *lo = vhost_be_gpa_to_va(be, RAM_GPA, 0);

			CHECK(e.nrd + e.nwr >= 1);
			CHECK(e.nrd <= VHOST_BE_MAX_SG && e.nwr <= VHOST_BE_MAX_SG);
			for (unsigned int j = 0; j < e.nrd + e.nwr; j++) {
				struct iovec *v = j < e.nrd ? &e.rd[j] :
						  &e.wr[j - e.nrd];
				uint8_t *b = v->iov_base;

				/* Inside the back-end's view of guest RAM. */
				CHECK(lo && b >= lo && b + v->iov_len <= lo + RAM_SIZE);
				/* Write what the device may write (not over
				 * the harness's own rings, checked below). */
				if (j >= e.nrd && v->iov_len &&
				    (!lay->rings || b - lo >= 0x8000))
					b[0] = 1;
			}
			if (vhost_be_vring_push(be, q, e.head, 1) == 0 &&
			    lay->rings && lay->num[q]) {
				lay->heads[q][lay->pushed[q] % 256] = e.head;
				lay->pushed[q]++;
			}
			vhost_be_vring_notify(be, q);
		}
	}
}

static void send_set(int sock, uint32_t req, const void *payload,
		     uint32_t size, int fd)
{
	struct vhost_msg m;

	vhost_msg_init(&m, req, 0, size);
	memcpy(&m.p, payload, size);
	if (fd >= 0) {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	CHECK(vhost_msg_send(sock, &m) == 0);
}

/*
 * Rings mode: lay out queue @q in guest RAM from the input and send the
 * messages that start it.
 */
static void set_up_queue(struct input *in, int sock, unsigned int q,
			 struct layout *lay)
{
	uint32_t num = 1u << (1 + take(in) % 5), nchains, base = RING_BASE(q);
	struct vhost_user_vring_state st = { .index = q, .num = num };
	struct vhost_user_vring_addr a = {
		.index = q,
		.desc_user_addr = RAM_UVA + base,
		.avail_user_addr = RAM_UVA + base + 0x1000,
		.used_user_addr = RAM_UVA + base + 0x2000,
	};
	uint64_t fdidx = q;
	uint16_t *avail = (uint16_t *)(ram + base + 0x1000);

	for (uint32_t i = 0; i < num; i++) {
		struct vring_desc { uint64_t addr; uint32_t len; uint16_t flags, next; } d;
		uint8_t sel = take(in);

		/* Mostly inside RAM; sometimes across its end or far away. */
		d.addr = RAM_GPA + take_u16(in) % RAM_SIZE;
		if (sel >= 240)
			d.addr = RAM_GPA + RAM_SIZE - 8;
		else if (sel >= 230)
			d.addr = (uint64_t)take_u16(in) << 20;
		d.len = (uint32_t)take(in) * 16;
		d.flags = sel & 7;	/* NEXT, WRITE, INDIRECT */
		d.next = (uint16_t)(take(in) % (num + 2));
		memcpy(ram + base + 16 * i, &d, sizeof(d));
	}
	nchains = 1 + take(in) % num;
	for (uint32_t j = 0; j < nchains; j++)
		avail[2 + j] = (uint16_t)(take(in) % (num + 1));
	/* A full ring plus one: the library must refuse, not walk it. */
	avail[1] = (uint16_t)(take(in) == 0xff ? num + 1 : nchains);
	lay->num[q] = num;

	send_set(sock, VHOST_USER_SET_VRING_NUM, &st, sizeof(st), -1);
	st.num = 0;
	send_set(sock, VHOST_USER_SET_VRING_BASE, &st, sizeof(st), -1);
	send_set(sock, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), -1);
	send_set(sock, VHOST_USER_SET_VRING_CALL, &fdidx, sizeof(fdidx), evfd);
	send_set(sock, VHOST_USER_SET_VRING_KICK, &fdidx, sizeof(fdidx), evfd);
	st.num = 1;
	send_set(sock, VHOST_USER_SET_VRING_ENABLE, &st, sizeof(st), -1);
}

static void set_up_rings(struct input *in, int sock, struct layout *lay)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) | (1ull << 30);

	t.regions[0] = (struct vhost_user_mem_region){
		.guest_addr = RAM_GPA, .size = RAM_SIZE, .user_addr = RAM_UVA,
	};
	send_set(sock, VHOST_USER_SET_FEATURES, &features, sizeof(features), -1);
	send_set(sock, VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, ramfd);
	lay->rings = true;
	for (unsigned int q = 0; q < NQ; q++)
		set_up_queue(in, sock, q, lay);
}

/* Rings mode: the used rings hold what was pushed, in order. */
static void check_used(const struct layout *lay)
{
	for (unsigned int q = 0; lay->rings && q < NQ; q++) {
		const uint8_t *used = ram + RING_BASE(q) + 0x2000;
		uint16_t idx;

		if (!lay->num[q] || !lay->pushed[q] || lay->pushed[q] > lay->num[q])
			continue;
		memcpy(&idx, used + 2, 2);
		CHECK(idx == lay->pushed[q]);
		for (uint16_t k = 0; k < lay->pushed[q]; k++) {
			uint32_t id;

			memcpy(&id, used + 4 + 8 * (k % lay->num[q]), 4);
			CHECK(id == lay->heads[q][k]);
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
		.num_queues = NQ, .ops = &ops, .log = quiet,
	};
	struct layout lay = { 0 };
	struct vhost_be *be;
	size_t fds_before, maps_before;
	bool raw, hostile = false;
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
	memset(ram, 0, RAM_SIZE);
	raw = take(&in) & 1;
	if (raw) {
		/* Guest RAM contents (rings and descriptors) from the input. */
		for (unsigned int i = 0, n = take(&in); i < n && in.left; i++) {
			uint32_t at = take_u16(&in) % RAM_SIZE;

			ram[at] = take(&in);
		}
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
	if (!raw)
		set_up_rings(&in, sv[0], &lay);
	for (int n = 0; n < MAX_MSGS && in.left; n++) {
		uint8_t ctl = take(&in);
		struct vhost_msg m;

		hostile = true;
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
		pop_all(be, &lay);
	}
	pop_all(be, &lay);
	/* Later messages may move or reset the rings: only without them. */
	if (lay.rings && !hostile)
		check_used(&lay);
	vhost_be_free(be);
	close(sv[0]);
	CHECK(fd_count() == fds_before);
	CHECK(ram_mappings() == maps_before);
	return 0;
}
