/* SPDX-License-Identifier: MIT */
/*
 * The FUSE server without a guest: requests built byte by byte, cut into
 * small buffers (as a hostile guest may cut them), against a temporary
 * shared directory. Needs root (ownership, device nodes): fails without.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fuse_client.h"
#include "helpers.h"

static char *tmp;
static char share[300], outside[300];
static struct virtiofs_server *srv;
static struct fc c;
static size_t fds_before;

static char *path(const char *rel)
{
	static char p[4][600];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", share, rel);
	return p[k];
}

static void put_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

static void start(bool readonly, unsigned int max_fds)
{
	struct virtiofs_server_config cfg = { .readonly = readonly,
		.max_fds = max_fds, .creds = true,
		.log_level = VIRTIOFS_LOG_WARN };
	int ret;

	cr_assert_eq(geteuid(), 0, "these tests need root (ownership, mknod)");
	fds_before = fd_count();
	tmp = make_tmpdir();
	cr_assert(tmp);
	snprintf(share, sizeof(share), "%s/share", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	cr_assert_eq(mkdir(share, 0755), 0);
	cr_assert_eq(mkdir(outside, 0755), 0);
	put_file(path("hello.txt"), "hello\n");
	cfg.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cfg.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = virtiofs_server_new(&cfg, &srv);
	close(cfg.root_fd);
	close(cfg.proc_fd);
	cr_assert_eq(ret, 0, "virtiofs_server_new: %s", strerror(-ret));
	fc_init_local(&c, srv);
	c.split = 7;
	c.out_split = 5;
}

static void init_rw(void)
{
	start(false, 0);
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
}

static void fini(void)
{
	virtiofs_server_free(srv);
	srv = NULL;
	rm_tree(tmp);
	free(tmp);
	cr_assert_eq(fd_count(), fds_before, "fds leaked");
}

TestSuite(fuse, .init = init_rw, .fini = fini, .timeout = 60);
TestSuite(fuse_init, .fini = fini, .timeout = 60);

static struct fc_reply r;

/* ---- INIT ---- */

Test(fuse_init, init_negotiates_only_what_is_implemented)
{
	struct fuse_init_out o;
	struct fuse_entry_out e;

	start(false, 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), -EIO,
		     "a request before INIT");
	cr_assert_eq(fc_init(&c, 40, &o), 0);
	cr_assert_eq(o.major, 7);
	cr_assert_eq(o.minor, FUSE_KERNEL_MINOR_VERSION, "no higher than ours");
	cr_assert_eq(o.flags & ~(uint32_t)(FUSE_ASYNC_READ | FUSE_BIG_WRITES |
		FUSE_AUTO_INVAL_DATA | FUSE_PARALLEL_DIROPS |
		FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_MAX_PAGES), 0,
		"flags 0x%x", o.flags);
	cr_assert_not(o.flags & (FUSE_HANDLE_KILLPRIV | FUSE_WRITEBACK_CACHE |
				 FUSE_POSIX_LOCKS | FUSE_DONT_MASK));
	cr_assert_eq(o.max_write, VIRTIOFS_MAX_IO);
	cr_assert(o.flags & FUSE_MAX_PAGES);
	cr_assert_eq(o.max_pages, 256, "1 MiB requests");
	cr_assert_eq(o.max_readahead, 131072);
	for (unsigned int i = 0; i < 7; i++)
		cr_assert_eq(o.unused[i], 0, "padding is zero");
	cr_assert_eq(fc_init(&c, 38, NULL), -EPROTO, "INIT twice");
}

Test(fuse_init, init_minor_follows_the_kernel_and_old_ones_are_refused)
{
	struct fuse_init_out o;
	struct fuse_init_in old = { .major = 7, .minor = 12 };
	struct fuse_init_in future = { .major = 8, .minor = 0 };

	start(false, 0);
	cr_assert_eq(fc_call(&c, FUSE_INIT, 0, &old, sizeof(old), NULL, NULL,
			     NULL, 0, sizeof(o), &r), -EPROTO);
	cr_assert_eq(fc_call(&c, FUSE_INIT, 0, &future, sizeof(future), NULL,
			     NULL, NULL, 0, sizeof(o), &r), 0);
	cr_assert_eq(((struct fuse_init_out *)r.buf)->major, 7,
		     "a newer major gets ours, so the kernel retries");
	cr_assert_eq(fc_init(&c, 31, &o), 0);
	cr_assert_eq(o.minor, 31);
}

