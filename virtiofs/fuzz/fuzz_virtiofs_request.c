/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: hostile FUSE requests, cut into random buffers, to the
 * FUSE server over a small shared tree on tmpfs. After each input: every
 * reply fits the buffers given and its header length is the used length,
 * FORGETs are never answered, no fd into the tree is open beyond what the
 * server's inodes and handles hold (and after a reset, none but its own),
 * and nothing appeared next to the share.
 *
 * The server has a 16 MiB DAX window, filled through a model of the
 * front-end that aborts on any map that overlaps a live range or leaves
 * the window, on any unmap of a range that is not exactly one live map,
 * and, after each input, when the server's count of pieces differs from
 * the ranges it holds; one map in 7 and one unmap in 11 are refused.
 *
 * Each input starts with a valid INIT (the fuzzer need not find one), then
 * records of [u8 mode][u16 length][length bytes of request]. mode
 * bits 0-2: readable piece size - 1 (0 = one buffer); bits 3-5: writable
 * piece size; bit 6: set the header's len to the record's length; bit 7:
 * give no writable buffer.
 *
 * Seeds: virtiofs/fuzz/corpus/fuzz_virtiofs_request/ (file I/O on the
 * tree's file; create, rename, symlink, unlink; a directory listing and
 * lookups of ".." and a symlink; DAX: a read-only map, its upgrade, a
 * second map, removals of live and unknown ranges, a map left for the
 * reset). scripts/fuzz.sh fails unless the corpus reaches these functions:
 * fuzz-reach: check_request op_init op_lookup op_getattr op_setattr op_mkdir op_create op_open op_read op_write op_readdir op_readdirplus op_rename op_unlink op_forget op_batch_forget op_setupmapping op_removemapping vfs_dax_drop_all
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtiofs/server.h"

#define MAX_PIECES	512
#define OUT_ROOM	(VIRTIOFS_MAX_IO + 4096)

static char base[64] = "/dev/shm/fuzz-virtiofs-XXXXXX";
static char share[128], outside[128];
static struct virtiofs_server *srv;
static unsigned long runs;

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(p);
	return 0;
}

static void make_tree(void)
{
	char p[256];
	int fd;

	nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(share, 0755);
	snprintf(p, sizeof(p), "%s/file", share);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	if (fd >= 0) {
		if (write(fd, "hello fuzzer\n", 13) != 13)
			abort();
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/dir", share);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/dir/inner", share);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/up", share);
	if (symlink("..", p))
		abort();
	snprintf(p, sizeof(p), "%s/fifo", share);
	mkfifo(p, 0644);
}

/* Our fds that point into the temporary tree (libFuzzer has its own). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char link[64], target[256];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += !strncmp(target, base, strlen(base));
	}
	if (d)
		closedir(d);
	return n;
}

static void cleanup(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int outside_entries(void)
{
	DIR *d = opendir(outside);
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2;
}

static int baseline_fds;

/* ---- the front-end's side of the DAX window ---- */

#define WIN		(16u << 20)
#define MAX_LIVE	8192

static struct { uint64_t off, len; } live[MAX_LIVE];
static unsigned int nlive, calls;

static int fake_map(void *o, uint64_t off, uint64_t len, int fd,
		    uint64_t foff, bool rw)
{
	struct stat st;

	(void)o;
	(void)foff;
	(void)rw;
	if (!len || off % 4096 || len % 4096 || off >= WIN || len > WIN - off ||
	    fstat(fd, &st) || nlive == MAX_LIVE)
		abort();
	for (unsigned int i = 0; i < nlive; i++)
		if (off < live[i].off + live[i].len && live[i].off < off + len)
			abort();	/* over a live range: vmm refuses */
	if (++calls % 7 == 0)
		return -ENOMEM;
	live[nlive].off = off;
	live[nlive++].len = len;
	return 0;
}

static int fake_unmap(void *o, uint64_t off, uint64_t len)
{
	(void)o;
	for (unsigned int i = 0; i < nlive; i++) {
		if (live[i].off != off || live[i].len != len)
			continue;
		if (++calls % 11 == 0)
			return -ENOMEM;
		live[i] = live[--nlive];
		return 0;
	}
	abort();	/* not exactly one live range */
}

