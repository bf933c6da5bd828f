/* SPDX-License-Identifier: MIT */
/*
 * The DAX window of the FUSE server, without a guest: SETUPMAPPING and
 * REMOVEMAPPING cut into small buffers, served into a window this test
 * keeps as vmm keeps it (a PROT_NONE reservation, each map a MAP_FIXED
 * MAP_SHARED mapping of the fd it is given, overlaps and partial unmaps
 * refused, a file's last page mappable and no page past it). What the
 * window shows is checked byte by byte, without ever faulting the test:
 * pages are probed with process_vm_readv() first. Needs root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse_client.h"
#include "helpers.h"

#define M		(1ull << 20)
#define WIN		(16 * M)
#define PG		4096ull
#define MAXLIVE		64

/* The front-end's side: a window and the requests it got. */
static struct {
	uint8_t *base;
	struct { uint64_t off, len; bool rw; } live[MAXLIVE];
	unsigned int n;
	unsigned int maps, unmaps;
	unsigned int fail_at;	/* the map call of that number fails */
	int fail_err;
} w;

static int fake_map(void *o, uint64_t off, uint64_t len, int fd,
		    uint64_t foff, bool rw)
{
	struct stat st;
	void *p;

	(void)o;
	if (++w.maps == w.fail_at)
		return w.fail_err;
	cr_assert(off + len <= WIN && off % PG == 0 && len % PG == 0 && len,
		  "the server sent a bad range 0x%llx+0x%llx",
		  (unsigned long long)off, (unsigned long long)len);
	for (unsigned int i = 0; i < w.n; i++)
		if (off < w.live[i].off + w.live[i].len &&
		    w.live[i].off < off + len)
			return -EEXIST;
	if (fstat(fd, &st) || (S_ISREG(st.st_mode) &&
	    foff + len > (((uint64_t)st.st_size + PG - 1) & ~(PG - 1))))
		return -ERANGE;
	p = mmap(w.base + off, len, PROT_READ | (rw ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, fd, (off_t)foff);
	if (p == MAP_FAILED)
		return -errno;
	cr_assert_lt(w.n, MAXLIVE);
	w.live[w.n].off = off;
	w.live[w.n].len = len;
	w.live[w.n++].rw = rw;
	return 0;
}

static int fake_unmap(void *o, uint64_t off, uint64_t len)
{
	(void)o;
	w.unmaps++;
	for (unsigned int i = 0; i < w.n; i++) {
		if (w.live[i].off != off || w.live[i].len != len)
			continue;
		cr_assert_neq(mmap(w.base + off, len, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				   MAP_NORESERVE, -1, 0), MAP_FAILED);
		w.live[i] = w.live[--w.n];
		return 0;
	}
	return -ENOENT;
}

static const struct virtiofs_dax_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap,
};

/* Can the window's byte at @off be read (written)? No signal raised. */
static bool readable(uint64_t off)
{
	uint8_t b;
	struct iovec l = { &b, 1 }, r = { w.base + off, 1 };

	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == 1;
}

static bool writable(uint64_t off)
{
	uint8_t b = w.base[off];
	struct iovec l = { &b, 1 }, r = { w.base + off, 1 };

	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == 1;
}

/* Every page of [off, off + len) readable and equal to @want. */
static void window_shows(uint64_t off, const uint8_t *want, uint64_t len)
{
	for (uint64_t p = 0; p < len; p += PG)
		cr_assert(readable(off + p), "window page 0x%llx is a hole",
			  (unsigned long long)(off + p));
	cr_assert_eq(memcmp(w.base + off, want, len), 0,
		     "window 0x%llx+0x%llx differs", (unsigned long long)off,
		     (unsigned long long)len);
}

static void window_zero(uint64_t off, uint64_t len)
{
	for (uint64_t p = 0; p < len; p += PG) {
		cr_assert(readable(off + p), "window page 0x%llx is a hole",
			  (unsigned long long)(off + p));
		for (uint64_t i = 0; i < PG && p + i < len; i++)
			cr_assert_eq(w.base[off + p + i], 0,
				     "window byte 0x%llx is not zero",
				     (unsigned long long)(off + p + i));
	}
}

