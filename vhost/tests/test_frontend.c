/* SPDX-License-Identifier: MIT */
/*
 * The front-end against our back-end library running in another process
 * (the example back-end) over a real socket: negotiation, memory table,
 * SHMEM_MAP into a shmem region, UNMAP, hostile requests, reset,
 * disconnect and reconnect.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmem/shmem.h"
#include "vhost/frontend.h"

#include "helpers.h"
#include "shmem_pattern.h"

#define MIB (1ull << 20)

static char *dir;
static char sock_path[256], ctl_path[256];
static pid_t child = -1;
static int ctl_fd = -1;
static struct vhost_fe *fe;
static struct shmem_region *region0;

static pthread_mutex_t lost_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lost_cond = PTHREAD_COND_INITIALIZER;
static int lost_count;

static char why[200];
static char lost_why[200];

static void on_disconnect(void *opaque, struct vhost_fe *f, const char *cause)
{
	pthread_mutex_lock(&lost_lock);
	snprintf(lost_why, sizeof(lost_why), "%s", cause);
	lost_count++;
	pthread_cond_broadcast(&lost_cond);
	pthread_mutex_unlock(&lost_lock);
}

static bool wait_lost(int count, int timeout_s)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_s;
	pthread_mutex_lock(&lost_lock);
	while (lost_count < count &&
	       pthread_cond_timedwait(&lost_cond, &lost_lock, &ts) == 0)
		;
	ok = lost_count >= count;
	pthread_mutex_unlock(&lost_lock);
	return ok;
}

static const struct vhost_fe_ops ops = { .disconnected = on_disconnect };

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
	if (getenv("VHOST_TEST_VERBOSE"))
		fprintf(stderr, "fe: %s\n", m);
}

static void start_backend2(const char *extra, const char *extra2);

static void start_backend(const char *extra)
{
	start_backend2(extra, NULL);
}

static void start_backend2(const char *extra, const char *extra2)
{
	char *argv[14];
	int n = 0;

	argv[n++] = (char *)VHOST_EXAMPLE_BIN;
	argv[n++] = (char *)"--socket";
	argv[n++] = sock_path;
	argv[n++] = (char *)"--control";
	argv[n++] = ctl_path;
	argv[n++] = (char *)"--shm";
	argv[n++] = (char *)"0:2M";
	argv[n++] = (char *)"--shm";
	argv[n++] = (char *)"3:1M";
	if (extra)
		argv[n++] = (char *)extra;
	if (extra2)
		argv[n++] = (char *)extra2;
	argv[n] = NULL;
	unlink(ctl_path);
	child = spawn(argv);
	cr_assert(child > 0);
	ctl_fd = ctl_connect(ctl_path, 5000);
	cr_assert(ctl_fd >= 0, "example back-end did not start");
}

static void stop_backend(void)
{
	if (ctl_fd >= 0)
		close(ctl_fd);
	ctl_fd = -1;
	kill_wait(child);
	child = -1;
}

static struct vhost_fe_config fe_cfg(void)
{
	return (struct vhost_fe_config){
		.socket_path = sock_path, .name = "test", .ops = &ops,
		.log = quiet, .connect_timeout_ms = 5000,
	};
}

static void setup(void)
{
	struct shmem_region_config rc = { .size = 2 * MIB, .shmid = 0,
					  .name = "test" };

	dir = make_tmpdir();
	cr_assert(dir);
	snprintf(sock_path, sizeof(sock_path), "%s/vhost.sock", dir);
	snprintf(ctl_path, sizeof(ctl_path), "%s/control.sock", dir);
	lost_count = 0;
	fe = NULL;
	cr_assert_eq(shmem_region_create(&rc, &region0, NULL, 0), 0);
}

static void teardown(void)
{
	vhost_fe_destroy(fe);
	stop_backend();
	shmem_region_destroy(region0);
	rm_tree(dir);
	free(dir);
}

static void connect_fe(void)
{
	struct vhost_fe_config c = fe_cfg();

	start_backend(NULL);
	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), 0);
	cr_assert_eq(vhost_fe_attach_region(fe, 0, region0), 0);
}

static void expect(const char *want, const char *fmt, const char *arg)
{
	char out[512];

	cr_assert_eq(ctl(ctl_fd, out, sizeof(out), fmt, arg), 0);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0,
		     "'%s' answered '%s', expected '%s'", arg, out, want);
}

TestSuite(frontend, .init = setup, .fini = teardown, .timeout = 60);

Test(frontend, negotiation)
{
	uint64_t sizes[VHOST_USER_MAX_SHMEM_REGIONS];
	char out[256];

	connect_fe();
	cr_assert(vhost_fe_connected(fe));
	cr_assert(vhost_fe_device_features(fe) & (1ull << VIRTIO_F_VERSION_1));
	cr_assert_eq(vhost_fe_device_features(fe) &
		     (1ull << VHOST_USER_F_PROTOCOL_FEATURES), 0);
	for (unsigned int b = 0; b < 64; b++)
		if (VHOST_FE_PROTOCOL_FEATURES & (1ull << b))
			cr_assert(vhost_fe_has(fe, b), "protocol bit %u", b);
	cr_assert_eq(vhost_fe_max_queues(fe), 1);
	cr_assert_eq(vhost_fe_shmem_config(fe, sizes), 2);
	cr_assert_eq(sizes[0], 2 * MIB);
	cr_assert_eq(sizes[3], 1 * MIB);
	cr_assert_eq(sizes[1], 0);
	cr_assert_eq(vhost_fe_set_features(fe, 1ull << VIRTIO_F_VERSION_1, why,
					   sizeof(why)), 0);
	cr_assert_eq(vhost_fe_set_features(fe, 1ull << 5, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "bits the back-end does not offer"), "%s", why);
	/* Regions must be the ones announced, of the announced size. */
	cr_assert_eq(vhost_fe_attach_region(fe, 0, region0), -EEXIST);
	cr_assert_eq(vhost_fe_attach_region(fe, 3, region0), -EINVAL);
	cr_assert_eq(vhost_fe_attach_region(fe, 1, region0), -ENOENT);
	cr_assert_eq(vhost_fe_detach_region(fe, 0), region0);
	cr_assert_null(vhost_fe_detach_region(fe, 0));
	cr_assert_eq(vhost_fe_attach_region(fe, 0, region0), 0);
	cr_assert_eq(ctl(ctl_fd, out, sizeof(out), "status"), 0);
	cr_assert(strstr(out, "connected=1 channel=1 features=0x140000000"),
		  "%s", out);
}

