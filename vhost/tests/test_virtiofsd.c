/* SPDX-License-Identifier: MIT */
/*
 * Interop with a real back-end no one here wrote: Debian's virtiofsd
 * (package qemu-system-common). The front-end negotiates, sends a memfd
 * memory table, sets up the vrings and completes one FUSE_INIT request
 * through the request queue: descriptors in guest memory, a kick, a wait
 * on the call eventfd, and a check of the reply. No KVM involved.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vhost/frontend.h"

#include "helpers.h"

/* VHOST_TEST_VIRTIOFSD overrides the path (to check the failure). */
#define VIRTIOFSD	"/usr/lib/qemu/virtiofsd"
#define RAM_SIZE	(4ull << 20)
#define FUSE_INIT	26

struct fuse_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid, padding;
};

struct fuse_init_in {
	uint32_t major, minor, max_readahead, flags;
};

struct fuse_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct fuse_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write;
};

static char *dir;
static pid_t fsd = -1;
static struct vhost_fe *fe;

static void log_lines(void *o, enum vhost_log_level l, const char *m)
{
	if (l <= VHOST_LOG_INFO)
		fprintf(stderr, "front-end: %s\n", m);
}

static void teardown(void)
{
	vhost_fe_destroy(fe);
	kill_wait(fsd);
	rm_tree(dir);
	free(dir);
}

TestSuite(virtiofsd, .fini = teardown, .timeout = 60);

static void start_virtiofsd(char *sock)
{
	const char *bin = getenv("VHOST_TEST_VIRTIOFSD") ?
			  getenv("VHOST_TEST_VIRTIOFSD") : VIRTIOFSD;
	char src[300], sockarg[320], srcarg[320];
	char *argv[] = { (char *)bin, sockarg, (char *)"-o", srcarg,
			 (char *)"-o", (char *)"sandbox=chroot",
			 (char *)"-o", (char *)"log_level=warn", NULL };

	if (access(bin, X_OK))
		cr_assert_fail("%s is missing: install qemu-system-common "
			       "(scripts/install-deps.sh)", bin);
	dir = make_tmpdir();
	cr_assert(dir);
	snprintf(src, sizeof(src), "%s/shared", dir);
	cr_assert_eq(mkdir(src, 0755), 0);
	snprintf(sock, 300, "%s/virtiofsd.sock", dir);
	snprintf(sockarg, sizeof(sockarg), "--socket-path=%s", sock);
	snprintf(srcarg, sizeof(srcarg), "source=%s", src);
	/* virtiofsd writes its pid file there. */
	mkdir("/run/virtiofsd", 0755);
	fsd = spawn(argv);
	cr_assert(fsd > 0);
	cr_assert(wait_path(sock, 10000), "virtiofsd did not create %s", sock);
}

Test(virtiofsd, fuse_init_through_the_request_queue)
{
	char sock[300];
	struct vhost_fe_config cfg = { .socket_path = sock, .name = "virtiofsd",
				       .log = log_lines };
	struct vhost_fe_mem_region mr;
	struct vhost_fe_vring v;
	struct tvq q[2];
	int kick[2], call[2];
	uint8_t *ram;
	int ramfd = guest_ram(RAM_SIZE, (void **)&ram);
	uint64_t one = 1, sizes[256];
	uint32_t id, len;

	start_virtiofsd(sock);
	cr_assert(ramfd >= 0);
	cr_assert_eq(vhost_fe_create(&cfg, &fe, NULL, 0), 0, "negotiation failed");
	cr_assert(vhost_fe_device_features(fe) & (1ull << VIRTIO_F_VERSION_1));
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_REPLY_ACK));
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_BACKEND_REQ));
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD));
	cr_assert(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	cr_assert_not(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_SHMEM));
	cr_assert_eq(vhost_fe_shmem_config(fe, sizes), -EOPNOTSUPP);

	cr_assert_eq(vhost_fe_set_features(fe, 1ull << VIRTIO_F_VERSION_1, NULL, 0), 0);
	mr = (struct vhost_fe_mem_region){ .gpa = 0, .size = RAM_SIZE,
					   .hva = ram, .fd = ramfd };
	cr_assert_eq(vhost_fe_set_mem_table(fe, &mr, 1, NULL, 0), 0);
	/* Queue 0: high priority, queue 1: the first request queue. */
	for (unsigned int i = 0; i < 2; i++) {
		kick[i] = eventfd(0, EFD_CLOEXEC);
		call[i] = eventfd(0, EFD_CLOEXEC);
		tvq_init(&q[i], ram, 0x10000 * (i + 1), 64);
		v = (struct vhost_fe_vring){ .num = 64,
			.desc_gpa = q[i].desc_gpa, .avail_gpa = q[i].avail_gpa,
			.used_gpa = q[i].used_gpa, .kick_fd = kick[i],
			.call_fd = call[i] };
		cr_assert_eq(vhost_fe_vring_start(fe, i, &v, NULL, 0), 0, "vring %u", i);
	}

	{
		struct fuse_in_header *in = (void *)(ram + 0x100000);
		struct fuse_init_in *init = (void *)(in + 1);
		struct fuse_out_header *out = (void *)(ram + 0x200000);
		struct fuse_init_out *iout = (void *)(out + 1);
		uint64_t gpa[2] = { 0x100000, 0x200000 };
		uint32_t lens[2] = { sizeof(*in) + sizeof(*init), 4096 };
		bool wr[2] = { false, true };

		*in = (struct fuse_in_header){ .len = lens[0],
			.opcode = FUSE_INIT, .unique = 0x1234, .pid = 1 };
		*init = (struct fuse_init_in){ .major = 7, .minor = 31 };
		tvq_add(&q[1], gpa, lens, wr, 2);
		cr_assert_eq(write(kick[1], &one, 8), 8);
		cr_assert(tvq_wait_used(&q[1], call[1], 10000, &id, &len),
			  "no reply to FUSE_INIT");
		cr_assert_eq(id, 0);
		cr_assert_geq(len, sizeof(*out) + sizeof(*iout));
		cr_assert_eq(out->len, len);
		cr_assert_eq(out->error, 0, "FUSE_INIT failed: %d", out->error);
		cr_assert_eq(out->unique, 0x1234);
		cr_assert_eq(iout->major, 7);
		cr_assert_geq(iout->minor, 31);
		cr_assert_gt(iout->max_write, 0);
	}

	for (unsigned int i = 0; i < 2; i++) {
		uint32_t last = 99;

		cr_assert_eq(vhost_fe_vring_stop(fe, i, &last, NULL, 0), 0);
		cr_assert_eq(last, i == 1 ? 1 : 0);
		close(kick[i]);
		close(call[i]);
	}
	cr_assert(vhost_fe_connected(fe));
	/* virtiofsd lacks RESET_DEVICE: the reset goes out as RESET_OWNER. */
	cr_assert_not(vhost_fe_has(fe, VHOST_USER_PROTOCOL_F_RESET_DEVICE));
	cr_assert_eq(vhost_fe_reset(fe, NULL, 0), 0);
	cr_assert(vhost_fe_connected(fe));
	munmap(ram, RAM_SIZE);
	close(ramfd);
}