Test(fuse_init, destroy_forgets_everything_and_init_works_again)
{
	struct fuse_entry_out e;
	struct virtiofs_server_stats st;
	struct fuse_attr a;

	start(false, 0);
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(fc_call(&c, FUSE_DESTROY, 0, NULL, 0, NULL, NULL, NULL, 0,
			     0, &r), 0);
	cr_assert_eq(r.len, sizeof(struct fuse_out_header));
	virtiofs_server_stats(srv, &st);
	cr_assert_eq(st.inodes, 1, "only the root is left");
	cr_assert_not(st.initialized);
	cr_assert_eq(fc_init(&c, 38, NULL), 0, "remount");
	cr_assert_eq(fc_getattr(&c, e.nodeid, &a), -EBADF,
		     "a nodeid from before DESTROY");
	cr_assert_eq(fc_getattr(&c, 1, &a), 0);
}

/* ---- lookup counts ---- */

Test(fuse, lookup_counts_follow_the_kernel)
{
	struct fuse_entry_out e1, e2;
	struct fuse_attr a;
	struct stat st;

	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e1), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e2), 0);
	cr_assert_eq(e1.nodeid, e2.nodeid, "one nodeid per host inode");
	cr_assert_neq(e1.nodeid, 1);
	cr_assert_eq(stat(path("hello.txt"), &st), 0);
	cr_assert_eq(e1.attr.ino, st.st_ino);
	cr_assert_eq(e1.attr.size, 6);
	cr_assert_eq(e1.entry_valid, 1, "cache=auto: 1 s");
	cr_assert_eq(virtiofs_server_nlookup(srv, e1.nodeid), 2);
	fc_forget(&c, e1.nodeid, 1);
	cr_assert_eq(virtiofs_server_nlookup(srv, e1.nodeid), 1);
	cr_assert_eq(fc_getattr(&c, e1.nodeid, &a), 0);
	fc_forget(&c, e1.nodeid, 1);
	cr_assert_eq(fc_getattr(&c, e1.nodeid, &a), -EBADF, "forgotten");
	/* Forgetting again, or more than was looked up, is harmless. */
	fc_forget(&c, e1.nodeid, 5);
	fc_forget(&c, 1, 100);
	cr_assert_eq(fc_getattr(&c, 1, &a), 0, "the root is never forgotten");
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e2), 0);
	cr_assert_neq(e2.nodeid, e1.nodeid, "nodeids are never reused");
}

Test(fuse, batch_forget_counts_are_checked)
{
	struct fuse_entry_out e;
	struct {
		struct fuse_batch_forget_in b;
		struct fuse_forget_one one[2];
	} in;

	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	memset(&in, 0, sizeof(in));
	in.b.count = 3;		/* but only two are given */
	in.one[0] = (struct fuse_forget_one){ e.nodeid, 1 };
	in.one[1] = (struct fuse_forget_one){ e.nodeid, 1 };
	cr_assert_eq(fc_call(&c, FUSE_BATCH_FORGET, 0, &in, sizeof(in), NULL,
			     NULL, NULL, 0, 16, &r), -EPIPE, "never a reply");
	cr_assert_eq(virtiofs_server_nlookup(srv, e.nodeid), 3, "ignored");
	{
		/* A FORGET whose header lies about its length: no reply either. */
		struct fuse_in_header h = { .len = 4000, .opcode = FUSE_FORGET,
					    .nodeid = e.nodeid, .unique = 5 };

		cr_assert_eq(fc_raw(&c, &h, sizeof(h), 16, &r), -EPIPE);
		h.opcode = FUSE_BATCH_FORGET;
		cr_assert_eq(fc_raw(&c, &h, sizeof(h), 16, &r), -EPIPE);
	}
	in.b.count = 2;
	fc_call(&c, FUSE_BATCH_FORGET, 0, &in, sizeof(in), NULL, NULL, NULL,
		0, 16, &r);
	cr_assert_eq(virtiofs_server_nlookup(srv, e.nodeid), 1);
}

/* ---- names ---- */

