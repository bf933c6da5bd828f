/* SPDX-License-Identifier: MIT */
/*
 * Indirect descriptor tables in the back-end library: followed only when
 * VIRTIO_RING_F_INDIRECT_DESC was negotiated, and checked like the ring
 * (inside guest memory, whole descriptors, bounded, no NEXT on the head,
 * no table in a table, no loop); long chains up to VHOST_BE_MAX_SG.
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

#define RAM		(4ull << 20)
#define TABLE_GPA	0x10000ull
#define DATA_GPA	0x100000ull

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static int sv[2] = { -1, -1 }, ramfd = -1, kickfd = -1;
static struct vhost_be *be;
static uint8_t *ram;
static struct tvq q;
static size_t fds_before;

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
	(void)o;
	(void)l;
	(void)m;
}

static void send_msg(uint32_t req, const void *payload, uint32_t size,
		     const int *fds, unsigned int nfds)
{
	struct vhost_msg m;

	vhost_msg_init(&m, req, 0, size);
	if (size)
		memcpy(&m.p, payload, size);
	for (unsigned int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	m.nfds = nfds;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
	cr_assert_eq(vhost_be_dispatch(be), 0);
}

/* A back-end offering indirect tables; @ack: the front-end acks them. */
static void start(bool ack)
{
	struct vhost_be_config cfg = {
		.features = (1ull << VIRTIO_F_VERSION_1) |
			    (1ull << VHOST_BE_F_INDIRECT_DESC),
		.num_queues = 1, .log = quiet,
	};
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct vhost_user_vring_state st = { .index = 0, .num = 8 };
	struct vhost_user_vring_addr a = { .index = 0 };
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) |
		     (ack ? 1ull << VHOST_BE_F_INDIRECT_DESC : 0), v = 0;

	fds_before = fd_count();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(vhost_be_new(sv[1], &cfg, &be), 0);
	send_msg(VHOST_USER_SET_FEATURES, &f, 8, NULL, 0);
	cr_assert_eq(vhost_be_acked_features(be), f);
	ramfd = guest_ram(RAM, (void **)&ram);
	cr_assert(ramfd >= 0);
	t.regions[0] = (struct vhost_user_mem_region){ .size = RAM,
		.user_addr = (uint64_t)(uintptr_t)ram };
	send_msg(VHOST_USER_SET_MEM_TABLE, &t, 40, &ramfd, 1);
	tvq_init(&q, ram, 0x1000, 8);
	a.desc_user_addr = (uint64_t)(uintptr_t)ram + q.desc_gpa;
	a.avail_user_addr = (uint64_t)(uintptr_t)ram + q.avail_gpa;
	a.used_user_addr = (uint64_t)(uintptr_t)ram + q.used_gpa;
	send_msg(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0);
	send_msg(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0);
	kickfd = eventfd(0, EFD_CLOEXEC);
	send_msg(VHOST_USER_SET_VRING_KICK, &v, 8, &kickfd, 1);
	cr_assert(vhost_be_vring_started(be, 0));
}

static void stop(void)
{
	vhost_be_free(be);
	be = NULL;
	if (sv[0] >= 0)
		close(sv[0]);
	if (kickfd >= 0)
		close(kickfd);
	if (ram) {
		munmap(ram, RAM);
		close(ramfd);
		ram = NULL;
	}
	sv[0] = kickfd = ramfd = -1;
	cr_assert_eq(fd_count(), fds_before, "an fd leaked");
}

TestSuite(indirect, .fini = stop, .timeout = 30);

/* Lay out a table of @n descriptors (first @nrd readable) at TABLE_GPA. */
static void table(unsigned int n, unsigned int nrd, uint32_t len)
{
	struct desc *t = (struct desc *)(ram + TABLE_GPA);

	for (unsigned int i = 0; i < n; i++)
		t[i] = (struct desc){ .addr = DATA_GPA + 4096ull * i, .len = len,
			.flags = (uint16_t)((i + 1 < n ? 1 : 0) | (i >= nrd ? 2 : 0)),
			.next = (uint16_t)(i + 1) };
}

/* Put one ring descriptor pointing at the table; pop. */
static int pop_table(uint64_t gpa, uint32_t len, uint16_t flags,
		     struct vhost_be_elem *e)
{
	bool wr = false;
	uint16_t head = tvq_add(&q, &gpa, &len, &wr, 1);
	struct desc *d = (struct desc *)(ram + q.desc_gpa) + head;

	d->flags = flags;
	return vhost_be_vring_pop(be, 0, e);
}

Test(indirect, a_table_is_followed_when_negotiated)
{
	static struct vhost_be_elem e;

	start(true);
	table(4, 2, 100);
	cr_assert_eq(pop_table(TABLE_GPA, 4 * 16, 4, &e), 1);
	cr_assert_eq(e.nrd, 2);
	cr_assert_eq(e.nwr, 2);
	cr_assert_eq(e.rd[1].iov_base, vhost_be_gpa_to_va(be, DATA_GPA + 4096, 100));
	cr_assert_eq(e.wr[1].iov_base,
		     vhost_be_gpa_to_va(be, DATA_GPA + 3 * 4096, 100));
	cr_assert_eq(e.wr[1].iov_len, 100);
	/* A chain as long as the library takes: 260 buffers (a 1 MiB FUSE write). */
	table(260, 258, 4096);
	cr_assert_eq(pop_table(TABLE_GPA, 260 * 16, 4, &e), 1);
	cr_assert_eq(e.nrd, 258);
	cr_assert_eq(e.nwr, 2);
	stop();
}

Test(indirect, a_table_is_refused_when_not_negotiated)
{
	static struct vhost_be_elem e;

	start(false);
	table(2, 1, 100);
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4, &e), -EINVAL);
	stop();
}

Test(indirect, malformed_tables_are_refused)
{
	static struct vhost_be_elem e;
	struct desc *t;

	start(true);
	table(2, 1, 100);
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16 + 8, 4, &e), -EINVAL,
		     "not a whole number of descriptors");
	cr_assert_eq(pop_table(TABLE_GPA, 0, 4, &e), -EINVAL, "empty");
	cr_assert_eq(pop_table(RAM - 16, 32, 4, &e), -EINVAL, "outside memory");
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4 | 1, &e), -EINVAL,
		     "INDIRECT with NEXT");
	cr_assert_eq(pop_table(TABLE_GPA, (2 * VHOST_BE_MAX_SG + 1) * 16, 4, &e),
		     -EINVAL, "too many descriptors");
	t = (struct desc *)(ram + TABLE_GPA);
	t[1].flags = 4;
	t[1].len = 32;
	t[1].addr = TABLE_GPA;
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4, &e), -EINVAL,
		     "a table inside a table");
	table(3, 1, 100);
	t[2].flags = 2 | 1;
	t[2].next = 0;
	cr_assert_eq(pop_table(TABLE_GPA, 3 * 16, 4, &e), -EINVAL, "a loop");
	table(3, 1, 100);
	t[1].next = 7;
	cr_assert_eq(pop_table(TABLE_GPA, 3 * 16, 4, &e), -EINVAL,
		     "next beyond the table");
	table(2, 1, 100);
	t[1].addr = RAM - 50;
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4, &e), -EINVAL,
		     "a buffer outside memory");
	table(2, 0, 100);
	t[1].flags = 0;
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4, &e), -EINVAL,
		     "readable after writable");
	/* Still usable afterwards. */
	table(2, 1, 100);
	cr_assert_eq(pop_table(TABLE_GPA, 2 * 16, 4, &e), 1);
	stop();
}
