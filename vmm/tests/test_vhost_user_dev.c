// SPDX-License-Identifier: MIT
/*
 * The vhost-user device without KVM: built from stub services against the
 * example back-end in another process, wired by hand the way the machine
 * wires it, and driven through its virtio-mmio registers as a guest driver
 * would. What a user of the device cares about: the description the machine
 * gets, the SHM registers, a queue that echoes through the back-end, a
 * mapping the back-end makes, a reset that drops it, a back-end that dies
 * (one line, DEVICE_NEEDS_RESET, an interrupt) and no fd left behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include <shmem/shmem.h>

#include "devices/vhost_user/dev.h"

#include "helpers.h"

#define MIB		(1ULL << 20)
#define RAM_SIZE	(4 * MIB)
#define SHM_GPA		0x100000000ULL
#define EXAMPLE_ID	63

static char *dir;
static char sock_path[256], ctl_path[256];
static pid_t child = -1;
static int ctl_fd = -1;
static size_t fds_before;

static struct dev_services svc;
static struct vmm_log vlog;
static void *ram;
static int ram_fd = -1;
static int stop_fd = -1;

static struct dev_desc desc;
static bool created;
static struct shmem_region *region;

/* What the device logged: the count and every line, for one assertion. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char logged[4096];
static int nlogged;

static void log_fn(void *opaque, enum vmm_log_level level, const char *msg)
{
	size_t n;

	if (getenv("VMM_TEST_VERBOSE"))
		fprintf(stderr, "log: %s\n", msg);
	pthread_mutex_lock(&log_lock);
	n = strlen(logged);
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
	nlogged++;
	pthread_mutex_unlock(&log_lock);
}

static int count_logged(const char *text)
{
	const char *p = logged;
	int n = 0;

	pthread_mutex_lock(&log_lock);
	while ((p = strstr(p, text))) {
		n++;
		p += strlen(text);
	}
	pthread_mutex_unlock(&log_lock);
	return n;
}

static int stops;

static void stop_stub(void *machine, enum vmm_exit_reason reason,
		      const char *detail)
{
	stops++;
}

static void start_backend(void)
{
	char *argv[] = {
		(char *)VHOST_EXAMPLE_BIN, (char *)"--socket", sock_path,
		(char *)"--control", ctl_path, (char *)"--shm", (char *)"0:2M",
		NULL,
	};

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
	if (child > 0)
		kill_wait(child);
	child = -1;
}

static void setup(void)
{
	fds_before = fd_count();
	dir = make_tmpdir();
	cr_assert(dir);
	snprintf(sock_path, sizeof(sock_path), "%s/vhost.sock", dir);
	snprintf(ctl_path, sizeof(ctl_path), "%s/control.sock", dir);
	ram_fd = guest_ram(RAM_SIZE, &ram);
	cr_assert_geq(ram_fd, 0);
	stop_fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(stop_fd, 0);
	vlog = (struct vmm_log){ .level = VMM_LOG_DEBUG, .fn = log_fn };
	svc = (struct dev_services){
		.log = &vlog, .stop = stop_stub, .stop_fd = stop_fd,
		.ram_fd = ram_fd, .nram = 1,
		.ram[0] = { .gpa = 0, .size = RAM_SIZE, .hva = ram },
	};
	logged[0] = '\0';
	nlogged = 0;
	stops = 0;
	created = false;
	region = NULL;
}

static void teardown(void)
{
	if (created)
		desc.ops->destroy(desc.dev);
	shmem_region_destroy(region);
	stop_backend();
	munmap(ram, RAM_SIZE);
	close(ram_fd);
	close(stop_fd);
	rm_tree(dir);
	free(dir);
	cr_assert_eq(fd_count(), fds_before, "an fd was left open");
}

TestSuite(vhost_user_dev, .init = setup, .fini = teardown, .timeout = 60);

static struct vmm_vhost_user example_cfg(void)
{
	struct vmm_vhost_user c;

	memset(&c, 0, sizeof(c));
	c.socket_path = sock_path;
	c.name = "ex0";
	c.virtio_id = EXAMPLE_ID;
	return c;
}

static void create_device(void)
{
	struct vmm_vhost_user c = example_cfg();
	char why[VU_WHY_MAX] = "";

	start_backend();
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     0, "%s", why);
	created = true;
}

/* Wire the device as the machine does: one region at SHM_GPA. */
static void wire_device(void)
{
	struct shmem_region_config rc = {
		.size = desc.shm[0].size, .shmid = desc.shm[0].id,
		.gpa = SHM_GPA, .name = "ex0",
	};
	struct dev_wiring w = { .base = { 0xd0000000 }, .gsi = 16, .nshm = 1 };
	char why[VU_WHY_MAX] = "";

	cr_assert_eq(shmem_region_create(&rc, &region, why, sizeof(why)), 0,
		     "%s", why);
	w.shm[0].id = desc.shm[0].id;
	w.shm[0].gpa = SHM_GPA;
	w.shm[0].size = desc.shm[0].size;
	w.shm[0].region = region;
	cr_assert_eq(desc.ops->wired(desc.dev, &w, why, sizeof(why)), 0, "%s",
		     why);
	/* vmm_run() starts it: its worker talks to the back-end from now. */
	cr_assert_eq(desc.ops->start(desc.dev, why, sizeof(why)), 0, "%s", why);
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

static void expect(const char *want, const char *cmd)
{
	char out[512];

	cr_assert_eq(ctl(ctl_fd, out, sizeof(out), "%s", cmd), 0);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0,
		     "'%s' answered '%s', expected '%s'", cmd, out, want);
}