/* ---- the server ---- */

static char *tmp;
static char share[300];
static struct virtiofs_server *srv;
static struct fc c;
static struct fc_reply r;
static size_t fds_before;

static char *path(const char *rel)
{
	static char p[4][600];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", share, rel);
	return p[k];
}

/* A file of @len bytes, byte i = (i * 7 + seed); its contents in @out. */
static uint8_t *make_file(const char *rel, size_t len, uint8_t seed)
{
	uint8_t *buf = malloc(len ? len : 1);
	int fd = open(path(rel), O_CREAT | O_TRUNC | O_WRONLY, 0644);

	cr_assert(buf && fd >= 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return buf;
}

static void start(bool readonly, uint64_t window, bool inode_dax)
{
	struct virtiofs_server_config cfg = { .readonly = readonly,
		.creds = true, .log_level = VIRTIOFS_LOG_ERROR,
		.dax_window = window, .dax_ops = &fake_ops };
	struct fuse_init_in in = { .major = 7, .minor = 38,
		.max_readahead = 131072, .flags = 0xffffffff & ~FUSE_INIT_EXT };
	int ret;

	cr_assert_eq(geteuid(), 0, "these tests need root");
	memset(&w, 0, sizeof(w));
	w.base = mmap(NULL, WIN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
		      MAP_NORESERVE, -1, 0);
	cr_assert_neq(w.base, MAP_FAILED);
	fds_before = fd_count();
	tmp = make_tmpdir();
	cr_assert(tmp);
	snprintf(share, sizeof(share), "%s/share", tmp);
	cr_assert_eq(mkdir(share, 0755), 0);
	cfg.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cfg.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = virtiofs_server_new(&cfg, &srv);
	close(cfg.root_fd);
	close(cfg.proc_fd);
	cr_assert_eq(ret, 0, "virtiofs_server_new: %s", strerror(-ret));
	fc_init_local(&c, srv);
	c.split = 7;
	c.out_split = 5;
	if (inode_dax) {
		in.flags |= FUSE_INIT_EXT;
		in.flags2 = (uint32_t)(FUSE_HAS_INODE_DAX >> 32);
	}
	cr_assert_eq(fc_call(&c, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL,
			     NULL, 0, sizeof(struct fuse_init_out), &r), 0);
}

static void init_rw(void)
{
	start(false, WIN, false);
}

static void fini(void)
{
	virtiofs_server_free(srv);
	srv = NULL;
	rm_tree(tmp);
	free(tmp);
	munmap(w.base, WIN);
	cr_assert_eq(fd_count(), fds_before, "fds leaked");
}

TestSuite(dax, .init = init_rw, .fini = fini, .timeout = 60);
TestSuite(dax_cfg, .fini = fini, .timeout = 60);

static uint64_t lookup(const char *name)
{
	struct fuse_entry_out e;

	cr_assert_eq(fc_lookup(&c, 1, name, &e), 0, "%s", name);
	return e.nodeid;
}

static int setup(uint64_t nodeid, uint64_t foff, uint64_t len, uint64_t moff,
		 uint64_t flags)
{
	struct fuse_setupmapping_in in = { .fh = (uint64_t)-1, .foffset = foff,
		.len = len, .flags = flags, .moffset = moff };

	return fc_call(&c, FUSE_SETUPMAPPING, nodeid, &in, sizeof(in), NULL,
		       NULL, NULL, 0, 0, &r);
}

#define RD	FUSE_SETUPMAPPING_FLAG_READ
#define WR	(FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)

/* REMOVEMAPPING with @count in its header and @n entries given. */
static int removemap(uint32_t count, const struct fuse_removemapping_one *e,
		     unsigned int n)
{
	struct fuse_removemapping_in in = { .count = count };

	return fc_call(&c, FUSE_REMOVEMAPPING, 1, &in, sizeof(in), NULL, NULL,
		       e, n * sizeof(*e), 0, &r);
}

static struct virtiofs_dax_stats stats(void)
{
	struct virtiofs_server_stats st;

	virtiofs_server_stats(srv, &st);
	return st.dax;
}

/* ---- INIT ---- */

Test(dax, init_offers_page_alignment_with_a_window)
{
	struct fuse_init_in in = { .major = 7, .minor = 38,
		.flags = FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(FUSE_HAS_INODE_DAX >> 32) };
	struct fuse_init_out *o = (struct fuse_init_out *)r.buf;

	cr_assert_eq(fc_call(&c, FUSE_DESTROY, 0, NULL, 0, NULL, NULL, NULL, 0,
			     0, &r), 0);
	cr_assert_eq(fc_call(&c, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL,
			     NULL, 0, sizeof(*o), &r), 0);
	cr_assert(o->flags & FUSE_MAP_ALIGNMENT);
	cr_assert_eq(o->map_alignment, 12, "4 KiB: what mmap() needs");
	cr_assert(o->flags & FUSE_INIT_EXT);
	cr_assert_eq(o->flags2, (uint32_t)(FUSE_HAS_INODE_DAX >> 32),
		     "dax=inode when the guest asks for it");
}

Test(dax_cfg, no_window_no_dax)
{
	struct fuse_init_in in = { .major = 7, .minor = 38,
		.flags = FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT,
		.flags2 = (uint32_t)(FUSE_HAS_INODE_DAX >> 32) };
	struct fuse_init_out *o = (struct fuse_init_out *)r.buf;

	start(false, 0, false);
	cr_assert_eq(fc_call(&c, FUSE_DESTROY, 0, NULL, 0, NULL, NULL, NULL, 0,
			     0, &r), 0);
	cr_assert_eq(fc_call(&c, FUSE_INIT, 0, &in, sizeof(in), NULL, NULL,
			     NULL, 0, sizeof(*o), &r), 0);
	cr_assert_not(o->flags & FUSE_MAP_ALIGNMENT);
	cr_assert_eq(o->flags2, 0);
	free(make_file("f", 4096, 1));
	cr_assert_eq(setup(lookup("f"), 0, 2 * M, 0, RD), -ENOSYS);
	cr_assert_eq(removemap(1, &(struct fuse_removemapping_one){ 0, 2 * M },
			       1), -ENOSYS);
	cr_assert_eq(virtiofs_server_dax_fd(srv), -1);
	cr_assert_eq(w.maps, 0);
}

Test(dax_cfg, bad_windows_are_refused)
{
	struct virtiofs_server_config cfg = { .dax_window = 3 * M,
		.dax_ops = &fake_ops };
	struct virtiofs_server *s = NULL;

	fds_before = fd_count();
	tmp = make_tmpdir();
	w.base = mmap(NULL, WIN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cfg.root_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cfg.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_eq(virtiofs_server_new(&cfg, &s), -EINVAL, "not 2 MiB");
	cfg.dax_window = VIRTIOFS_DAX_WINDOW_MAX + 2 * M;
	cr_assert_eq(virtiofs_server_new(&cfg, &s), -EINVAL, "above 1 TiB");
	cfg.dax_window = 2 * M;
	cfg.dax_ops = NULL;
	cr_assert_eq(virtiofs_server_new(&cfg, &s), -EINVAL, "no map calls");
	close(cfg.root_fd);
	close(cfg.proc_fd);
}

/* ---- SETUPMAPPING ---- */

Test(dax, setup_maps_the_file_read_write_and_replies_after)
{
	uint8_t *data = make_file("f", 5 * M, 3);
	uint64_t id = lookup("f");

	cr_assert_eq(setup(id, 2 * M, 2 * M, 4 * M, RD), 0);
	cr_assert_eq(w.maps, 1, "one piece: the range lies in the file");
	cr_assert(w.live[0].rw, "read-write from the start: no upgrade remap");
	window_shows(4 * M, data + 2 * M, 2 * M);
	/* Shared with the host file both ways. */
	w.base[4 * M + 10] = 0xee;
	{
		uint8_t b;
		int fd = open(path("f"), O_RDONLY);

		cr_assert_eq(pread(fd, &b, 1, 2 * M + 10), 1);
		cr_assert_eq(b, 0xee, "a store through the window is the file's");
		close(fd);
	}
	cr_assert_eq(stats().setups, 1);
	cr_assert_eq(stats().mappings, 1);
	free(data);
}

Test(dax, the_last_page_shows_the_file_and_zeros_past_it)
{
	uint8_t *data = make_file("f", 5000, 9);

	/* Linux asks for 2 MiB whatever the file's size. */
	cr_assert_eq(setup(lookup("f"), 0, 2 * M, 0, RD), 0);
	window_shows(0, data, 5000);
	window_zero(5000, 2 * M - 5000);
	cr_assert_eq(w.n, 2, "the file's two pages, and zeros after them");
	cr_assert_eq(stats().pieces, 2);
	/* A range wholly past the end of the file: zeros. */
	cr_assert_eq(setup(lookup("f"), 2 * M, 2 * M, 2 * M, RD), 0);
	window_zero(2 * M, 2 * M);
	free(data);
}

Test(dax, an_upgrade_of_the_same_range_is_answered_as_it_stands)
{
	uint64_t id;

	free(make_file("f", 2 * M, 1));
	id = lookup("f");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_eq(setup(id, 0, 2 * M, 0, WR), 0,
		     "Linux upgrades with a second SETUPMAPPING");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_eq(w.maps, 1, "never unmapped and mapped again");
	cr_assert_eq(w.unmaps, 0);
	cr_assert_eq(stats().upgrades, 2);
	cr_assert(writable(0));
}

Test(dax_cfg, a_read_only_share_maps_read_only)
{
	uint8_t *data;
	uint64_t id;

	start(true, WIN, false);
	data = make_file("f", 3 * M, 5);	/* the host writes it */
	id = lookup("f");
	cr_assert_eq(setup(id, 0, 2 * M, 0, WR), -EROFS);
	cr_assert_eq(w.maps, 0);
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_not(w.live[0].rw);
	window_shows(0, data, 2 * M);
	cr_assert_not(writable(0), "the guest cannot write through it");
	cr_assert_eq(setup(id, 0, 2 * M, 0, WR), -EROFS, "no upgrade either");
	free(data);
}

Test(dax, a_file_the_daemon_cannot_write_is_mapped_read_only)
{
	uint64_t id;

	/* Root opens any file for writing, unless its mount is read-only. */
	cr_assert_eq(mkdir(path("rodir"), 0755), 0);
	free(make_file("rodir/f", 2 * M, 1));
	cr_assert_eq(mount(path("rodir"), path("rodir"), NULL, MS_BIND, NULL), 0);
	cr_assert_eq(mount(NULL, path("rodir"), NULL,
			   MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
	id = lookup("rodir");
	{
		struct fuse_entry_out e;

		cr_assert_eq(fc_lookup(&c, id, "f", &e), 0);
		id = e.nodeid;
	}
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_not(w.live[0].rw);
	cr_assert_eq(setup(id, 0, 2 * M, 0, WR), -EROFS,
		     "writing refused: answered, nothing remapped");
	cr_assert_eq(w.maps, 1);
	cr_assert_eq(w.unmaps, 0);
	cr_assert(readable(0));
	/* The mount goes before the files (the test's teardown removes them). */
	cr_assert_eq(fc_call(&c, FUSE_DESTROY, 0, NULL, 0, NULL, NULL, NULL, 0,
			     0, &r), 0);
	cr_assert_eq(umount2(path("rodir"), MNT_DETACH), 0);
}

Test(dax, hostile_setups_map_nothing)
{
	uint64_t id, dir;
	struct fuse_entry_out e;

	free(make_file("f", 4 * M, 1));
	id = lookup("f");
	cr_assert_eq(fc_mkdir(&c, 1, "d", 0755, &e), 0);
	dir = e.nodeid;
	cr_assert_eq(mkfifo(path("fifo"), 0644), 0);
	cr_assert_eq(mknod(path("null"), S_IFCHR | 0666, makedev(1, 3)), 0);
	cr_assert_eq(setup(id, 0, 0, 0, RD), -EINVAL, "zero length");
	cr_assert_eq(setup(id, 0, 2 * M + 100, 0, RD), -EINVAL, "odd length");
	cr_assert_eq(setup(id, 0, 2 * M, 100, RD), -EINVAL, "odd moffset");
	cr_assert_eq(setup(id, 100, 2 * M, 0, RD), -EINVAL, "odd foffset");
	cr_assert_eq(setup(id, 0, 2 * M, WIN, RD), -EINVAL, "past the window");
	cr_assert_eq(setup(id, 0, 4 * M, WIN - 2 * M, RD), -EINVAL,
		     "running off the window");
	cr_assert_eq(setup(id, 0, 2 * M, -2 * M, RD), -EINVAL, "wrapping");
	cr_assert_eq(setup(id, (uint64_t)INT64_MAX - PG + 1, 2 * M, 0, RD),
		     -EINVAL, "file offset overflowing off_t");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD | 4), -EINVAL, "unknown flag");
	cr_assert_eq(setup(dir, 0, 2 * M, 0, RD), -EACCES, "a directory");
	cr_assert_eq(setup(lookup("fifo"), 0, 2 * M, 0, RD), -EACCES,
		     "a FIFO is never opened");
	cr_assert_eq(setup(lookup("null"), 0, 2 * M, 0, RD), -EACCES,
		     "a device's fd never reaches the window");
	cr_assert_eq(setup(424242, 0, 2 * M, 0, RD), -EBADF, "unknown nodeid");
	cr_assert_eq(setup(1, 0, 2 * M, 0, RD), -EACCES, "the root");
	cr_assert_eq(w.maps, 0, "nothing reached the front-end");
	cr_assert_eq(stats().refused, 0,
		     "refused before the table: not counted as failures");
	/* 4 KiB pieces are allowed: the alignment offered is 4 KiB. */
	cr_assert_eq(setup(id, 8 * PG, 3 * PG, 5 * PG, RD), 0);
	cr_assert_eq(w.live[0].off, 5 * PG);
	cr_assert_eq(w.live[0].len, 3 * PG);
}

Test(dax, a_front_end_refusal_is_eio_and_leaves_nothing)
{
	uint64_t id;

	free(make_file("f", 5000, 1));
	id = lookup("f");
	w.fail_at = 1;
	w.fail_err = -EAGAIN;
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), -EIO,
		     "never EAGAIN: the guest's fault path would retry forever");
	cr_assert_eq(w.n, 0);
	/* The zeros after the file's page refused: that page goes too. */
	w.maps = 0;
	w.fail_at = 2;
	w.fail_err = -ENOMEM;
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), -ENOMEM);
	cr_assert_eq(w.n, 0, "all or nothing");
	cr_assert_eq(stats().mappings, 0);
	cr_assert_eq(stats().pieces, 0);
	cr_assert_eq(stats().refused, 2);
	w.fail_at = 0;
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0, "and it works again");
}