Test(fuse, names_are_single_components)
{
	struct fuse_entry_out e;
	char longname[300];

	cr_assert_eq(fc_lookup(&c, 1, "", &e), -EINVAL);
	cr_assert_eq(fc_lookup(&c, 1, "../outside", &e), -EINVAL);
	cr_assert_eq(fc_lookup(&c, 1, "/etc", &e), -EINVAL);
	cr_assert_eq(fc_lookup(&c, 1, "..", &e), 0);
	cr_assert_eq(e.nodeid, 1, "'..' at the root is the root");
	cr_assert_eq(fc_mkdir(&c, 1, "..", 0755, &e), -EINVAL);
	cr_assert_eq(fc_mkdir(&c, 1, ".", 0755, &e), -EINVAL);
	cr_assert_eq(fc_mkdir(&c, 1, "a/b", 0755, &e), -EINVAL);
	cr_assert_eq(fc_unlink(&c, 1, "..", true), -EINVAL);
	memset(longname, 'x', 256);
	longname[256] = '\0';
	cr_assert_eq(fc_lookup(&c, 1, longname, &e), -ENAMETOOLONG);
	/* A name without its NUL. */
	cr_assert_eq(fc_call(&c, FUSE_LOOKUP, 1, "abc", 3, NULL, NULL, NULL, 0,
			     sizeof(e), &r), -EINVAL);
}

/* ---- files ---- */

Test(fuse, create_write_read_round_trip)
{
	static uint8_t buf[VIRTIOFS_MAX_IO], back[VIRTIOFS_MAX_IO];
	struct fuse_entry_out e;
	uint64_t fh;
	struct stat st;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* Data in buffers of 4 KiB, as pages (at most 512 per request). */
	c.split = 4096;
	c.out_split = 4095;
	cr_assert_eq(fc_create(&c, 1, "data.bin", O_RDWR, 0640, &e, &fh), 0);
	cr_assert_eq(virtiofs_server_nlookup(srv, e.nodeid), 1);
	cr_assert_eq(fc_write(&c, e.nodeid, fh, 0, buf, sizeof(buf)),
		     (ssize_t)sizeof(buf));
	cr_assert_eq(fc_write(&c, e.nodeid, fh, sizeof(buf), "tail", 4), 4);
	cr_assert_eq(fc_read(&c, e.nodeid, fh, 0, back, sizeof(back)),
		     (ssize_t)sizeof(back));
	cr_assert_eq(memcmp(buf, back, sizeof(buf)), 0);
	cr_assert_eq(fc_read(&c, e.nodeid, fh, sizeof(buf), back, 100), 4,
		     "a short read at the end");
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), -EBADF,
		     "released twice");
	cr_assert_eq(stat(path("data.bin"), &st), 0);
	cr_assert_eq(st.st_size, (off_t)sizeof(buf) + 4);
	cr_assert_eq(st.st_mode & 07777, 0640);
	cr_assert_eq(fc_create(&c, 1, "data.bin", O_RDWR | O_EXCL, 0640, &e,
			       &fh), -EEXIST);
	cr_assert_eq(fc_create(&c, 1, "data.bin", O_RDWR | O_TRUNC, 0640, &e,
			       &fh), 0, "an existing file without O_EXCL");
	cr_assert_eq(stat(path("data.bin"), &st), 0);
	cr_assert_eq(st.st_size, 0, "O_TRUNC");
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
}

Test(fuse, files_are_created_as_the_caller)
{
	struct fuse_entry_out e;
	struct stat st;
	uint64_t fh;

	c.uid = 1000;
	c.gid = 1001;
	cr_assert_eq(fc_create(&c, 1, "mine", O_WRONLY, 0600, &e, &fh), -EACCES,
		     "the host checks the caller's permission (root's 0755 dir)");
	cr_assert_eq(chmod(share, 01777), 0);
	cr_assert_eq(fc_create(&c, 1, "mine", O_WRONLY, 0600, &e, &fh), 0);
	cr_assert_eq(fc_mkdir(&c, 1, "mydir", 0700, &e), 0);
	cr_assert_eq(fc_symlink(&c, 1, "mylink", "mine", &e), 0);
	cr_assert_eq(fc_mknod(&c, 1, "myfifo", S_IFIFO | 0600, 0, &e), 0);
	const char *names[] = { "mine", "mydir", "mylink", "myfifo" };
	for (unsigned int i = 0; i < 4; i++) {
		cr_assert_eq(lstat(path(names[i]), &st), 0);
		cr_assert_eq(st.st_uid, 1000, "%s uid", names[i]);
		cr_assert_eq(st.st_gid, 1001, "%s gid", names[i]);
	}
	c.uid = c.gid = 0;
	cr_assert_eq(geteuid(), 0, "our own ids are back");
	cr_assert_eq(getegid(), 0);
}