/*
 * The device's worker resets and starts the back-end after the register
 * writes return: wait until the back-end has the memory table, as a
 * back-end that maps in answer to the guest's requests would.
 */
static void wait_started(void)
{
	char out[512] = "";

	for (int i = 0; i < 500; i++) {
		cr_assert_eq(ctl(ctl_fd, out, sizeof(out), "status"), 0);
		if (strstr(out, "memregions=1"))
			return;
		usleep(2000);
	}
	cr_assert_fail("the back-end was not started: %s", out);
}

/* A guest driver's start: features, one queue laid out in RAM, DRIVER_OK. */
static void driver_start(struct tvq *q)
{
	uint32_t hi;

	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			       VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	cr_assert(hi & 1, "VERSION_1 offered");
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			       VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	tvq_init(q, ram, 0x10000, 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc_gpa);
	wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail_gpa);
	wr(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used_gpa);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			       VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_FEATURES_OK |
			       VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0,
		     "the device failed to start: %s", logged);
	wait_started();
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

Test(vhost_user_dev, describes_what_the_machine_must_wire)
{
	create_device();
	cr_assert_str_eq(desc.name, "ex0");
	cr_assert_eq(desc.nwindows, 1);
	cr_assert_eq(desc.windows[0].bus, DEV_BUS_MMIO);
	cr_assert_eq(desc.windows[0].base, 0, "the machine places it");
	cr_assert_eq(desc.windows[0].size, 0x1000);
	cr_assert_eq(desc.irq, DEV_IRQ_EVENTFD);
	cr_assert_geq(desc.irq_fd, 0);
	cr_assert_eq(desc.nnotify, 1, "one ioeventfd per queue");
	cr_assert_eq(desc.notify[0].offset, VIRTIO_MMIO_QUEUE_NOTIFY);
	cr_assert_eq(desc.notify[0].datamatch, 0);
	cr_assert_geq(desc.notify[0].fd, 0);
	cr_assert_eq(desc.nshm, 1, "from GET_SHMEM_CONFIG");
	cr_assert_eq(desc.shm[0].id, 0);
	cr_assert_eq(desc.shm[0].size, 2 * MIB);
	cr_assert(desc.acpi_virtio_mmio);
}