Test(dax, a_new_range_over_an_old_one_replaces_it)
{
	uint8_t *a = make_file("a", 2 * M, 1), *b = make_file("b", 2 * M, 2);

	cr_assert_eq(setup(lookup("a"), 0, 2 * M, 0, RD), 0);
	/* Linux reuses a range whose REMOVEMAPPING failed. */
	cr_assert_eq(setup(lookup("b"), 0, 2 * M, 0, RD), 0);
	window_shows(0, b, 2 * M);
	cr_assert_eq(w.unmaps, 1);
	cr_assert_eq(stats().mappings, 1);
	free(a);
	free(b);
}

/* ---- REMOVEMAPPING ---- */

Test(dax, removemapping_unmaps_exactly_what_was_set_up)
{
	struct fuse_removemapping_one e[3] = {
		{ 0, 2 * M }, { 4 * M, 2 * M }, { 8 * M, 2 * M },
	};
	uint64_t id;

	free(make_file("f", 5000, 1));
	id = lookup("f");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_eq(setup(id, 0, 2 * M, 4 * M, RD), 0);
	cr_assert_eq(removemap(3, e, 2), -EINVAL, "count 3, two entries");
	cr_assert_eq(removemap(0, e, 0), -EINVAL, "count 0");
	cr_assert_eq(removemap(257, e, 3), -EINVAL, "more than 256");
	cr_assert_eq(w.unmaps, 0, "a lying count changes nothing");
	/* The entries start at byte 44 of the request: unaligned. */
	cr_assert_eq(removemap(2, e, 2), 0);
	cr_assert_eq(w.n, 0, "both pieces of both ranges");
	cr_assert_not(readable(0));
	cr_assert_not(readable(4 * M + PG));
	cr_assert_eq(stats().removes, 2);
	cr_assert_eq(stats().mappings, 0);
	cr_assert_eq(stats().pieces, 0);
	/* Not mapped, a part, or more than one: EINVAL, nothing unmapped. */
	cr_assert_eq(setup(id, 0, 4 * M, 0, RD), 0);
	cr_assert_eq(removemap(1, &e[2], 1), -EINVAL, "never mapped");
	cr_assert_eq(removemap(1, &e[0], 1), -EINVAL, "half of a mapping");
	cr_assert_eq(removemap(1, &(struct fuse_removemapping_one){
		0, -2 * M }, 1), -EINVAL, "wrapping");
	cr_assert_eq(removemap(1, &(struct fuse_removemapping_one){ 0, 0 }, 1),
		     -EINVAL, "zero length");
	cr_assert(readable(0) && readable(4 * M - 1));
	cr_assert_eq(removemap(1, &(struct fuse_removemapping_one){ 0, 4 * M },
			       1), 0);
}