Test(fuse, only_regular_files_and_fifos_are_made_only_regular_files_opened)
{
	struct fuse_entry_out e;
	uint64_t fh;

	cr_assert_eq(fc_mknod(&c, 1, "null", S_IFCHR | 0666, makedev(1, 3), &e),
		     -EPERM);
	cr_assert_eq(fc_mknod(&c, 1, "blk", S_IFBLK | 0666, makedev(7, 0), &e),
		     -EPERM);
	cr_assert_eq(fc_mknod(&c, 1, "sock", S_IFSOCK | 0666, 0, &e), -EPERM);
	cr_assert_eq(access(path("null"), F_OK), -1);
	cr_assert_eq(fc_mknod(&c, 1, "fifo", S_IFIFO | 0644, 0, &e), 0);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh), -EACCES,
		     "a FIFO is never opened (it would block)");
	cr_assert_eq(fc_create(&c, 1, "fifo", O_RDONLY, 0644, &e, &fh),
		     -EACCES, "nor through CREATE");
	/* A device node the host made. */
	cr_assert_eq(mknod(path("hostnull"), S_IFCHR | 0666, makedev(1, 3)), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hostnull", &e), 0);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDWR, &fh), -EACCES);
	cr_assert_eq(fc_create(&c, 1, "hostnull", O_RDWR, 0644, &e, &fh),
		     -EACCES);
	cr_assert_eq(fc_mknod(&c, 1, "reg", S_IFREG | 0644, 0, &e), 0);
	cr_assert_eq(fc_open(&c, 1, O_RDONLY, &fh), -EISDIR);
}

