/* SPDX-License-Identifier: MIT */
/*
 * The back-end library driven message by message from a raw front-end:
 * answers, refusals with a failure ack, memory table mapping, descriptor
 * chain checks, the back-end channel, and no fd left open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost/backend.h"

#include "helpers.h"
#include "wire.h"

#define RAM (1ull << 20)

static int sv[2];
static struct vhost_be *be;
static size_t fds_before;
static const uint64_t shm_sizes[256] = { [1] = 1 << 21 };

static int get_config(void *o, uint32_t off, void *buf, uint32_t len)
{
	memset(buf, 0xab, len);
	return off + len <= 16 ? 0 : -EINVAL;
}

static const struct vhost_be_ops ops = { .get_config = get_config };

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static void setup(void)
{
	struct vhost_be_config cfg = {
		.features = (1ull << VIRTIO_F_VERSION_1) | 1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES,
		.num_queues = 2, .shm_sizes = shm_sizes, .ops = &ops,
		.log = quiet,
	};

	fds_before = fd_count();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(vhost_be_new(sv[1], &cfg, &be), 0);
}

/*
 * Called at the end of every test (an assertion in .fini is not counted):
 * once the back-end is freed, every fd it received must be closed.
 */
static void no_fd_leaked(void)
{
	vhost_be_free(be);
	be = NULL;
	close(sv[0]);
	sv[0] = -1;
	cr_assert_eq(fd_count(), fds_before, "an fd leaked");
}

static void teardown(void)
{
	vhost_be_free(be);
	if (sv[0] >= 0)
		close(sv[0]);
}

TestSuite(backend, .init = setup, .fini = teardown, .timeout = 30);

/* Send a request, let the library handle it, return its reply/ack. */
static int rpc(uint32_t req, uint32_t flags, const void *payload,
	       uint32_t size, const int *fds, unsigned int nfds,
	       struct vhost_msg *r, bool ack)
{
	struct vhost_msg m;

	vhost_msg_init(&m, req, flags, size);
	if (size)
		memcpy(&m.p, payload, size);
	for (unsigned int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	m.nfds = nfds;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
	cr_assert_eq(vhost_be_dispatch(be), 0);
	if (!r)
		return 0;
	return vhost_msg_recv(sv[0], r, VHOST_MSG_REPLY, req, ack, 1000);
}

static uint64_t ack_of(uint32_t req, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds)
{
	struct vhost_msg r;

	cr_assert_eq(rpc(req, VHOST_USER_NEED_REPLY_MASK, payload, size, fds,
			 nfds, &r, true), 0);
	return r.p.u64;
}

static void enable_ack(void)
{
	uint64_t pf = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
		      (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
		      (1ull << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);

	rpc(VHOST_USER_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0, NULL, false);
	cr_assert_eq(vhost_be_protocol_features(be), pf);
}

Test(backend, feature_negotiation)
{
	struct vhost_msg r;
	uint64_t f;

	cr_assert_eq(rpc(VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.p.u64, (1ull << VIRTIO_F_VERSION_1) | 1 | (1ull << 30));
	cr_assert_eq(rpc(VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0,
			 &r, false), 0);
	cr_assert_eq(r.p.u64, VHOST_BE_PROTOCOL_FEATURES);
	enable_ack();
	f = 1ull << 5;
	cr_assert_neq(ack_of(VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 0,
		      "a feature that was not offered");
	f = (1ull << VIRTIO_F_VERSION_1) | (1ull << 30);
	cr_assert_eq(ack_of(VHOST_USER_SET_FEATURES, &f, 8, NULL, 0), 0);
	cr_assert_eq(vhost_be_acked_features(be), f);
	cr_assert_eq(rpc(VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.p.u64, 2);
	cr_assert_eq(rpc(VHOST_USER_GET_SHMEM_CONFIG, 0, NULL, 0, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.p.shmem.nregions, 1);
	cr_assert_eq(r.p.shmem.memory_sizes[1], 1 << 21);
	cr_assert_eq(ack_of(77, NULL, 0, NULL, 0), EOPNOTSUPP);
	no_fd_leaked();
}

Test(backend, memory_table)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	uint8_t *ram;
	int fd = guest_ram(RAM, (void **)&ram);
	int fds[2] = { fd, fd };

	enable_ack();
	t.regions[0] = (struct vhost_user_mem_region){ .guest_addr = 1 << 30,
		.size = RAM, .user_addr = 0x7000000000 };
	cr_assert_neq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, fds, 2), 0,
		      "fd count differs from nregions");
	cr_assert_neq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 8 + 64, fds, 1), 0,
		      "size differs from nregions");
	t.regions[0].size = 0;
	cr_assert_neq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, fds, 1), 0);
	t.regions[0].size = RAM;
	t.regions[0].mmap_offset = 4096;
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, fds, 1),
		     ERANGE, "a range past the end of the file would SIGBUS");
	t.regions[0].mmap_offset = 0;
	cr_assert_eq(vhost_be_mem_regions(be), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 8 + 32, fds, 1), 0);
	cr_assert_eq(vhost_be_mem_regions(be), 1);
	strcpy((char *)ram + 100, "guest data");
	cr_assert_str_eq(vhost_be_gpa_to_va(be, (1 << 30) + 100, 11),
			 "guest data");
	cr_assert_null(vhost_be_gpa_to_va(be, (1 << 30) + RAM - 4, 8));
	cr_assert_null(vhost_be_gpa_to_va(be, 0, 8));
	munmap(ram, RAM);
	close(fd);
	no_fd_leaked();
}

