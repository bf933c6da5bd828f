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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* The channel's log: the count and the last line, to see who refused. */
static int log_lines;
static char last_line[512];

static unsigned long long held_reported;	/* sum of "(and N more ...)" */

static void capture(void *o, enum vhost_log_level l, const char *m)
{
	const char *and = strstr(m, "(and ");

	log_lines++;
	snprintf(last_line, sizeof(last_line), "%s", m);
	if (and)
		held_reported += strtoull(and + 5, NULL, 10);
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
	logger = (struct vhost_logger){ capture, NULL, NULL };
	log_lines = 0;
	held_reported = 0;
	last_line[0] = '\0';
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

/*
 * Serve one request sent with NEED_REPLY and return its reply: with
 * REPLY_ACK in use exactly one must be waiting (a missing reply fails the
 * test here, it is not a failure value), without it none may come (-1).
 */
static int64_t serve_and_reply(uint32_t req)
{
	struct vhost_msg r;

	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	if (!ch.reply_ack) {
		cr_assert_not(reply_pending(), "a reply without REPLY_ACK");
		return -1;
	}
	cr_assert(reply_pending(), "no reply to request %u with NEED_REPLY", req);
	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY, req, true, 1000), 0);
	cr_assert_not(reply_pending(), "more than one reply");
	return (int64_t)r.p.u64;
}

static int64_t map_req(uint64_t off, uint64_t len, uint64_t flags,
		       const int *fds, unsigned int nfds, uint8_t shmid)
{
	struct vhost_user_mmap mm = { .shmid = shmid, .shm_offset = off,
				      .len = len, .flags = flags };

	send_req(VHOST_USER_BACKEND_SHMEM_MAP, VHOST_USER_NEED_REPLY_MASK, &mm,
		 sizeof(mm), fds, nfds);
	return serve_and_reply(VHOST_USER_BACKEND_SHMEM_MAP);
}

static int64_t unmap_req(uint64_t off, uint64_t len, uint8_t shmid)
{
	struct vhost_user_mmap mm = { .shmid = shmid, .shm_offset = off,
				      .len = len };

	send_req(VHOST_USER_BACKEND_SHMEM_UNMAP, VHOST_USER_NEED_REPLY_MASK,
		 &mm, sizeof(mm), NULL, 0);
	return serve_and_reply(VHOST_USER_BACKEND_SHMEM_UNMAP);
}

/*
 * A refused request: the reply carries @err, and the one line the channel
 * logged names the rule (@why, the refusing layer's own words). The
 * channel logs ten refusals a second; the burst is reset so that every
 * refusal here gets its line.
 */
#define REFUSED(call, err, why) do {					\
	int lines_ = log_lines;						\
	int64_t got_;							\
									\
	ch.log_burst = 0;						\
	got_ = (call);							\
									\
	cr_assert_eq(got_, (err), "%s replied %lld, want %d (%s)", #call,	\
		     (long long)got_, (err), strerror(err));		\
	cr_assert_eq(log_lines, lines_ + 1, "%s: %d log lines", #call,	\
		     log_lines - lines_);				\
	cr_assert(strstr(last_line, (why)), "%s logged '%s', want '%s'",	\
		  #call, last_line, (why));				\
} while (0)

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

/*
 * Each invalid request breaks one rule and nothing else (the unaligned
 * offset lies in free space, so an overlap cannot stand in for the
 * alignment rule): its reply must be that rule's errno and the log line
 * that rule's reason.
 */