Test(fuse, symlinks_are_data_never_followed)
{
	struct fuse_entry_out e, t;
	struct stat st;
	uint64_t fh;

	put_file(path("../outside/secret"), "secret\n");
	cr_assert_eq(fc_symlink(&c, 1, "abs", "/etc/passwd", &e), 0);
	cr_assert_eq(fc_symlink(&c, 1, "esc", "../outside", &e), 0);
	cr_assert_eq(fc_call(&c, FUSE_READLINK, e.nodeid, NULL, 0, NULL, NULL,
			     NULL, 0, 4096, &r), 0);
	cr_assert_eq(r.body, 10);
	cr_assert_eq(memcmp(r.buf, "../outside", 10), 0);
	cr_assert_eq(fc_lookup(&c, e.nodeid, "secret", &t), -ENOTDIR,
		     "a symlink is no directory to look up in");
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh), -EACCES);
	cr_assert_eq(fc_create(&c, 1, "esc", O_RDWR, 0644, &t, &fh), -ELOOP);
	cr_assert_eq(fc_mkdir(&c, 1, "esc", 0755, &t), -EEXIST);
	cr_assert_eq(lstat(path("esc"), &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(stat(path("../outside/secret"), &st), 0);
	cr_assert_eq(st.st_size, 7, "untouched");
}

Test(fuse, setattr_mode_owner_size_times)
{
	struct fuse_entry_out e;
	struct fuse_setattr_in in = { 0 };
	struct fuse_attr_out *o = (void *)r.buf;
	struct stat st;

	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	in.valid = FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_SIZE |
		   FATTR_ATIME | FATTR_MTIME;
	in.mode = S_IFREG | 0751;
	in.uid = 123;
	in.gid = 456;
	in.size = 3;
	in.atime = 1000000000;
	in.mtime = 1234567890;
	in.mtimensec = 5;
	cr_assert_eq(fc_call(&c, FUSE_SETATTR, e.nodeid, &in, sizeof(in), NULL,
			     NULL, NULL, 0, sizeof(*o), &r), 0);
	cr_assert_eq(stat(path("hello.txt"), &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0751);
	cr_assert_eq(st.st_uid, 123);
	cr_assert_eq(st.st_gid, 456);
	cr_assert_eq(st.st_size, 3);
	cr_assert_eq(st.st_atim.tv_sec, 1000000000);
	cr_assert_eq(st.st_mtim.tv_sec, 1234567890);
	cr_assert_eq(st.st_mtim.tv_nsec, 5);
	cr_assert_eq(o->attr.size, 3);
	cr_assert_eq(o->attr.mtime, 1234567890);
	cr_assert_eq(o->attr.uid, 123);
	in.valid = FATTR_SIZE;
	cr_assert_eq(fc_call(&c, FUSE_SETATTR, 1, &in, sizeof(in), NULL, NULL,
			     NULL, 0, sizeof(*o), &r), -EISDIR);
	in.valid = FATTR_MTIME;
	in.mtimensec = 2000000000u;
	cr_assert_eq(fc_call(&c, FUSE_SETATTR, e.nodeid, &in, sizeof(in), NULL,
			     NULL, NULL, 0, sizeof(*o), &r), -EINVAL);
	in.valid = FATTR_FH | FATTR_SIZE;
	in.fh = 999;
	cr_assert_eq(fc_call(&c, FUSE_SETATTR, e.nodeid, &in, sizeof(in), NULL,
			     NULL, NULL, 0, sizeof(*o), &r), -EBADF);
}

Test(fuse, directories_links_and_renames)
{
	struct fuse_entry_out d, f, l;
	struct fuse_rename2_in rn = { 0 };
	struct fuse_link_in li = { 0 };
	struct stat st;

	cr_assert_eq(fc_mkdir(&c, 1, "d", 0750, &d), 0);
	cr_assert(S_ISDIR(d.attr.mode));
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &f), 0);
	li.oldnodeid = f.nodeid;
	cr_assert_eq(fc_call(&c, FUSE_LINK, d.nodeid, &li, sizeof(li), "hl",
			     NULL, NULL, 0, sizeof(l), &r), 0);
	memcpy(&l, r.buf, sizeof(l));
	cr_assert_eq(l.nodeid, f.nodeid, "a hard link is the same inode");
	cr_assert_eq(l.attr.nlink, 2);
	cr_assert_eq(virtiofs_server_nlookup(srv, f.nodeid), 2);
	li.oldnodeid = d.nodeid;
	cr_assert_eq(fc_call(&c, FUSE_LINK, 1, &li, sizeof(li), "dl", NULL,
			     NULL, 0, sizeof(l), &r), -EPERM, "no directory links");
	cr_assert_eq(fc_unlink(&c, 1, "d", true), -ENOTEMPTY);
	/* RENAME2: NOREPLACE, EXCHANGE, bad flags. */
	rn.newdir = 1;
	rn.flags = RENAME_NOREPLACE;
	cr_assert_eq(fc_call(&c, FUSE_RENAME2, d.nodeid, &rn, sizeof(rn), "hl",
			     "hello.txt", NULL, 0, 0, &r), -EEXIST);
	rn.flags = RENAME_EXCHANGE;
	cr_assert_eq(fc_call(&c, FUSE_RENAME2, 1, &rn, sizeof(rn), "hello.txt",
			     "d", NULL, 0, 0, &r), 0);
	cr_assert_eq(stat(path("hello.txt/hl"), &st), 0, "exchanged");
	cr_assert_eq(fc_call(&c, FUSE_RENAME2, 1, &rn, sizeof(rn), "hello.txt",
			     "d", NULL, 0, 0, &r), 0);
	rn.flags = 1u << 7;
	cr_assert_eq(fc_call(&c, FUSE_RENAME2, 1, &rn, sizeof(rn), "hello.txt",
			     "x", NULL, 0, 0, &r), -EINVAL);
	{
		struct fuse_rename_in rn1 = { .newdir = 1 };

		cr_assert_eq(fc_call(&c, FUSE_RENAME, d.nodeid, &rn1,
				     sizeof(rn1), "hl", "moved", NULL, 0, 0,
				     &r), 0);
		cr_assert_eq(fc_call(&c, FUSE_RENAME, 1, &rn1, sizeof(rn1),
				     "moved", "..", NULL, 0, 0, &r), -EINVAL);
		rn1.newdir = 424242;
		cr_assert_eq(fc_call(&c, FUSE_RENAME, 1, &rn1, sizeof(rn1),
				     "moved", "x", NULL, 0, 0, &r), -EBADF);
	}
	cr_assert_eq(stat(path("moved"), &st), 0);
	cr_assert_eq(fc_unlink(&c, 1, "moved", false), 0);
	cr_assert_eq(fc_unlink(&c, 1, "d", true), 0);
	cr_assert_eq(access(path("d"), F_OK), -1);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sorted(char *names, char *out, size_t len)
{
	char *lines[64], *save = NULL, *tok;
	unsigned int n = 0;

	for (tok = strtok_r(names, "\n", &save); tok && n < 64;
	     tok = strtok_r(NULL, "\n", &save))
		lines[n++] = tok;
	qsort(lines, n, sizeof(lines[0]), cmp_lines);
	out[0] = '\0';
	for (unsigned int i = 0; i < n; i++) {
		strncat(out, lines[i], len - strlen(out) - 2);
		strcat(out, " ");
	}
}

Test(fuse, readdir_resumes_and_readdirplus_counts_lookups)
{
	char names[4096], s[4096];
	uint64_t ids[64], fh;
	struct fuse_entry_out e;
	int n;

	for (int i = 0; i < 20; i++) {
		char p[32];

		snprintf(p, sizeof(p), "file-%02d-with-a-long-name", i);
		put_file(path(p), "x");
	}
	cr_assert_eq(fc_opendir(&c, 1, &fh), 0);
	/* 120 bytes hold two or three entries per call. */
	n = fc_readdir_all(&c, 1, fh, false, 120, names, sizeof(names), NULL, 0);
	cr_assert_eq(n, 23, "20 files, hello.txt, '.', '..': %d", n);
	sorted(names, s, sizeof(s));
	cr_assert(strstr(s, ". .. file-00-with-a-long-name "), "%s", s);
	cr_assert(strstr(s, "file-19-with-a-long-name hello.txt "), "%s", s);
	n = fc_readdir_all(&c, 1, fh, true, 400, names, sizeof(names), ids, 64);
	cr_assert_eq(n, 23);
	for (int i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		cr_assert_eq(virtiofs_server_nlookup(srv, ids[i]), 1);
	}
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(virtiofs_server_nlookup(srv, e.nodeid), 2,
		     "READDIRPLUS counted one lookup");
	cr_assert_eq(fc_release(&c, 1, fh, true), 0);
	cr_assert_eq(fc_opendir(&c, e.nodeid, &fh), -ENOTDIR);
}

Test(fuse, dotdot_of_the_root_reveals_nothing_outside)
{
	struct stat st;
	uint64_t fh;
	struct fuse_read_in in;
	size_t pos = 0;
	bool seen = false;

	cr_assert_eq(stat(share, &st), 0);
	cr_assert_eq(fc_opendir(&c, 1, &fh), 0);
	in = (struct fuse_read_in){ .fh = fh, .size = 4096 };
	cr_assert_eq(fc_call(&c, FUSE_READDIR, 1, &in, sizeof(in), NULL, NULL,
			     NULL, 0, 4096, &r), 0);
	while (pos < r.body) {
		struct fuse_dirent *d = (void *)(r.buf + pos);

		if (d->namelen == 2 && !memcmp(d->name, "..", 2)) {
			cr_assert_eq(d->ino, st.st_ino,
				     "'..' of the root shows the root's inode");
			seen = true;
		}
		pos += FUSE_DIRENT_SIZE(d);
	}
	cr_assert(seen);
	cr_assert_eq(fc_release(&c, 1, fh, true), 0);
}

Test(fuse, statfs_lseek_fallocate_fsync_flush)
{
	struct fuse_entry_out e;
	struct fuse_statfs_out *so = (void *)r.buf;
	uint64_t fh;

	cr_assert_eq(fc_call(&c, FUSE_STATFS, 1, NULL, 0, NULL, NULL, NULL, 0,
			     sizeof(*so), &r), 0);
	cr_assert_gt(so->st.blocks, 0);
	cr_assert_eq(so->st.namelen, 255);
	cr_assert_eq(fc_create(&c, 1, "sparse", O_RDWR, 0644, &e, &fh), 0);
	{
		struct fuse_fallocate_in fa = { .fh = fh, .offset = 1 << 20,
						.length = 4096 };
		struct fuse_lseek_in ls = { .fh = fh, .offset = 0,
					    .whence = SEEK_END };
		struct fuse_fsync_in fs = { .fh = fh };
		struct fuse_flush_in fl = { .fh = fh };
		struct stat st;

		cr_assert_eq(fc_call(&c, FUSE_FALLOCATE, e.nodeid, &fa,
				     sizeof(fa), NULL, NULL, NULL, 0, 0, &r), 0);
		cr_assert_eq(stat(path("sparse"), &st), 0);
		cr_assert_eq(st.st_size, (1 << 20) + 4096);
		cr_assert_eq(fc_call(&c, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls),
				     NULL, NULL, NULL, 0,
				     sizeof(struct fuse_lseek_out), &r), 0);
		cr_assert_eq(((struct fuse_lseek_out *)r.buf)->offset,
			     (1 << 20) + 4096);
		ls.whence = 17;
		cr_assert_eq(fc_call(&c, FUSE_LSEEK, e.nodeid, &ls, sizeof(ls),
				     NULL, NULL, NULL, 0,
				     sizeof(struct fuse_lseek_out), &r), -EINVAL);
		cr_assert_eq(fc_call(&c, FUSE_FSYNC, e.nodeid, &fs, sizeof(fs),
				     NULL, NULL, NULL, 0, 0, &r), 0);
		cr_assert_eq(fc_call(&c, FUSE_FLUSH, e.nodeid, &fl, sizeof(fl),
				     NULL, NULL, NULL, 0, 0, &r), 0);
	}
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
}

