/* SPDX-License-Identifier: MIT */
/*
 * The back-end channel against back-ends that attack the VMM rather than
 * the protocol: an fd on a FUSE mount whose daemon hangs (refused at once;
 * a device reset meanwhile never waits), a flood of bad requests (one log
 * line per refusal, ten a second, the rest counted), and mappings over the
 * device's budget (a failure reply and one line each).
 *
 * The FUSE test needs root and /dev/fuse; it fails, never skips, without.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmem/shmem.h"

#include "channel.h"
#include "helpers.h"
#include "hungfs.h"
#include "wire.h"

#define REGION	(1ull << 20)

static int sv[2];		/* sv[0]: back-end, sv[1]: front-end */
static struct vhost_shm_table table;
static struct shmem_region *region;
static struct vhost_logger logger;
static struct vhost_channel ch;
static struct vhost_fd_reaper reaper;
static int memfd;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int lines, shmem_lines;
static char last[512];

static void capture(void *o, enum vhost_log_level l, const char *m)
{
	pthread_mutex_lock(&log_lock);
	lines++;
	snprintf(last, sizeof(last), "%s", m);
	pthread_mutex_unlock(&log_lock);
}

static void shmem_capture(void *o, enum shmem_log_level l, const char *m)
{
	shmem_lines++;
}

static void setup(void)
{
	struct shmem_region_config rc = { .size = REGION, .shmid = 0,
					  .log = shmem_capture };

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(shmem_region_create(&rc, &region, NULL, 0), 0);
	vhost_shm_table_init(&table);
	table.regions[0] = region;
	logger = (struct vhost_logger){ capture, NULL, "dev" };
	vhost_fd_reaper_init(&reaper);
	ch = (struct vhost_channel){ .sock = sv[1], .reply_ack = true,
		.owner = 1, .shm = &table, .log = &logger, .reaper = &reaper };
	memfd = memfd_create("t", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(memfd, 16 * page_size()), 0);
	lines = shmem_lines = 0;
	last[0] = '\0';
}

static void teardown(void)
{
	close(memfd);
	shmem_region_destroy(region);
	vhost_shm_table_destroy(&table);
	vhost_fd_reaper_destroy(&reaper);
	close(sv[0]);
	close(sv[1]);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 30);

static void send_mmap(uint32_t req, uint64_t off, uint64_t len, int fd)
{
	struct vhost_msg m;

	vhost_msg_init(&m, req, VHOST_USER_NEED_REPLY_MASK, sizeof(m.p.mmap));
	m.p.mmap.shm_offset = off;
	m.p.mmap.len = len;
	m.p.mmap.flags = VHOST_USER_FLAG_MAP_RW;
	if (fd >= 0) {
		m.fds[0] = fd;
		m.nfds = 1;
	}
	cr_assert_eq(vhost_msg_send(sv[0], &m), 0);
}