Test(dax, destroy_unmaps_everything_and_a_reset_forgets_it)
{
	uint64_t id;

	free(make_file("f", 5000, 1));
	id = lookup("f");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_eq(setup(id, 0, 2 * M, 6 * M, RD), 0);
	cr_assert_eq(fc_call(&c, FUSE_DESTROY, 0, NULL, 0, NULL, NULL, NULL, 0,
			     0, &r), 0);
	cr_assert_eq(w.n, 0, "no REMOVEMAPPING comes at unmount");
	cr_assert_eq(stats().mappings, 0);
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
	id = lookup("f");
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	w.unmaps = 0;
	virtiofs_server_reset(srv);
	cr_assert_eq(w.unmaps, 0, "the front-end dropped them on the reset");
	cr_assert_eq(stats().mappings, 0);
	cr_assert_eq(stats().pieces, 0);
}

/* ---- file sizes ---- */

Test(dax, a_size_the_guest_is_told_is_mapped_first)
{
	uint8_t *data = make_file("f", 5000, 4), more[20000];
	struct fuse_attr a;
	uint64_t id = lookup("f");
	int fd;

	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	/* The host appends: nothing changes until the guest learns it. */
	for (size_t i = 0; i < sizeof(more); i++)
		more[i] = (uint8_t)(i * 13);
	fd = open(path("f"), O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, more, sizeof(more)), (ssize_t)sizeof(more));
	close(fd);
	window_zero(8192, PG);
	cr_assert_eq(fc_getattr(&c, id, &a), 0);
	cr_assert_eq(a.size, 25000);
	window_shows(0, data, 5000);
	window_shows(5000, more, 20000);
	window_zero(25000, 2 * M - 25000);
	cr_assert_eq(stats().resizes, 1);
	free(data);
}