Test(fuse, unsupported_requests_get_enosys)
{
	uint32_t ops[] = { FUSE_SETXATTR, FUSE_GETXATTR, FUSE_LISTXATTR,
			   FUSE_REMOVEXATTR, FUSE_GETLK, FUSE_IOCTL, FUSE_BMAP,
			   FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_TMPFILE,
			   FUSE_COPY_FILE_RANGE, FUSE_ACCESS, 5000 };
	uint8_t arg[64] = { 0 };

	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		cr_assert_eq(fc_call(&c, ops[i], 1, arg, sizeof(arg), NULL, NULL,
				     NULL, 0, 64, &r), -ENOSYS, "opcode %u",
			     ops[i]);
}

/* ---- malformed requests ---- */

Test(fuse, lengths_are_checked_against_the_buffers)
{
	struct fuse_in_header h = { .len = 40, .opcode = FUSE_GETATTR,
				    .nodeid = 1, .unique = 77 };
	uint8_t big[200] = { 0 };
	struct fuse_write_in w = { 0 };
	struct fuse_entry_out e;
	uint64_t fh;

	/* Fewer than 40 bytes: nothing to answer. */
	cr_assert_eq(fc_raw(&c, &h, 20, 128, &r), -EPIPE);
	/* The header claims more than the chain holds. */
	h.len = 4000;
	cr_assert_eq(fc_raw(&c, &h, sizeof(h), 128, &r), -EINVAL);
	cr_assert(r.unique_ok);
	h.len = 39;
	cr_assert_eq(fc_raw(&c, &h, sizeof(h), 128, &r), -EINVAL);
	/* Too short for GETATTR's argument. */
	h.len = 40;
	cr_assert_eq(fc_raw(&c, &h, sizeof(h), 128, &r), -EINVAL);
	/* No room for the reply: LOOKUP refused before it counts. */
	cr_assert_eq(fc_call(&c, FUSE_LOOKUP, 1, NULL, 0, "hello.txt", NULL,
			     NULL, 0, 100, &r), -EINVAL);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(virtiofs_server_nlookup(srv, e.nodeid), 1);
	/* Fewer than 16 writable bytes: no reply. */
	memcpy(big, &h, sizeof(h));
	((struct fuse_in_header *)big)->len = 56;
	cr_assert_eq(fc_raw(&c, big, 56, FC_NO_ROOM, &r), -EPIPE);
	/* WRITE of more than it carries. */
	cr_assert_eq(fc_create(&c, 1, "w", O_RDWR, 0644, &e, &fh), 0);
	w.fh = fh;
	w.size = 1000;
	cr_assert_eq(fc_call(&c, FUSE_WRITE, e.nodeid, &w, sizeof(w), NULL, NULL,
			     "abc", 3, 16, &r), -EINVAL);
	/* Huge sizes. */
	w.size = 0xffffffffu;
	cr_assert_eq(fc_call(&c, FUSE_WRITE, e.nodeid, &w, sizeof(w), NULL, NULL,
			     "abc", 3, 16, &r), -EINVAL);
	{
		struct fuse_read_in rd = { .fh = fh, .size = 0xffffffffu };

		cr_assert_eq(fc_call(&c, FUSE_READ, e.nodeid, &rd, sizeof(rd),
				     NULL, NULL, NULL, 0, 64, &r), 0,
			     "a huge READ is cut to the buffer");
		cr_assert_eq(r.body, 0, "the file is empty");
	}
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
}

