/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user device as a guest drives it, without KVM: the test plays
 * the vCPU (register reads and writes through the device's MMIO window)
 * against vhost-user-chaos, a back-end that misbehaves on command. What a
 * user cares about: a register access never waits for the back-end, the
 * config space is the back-end's from byte 0, a back-end that drops every
 * connection is reconnected at every reset, and a stop never waits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/vhost_user/dev.h"

#define RAM_SIZE	(16u << 20)

static char dir[64];
static char sock[128], status_path[128];
static pid_t chaos = -1;
static int stop_fd = -1, ram_fd = -1;
static void *ram;
static struct vmm_log vlog;
static struct dev_services svc;
static struct dev_desc desc;
static bool created, started;
static char why[VU_WHY_MAX];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_fn(void *o, enum vmm_log_level l, const char *m)
{
	if (getenv("VMM_TEST_VERBOSE"))
		fprintf(stderr, "vmm: %s\n", m);
}

static void machine_stop(void *m, enum vmm_exit_reason r, const char *d)
{
}

static uint64_t ms_since(void *m, uint64_t *frac)
{
	*frac = 0;
	return 0;
}

static void start_chaos(const char *mode, const char *arm, const char *extra)
{
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)VHOST_CHAOS_BIN;
	argv[n++] = (char *)"--socket";
	argv[n++] = sock;
	argv[n++] = (char *)"--mode";
	argv[n++] = (char *)mode;
	argv[n++] = (char *)"--arm";
	argv[n++] = (char *)arm;
	argv[n++] = (char *)"--status";
	argv[n++] = status_path;
	if (extra) {
		argv[n++] = (char *)"--delay-ms";
		argv[n++] = (char *)extra;
	}
	argv[n] = NULL;
	chaos = fork();
	cr_assert_geq(chaos, 0);
	if (!chaos) {
		/* A test that times out must not leave its back-end behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!getenv("VMM_TEST_VERBOSE")) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(status_path, F_OK); i++)
		usleep(10000);
	cr_assert_eq(access(status_path, F_OK), 0, "the back-end did not start");
}

/* The number after "connections=" in the back-end's status file. */
static unsigned long connections(void)
{
	unsigned long n = 0;
	FILE *f = fopen(status_path, "r");

	if (f) {
		if (fscanf(f, "connections=%lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static bool wait_connections(unsigned long want, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (connections() < want && now_ms() < end)
		usleep(1000);
	return connections() >= want;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vmm-vudev.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/be.sock", dir);
	snprintf(status_path, sizeof(status_path), "%s/status", dir);
	stop_fd = eventfd(0, EFD_CLOEXEC);
	ram_fd = memfd_create("ram", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(ram_fd, RAM_SIZE), 0);
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
	cr_assert_neq(ram, MAP_FAILED);
	vlog = (struct vmm_log){ .level = VMM_LOG_DEBUG, .fn = log_fn };
	svc = (struct dev_services){
		.log = &vlog, .stop = machine_stop, .stop_fd = stop_fd,
		.ms_since_start = ms_since, .ram_fd = ram_fd, .nram = 1,
		.ram[0] = { .gpa = 0, .size = RAM_SIZE, .hva = ram },
	};
	created = started = false;
}

static void teardown(void)
{
	if (started && desc.ops->stop)
		desc.ops->stop(desc.dev);
	if (created)
		desc.ops->destroy(desc.dev);
	if (chaos > 0) {
		kill(chaos, SIGKILL);
		waitpid(chaos, NULL, 0);
	}
	chaos = -1;
	munmap(ram, RAM_SIZE);
	close(ram_fd);
	close(stop_fd);
	unlink(status_path);
	unlink(sock);
	rmdir(dir);
}

TestSuite(vhost_user_chaos, .init = setup, .fini = teardown, .timeout = 60);

static void create_device(void)
{
	struct vmm_vhost_user c;
	struct dev_wiring w = { .base[0] = 0xd0000000, .gsi = 16 };

	vmm_vhost_user_init(&c);
	c.socket_path = sock;
	c.virtio_id = 63;
	c.name = "chaos";
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     0, "%s", why);
	created = true;
	cr_assert_eq(desc.ops->wired(desc.dev, &w, why, sizeof(why)), 0);
	if (desc.ops->start)
		cr_assert_eq(desc.ops->start(desc.dev, why, sizeof(why)), 0);
	started = true;
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0;

	desc.windows[0].ops->read(desc.windows[0].opaque, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	desc.windows[0].ops->write(desc.windows[0].opaque, off, &v, 4);
}

/* What a driver does to start the device, one queue in guest RAM. */
static void driver_start(void)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);	/* VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x100000);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x101000);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x102000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
	   VIRTIO_CONFIG_S_DRIVER_OK);
}

static void arm(void)
{
	cr_assert_eq(kill(chaos, SIGUSR1), 0);
	usleep(100000);
}

Test(vhost_user_chaos, config_reads_are_the_back_ends_bytes_at_their_offset)
{
	char b[5] = { 0 };
	uint32_t v;

	/* Like qemu-storage-daemon: answers from byte 0 whatever the offset. */
	start_chaos("healthy", "signal", NULL);
	create_device();
	v = rd(VIRTIO_MMIO_CONFIG + 4);
	memcpy(b, &v, 4);
	cr_assert_str_eq(b, "SCFG", "config bytes 4-7 of CHAOSCFG");
	v = rd(VIRTIO_MMIO_CONFIG);
	memcpy(b, &v, 4);
	cr_assert_str_eq(b, "CHAO");
	/* Past the back-end's 8 bytes: zeros. */
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG + 8), 0);
}

Test(vhost_user_chaos, a_slow_back_end_never_stalls_a_register_access)
{
	int64_t t0, worst = 0;

	start_chaos("slow", "signal", "400");
	create_device();
	arm();			/* every answer now takes 400 ms */
	for (int i = 0; i < 3; i++) {
		int64_t took;

		t0 = now_ms();
		rd(VIRTIO_MMIO_CONFIG);
		wr(VIRTIO_MMIO_STATUS, 0);		/* reset */
		driver_start();				/* DRIVER_OK */
		rd(VIRTIO_MMIO_CONFIG + 4);
		rd(VIRTIO_MMIO_STATUS);
		took = now_ms() - t0;
		if (took > worst)
			worst = took;
	}
	cr_assert(worst < 100,
		  "a reset, a start and config reads took %lld ms on the vCPU",
		  (long long)worst);
}

Test(vhost_user_chaos, a_back_end_that_drops_every_connection_is_reconnected_at_every_reset)
{
	unsigned long want;
	int i;

	start_chaos("close-after-owner", "signal", NULL);
	create_device();
	arm();			/* drops this connection, and every later one */
	want = connections();
	for (i = 0; i < 300; i++) {
		wr(VIRTIO_MMIO_STATUS, 0);
		want++;
		cr_assert(wait_connections(want, 5000),
			  "reset %d: the device did not reconnect (%lu connections, %lu expected)",
			  i, connections(), want);
		/* The guest hears that the new connection broke at once. */
		driver_start();
		for (int j = 0; j < 500 && !(rd(VIRTIO_MMIO_STATUS) &
					     VIRTIO_CONFIG_S_NEEDS_RESET); j++)
			usleep(1000);
		cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
			  "reset %d: no DEVICE_NEEDS_RESET", i);
	}
}

static void stop_within_a_second(const char *mode, const char *delay)
{
	int64_t t0, took;
	uint64_t one = 1;

	start_chaos(mode, "signal", delay);
	create_device();
	arm();
	wr(VIRTIO_MMIO_STATUS, 0);	/* the worker now waits on the back-end */
	driver_start();
	usleep(200000);
	t0 = now_ms();
	cr_assert_eq(write(stop_fd, &one, 8), 8);	/* the machine stops */
	if (desc.ops->stop)
		desc.ops->stop(desc.dev);
	started = false;
	desc.ops->destroy(desc.dev);
	created = false;
	took = now_ms() - t0;
	cr_assert(took < 1000, "%s: stop and destroy took %lld ms", mode,
		  (long long)took);
}

Test(vhost_user_chaos, stop_never_waits_on_a_slow_back_end)
{
	stop_within_a_second("slow", "4900");
}

Test(vhost_user_chaos, stop_never_waits_on_a_back_end_that_stopped_reading)
{
	stop_within_a_second("stop-reading", NULL);
}

Test(vhost_user_chaos, stop_never_waits_on_a_back_end_that_never_accepts)
{
	stop_within_a_second("never-accept", NULL);
}