static int64_t reply_of(uint32_t req)
{
	struct vhost_msg r;

	cr_assert_eq(vhost_msg_recv(sv[0], &r, VHOST_MSG_REPLY, req, true,
				    2000), 0);
	return (int64_t)r.p.u64;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- an fd on a FUSE mount that never answers ---- */

struct serve {
	int ret;
	int64_t took;
};

static void *serve_main(void *arg)
{
	struct serve *s = arg;
	int64_t t0 = now_ms();

	s->ret = vhost_channel_serve_one(&ch, 5000, NULL, 0);
	s->took = now_ms() - t0;
	return NULL;
}

struct resetter {
	atomic_bool done;
	int64_t took;
};

/* What a device reset does to the table while the channel serves a map. */
static void *reset_main(void *arg)
{
	struct resetter *rs = arg;
	int64_t t0 = now_ms();

	pthread_mutex_lock(&table.lock);
	shmem_reset(table.regions[0]);
	pthread_mutex_unlock(&table.lock);
	rs->took = now_ms() - t0;
	atomic_store(&rs->done, true);
	return NULL;
}

Test(hostile, an_fd_on_a_hung_fuse_mount_is_refused_at_once)
{
	char dir[] = "/tmp/vhost-hungfs.XXXXXX", why[200] = "";
	struct resetter rs = { 0 };
	struct serve s = { 0 };
	struct hungfs *fs = NULL;
	pthread_t t1, t2;
	int fd;

	cr_assert_eq(geteuid(), 0, "needs root to mount a FUSE file system");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(hungfs_mount(dir, REGION, &fs, why, sizeof(why)), 0,
		     "%s", why);
	fd = hungfs_open(fs);
	cr_assert_geq(fd, 0, "open: %s", strerror(-fd));
	hungfs_hang(fs);	/* from now on the daemon answers nothing */
	send_mmap(VHOST_USER_BACKEND_SHMEM_MAP, 0, page_size(), fd);
	cr_assert_eq(pthread_create(&t1, NULL, serve_main, &s), 0);
	usleep(50000);
	cr_assert_eq(pthread_create(&t2, NULL, reset_main, &rs), 0);
	for (int i = 0; i < 200 && !atomic_load(&rs.done); i++)
		usleep(10000);
	cr_assert(atomic_load(&rs.done),
		  "a device reset waited 2 s behind the FUSE fd");
	pthread_join(t2, NULL);
	pthread_join(t1, NULL);
	cr_assert_eq(s.ret, 0);
	cr_assert(s.took < 1000, "the request took %lld ms", (long long)s.took);
	cr_assert_eq(reply_of(VHOST_USER_BACKEND_SHMEM_MAP), EREMOTE);
	cr_assert_eq(shmem_count(region), 0);
	cr_assert(strstr(last, "fuse"), "logged: %s", last);
	cr_assert_eq(reaper.n + reaper.stuck, 1,
		     "the channel's copy is closed by a child that waits for FLUSH");
	/* Our own copy too would wait for FLUSH: end the daemon first. */
	hungfs_destroy(fs);
	close(fd);
	rmdir(dir);
}

/* ---- a flood of bad requests ---- */

static void refuse_one(uint64_t i)
{
	send_mmap(VHOST_USER_BACKEND_SHMEM_UNMAP, 0x800 + (i << 12),
		  page_size(), -1);
	cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
	cr_assert_neq(reply_of(VHOST_USER_BACKEND_SHMEM_UNMAP), 0);
}

Test(hostile, every_refusal_is_one_line_and_ten_a_second_at_most)
{
	struct timespec ts;

	/* Start right after a second begins: the burst fits in it. */
	do {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		usleep(1000);
	} while (ts.tv_nsec > 100000000);
	for (uint64_t i = 0; i < 25; i++)
		refuse_one(i);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cr_assert(ts.tv_nsec < 900000000, "the burst spilled into the next second");
	cr_assert_eq(lines, 10, "25 refusals in a second: %d lines", lines);
	cr_assert(strstr(last, "SHMEM_UNMAP"), "%s", last);
	cr_assert_null(strchr(last, '\n'), "one line");
	usleep(1100000);
	refuse_one(25);
	cr_assert_eq(lines, 11);
	cr_assert(strstr(last, "(and 15 more refusals not logged)"), "%s", last);
	cr_assert_eq(shmem_lines, 0, "shmem itself logs no refusal");
	cr_assert_eq(__atomic_load_n(&ch.refused, __ATOMIC_RELAXED), 26);
}

/* ---- over the mapping budget ---- */

Test(hostile, a_map_over_the_budget_gets_a_failure_and_one_line)
{
	struct shmem_region_config rc = { .size = REGION, .shmid = 0,
					  .log = shmem_capture,
					  .max_mappings = 2 };

	shmem_region_destroy(region);
	cr_assert_eq(shmem_region_create(&rc, &region, NULL, 0), 0);
	table.regions[0] = region;
	for (uint64_t i = 0; i < 3; i++) {
		send_mmap(VHOST_USER_BACKEND_SHMEM_MAP, 2 * i * page_size(),
			  page_size(), memfd);
		cr_assert_eq(vhost_channel_serve_one(&ch, 1000, NULL, 0), 0);
		cr_assert_eq(reply_of(VHOST_USER_BACKEND_SHMEM_MAP),
			     i < 2 ? 0 : ENOSPC);
	}
	cr_assert_eq(lines, 1, "one line for the one refusal");
	cr_assert(strstr(last, "the region holds 2 mappings, its limit"), "%s",
		  last);
	cr_assert_eq(shmem_count(region), 2);
}

Test(hostile, a_flood_of_refusals_pauses_the_channel_until_the_next_second)
{
	struct timespec ts;
	int pause;

	do {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		usleep(1000);
	} while (ts.tv_nsec > 100000000);
	for (uint64_t i = 0; i < VHOST_CHANNEL_REFUSALS_PER_SEC - 1; i++)
		refuse_one(i);
	cr_assert_eq(vhost_channel_pause_ms(&ch), 0, "not yet");
	refuse_one(VHOST_CHANNEL_REFUSALS_PER_SEC);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cr_assert(ts.tv_nsec < 900000000, "the flood spilled into the next second");
	pause = vhost_channel_pause_ms(&ch);
	cr_assert(pause > 100 && pause <= 1000, "pause %d ms", pause);
	cr_assert(strstr(last, "waits for the next one") ||
		  lines == 10, "logged: %s", last);
	usleep((useconds_t)pause * 1000);
	cr_assert_eq(vhost_channel_pause_ms(&ch), 0, "a new second, a new budget");
}