Test(channel, invalid_maps_get_one_failure_reply_each)
{
	uint64_t pg = page_size();
	int two[2] = { memfd, memfd };

	cr_assert_eq(map_req(0, pg, 1, &memfd, 1, 2), 0);
	REFUSED(map_req(3 * pg + pg / 2, pg, 1, &memfd, 1, 2), EINVAL,
		"is not aligned to page size");
	REFUSED(map_req(pg, pg + 1, 1, &memfd, 1, 2), EINVAL,
		"is not aligned to page size");
	REFUSED(map_req(UINT64_MAX - pg + 1, 2 * pg, 1, &memfd, 1, 2), EOVERFLOW,
		"overflows");
	REFUSED(map_req(REGION, pg, 1, &memfd, 1, 2), ERANGE,
		"is beyond the region size");
	REFUSED(map_req(0x10000, pg, 1, &memfd, 1, 3), ENOENT,
		"no region with shmid 3");
	REFUSED(map_req(0x10000, pg, 1, &memfd, 1, 255), ENOENT,
		"no region with shmid 255");
	REFUSED(map_req(0, pg, 1, &memfd, 1, 2), EEXIST, "overlaps the mapping");
	REFUSED(map_req(2 * pg, pg, 1, NULL, 0, 2), EBADMSG, "malformed");
	REFUSED(map_req(2 * pg, pg, 1, two, 2, 2), EBADMSG, "malformed");
	REFUSED(map_req(2 * pg, pg, 1 | 4, &memfd, 1, 2), EINVAL,
		"unknown flag bits 0x4");
	REFUSED(map_req(2 * pg, pg, 1ull << 63, &memfd, 1, 2), EINVAL,
		"unknown flag bits 0x8000000000000000");
	REFUSED(map_req(2 * pg, 8 * pg, 1, &memfd, 1, 2), ERANGE,
		"beyond the end of fd");
	cr_assert_eq(shmem_count(region), 1);
	cr_assert_eq(ch.refused, 12);
	REFUSED(unmap_req(pg, pg, 2), ENOENT, "is not one live mapping");
	REFUSED(unmap_req(0, 2 * pg, 2), ENOENT, "is not one live mapping");
	REFUSED(unmap_req(0, pg, 9), ENOENT, "no region with shmid 9");
	cr_assert_eq(shmem_count(region), 1);
	no_fd_leaked();
}

/*
 * A flood of refusals: at most ten lines a second; every refusal is either
 * logged or counted, and the count is reported with the next line logged.
 */
Test(channel, refusal_lines_are_rate_limited_and_counted)
{
	const int flood = 25;

	for (int i = 0; i < flood; i++)
		cr_assert_eq(unmap_req(0, page_size(), 2), ENOENT);
	/* Even if a second began during the flood, at most 20 lines. */
	cr_assert_leq(log_lines, 20, "%d lines for %d refusals", log_lines, flood);
	cr_assert_gt(ch.log_held, 0);
	cr_assert_eq((unsigned long long)log_lines + held_reported + ch.log_held,
		     (unsigned long long)flood);
	/* The next second's first line reports what was held back. */
	ch.log_sec = 0;
	cr_assert_eq(unmap_req(0, page_size(), 2), ENOENT);
	cr_assert_eq(ch.log_held, 0);
	cr_assert(strstr(last_line, "more refusals not logged)"), "%s", last_line);
	cr_assert_eq((unsigned long long)log_lines + held_reported,
		     (unsigned long long)flood + 1);
	cr_assert_eq(ch.refused, (uint64_t)flood + 1);
	no_fd_leaked();
}

static bool can_write(void *addr)
{
	char c = 0;
	struct iovec local = { &c, 1 }, remote = { addr, 1 };

	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != 1)
		return false;
	return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == 1;
}

/*
 * MAP_RW clear means read-only, whatever the fd allows: the channel must
 * pass the flag on, and the mapping must refuse writes. A read-write
 * request of the same fd next to it takes them.
 */
Test(channel, read_only_map_stays_read_only)
{
	uint64_t pg = page_size();
	uint8_t *hva = shmem_region_hva(region);
	struct shmem_mapping_info info;

	cr_assert_eq(pwrite(memfd, "ro", 2, 0), 2);
	cr_assert_eq(map_req(0, pg, 0, &memfd, 1, 2), 0);
	cr_assert_eq(map_req(pg, pg, VHOST_USER_FLAG_MAP_RW, &memfd, 1, 2), 0);
	cr_assert_eq(shmem_lookup(region, 0, &info), 0);
	cr_assert_eq(info.flags, 0, "read-only map recorded as flags 0x%llx",
		     (unsigned long long)info.flags);
	cr_assert_eq(shmem_lookup(region, pg, &info), 0);
	cr_assert_eq(info.flags, SHMEM_MAP_RW);
	cr_assert_eq(memcmp(hva, "ro", 2), 0);
	cr_assert_not(can_write(hva), "a read-only mapping took a write");
	cr_assert(can_write(hva + pg));
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