static const struct virtiofs_dax_ops fake_ops = {
	.map = fake_map, .unmap = fake_unmap,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct virtiofs_server_config cfg = { .creds = geteuid() == 0,
		.max_fds = 64, .log_level = VIRTIOFS_LOG_ERROR,
		.dax_window = WIN, .dax_ops = &fake_ops };
	int ret;

	(void)argc;
	(void)argv;
	if (!mkdtemp(base))
		abort();
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	mkdir(outside, 0755);
	make_tree();
	umask(0);
	cfg.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cfg.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = virtiofs_server_new(&cfg, &srv);
	close(cfg.root_fd);
	close(cfg.proc_fd);
	if (ret)
		abort();
	baseline_fds = count_fds();
	atexit(cleanup);
	return 0;
}

/* Cut [p, p + len) into pieces of @step (0: one). */
static unsigned int cut(uint8_t *p, size_t len, size_t step, struct iovec *v)
{
	unsigned int n = 0;

	if (!step)
		step = len ? len : 1;
	for (size_t off = 0; off < len && n < MAX_PIECES; off += step)
		v[n++] = (struct iovec){ p + off,
			len - off < step ? len - off : step };
	return n;
}

static void one_request(uint8_t mode, uint8_t *req, size_t len)
{
	static uint8_t out[OUT_ROOM];
	static struct iovec rd[MAX_PIECES], wr[MAX_PIECES];
	struct fuse_in_header h;
	struct fuse_out_header oh;
	size_t room = mode & 0x80 ? 0 : OUT_ROOM;
	unsigned int nrd, nwr;
	uint32_t used;

	if ((mode & 0x40) && len >= sizeof(h)) {
		uint32_t l = (uint32_t)len;

		memcpy(req, &l, sizeof(l));
	}
	/* Small pieces, or large ones: a real chain has at most 64. */
	nrd = cut(req, len, (mode & 7) ? (size_t)(mode & 7) * 3 : 0, rd);
	nwr = cut(out, room, ((mode >> 3) & 7) ? (size_t)((mode >> 3) & 7) * 509 : 0, wr);
	memset(out, 0xa5, 64);
	used = virtiofs_server_handle(srv, rd, nrd, wr, room ? nwr : 0);
	if (used > room)
		abort();
	if (len < sizeof(h) || nrd == MAX_PIECES)
		return;
	memcpy(&h, req, sizeof(h));
	if ((h.opcode == FUSE_FORGET || h.opcode == FUSE_BATCH_FORGET) && used)
		abort();	/* never a reply to a FORGET */
	if (!used)
		return;
	memcpy(&oh, out, sizeof(oh));
	if (oh.len != used || oh.unique != h.unique || oh.error > 0 ||
	    oh.error < -4095 || (oh.error && oh.len != sizeof(oh)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t req[65536 + 64];
	struct virtiofs_server_stats st;

	{
		struct {
			struct fuse_in_header h;
			struct fuse_init_in in;
		} init = { { .len = sizeof(init), .opcode = FUSE_INIT,
			     .unique = 1 },
			   { .major = 7, .minor = 38, .max_readahead = 131072,
			     .flags = FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS |
				      FUSE_MAP_ALIGNMENT | FUSE_INIT_EXT,
			     .flags2 = (uint32_t)(FUSE_HAS_INODE_DAX >> 32) } };

		memcpy(req, &init, sizeof(init));
		one_request(0x40, req, sizeof(init));
	}
	while (size >= 3) {
		uint8_t mode = data[0];
		size_t len = (size_t)data[1] | (size_t)data[2] << 8;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		memcpy(req, data, len);
		one_request(mode, req, len);
		data += len;
		size -= len;
	}
	virtiofs_server_stats(srv, &st);
	if (st.dax.pieces != nlive) {
		fprintf(stderr, "DAX: %u pieces, the front-end holds %u\n",
			st.dax.pieces, nlive);
		abort();
	}
	/* Our fds: the baseline plus one per inode and handle, no more. */
	if (count_fds() > baseline_fds + (int)(st.inodes - 1 + st.handles)) {
		fprintf(stderr, "fds %d, baseline %d, inodes %u, handles %u\n",
			count_fds(), baseline_fds, st.inodes, st.handles);
		abort();
	}
	if (outside_entries() != 0)
		abort();
	virtiofs_server_reset(srv);
	nlive = 0;		/* the front-end drops them on a reset */
	calls = 0;
	virtiofs_server_stats(srv, &st);
	if (st.dax.mappings || st.dax.pieces)
		abort();
	if (count_fds() != baseline_fds)
		abort();
	if (++runs % 2000 == 0)
		make_tree();
	return 0;
}