Test(frontend, send_mode_for_shell_scripts)
{
	char cmd[700];

	connect_fe();
	/* One command per connection: free the control socket first. */
	close(ctl_fd);
	ctl_fd = -1;
	snprintf(cmd, sizeof(cmd), "%s --send %s map 0 0x3000 0x1000 9 rw >/dev/null",
		 VHOST_EXAMPLE_BIN, ctl_path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(shmem_count(region0), 1);
	snprintf(cmd, sizeof(cmd), "%s --send %s unmap 0 0x5000 0x1000 >/dev/null",
		 VHOST_EXAMPLE_BIN, ctl_path);
	cr_assert_neq(system(cmd), 0, "a refused unmap exits non-zero");
	ctl_fd = ctl_connect(ctl_path, 1000);
	cr_assert(ctl_fd >= 0);
	expect("ok", "%s", "check 0 0x3000 0 0x1000 9");
}

Test(frontend, config_space)
{
	char buf[8];

	connect_fe();
	cr_assert_eq(vhost_fe_get_config(fe, 0, buf, 8, why, sizeof(why)), 0);
	cr_assert_eq(memcmp(buf, "SHMEXMPL", 8), 0);
	cr_assert_eq(vhost_fe_get_config(fe, 4, buf, 4, why, sizeof(why)), 0);
	cr_assert_eq(memcmp(buf, "XMPL", 4), 0);
	/* Out of range: the back-end answers with an empty payload. */
	cr_assert_eq(vhost_fe_get_config(fe, 6, buf, 8, why, sizeof(why)), -EIO);
	cr_assert_str_eq(why, "GET_CONFIG offset 6 len 8: the back-end refused");
	cr_assert(vhost_fe_connected(fe));
	/* The example's config space is read-only: SET_CONFIG is nacked. */
	cr_assert_eq(vhost_fe_set_config(fe, 0, "x", 1, why, sizeof(why)), -EIO);
	cr_assert(strstr(why, "SET_CONFIG: the back-end replied failure"), "%s",
		  why);
	cr_assert(vhost_fe_connected(fe));
	/* STATUS is not asked for by default. */
	cr_assert_eq(vhost_fe_set_status(fe, 1, why, sizeof(why)), -EOPNOTSUPP);
}

Test(frontend, status_when_asked_for)
{
	struct vhost_fe_config c = fe_cfg();
	uint8_t st = 0;

	c.protocol_features = VHOST_FE_PROTOCOL_FEATURES |
			      (1ull << VHOST_USER_PROTOCOL_F_STATUS);
	start_backend(NULL);
	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), 0);
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_STATUS));
	cr_assert_eq(vhost_fe_set_status(fe, 0xf, why, sizeof(why)), 0);
	cr_assert_eq(vhost_fe_get_status(fe, &st, why, sizeof(why)), 0);
	cr_assert_eq(st, 0xf);
	cr_assert_eq(vhost_fe_reset(fe, why, sizeof(why)), 0);
	cr_assert_eq(vhost_fe_get_status(fe, &st, why, sizeof(why)), 0);
	cr_assert_eq(st, 0, "reset clears the status");
}

