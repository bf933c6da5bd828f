/* SPDX-License-Identifier: MIT */
/*
 * The front-end's back-end channel handler: SHMEM_MAP / SHMEM_UNMAP reach
 * shmem/ only when well-formed, each request gets exactly one reply when
 * REPLY_ACK is in use and NEED_REPLY is set, none otherwise, and no fd is
 * ever left open.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shmem/shmem.h"

#include "channel.h"
#include "helpers.h"
#include "wire.h"

#define REGION (1ull << 20)

static int sv[2];		/* sv[0]: back-end, sv[1]: front-end */
static struct vhost_shm_table table;
static struct shmem_region *region;
static struct vhost_logger logger;
static struct vhost_channel ch;
static int memfd;
static size_t fds_before;
static int config_changes;

static void config_changed(void *opaque)
{
	config_changes++;
}

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
}

static void quiet_shmem(void *o, enum shmem_log_level l, const char *m)
{
}

static void setup(void)
{
	struct shmem_region_config rc = { .size = REGION, .shmid = 2,
					  .log = quiet_shmem };

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(shmem_region_create(&rc, &region, NULL, 0), 0);
	vhost_shm_table_init(&table);
	table.regions[2] = region;
	logger = (struct vhost_logger){ quiet, NULL, NULL };
	ch = (struct vhost_channel){ .sock = sv[1], .reply_ack = true,
		.owner = 1, .shm = &table, .log = &logger,
		.config_changed = config_changed };
	memfd = memfd_create("t", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(memfd, 4 * page_size()), 0);
	config_changes = 0;
	fds_before = fd_count();
}

/* Called at the end of every test: an assertion in .fini is not counted. */
static void no_fd_leaked(void)
{
	cr_assert_eq(fd_count(), fds_before, "an fd leaked");
}

static void teardown(void)
{
	close(memfd);
	shmem_region_destroy(region);
	vhost_shm_table_destroy(&table);
	close(sv[0]);
	close(sv[1]);
}

TestSuite(channel, .init = setup, .fini = teardown, .timeout = 30);

static void send_req(uint32_t req, uint32_t flags, const void *payload,
		     uint32_t size, const int *fds, unsigned int nfds)
{
	struct vhost_msg m;

	vhost_msg_init(&m, req, flags, size);
	if (size)
		memcpy(&m.p, payload, size);
	for (unsigned int i = 0; i < nfds; i++)
		m.fds[i] = fds[i];
	m.nfds = nfds;
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
}

static bool reply_pending(void)
{
	struct pollfd p = { .fd = sv[0], .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static int64_t map_req(uint64_t off, uint64_t len, uint64_t flags,
		       const int *fds, unsigned int nfds, uint8_t shmid)
{
	struct vhost_user_mmap mm = { .shmid = shmid, .shm_offset = off,
				      .len = len, .flags = flags };
	struct vhost_msg r;
	int64_t ret = -1;

	send_req(VHOST_USER_BACKEND_SHMEM_MAP, VHOST_USER_NEED_REPLY_MASK, &mm,
		 sizeof(mm), fds, nfds);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	if (reply_pending()) {
		cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY,
					    VHOST_USER_BACKEND_SHMEM_MAP, true,
					    1000), 0);
		ret = (int64_t)r.p.u64;
	}
	cr_assert_not(reply_pending(), "more than one reply");
	return ret;
}

static int64_t unmap_req(uint64_t off, uint64_t len, uint8_t shmid)
{
	struct vhost_user_mmap mm = { .shmid = shmid, .shm_offset = off,
				      .len = len };
	struct vhost_msg r;

	send_req(VHOST_USER_BACKEND_SHMEM_UNMAP, VHOST_USER_NEED_REPLY_MASK,
		 &mm, sizeof(mm), NULL, 0);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY,
				    VHOST_USER_BACKEND_SHMEM_UNMAP, true, 1000), 0);
	cr_assert_not(reply_pending(), "more than one reply");
	return (int64_t)r.p.u64;
}

Test(channel, valid_map_and_unmap)
{
	uint64_t pg = page_size();
	uint8_t *hva = shmem_region_hva(region);

	cr_assert_eq(pwrite(memfd, "hello", 5, 0), 5);
	cr_assert_eq(map_req(pg, 2 * pg, VHOST_USER_FLAG_MAP_RW, &memfd, 1, 2), 0);
	cr_assert_eq(shmem_count(region), 1);
	cr_assert_eq(memcmp(hva + pg, "hello", 5), 0);
	cr_assert_eq(ch.maps, 1);
	cr_assert_eq(unmap_req(pg, 2 * pg, 2), 0);
	cr_assert_eq(shmem_count(region), 0);
	cr_assert_eq(ch.unmaps, 1);
	no_fd_leaked();
}