Test(dax, an_extending_write_is_mapped_before_its_reply)
{
	uint8_t *data = make_file("f", 100, 4), more[9000];
	uint64_t id = lookup("f"), fh;

	memset(more, 0x5a, sizeof(more));
	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	cr_assert_eq(fc_open(&c, id, O_RDWR, &fh), 0);
	c.split = 1000;		/* 7-byte pieces: more than WRITE takes */
	{
		ssize_t n = fc_write(&c, id, fh, 100, more, sizeof(more));

		cr_assert_eq(n, (ssize_t)sizeof(more), "WRITE: %zd", n);
	}
	window_shows(0, data, 100);
	window_shows(100, more, sizeof(more));
	cr_assert_eq(fc_release(&c, id, fh, false), 0);
	free(data);
}

Test(dax, a_file_truncated_under_a_mapping_shows_zeros_not_holes)
{
	uint8_t *data = make_file("f", 3 * PG, 6);
	struct pollfd p = { .events = POLLIN };

	cr_assert_eq(setup(lookup("f"), 0, 2 * M, 0, RD), 0);
	window_shows(0, data, 3 * PG);
	p.fd = virtiofs_server_dax_fd(srv);
	cr_assert_geq(p.fd, 0);
	cr_assert_eq(truncate(path("f"), 100), 0);
	cr_assert_not(readable(PG), "past the new end the host file faults");
	cr_assert_eq(poll(&p, 1, 5000), 1, "the daemon hears of it");
	virtiofs_server_dax_poll(srv);
	window_shows(0, data, 100);
	window_zero(100, 2 * M - 100);
	/* The file grows again: shown once the guest is told. */
	cr_assert_eq(truncate(path("f"), 3 * PG), 0);
	cr_assert_eq(fc_getattr(&c, lookup("f"), NULL), 0);
	window_shows(0, data, 100);
	window_zero(100, 3 * PG - 100);	/* the file's own zeros now */
	cr_assert_eq(stats().resizes, 2);
	free(data);
}