Test(frontend, memory_table_is_readable_by_backend)
{
	struct vhost_fe_mem_region r;
	void *ram;
	int fd = guest_ram(4 * MIB, &ram);

	connect_fe();
	cr_assert(fd >= 0);
	shmem_pattern_fill((uint8_t *)ram + 0x10000, 8192, 7);
	r = (struct vhost_fe_mem_region){ .gpa = 0x100000000ull,
		.size = 4 * MIB, .hva = ram, .fd = fd };
	cr_assert_eq(vhost_fe_set_mem_table(fe, &r, 1, why, sizeof(why)), 0);
	expect("ok", "%s", "memcheck 0x100010000 8192 7");
	expect("err mismatch", "%s", "memcheck 0x100010000 8192 8");
	expect("err not in guest memory", "%s", "memcheck 0x100400000 4096 7");
	munmap(ram, 4 * MIB);
	close(fd);
}

Test(frontend, more_than_eight_ram_regions_go_out_with_add_mem_reg)
{
	struct vhost_fe_mem_region r[12];
	uint8_t *ram;
	int fd = guest_ram(12 * 0x10000, (void **)&ram);

	connect_fe();
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	for (unsigned int i = 0; i < 12; i++) {
		r[i] = (struct vhost_fe_mem_region){ .gpa = 0x1000000 * i,
			.size = 0x10000, .hva = ram + 0x10000 * i, .fd = fd,
			.fd_offset = 0x10000 * i };
		shmem_pattern_fill(ram + 0x10000 * i, 0x10000, i);
	}
	cr_assert_eq(vhost_fe_set_mem_table(fe, r, 12, why, sizeof(why)), 0);
	expect("ok", "%s", "memcheck 0xb000000 0x10000 11");
	expect("ok", "%s", "memcheck 0x0 0x10000 0");
	/* Replaced by a smaller table: the old regions are removed first. */
	cr_assert_eq(vhost_fe_set_mem_table(fe, r + 2, 9, why, sizeof(why)), 0);
	expect("err not in guest memory", "%s", "memcheck 0x0 0x1000 0");
	expect("ok", "%s", "memcheck 0x2000000 0x10000 2");
	munmap(ram, 12 * 0x10000);
	close(fd);
}