Test(backend, vring_messages_are_checked)
{
	struct vhost_user_vring_state st = { .index = 0, .num = 100 };
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t v;

	enable_ack();
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 64;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.index = 2;
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	v = 0 | VHOST_USER_VRING_NOFD_MASK;
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1), 0,
		      "no-fd flag with an fd");
	v = 1;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1), 0);
	cr_assert_geq(vhost_be_vring_kick_fd(be, 1), 0);
	cr_assert_not(vhost_be_vring_started(be, 1), "no addresses yet");
	close(efd);
	no_fd_leaked();
}

Test(backend, config_space)
{
	struct vhost_user_config c = { .offset = 4, .size = 8 };
	struct vhost_msg r;

	cr_assert_eq(rpc(VHOST_USER_GET_CONFIG, 0, &c, 12 + 8, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.hdr.size, 12 + 8);
	cr_assert_eq(r.p.config.payload[0], 0xab);
	c.offset = 12;
	cr_assert_eq(rpc(VHOST_USER_GET_CONFIG, 0, &c, 12 + 8, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.hdr.size, 0, "refused: empty reply");
	c.size = 300;
	cr_assert_eq(rpc(VHOST_USER_GET_CONFIG, 0, &c, 12 + 8, NULL, 0, &r,
			 false), 0);
	cr_assert_eq(r.hdr.size, 0);
	no_fd_leaked();
}

Test(backend, descriptor_chains_are_checked)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct vhost_user_vring_state st = { .index = 0, .num = 8 };
	struct vhost_user_vring_addr a = { .index = 0 };
	struct vhost_be_elem e;
	uint8_t *ram;
	int fd = guest_ram(RAM, (void **)&ram);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct tvq q;
	uint64_t v = 0;
	uint64_t gpa[2] = { 0x8000, 0x9000 };
	uint32_t len[2] = { 16, 16 };
	bool wr_ok[2] = { false, true }, wr_bad[2] = { true, false };

	enable_ack();
	t.regions[0] = (struct vhost_user_mem_region){ .size = RAM,
		.user_addr = (uint64_t)(uintptr_t)ram };
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 40, &fd, 1), 0);
	tvq_init(&q, ram, 0x1000, 8);
	a.desc_user_addr = (uint64_t)(uintptr_t)ram + q.desc_gpa;
	a.avail_user_addr = (uint64_t)(uintptr_t)ram + q.avail_gpa;
	a.used_user_addr = (uint64_t)(uintptr_t)ram + RAM;	/* outside */
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	a.used_user_addr = (uint64_t)(uintptr_t)ram + q.used_gpa + 2;
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0,
		      "misaligned used ring");
	a.used_user_addr = (uint64_t)(uintptr_t)ram + q.used_gpa;
	a.avail_user_addr += 1;
	cr_assert_neq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0,
		      "misaligned avail ring");
	a.avail_user_addr -= 1;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1), 0);
	cr_assert(vhost_be_vring_started(be, 0));

	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 0, "empty ring");
	tvq_add(&q, gpa, len, wr_ok, 2);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 1);
	cr_assert_eq(e.nrd, 1);
	cr_assert_eq(e.nwr, 1);
	cr_assert_eq(e.rd[0].iov_base, vhost_be_gpa_to_va(be, 0x8000, 16));
	cr_assert_eq(e.wr[0].iov_len, 16);
	cr_assert_eq(vhost_be_vring_push(be, 0, e.head, 16), 0);
	tvq_add(&q, gpa, len, wr_bad, 2);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL,
		     "readable after writable");
	gpa[0] = RAM - 8;
	tvq_add(&q, gpa, len, wr_ok, 2);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL, "outside memory");
	{
		/* A chain that loops on itself. */
		uint16_t head = tvq_add(&q, gpa, len, wr_ok, 1);
		uint16_t *d = (uint16_t *)(ram + q.desc_gpa + 16 * head);

		d[6] = 1;		/* flags: NEXT */
		d[7] = head;		/* next: itself */
		*(uint64_t *)(ram + q.desc_gpa + 16 * head) = 0x8000;
		cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL, "loop");
	}
	{
		/*
		 * An avail index more than num ahead of what was taken is
		 * refused, even with a valid chain waiting; put back, the
		 * chain is popped.
		 */
		uint16_t *idx = (uint16_t *)(ram + q.avail_gpa + 2);

		gpa[0] = 0x8000;
		tvq_add(&q, gpa, len, wr_ok, 2);
		*idx = (uint16_t)(q.avail_idx + 8);
		cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL,
			     "avail index 9 ahead of a ring of 8");
		*idx = q.avail_idx;
		cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 1);
	}
	close(efd);
	munmap(ram, RAM);
	close(fd);
	no_fd_leaked();
}