Test(dax, many_size_changes_keep_the_mapping_whole)
{
	uint8_t *data = make_file("f", PG, 1);
	uint64_t id = lookup("f");

	cr_assert_eq(setup(id, 0, 2 * M, 0, RD), 0);
	for (unsigned int i = 2; i < 40; i++) {
		cr_assert_eq(truncate(path("f"), (off_t)(i * PG)), 0);
		cr_assert_eq(fc_getattr(&c, id, NULL), 0);
		cr_assert_leq(stats().pieces, 16, "pieces are bounded");
	}
	window_shows(0, data, PG);
	window_zero(PG, 2 * M - PG);
	cr_assert_eq(stats().resizes, 38);
	free(data);
}

/* ---- per-file DAX ---- */

Test(dax_cfg, dax_inode_flags_files_of_2_mib_and_more)
{
	struct fuse_attr a;

	start(false, WIN, true);
	free(make_file("small", 4096, 1));
	free(make_file("big", 0, 1));
	cr_assert_eq(truncate(path("big"), 2 * M), 0);
	cr_assert_eq(fc_getattr(&c, lookup("small"), &a), 0);
	cr_assert_not(a.flags & FUSE_ATTR_DAX);
	cr_assert_eq(fc_getattr(&c, lookup("big"), &a), 0);
	cr_assert(a.flags & FUSE_ATTR_DAX);
	cr_assert_eq(fc_getattr(&c, 1, &a), 0);
	cr_assert_not(a.flags & FUSE_ATTR_DAX, "directories never");
}