Test(frontend, map_lands_in_region_and_unmap_removes_it)
{
	uint8_t *hva = shmem_region_hva(region0);
	struct shmem_mapping_info info;
	struct vhost_fe_stats st;

	connect_fe();
	expect("ok", "%s", "map 0 0x1000 0x2000 42 rw");
	cr_assert_eq(shmem_count(region0), 1);
	cr_assert_eq(shmem_lookup(region0, 0x1000, &info), 0);
	cr_assert_eq(info.len, 0x2000);
	cr_assert_eq(shmem_pattern_check(hva + 0x1000, 0x2000, 42), 0,
		     "the back-end's bytes are visible in the region");
	/* A write through the region reaches the back-end's memfd. */
	shmem_pattern_fill(hva + 0x2000, 0x1000, 99);
	expect("ok", "%s", "check 0 0x1000 0x1000 0x1000 99");
	expect("err mismatch", "%s", "check 0 0x1000 0x1000 0x1000 98");
	expect("ok", "%s", "unmap 0 0x1000 0x2000");
	cr_assert_eq(shmem_count(region0), 0);
	/* An unmap of something not mapped is refused. */
	expect("err refused", "%s", "unmap 0 0x1000 0x2000");
	/* shmid 3 is offered but nobody attached a region for it. */
	expect("err refused", "%s", "map 3 0 0x1000 1 rw");
	vhost_fe_get_stats(fe, &st);
	cr_assert_eq(st.maps, 1);
	cr_assert_eq(st.unmaps, 1);
	cr_assert_eq(st.refused, 2);
}

/*
 * Each hostile kind breaks one rule, and the front-end's reply must be that
 * rule's errno (docs/vhost-user.md): a request refused for another reason
 * (an overlap standing in for misalignment, say) fails the test.
 */
Test(frontend, hostile_requests_are_refused_and_valid_mappings_stay)
{
	static const struct { const char *kind; int err; } cases[] = {
		{ "unaligned", EINVAL }, { "overflow", EOVERFLOW },
		{ "beyond", ERANGE }, { "unknown-shmid", ENOENT },
		{ "overlap", EEXIST }, { "no-fd", EBADMSG },
		{ "two-fds", EBADMSG }, { "bad-flags", EINVAL },
		{ "unmap-unknown", ENOENT },
	};
	uint8_t *hva = shmem_region_hva(region0);
	struct vhost_fe_stats st;
	size_t fds;
	char out[256], want[32];

	connect_fe();
	expect("ok", "%s", "map 0 0 0x1000 5 ro");
	fds = fd_count();
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(ctl(ctl_fd, out, sizeof(out), "hostile %s",
				 cases[i].kind), 0);
		snprintf(want, sizeof(want), "reply %d", cases[i].err);
		cr_assert_str_eq(out, want, "hostile %s answered '%s', want '%s' (%s)",
				 cases[i].kind, out, want, strerror(cases[i].err));
	}
	cr_assert_eq(fd_count(), fds, "the front-end leaked an fd");
	cr_assert(vhost_fe_connected(fe));
	vhost_fe_get_stats(fe, &st);
	cr_assert_eq(st.refused, 9);
	cr_assert_eq(shmem_count(region0), 1);
	cr_assert_eq(shmem_pattern_check(hva, 0x1000, 5), 0);
	expect("ok", "%s", "map 0 0x10000 0x1000 6 rw");
	cr_assert_eq(shmem_count(region0), 2);
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
 * A read-only map from the back-end is read-only in the region: recorded
 * with flags 0, and a write is refused, while its read-write neighbour
 * takes writes that reach the back-end's memfd.
 */