Test(fuse, unknown_nodeids_and_handles)
{
	struct fuse_entry_out e;
	struct fuse_attr a;
	uint64_t fh;
	char buf[8];

	cr_assert_eq(fc_getattr(&c, 0, &a), -EBADF);
	cr_assert_eq(fc_getattr(&c, 2, &a), -EBADF, "never given");
	cr_assert_eq(fc_getattr(&c, UINT64_MAX, &a), -EBADF);
	cr_assert_eq(fc_lookup(&c, 77, "x", &e), -EBADF);
	cr_assert_eq(fc_read(&c, 1, 12345, 0, buf, sizeof(buf)), -EBADF);
	cr_assert_eq(fc_opendir(&c, 1, &fh), 0);
	cr_assert_eq(fc_read(&c, 1, fh, 0, buf, sizeof(buf)), -EBADF,
		     "a directory handle is no file handle");
	cr_assert_eq(fc_release(&c, 1, fh, false), -EBADF);
	cr_assert_eq(fc_release(&c, 1, fh, true), 0);
}

Test(fuse, replies_have_zeroed_padding)
{
	struct fuse_entry_out e;
	struct fuse_open_out *o;
	uint64_t fh;

	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(e.generation, 0);
	cr_assert_eq(e.attr.flags, 0);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh), 0);
	o = (void *)r.buf;
	cr_assert_eq(o->padding, 0);
	cr_assert_eq(o->open_flags, 0, "cache=auto: no flags");
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
}