Test(vhost_user_dev, registers_show_the_device_and_its_region)
{
	create_device();
	wire_device();
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), EXAMPLE_ID);
	wr(VIRTIO_MMIO_SHM_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 2 * MIB);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_BASE_LOW), (uint32_t)SHM_GPA);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_BASE_HIGH), (uint32_t)(SHM_GPA >> 32));
	/* An id without a region reads all ones, never 0 (a 0 fails probes). */
	wr(VIRTIO_MMIO_SHM_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	/* The back-end serves the config space: its 8 bytes. */
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG), 0x454d4853, "\"SHME\" of SHMEXMPL");
}

Test(vhost_user_dev, a_queue_echoes_through_the_backend)
{
	uint64_t gpa[2] = { 0x20000, 0x21000 };
	uint32_t len[2] = { 5, 64 }, id, used;
	bool w[2] = { false, true };
	struct tvq q;
	uint16_t head;
	uint64_t one = 1;

	create_device();
	wire_device();
	driver_start(&q);
	memcpy((uint8_t *)ram + gpa[0], "hello", 5);
	head = tvq_add(&q, gpa, len, w, 2);
	/* What KVM does for a QueueNotify write: signal the ioeventfd. */
	cr_assert_eq(write(desc.notify[0].fd, &one, 8), 8);
	cr_assert(tvq_wait_used(&q, desc.irq_fd, 5000, &id, &used),
		  "no used buffer, no interrupt");
	cr_assert_eq(id, head);
	cr_assert_eq(used, 5);
	cr_assert_eq(memcmp((uint8_t *)ram + gpa[1], "hello", 5), 0);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
}

Test(vhost_user_dev, reset_drops_the_backends_mappings)
{
	struct tvq q;

	create_device();
	wire_device();
	driver_start(&q);
	expect("ok", "map 0 0x1000 0x1000 7 rw");
	cr_assert_eq(shmem_count(region), 1);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	/* The device's worker resets the back-end, then drops them. */
	for (int i = 0; i < 2000 && shmem_count(region); i++)
		usleep(1000);
	cr_assert_eq(shmem_count(region), 0, "a reset drops every mapping");
	/* The device starts again after a reset. */
	driver_start(&q);
}

Test(vhost_user_dev, a_dead_backend_is_reported_once_and_needs_reset)
{
	uint64_t v;
	struct tvq q;

	create_device();
	wire_device();
	driver_start(&q);
	expect("ok", "map 0 0 0x1000 3 ro");
	while (readable(desc.irq_fd, 0) && read(desc.irq_fd, &v, 8) == 8)
		;
	stop_backend();
	cr_assert(readable(desc.irq_fd, 5000), "no interrupt for the driver");
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(count_logged("vhost-user ex0: back-end disconnected (the back-end closed the connection); device stopped"),
		     1, "logged: %s", logged);
	/* The spec keeps mappings until the reset; the guest may still read. */
	cr_assert_eq(shmem_count(region), 1);
	cr_assert_eq(stops, 0, "a back-end never stops the machine");
}

Test(vhost_user_dev, bad_configs_are_refused_before_connecting)
{
	struct vmm_vhost_user c = example_cfg();
	char why[VU_WHY_MAX] = "";

	c.virtio_id = 0;
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     -EINVAL);
	cr_assert_str_eq(why, "virtio-id 0: must be 1 to 65535");
	c = example_cfg();
	c.queue_size = 100;
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "queue-size 100"), "%s", why);
	/* Back-ends map guest RAM: private RAM cannot have one. */
	c = example_cfg();
	svc.ram_fd = -1;
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     -EINVAL);
	cr_assert(strstr(why, "guest memory is private"), "%s", why);
	svc.ram_fd = ram_fd;
}

Test(vhost_user_dev, shm_sizes_must_agree_with_the_backend)
{
	struct vmm_vhost_user c = example_cfg();
	char why[VU_WHY_MAX] = "";

	start_backend();
	c.nshm = 1;
	c.shm[0].id = 0;
	c.shm[0].size = 4 * MIB;
	cr_assert_eq(vhost_user_dev_create(&svc, &c, &desc, why, sizeof(why)),
		     -EINVAL);
	cr_assert_str_eq(why, "shm=0:4194304 disagrees with the back-end's GET_SHMEM_CONFIG (2097152 bytes)");
}