Test(frontend, read_only_map_stays_read_only)
{
	uint8_t *hva = shmem_region_hva(region0);
	struct shmem_mapping_info info;

	connect_fe();
	expect("ok", "%s", "map 0 0 0x1000 7 ro");
	expect("ok", "%s", "map 0 0x1000 0x1000 8 rw");
	cr_assert_eq(shmem_lookup(region0, 0, &info), 0);
	cr_assert_eq(info.flags, 0);
	cr_assert_eq(shmem_lookup(region0, 0x1000, &info), 0);
	cr_assert_eq(info.flags, SHMEM_MAP_RW);
	cr_assert_eq(shmem_pattern_check(hva, 0x1000, 7), 0);
	cr_assert_not(can_write(hva), "the read-only mapping took a write");
	cr_assert(can_write(hva + 0x1000));
	shmem_pattern_fill(hva + 0x1000, 0x1000, 9);
	expect("ok", "%s", "check 0 0x1000 0 0x1000 9");
	expect("ok", "%s", "check 0 0 0 0x1000 7");
}

Test(frontend, reset_drops_every_mapping)
{
	char out[256];

	connect_fe();
	expect("ok", "%s", "map 0 0 0x1000 1 rw");
	expect("ok", "%s", "map 0 0x100000 0x10000 2 rw");
	cr_assert_eq(shmem_count(region0), 2);
	cr_assert_eq(vhost_fe_reset(fe, why, sizeof(why)), 0);
	cr_assert_eq(shmem_count(region0), 0);
	cr_assert_eq(ctl(ctl_fd, out, sizeof(out), "status"), 0);
	cr_assert(strstr(out, "maps=0"), "%s", out);
	/* The device works again after the reset. */
	expect("ok", "%s", "map 0 0 0x1000 1 rw");
	cr_assert_eq(shmem_count(region0), 1);
}

Test(frontend, disconnect_is_reported_and_reconnect_works)
{
	struct vhost_fe_mem_region r;
	void *ram;
	int fd = guest_ram(MIB, &ram);

	connect_fe();
	expect("ok", "%s", "map 0 0 0x1000 1 rw");
	stop_backend();
	cr_assert(wait_lost(1, 5), "no disconnect callback");
	cr_assert_not(vhost_fe_connected(fe));
	cr_assert_str_eq(lost_why, "the back-end closed the connection");
	/* Mappings stay until the device is reset (spec). */
	cr_assert_eq(shmem_count(region0), 1);
	r = (struct vhost_fe_mem_region){ .size = MIB, .hva = ram, .fd = fd };
	cr_assert_eq(vhost_fe_set_mem_table(fe, &r, 1, why, sizeof(why)),
		     -ENOTCONN);
	cr_assert_str_eq(why, "SET_MEM_TABLE: the back-end is not connected");

	start_backend(NULL);
	cr_assert_eq(vhost_fe_reconnect(fe, why, sizeof(why)), 0);
	cr_assert(vhost_fe_connected(fe));
	expect("ok", "%s", "map 0 0x10000 0x1000 3 rw");
	cr_assert_eq(shmem_count(region0), 2);
	cr_assert_eq(vhost_fe_reset(fe, why, sizeof(why)), 0);
	cr_assert_eq(shmem_count(region0), 0);
	cr_assert_eq(lost_count, 1);
	munmap(ram, MIB);
	close(fd);
}

Test(frontend, shmem_config_with_300_regions_is_refused)
{
	struct vhost_fe_config c = fe_cfg();
	size_t fds = fd_count();

	start_backend("--bad-shmem-config");
	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), -EPROTO);
	cr_assert(strstr(why, "GET_SHMEM_CONFIG refused (nregions 300): more than 256 regions"),
		  "%s", why);
	cr_assert_null(fe);
	cr_assert_eq(fd_count(), fds + 1 /* control socket */);
}