/* Queue 0 of @num entries at gpa 0x1000 of a fresh guest RAM, started. */
static void start_ring(struct tvq *q, uint8_t **ram, int *fd, int *efd,
		       uint32_t num)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct vhost_user_vring_state st = { .index = 0, .num = num };
	struct vhost_user_vring_addr a = { .index = 0 };
	uint64_t v = 0;

	*fd = guest_ram(RAM, (void **)ram);
	*efd = eventfd(0, EFD_CLOEXEC);
	enable_ack();
	t.regions[0] = (struct vhost_user_mem_region){ .size = RAM,
		.user_addr = (uint64_t)(uintptr_t)*ram };
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 40, fd, 1), 0);
	tvq_init(q, *ram, 0x1000, num);
	a.desc_user_addr = (uint64_t)(uintptr_t)*ram + q->desc_gpa;
	a.avail_user_addr = (uint64_t)(uintptr_t)*ram + q->avail_gpa;
	a.used_user_addr = (uint64_t)(uintptr_t)*ram + q->used_gpa;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_KICK, &v, 8, efd, 1), 0);
	cr_assert(vhost_be_vring_started(be, 0));
}

/*
 * A chain holds at most VHOST_BE_MAX_SG readable and VHOST_BE_MAX_SG
 * writable buffers: one more of either kind is refused, in a ring large
 * enough that the loop bound (num hops) does not come first.
 */
#define SG	VHOST_BE_MAX_SG

Test(backend, chains_hold_at_most_max_sg_buffers_of_each_kind)
{
	static uint64_t gpa[SG + 2];
	static uint32_t len[SG + 2];
	static bool wr[SG + 2];
	static struct vhost_be_elem e;
	struct tvq q;
	uint8_t *ram;
	int fd, efd;

	start_ring(&q, &ram, &fd, &efd, 4 * SG);
	for (unsigned int i = 0; i < SG + 2; i++) {
		gpa[i] = 0x80000 + 0x100 * (i % 256);
		len[i] = 16;
	}
	tvq_add(&q, gpa, len, wr, SG);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 1);
	cr_assert_eq(e.nrd, SG);
	tvq_add(&q, gpa, len, wr, SG + 1);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL, "%d readable",
		     SG + 1);
	for (unsigned int i = 1; i < SG + 2; i++)
		wr[i] = true;
	tvq_add(&q, gpa, len, wr, SG + 1);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 1);
	cr_assert_eq(e.nrd, 1);
	cr_assert_eq(e.nwr, SG);
	tvq_add(&q, gpa, len, wr, SG + 2);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL, "%d writable",
		     SG + 1);
	close(efd);
	munmap(ram, RAM);
	close(fd);
	no_fd_leaked();
}

/* Ring 0 of 8 entries in @ram at 0x1000, started with kick fd @efd. */
static void start_ring0(uint8_t *ram, int fd, int efd, struct tvq *q)
{
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct vhost_user_vring_state st = { .index = 0, .num = 8 };
	struct vhost_user_vring_addr a = { .index = 0 };
	uint64_t v = 0;

	enable_ack();
	t.regions[0] = (struct vhost_user_mem_region){ .size = RAM,
		.user_addr = (uint64_t)(uintptr_t)ram };
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 40, &fd, 1), 0);
	tvq_init(q, ram, 0x1000, 8);
	a.desc_user_addr = (uint64_t)(uintptr_t)ram + q->desc_gpa;
	a.avail_user_addr = (uint64_t)(uintptr_t)ram + q->avail_gpa;
	a.used_user_addr = (uint64_t)(uintptr_t)ram + q->used_gpa;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_KICK, &v, 8, &efd, 1), 0);
	cr_assert(vhost_be_vring_started(be, 0));
}