Test(fuse, fd_budget_bounds_what_a_guest_pins)
{
	struct fuse_entry_out e;
	uint64_t fh[8];
	int ok = 0, ret = 0;

	virtiofs_server_free(srv);
	{
		struct virtiofs_server_config cfg = { .max_fds = 6,
			.log_level = VIRTIOFS_LOG_ERROR };

		cfg.root_fd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
		cfg.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY);
		cr_assert_eq(virtiofs_server_new(&cfg, &srv), 0);
		close(cfg.root_fd);
		close(cfg.proc_fd);
	}
	fc_init_local(&c, srv);
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	for (int i = 0; i < 8 && !ret; i++) {
		ret = fc_open(&c, e.nodeid, O_RDONLY, &fh[i]);
		ok += !ret;
	}
	cr_assert_eq(ret, -ENFILE);
	cr_assert_eq(ok, 4, "root + inode + 4 handles = 6");
	cr_assert_eq(fc_release(&c, e.nodeid, fh[0], false), 0);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh[0]), 0,
		     "room again after a RELEASE");
}

TestSuite(fuse_ro, .fini = fini, .timeout = 60);

Test(fuse_ro, a_readonly_share_refuses_every_change)
{
	struct fuse_entry_out e;
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0777 };
	uint64_t fh;
	char buf[16];
	struct stat st;

	start(true, 0);
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
	cr_assert_eq(fc_lookup(&c, 1, "hello.txt", &e), 0);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDWR, &fh), -EROFS);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY | O_TRUNC, &fh), -EROFS);
	cr_assert_eq(fc_open(&c, e.nodeid, O_RDONLY, &fh), 0);
	cr_assert_eq(fc_read(&c, e.nodeid, fh, 0, buf, sizeof(buf)), 6);
	cr_assert_eq(fc_write(&c, e.nodeid, fh, 0, "x", 1), -EROFS);
	cr_assert_eq(fc_create(&c, 1, "new", O_RDWR, 0644, NULL, &fh), -EROFS);
	cr_assert_eq(fc_mkdir(&c, 1, "d", 0755, NULL), -EROFS);
	cr_assert_eq(fc_unlink(&c, 1, "hello.txt", false), -EROFS);
	cr_assert_eq(fc_call(&c, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), NULL,
			     NULL, NULL, 0, sizeof(struct fuse_attr_out), &r),
		     -EROFS);
	cr_assert_eq(stat(path("hello.txt"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0644);
}