static bool wait_count(size_t want, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 5; i++) {
		if (shmem_count(region0) == want)
			return true;
		usleep(5000);
	}
	return shmem_count(region0) == want;
}

/*
 * --map-at-start and --churn (the boot soak's back-end): the pages are
 * mapped as soon as the region is attached, read-only and read-write by
 * turns, then one page above them comes and goes.
 */
Test(frontend, example_maps_on_its_own)
{
	struct vhost_fe_config c = fe_cfg();
	struct shmem_mapping_info info;
	uint8_t *hva = shmem_region_hva(region0);

	start_backend2("--map-at-start=3", "--churn=20");
	cr_assert_eq(vhost_fe_create(&c, &fe, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(vhost_fe_attach_region(fe, 0, region0), 0);
	cr_assert(wait_count(4, 5000), "%zu mappings", shmem_count(region0));
	cr_assert(wait_count(3, 5000), "the churned page never went away");
	cr_assert(wait_count(4, 5000), "the churned page never came back");
	cr_assert_eq(shmem_lookup(region0, 0, &info), 0);
	cr_assert_eq(info.flags, 0);
	cr_assert_eq(shmem_lookup(region0, 0x1000, &info), 0);
	cr_assert_eq(info.flags, SHMEM_MAP_RW);
	cr_assert_eq(shmem_pattern_check(hva, 0x1000, 1), 0);
	cr_assert_eq(shmem_pattern_check(hva + 0x2000, 0x1000, 3), 0);
}

Test(frontend, vring_round_trip_through_backend_library)
{
	struct vhost_fe_mem_region r;
	struct vhost_fe_vring v;
	struct tvq q;
	uint8_t *ram;
	uint32_t id, len;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	int fd = guest_ram(MIB, (void **)&ram);
	uint64_t gpa[2] = { 0x20000, 0x30000 };
	uint32_t lens[2] = { 64, 64 };
	bool wr[2] = { false, true };
	uint64_t one = 1;

	connect_fe();
	r = (struct vhost_fe_mem_region){ .gpa = 0, .size = MIB, .hva = ram,
					  .fd = fd };
	cr_assert_eq(vhost_fe_set_features(fe, 1ull << VIRTIO_F_VERSION_1, why,
					   sizeof(why)), 0);
	cr_assert_eq(vhost_fe_set_mem_table(fe, &r, 1, why, sizeof(why)), 0);
	tvq_init(&q, ram, 0x1000, 16);
	v = (struct vhost_fe_vring){ .num = 16, .desc_gpa = q.desc_gpa,
		.avail_gpa = q.avail_gpa, .used_gpa = q.used_gpa,
		.kick_fd = kick, .call_fd = call };
	cr_assert_eq(vhost_fe_vring_start(fe, 0, &v, why, sizeof(why)), 0);
	/* Queue index beyond what the back-end has: refused, still alive. */
	cr_assert_eq(vhost_fe_vring_start(fe, 5, &v, why, sizeof(why)), -EIO);
	cr_assert(strstr(why, ": the back-end replied failure"), "%s", why);
	memcpy(ram + 0x20000, "echo through the example queue", 31);
	cr_assert_eq(tvq_add(&q, gpa, lens, wr, 2), 0);
	cr_assert_eq(write(kick, &one, 8), 8);
	cr_assert(tvq_wait_used(&q, call, 5000, &id, &len));
	cr_assert_eq(id, 0);
	cr_assert_eq(len, 64);
	cr_assert_str_eq((char *)ram + 0x30000, "echo through the example queue");
	{
		uint32_t last = 0;

		cr_assert_eq(vhost_fe_vring_stop(fe, 0, &last, why, sizeof(why)), 0);
		cr_assert_eq(last, 1);
	}
	close(kick);
	close(call);
	munmap(ram, MIB);
	close(fd);
}