Test(channel, invalid_maps_get_one_failure_reply_each)
{
	uint64_t pg = page_size();
	int two[2] = { memfd, memfd };

	cr_assert_eq(map_req(0, pg, 1, &memfd, 1, 2), 0);
	cr_assert_neq(map_req(pg / 2, pg, 1, &memfd, 1, 2), 0, "unaligned");
	cr_assert_neq(map_req(pg, pg + 1, 1, &memfd, 1, 2), 0, "unaligned len");
	cr_assert_neq(map_req(UINT64_MAX - pg + 1, 2 * pg, 1, &memfd, 1, 2), 0,
		      "overflow");
	cr_assert_neq(map_req(REGION, pg, 1, &memfd, 1, 2), 0, "beyond");
	cr_assert_neq(map_req(0, pg, 1, &memfd, 1, 3), 0, "unknown shmid");
	cr_assert_neq(map_req(0, pg, 1, &memfd, 1, 255), 0, "unknown shmid");
	cr_assert_neq(map_req(0, pg, 1, &memfd, 1, 2), 0, "overlap");
	cr_assert_neq(map_req(2 * pg, pg, 1, NULL, 0, 2), 0, "no fd");
	cr_assert_neq(map_req(2 * pg, pg, 1, two, 2, 2), 0, "two fds");
	cr_assert_neq(map_req(2 * pg, pg, 1 | 4, &memfd, 1, 2), 0, "flags");
	cr_assert_neq(map_req(2 * pg, pg, 1ull << 63, &memfd, 1, 2), 0, "flags");
	cr_assert_neq(map_req(2 * pg, 8 * pg, 1, &memfd, 1, 2), 0,
		      "beyond the file");
	cr_assert_eq(shmem_count(region), 1);
	cr_assert_eq(ch.refused, 12);
	cr_assert_neq(unmap_req(pg, pg, 2), 0, "nothing mapped there");
	cr_assert_neq(unmap_req(0, 2 * pg, 2), 0, "not the whole mapping");
	cr_assert_neq(unmap_req(0, pg, 9), 0, "unknown shmid");
	cr_assert_eq(shmem_count(region), 1);
	no_fd_leaked();
}

Test(channel, no_reply_without_need_reply_or_reply_ack)
{
	struct vhost_user_mmap mm = { .shmid = 2, .len = page_size(),
				      .flags = 1 };

	send_req(VHOST_USER_BACKEND_SHMEM_MAP, 0, &mm, sizeof(mm), &memfd, 1);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_not(reply_pending());
	cr_assert_eq(shmem_count(region), 1);

	ch.reply_ack = false;
	send_req(VHOST_USER_BACKEND_SHMEM_UNMAP, VHOST_USER_NEED_REPLY_MASK, &mm,
		 sizeof(mm), NULL, 0);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_not(reply_pending());
	cr_assert_eq(shmem_count(region), 0);
	/* A refused request is not answered either. */
	send_req(VHOST_USER_BACKEND_SHMEM_UNMAP, VHOST_USER_NEED_REPLY_MASK, &mm,
		 sizeof(mm), NULL, 0);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_not(reply_pending());
	no_fd_leaked();
}

Test(channel, unknown_request_and_config_change)
{
	struct vhost_msg r;
	uint8_t junk[32] = { 1 };

	send_req(6, VHOST_USER_NEED_REPLY_MASK, junk, sizeof(junk), &memfd, 1);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY, 6, true, 1000), 0);
	cr_assert_neq(r.p.u64, 0);
	cr_assert_not(reply_pending());

	send_req(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, VHOST_USER_NEED_REPLY_MASK,
		 NULL, 0, NULL, 0);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY,
				    VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, true,
				    1000), 0);
	cr_assert_eq(r.p.u64, 0);
	cr_assert_eq(config_changes, 1);
	no_fd_leaked();
}

Test(channel, framing_errors_end_the_channel)
{
	struct vhost_user_hdr h = { VHOST_USER_BACKEND_SHMEM_MAP, 1 | 8, 4096 };

	cr_assert_eq(write(sv[0], &h, sizeof(h)), sizeof(h));
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), -EMSGSIZE);
	cr_assert_not(reply_pending());
	/* Half a header, then silence: the wait is bounded. */
	cr_assert_eq(write(sv[0], &h, 5), 5);
	cr_assert_eq(vhost_channel_serve_one(&ch, 100, NULL, 0), -ETIMEDOUT);
	no_fd_leaked();
}

Test(channel, peer_closing_is_reported)
{
	shutdown(sv[0], SHUT_WR);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), -ECONNRESET);
	no_fd_leaked();
}
