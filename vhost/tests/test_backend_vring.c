/* SPDX-License-Identifier: MIT */
/*
 * A hostile front-end against the back-end library's virtqueues: a ring
 * grown with SET_VRING_NUM after its addresses were set must be
 * translated again, never indexed past the memory it was checked for.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vhost/backend.h"

#include "helpers.h"
#include "wire.h"

#define RAM	(1ull << 20)

static int sv[2];
static struct vhost_be *be;

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static void setup(void)
{
	struct vhost_be_config cfg = {
		.features = 1ull << VIRTIO_F_VERSION_1,
		.protocol_features = VHOST_BE_PROTOCOL_FEATURES,
		.num_queues = 1, .log = quiet,
	};

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(vhost_be_new(sv[1], &cfg, &be), 0);
}

static void teardown(void)
{
	vhost_be_free(be);
	close(sv[0]);
}

TestSuite(backend_vring, .init = setup, .fini = teardown, .timeout = 30);

static uint64_t ack_of(uint32_t req, const void *payload, uint32_t size,
		       const int *fds, unsigned int nfds)
{
	struct vhost_msg m, r;

	vhost_msg_init(&m, req, VHOST_USER_NEED_REPLY_MASK, size);
	memcpy(&m.p, payload, size);
	for (unsigned int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	m.nfds = nfds;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
	cr_assert_eq(vhost_be_dispatch(be), 0);
	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY, req, true,
				    1000), 0);
	return r.p.u64;
}

Test(backend_vring, a_ring_grown_after_its_addresses_is_checked_again)
{
	uint64_t pf = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK);
	struct vhost_user_mem_table t = { .nregions = 1 };
	struct vhost_user_vring_state st = { .index = 0, .num = 8 };
	struct vhost_user_vring_addr a = { .index = 0 };
	struct vhost_msg m;
	uint8_t *ram;
	int fd = guest_ram(RAM, (void **)&ram);
	int efd = eventfd(0, EFD_CLOEXEC);
	uint64_t idx = 0;
	pid_t pid;
	int status;

	vhost_msg_init(&m, VHOST_USER_SET_PROTOCOL_FEATURES, 0, 8);
	m.p.u64 = pf;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
	cr_assert_eq(vhost_be_dispatch(be), 0);
	t.regions[0] = (struct vhost_user_mem_region){ .size = RAM,
		.user_addr = (uint64_t)(uintptr_t)ram };
	cr_assert_eq(ack_of(VHOST_USER_SET_MEM_TABLE, &t, 40, &fd, 1), 0);
	/* Eight entries, the avail ring ending where guest RAM ends. */
	a.desc_user_addr = (uint64_t)(uintptr_t)ram + 0x1000;
	a.used_user_addr = (uint64_t)(uintptr_t)ram + 0x2000;
	a.avail_user_addr = (uint64_t)(uintptr_t)ram + RAM - (6 + 2 * 8);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0);
	st.num = 100;
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_BASE, &st, 8, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_ADDR, &a, 40, NULL, 0), 0);
	cr_assert_eq(ack_of(VHOST_USER_SET_VRING_KICK, &idx, 8, &efd, 1), 0);
	cr_assert(vhost_be_vring_started(be, 0));
	/* The front-end grows the ring; its avail ring would reach past RAM. */
	st.num = 32768;
	cr_expect_neq(ack_of(VHOST_USER_SET_VRING_NUM, &st, 8, NULL, 0), 0,
		      "a ring that no longer fits its memory is refused");
	cr_expect_not(vhost_be_vring_started(be, 0));
	/* The guest publishes one buffer: the back-end must not read past RAM. */
	*(uint16_t *)(ram + RAM - (6 + 2 * 8) + 2) = 101;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		struct vhost_be_elem e;

		_exit(vhost_be_vring_pop(be, 0, &e) == -EINVAL ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_not(WIFSIGNALED(status), "the back-end died of signal %d",
		      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 0, "pop did not refuse the ring");
	close(efd);
	close(fd);
}