Test(backend, unmapped_buffers_come_back_when_asked_for)
{
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1, .num_queues = 1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES, .log = quiet,
		.unmapped_buffers = true,
	};
	struct vhost_be_elem e;
	uint8_t *ram;
	int fd = guest_ram(RAM, (void **)&ram);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct tvq q;
	/* A request: header in RAM, data in a window above RAM, reply. */
	uint64_t gpa[4] = { 0x8000, 1ull << 32, 0x9000, (1ull << 32) + 4096 };
	uint32_t len[4] = { 40, 4096, 16, 4096 };
	bool wr[4] = { false, false, true, true };

	vhost_be_free(be);	/* closes sv[1] */
	close(sv[0]);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(vhost_be_new(sv[1], &cfg, &be), 0);
	start_ring0(ram, fd, efd, &q);
	tvq_add(&q, gpa, len, wr, 4);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), 1);
	cr_assert_eq(e.nrd, 2);
	cr_assert_eq(e.nwr, 2);
	cr_assert_eq(e.nunmapped, 2);
	cr_assert_eq(e.rd[0].iov_base, vhost_be_gpa_to_va(be, 0x8000, 40));
	cr_assert_null(e.rd[1].iov_base, "outside guest memory");
	cr_assert_eq(e.rd[1].iov_len, 4096);
	cr_assert_eq(e.wr[0].iov_base, vhost_be_gpa_to_va(be, 0x9000, 16));
	cr_assert_null(e.wr[1].iov_base);
	cr_assert_eq(vhost_be_vring_push(be, 0, e.head, 16), 0,
		     "the chain can be returned");
	/* Everything else is still checked. */
	len[1] = 0;
	tvq_add(&q, gpa, len, wr, 4);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL,
		     "an empty buffer outside memory");
	len[1] = 4096;
	wr[1] = true;
	wr[2] = false;
	tvq_add(&q, gpa, len, wr, 4);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL,
		     "readable after writable");
	close(efd);
	munmap(ram, RAM);
	close(fd);
	no_fd_leaked();
}

Test(backend, unmapped_buffers_fail_the_chain_by_default)
{
	struct vhost_be_elem e;
	uint8_t *ram;
	int fd = guest_ram(RAM, (void **)&ram);
	int efd = eventfd(0, EFD_CLOEXEC);
	struct tvq q;
	uint64_t gpa[2] = { 0x8000, 1ull << 32 };
	uint32_t len[2] = { 40, 4096 };
	bool wr[2] = { false, true };

	start_ring0(ram, fd, efd, &q);
	tvq_add(&q, gpa, len, wr, 2);
	cr_assert_eq(vhost_be_vring_pop(be, 0, &e), -EINVAL);
	close(efd);
	munmap(ram, RAM);
	close(fd);
	no_fd_leaked();
}

Test(backend, backend_channel_map_sends_exactly_one_fd)
{
	int ch[2];
	int memfd = memfd_create("m", MFD_CLOEXEC);
	struct vhost_msg m, r;

	cr_assert_eq(vhost_be_shmem_map(be, 1, 0, 4096, memfd, 0, 1), -ENOTCONN);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ch), 0);
	enable_ack();
	cr_assert_eq(ack_of(VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &ch[1], 1), 0);
	close(ch[1]);
	cr_assert(vhost_be_has_backend_channel(be));

	/* The front-end side answers after the request arrives. */
	vhost_msg_init(&r, VHOST_USER_BACKEND_SHMEM_MAP, VHOST_USER_REPLY_MASK, 8);
	r.p.u64 = 0;
	cr_assert_eq(vhost_msg_send(ch[0], &r), 0);	/* queued ahead */
	cr_assert_eq(vhost_be_shmem_map(be, 1, 0x2000, 4096, memfd, 0, 1), 0);
	cr_assert_eq(vhost_msg_recv(ch[0], &m, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), 0);
	cr_assert_eq(m.nfds, 1);
	cr_assert(m.hdr.flags & VHOST_USER_NEED_REPLY_MASK);
	cr_assert_eq(m.p.mmap.shmid, 1);
	cr_assert_eq(m.p.mmap.shm_offset, 0x2000);
	cr_assert_eq(m.p.mmap.flags, 1);
	vhost_msg_close_fds(&m);

	r.p.u64 = 22;
	r.hdr.request = VHOST_USER_BACKEND_SHMEM_UNMAP;
	cr_assert_eq(vhost_msg_send(ch[0], &r), 0);
	cr_assert_eq(vhost_be_shmem_unmap(be, 1, 0x2000, 4096), -EREMOTEIO);
	cr_assert_eq(vhost_msg_recv(ch[0], &m, VHOST_MSG_BACKEND_REQ, 0, false,
				    1000), 0);
	cr_assert_eq(m.nfds, 0);
	close(ch[0]);
	close(memfd);
	no_fd_leaked();
}