Test(dax, without_dax_inode_no_file_is_flagged)
{
	struct fuse_attr a;

	free(make_file("big", 0, 1));
	cr_assert_eq(truncate(path("big"), 4 * M), 0);
	cr_assert_eq(fc_getattr(&c, lookup("big"), &a), 0);
	cr_assert_not(a.flags & FUSE_ATTR_DAX);
}

/* ---- a request whose buffer lies in the window ---- */

Test(dax, a_buffer_outside_guest_memory_fails_the_request)
{
	struct fuse_in_header h = { .len = sizeof(h) + sizeof(struct fuse_write_in) + 4096,
				    .opcode = FUSE_WRITE, .unique = 77, .nodeid = 1 };
	struct fuse_write_in wi = { .size = 4096 };
	uint8_t out[64];
	struct fuse_out_header oh;
	struct iovec in[3] = {
		{ &h, sizeof(h) }, { &wi, sizeof(wi) },
		{ NULL, 4096 },		/* the device could not reach it */
	};
	struct iovec o[1] = { { out, sizeof(out) } };

	cr_assert_eq(virtiofs_server_handle(srv, in, 3, o, 1), sizeof(oh));
	memcpy(&oh, out, sizeof(oh));
	cr_assert_eq(oh.error, -EFAULT);
	cr_assert_eq(oh.unique, 77);
	cr_assert_eq(oh.len, sizeof(oh));
	/* No room for a reply header where it can be written: no reply. */
	o[0].iov_base = NULL;
	cr_assert_eq(virtiofs_server_handle(srv, in, 3, o, 1), 0);
	/* A header that cannot be read: no reply either. */
	in[0].iov_base = NULL;
	o[0].iov_base = out;
	cr_assert_eq(virtiofs_server_handle(srv, in, 3, o, 1), 0);
	cr_assert_eq(fc_getattr(&c, 1, NULL), 0, "the server goes on");
}
