/* SPDX-License-Identifier: MIT */
/*
 * vmm-virtiofsd as a process, driven by a test front-end (vhost/frontend.h)
 * through guest memory and virtqueues, as vmm drives it:
 *  - hostile requests, each printed with the daemon's answer, and a check
 *    that nothing outside the shared directory was touched or revealed;
 *  - a front-end that goes away and a next one; the worker pool; SIGTERM;
 *  - the command line: bad options and directories, --help, --version.
 * Needs root (the daemon's sandbox, device nodes): fails without.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vhost/frontend.h"

#include "fuse_client.h"
#include "helpers.h"

#define RAM_SIZE	(8ull << 20)
#define IN_GPA		0x100000ull
#define OUT_GPA		0x400000ull
#define QNUM		256
#define MAX_PIECES	60	/* per side; the back-end library takes 64 */

struct fe_state {
	struct vhost_fe *fe;
	uint8_t *ram;
	int ramfd;
	struct tvq q[2];
	int kick[2], call[2];
};

static char *tmp;
static char share[300], outside[300], sock[300];
static pid_t daemon_pid = -1;
static struct fe_state fs = { .ramfd = -1, .kick = { -1, -1 },
			      .call = { -1, -1 } };
static struct fc c;
static struct fc_reply r;

static void quiet(void *o, enum vhost_log_level l, const char *m)
{
	(void)o;
	if (l <= VHOST_LOG_WARN)
		fprintf(stderr, "front-end: %s\n", m);
}

/* Lay the request out in guest memory, kick, wait for the used entry. */
static int fe_xfer(struct fc *cl, const void *in, size_t inlen, void *out,
		   size_t room, uint32_t *used)
{
	uint64_t gpa[2 * MAX_PIECES];
	uint32_t len[2 * MAX_PIECES], id;
	bool wr[2 * MAX_PIECES];
	unsigned int n = 0, q = 1;
	size_t step;
	uint64_t one = 1;

	(void)cl;
	if (inlen > OUT_GPA - IN_GPA || room > RAM_SIZE - OUT_GPA)
		return -E2BIG;
	if (inlen >= 8) {
		uint32_t op;

		memcpy(&op, (const uint8_t *)in + 4, 4);
		if (op == FUSE_FORGET || op == FUSE_BATCH_FORGET)
			q = 0;	/* hiprio */
	}
	memcpy(fs.ram + IN_GPA, in, inlen);
	step = c.split ? c.split : inlen;
	if (step && (inlen + step - 1) / step > MAX_PIECES)
		step = (inlen + MAX_PIECES - 1) / MAX_PIECES;
	for (size_t off = 0; off < inlen; off += step, n++) {
		gpa[n] = IN_GPA + off;
		len[n] = (uint32_t)(inlen - off < step ? inlen - off : step);
		wr[n] = false;
	}
	memset(fs.ram + OUT_GPA, 0xa5, room);
	step = c.out_split ? c.out_split : room;
	if (step && (room + step - 1) / step > MAX_PIECES)
		step = (room + MAX_PIECES - 1) / MAX_PIECES;
	for (size_t off = 0; off < room; off += step, n++) {
		gpa[n] = OUT_GPA + off;
		len[n] = (uint32_t)(room - off < step ? room - off : step);
		wr[n] = true;
	}
	if (!n)
		return -EINVAL;
	tvq_add(&fs.q[q], gpa, len, wr, n);
	if (write(fs.kick[q], &one, 8) != 8)
		return -errno;
	if (!tvq_wait_used(&fs.q[q], fs.call[q], 10000, &id, used))
		return -ETIMEDOUT;
	memcpy(out, fs.ram + OUT_GPA, room);
	return 0;
}

static void fe_connect(void)
{
	struct vhost_fe_config cfg = { .socket_path = sock, .name = "test",
				       .log = quiet };
	struct vhost_fe_mem_region mr;

	cr_assert_eq(vhost_fe_create(&cfg, &fs.fe, NULL, 0), 0, "negotiation");
	cr_assert_not(vhost_fe_has(fs.fe, VHOST_USER_PROTOCOL_F_CONFIG),
		      "no config space: the front-end has the tag");
	cr_assert_eq(vhost_fe_max_queues(fs.fe), 2, "hiprio + one request queue");
	cr_assert_eq(vhost_fe_set_features(fs.fe, 1ull << VIRTIO_F_VERSION_1, NULL, 0), 0);
	if (!fs.ram) {
		fs.ramfd = guest_ram(RAM_SIZE, (void **)&fs.ram);
		cr_assert(fs.ramfd >= 0);
	}
	mr = (struct vhost_fe_mem_region){ .gpa = 0, .size = RAM_SIZE,
					   .hva = fs.ram, .fd = fs.ramfd };
	cr_assert_eq(vhost_fe_set_mem_table(fs.fe, &mr, 1, NULL, 0), 0);
	for (unsigned int i = 0; i < 2; i++) {
		struct vhost_fe_vring v;

		fs.kick[i] = eventfd(0, EFD_CLOEXEC);
		fs.call[i] = eventfd(0, EFD_CLOEXEC);
		tvq_init(&fs.q[i], fs.ram, 0x10000 * (i + 1), QNUM);
		v = (struct vhost_fe_vring){ .num = QNUM,
			.desc_gpa = fs.q[i].desc_gpa,
			.avail_gpa = fs.q[i].avail_gpa,
			.used_gpa = fs.q[i].used_gpa, .kick_fd = fs.kick[i],
			.call_fd = fs.call[i] };
		cr_assert_eq(vhost_fe_vring_start(fs.fe, i, &v, NULL, 0), 0);
	}
	memset(&c, 0, sizeof(c));
	c.xfer = fe_xfer;
	c.unique = 1000;
}

static void fe_disconnect(void)
{
	vhost_fe_destroy(fs.fe);
	fs.fe = NULL;
	for (unsigned int i = 0; i < 2; i++) {
		if (fs.kick[i] >= 0)
			close(fs.kick[i]);
		if (fs.call[i] >= 0)
			close(fs.call[i]);
		fs.kick[i] = fs.call[i] = -1;
	}
}

static void put_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	cr_assert(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

/* fork + exec; the daemon dies with the test (even when it crashes). */
static pid_t spawn_child(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void start_daemon(const char *opt, const char *val)
{
	char *argv[12];
	int n = 0;

	cr_assert_eq(geteuid(), 0, "the daemon's sandbox needs root");
	tmp = make_tmpdir();
	cr_assert(tmp);
	snprintf(share, sizeof(share), "%s/share", tmp);
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	snprintf(sock, sizeof(sock), "%s/fs.sock", tmp);
	cr_assert_eq(mkdir(share, 0755), 0);
	cr_assert_eq(mkdir(outside, 0755), 0);
	put_file(strcat(strcpy((char[600]){ 0 }, outside), "/secret.txt"),
		 "TOPSECRET\n");
	put_file(strcat(strcpy((char[600]){ 0 }, share), "/hello.txt"),
		 "hello\n");
	argv[n++] = (char *)VIRTIOFSD_BIN;
	argv[n++] = (char *)"--socket-path";
	argv[n++] = sock;
	argv[n++] = (char *)"--shared-dir";
	argv[n++] = share;
	argv[n++] = (char *)"--log-level";
	argv[n++] = (char *)"warn";
	if (opt) {
		argv[n++] = (char *)opt;
		argv[n++] = (char *)val;
	}
	argv[n] = NULL;
	daemon_pid = spawn_child(argv);
	cr_assert(daemon_pid > 0);
	cr_assert(wait_path(sock, 10000), "no socket");
	fe_connect();
	cr_assert_eq(fc_init(&c, 38, NULL), 0, "INIT through the queues");
}

static void stop_all(void)
{
	fe_disconnect();
	if (daemon_pid > 0)
		kill_wait(daemon_pid);
	daemon_pid = -1;
	if (fs.ram) {
		munmap(fs.ram, RAM_SIZE);
		close(fs.ramfd);
		fs.ram = NULL;
		fs.ramfd = -1;
	}
	if (tmp) {
		rm_tree(tmp);
		free(tmp);
		tmp = NULL;
	}
}

static void setup_default(void)
{
	start_daemon(NULL, NULL);
}

TestSuite(daemon, .init = setup_default, .fini = stop_all, .timeout = 120);

/* ---- what "outside" looks like: every entry's metadata and bytes ---- */

static void snapshot(const char *dir, char *out, size_t len)
{
	char cmd[800];
	FILE *p;
	size_t n;

	/* Everything under the temporary directory except the share. */
	snprintf(cmd, sizeof(cmd),
		 "cd %s && find . -path ./share -prune -o -printf '%%p %%m %%U %%G %%s %%T@\\n' | sort;"
		 " cat outside/secret.txt; md5sum /etc/passwd",
		 dir);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void say(const char *what, int ret)
{
	fprintf(stderr, "hostile: %-66s -> %s\n", what,
		ret ? strerror(-ret) : "ok");
}

/* Every reply body is checked for the secret. */
static int call(const char *what, uint32_t op, uint64_t nodeid,
		const void *arg, size_t arglen, const char *n1,
		const char *n2, size_t room)
{
	int ret = fc_call(&c, op, nodeid, arg, arglen, n1, n2, NULL, 0, room,
			  &r);

	if (*what)
		say(what, ret);
	cr_assert_null(memmem(r.buf, r.body, "TOPSECRET", 9),
		       "%s revealed the secret", what);
	return ret;
}

static uint64_t lookup(const char *what, uint64_t dir, const char *name,
		       int want)
{
	int ret = call(what, FUSE_LOOKUP, dir, NULL, 0, name, NULL,
		       sizeof(struct fuse_entry_out));

	cr_assert_eq(ret, want, "%s: %s", what, strerror(-ret));
	return ret ? 0 : ((struct fuse_entry_out *)r.buf)->nodeid;
}

static void expect(const char *what, int ret, int want)
{
	say(what, ret);
	cr_assert_eq(ret, want, "%s: got %s", what, strerror(-ret));
}

Test(daemon, hostile_requests_touch_and_reveal_nothing_outside)
{
	static char before[65536], after[65536];
	struct fuse_entry_out e;
	struct fuse_attr a;
	uint64_t abs, esc, sec, fifo, nul, x, fh;
	char target[700], longname[300];

	snapshot(tmp, before, sizeof(before));
	c.split = 3;		/* every request in 3-byte pieces */
	c.out_split = 7;

	/* '..' and '/' in names. */
	cr_assert_eq(lookup("LOOKUP '..' at the root", 1, "..", 0), 1,
		     "'..' of the root is the root");
	lookup("LOOKUP '../outside'", 1, "../outside", -EINVAL);
	lookup("LOOKUP '/etc'", 1, "/etc", -EINVAL);
	lookup("LOOKUP ''", 1, "", -EINVAL);
	memset(longname, 'a', 256);
	longname[256] = '\0';
	lookup("LOOKUP a 256-byte name", 1, longname, -ENAMETOOLONG);
	expect("MKDIR '..'", fc_mkdir(&c, 1, "..", 0755, &e), -EINVAL);
	expect("MKDIR '../evil'", fc_mkdir(&c, 1, "../evil", 0755, &e), -EINVAL);
	expect("CREATE '/tmp/evil'", fc_create(&c, 1, "/tmp/evil", O_RDWR, 0644,
					       &e, &fh), -EINVAL);
	expect("UNLINK '../outside/secret.txt'",
	       fc_unlink(&c, 1, "../outside/secret.txt", false), -EINVAL);
	{
		struct fuse_rename_in rn = { .newdir = 1 };

		expect("RENAME 'hello.txt' -> '../moved'",
		       call("", FUSE_RENAME, 1, &rn, sizeof(rn), "hello.txt",
			    "../moved", 0), -EINVAL);
	}

	/* Absolute and escaping symlink targets, then lookups through them. */
	expect("SYMLINK 'abs' -> '/'", fc_symlink(&c, 1, "abs", "/", &e), 0);
	abs = e.nodeid;
	expect("SYMLINK 'esc' -> '../outside'",
	       fc_symlink(&c, 1, "esc", "../outside", &e), 0);
	esc = e.nodeid;
	snprintf(target, sizeof(target), "%s/secret.txt", outside);
	expect("SYMLINK 'sec' -> absolute path of outside/secret.txt",
	       fc_symlink(&c, 1, "sec", target, &e), 0);
	sec = e.nodeid;
	lookup("LOOKUP 'etc' in the symlink '/'", abs, "etc", -ENOTDIR);
	lookup("LOOKUP 'secret.txt' in the symlink '../outside'", esc,
	       "secret.txt", -ENOTDIR);
	expect("OPEN symlink -> outside/secret.txt",
	       fc_open(&c, sec, O_RDONLY, &fh), -EACCES);
	expect("OPENDIR symlink -> '../outside'", fc_opendir(&c, esc, &fh),
	       -ENOTDIR);
	expect("CREATE over the symlink 'sec' (no O_EXCL, O_TRUNC)",
	       fc_create(&c, 1, "sec", O_RDWR | O_TRUNC, 0644, &e, &fh), -ELOOP);
	expect("MKDIR 'x' in the symlink '../outside'",
	       fc_mkdir(&c, esc, "x", 0755, &e), -ENOTDIR);
	{
		struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };

		expect("SETATTR size 0 on symlink -> secret.txt",
		       call("", FUSE_SETATTR, sec, &sa, sizeof(sa), NULL, NULL,
			    sizeof(struct fuse_attr_out)), -EINVAL);
		sa = (struct fuse_setattr_in){ .valid = FATTR_MODE, .mode = 0777 };
		expect("SETATTR mode 0777 on symlink -> secret.txt",
		       call("", FUSE_SETATTR, sec, &sa, sizeof(sa), NULL, NULL,
			    sizeof(struct fuse_attr_out)), -EOPNOTSUPP);
	}
	expect("READLINK 'sec' (the target is data)",
	       call("", FUSE_READLINK, sec, NULL, 0, NULL, NULL, 4096), 0);
	cr_assert_eq(r.body, strlen(target));
	cr_assert_eq(memcmp(r.buf, target, r.body), 0);
	{
		struct fuse_link_in li = { .oldnodeid = sec };

		expect("LINK 'hl' to the symlink 'sec'",
		       call("", FUSE_LINK, 1, &li, sizeof(li), "hl", NULL,
			    sizeof(e)), 0);
		cr_assert(S_ISLNK(((struct fuse_entry_out *)r.buf)->attr.mode),
			  "a link to the symlink, not to its target");
	}

	/* Device nodes and a FIFO. */
	expect("MKNOD char device 1:3", fc_mknod(&c, 1, "null", S_IFCHR | 0666,
						 makedev(1, 3), &e), -EPERM);
	expect("MKNOD block device 8:0", fc_mknod(&c, 1, "sda", S_IFBLK | 0666,
						  makedev(8, 0), &e), -EPERM);
	expect("MKNOD socket", fc_mknod(&c, 1, "sock", S_IFSOCK | 0666, 0, &e),
	       -EPERM);
	cr_assert_eq(mknod(strcat(strcpy((char[600]){ 0 }, share), "/hostnull"),
			   S_IFCHR | 0666, makedev(1, 3)), 0);
	nul = lookup("LOOKUP a char device the host made", 1, "hostnull", 0);
	expect("OPEN that char device O_RDWR", fc_open(&c, nul, O_RDWR, &fh),
	       -EACCES);
	expect("CREATE over that char device (no O_EXCL)",
	       fc_create(&c, 1, "hostnull", O_RDWR, 0644, &e, &fh), -EACCES);
	expect("MKNOD FIFO", fc_mknod(&c, 1, "fifo", S_IFIFO | 0644, 0, &e), 0);
	fifo = e.nodeid;
	expect("OPEN the FIFO O_RDONLY (would block)",
	       fc_open(&c, fifo, O_RDONLY, &fh), -EACCES);
	expect("CREATE over the FIFO (no O_EXCL)",
	       fc_create(&c, 1, "fifo", O_RDONLY, 0644, &e, &fh), -EACCES);

	/* Huge and short lengths. */
	{
		struct fuse_in_header h = { .len = 40, .opcode = FUSE_GETATTR,
					    .nodeid = 1, .unique = 9 };
		struct fuse_getattr_in ga = { 0 };
		uint8_t buf[80] = { 0 };

		say("20-byte request (short header)", fc_raw(&c, &h, 20, 64, &r));
		cr_assert_eq(r.used, 0, "no reply to a chain without a header");
		h.len = 1u << 30;
		expect("GETATTR whose header says 1 GiB, 40 bytes given",
		       fc_raw(&c, &h, sizeof(h), 128, &r), -EINVAL);
		h.len = 40;
		expect("GETATTR without its argument",
		       fc_raw(&c, &h, sizeof(h), 128, &r), -EINVAL);
		h.len = 56;
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + 40, &ga, sizeof(ga));
		say("GETATTR with 8 writable bytes", fc_raw(&c, buf, 56, FC_NO_ROOM, &r));
		cr_assert_eq(r.used, 0, "no reply without room for one");
	}
	expect("CREATE 'w'", fc_create(&c, 1, "w", O_RDWR, 0644, &e, &fh), 0);
	x = e.nodeid;
	{
		struct fuse_write_in w = { .fh = fh, .size = 0xffffffffu };
		struct fuse_read_in rd = { .fh = fh, .size = 0xffffffffu };
		struct {
			struct fuse_batch_forget_in b;
			struct fuse_forget_one one;
		} bf = { { .count = 0xffffffffu }, { x, 1 } };

		say("WRITE size 4 GiB - 1 carrying 3 bytes",
		    fc_call(&c, FUSE_WRITE, x, &w, sizeof(w), NULL, NULL, "abc",
			    3, 16, &r));
		cr_assert_eq(r.error, -EINVAL);
		expect("READ size 4 GiB - 1 (cut to the buffer)",
		       call("", FUSE_READ, x, &rd, sizeof(rd), NULL, NULL, 4096), 0);
		rd.fh = 0;
		expect("READDIR size 4 GiB - 1, fh never given",
		       call("", FUSE_READDIR, 1, &rd, sizeof(rd), NULL, NULL, 4096),
		       -EBADF);
		say("BATCH_FORGET count 4 Gi - 1 with one entry",
		    fc_call(&c, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), NULL,
			    NULL, NULL, 0, FC_NO_ROOM, &r));
		expect("GETATTR 'w' after it (count ignored)",
		       fc_getattr(&c, x, &a), 0);
	}
	{
		static char big[5001];

		memset(big, 'x', 5000);
		expect("SYMLINK with a 5000-byte target",
		       fc_symlink(&c, 1, "long", big, &e), -ENAMETOOLONG);
	}

	/* Nodeids and handles never given; FORGET twice. */
	expect("GETATTR nodeid 0", fc_getattr(&c, 0, &a), -EBADF);
	expect("GETATTR nodeid 999999 (never given)", fc_getattr(&c, 999999, &a),
	       -EBADF);
	expect("GETATTR nodeid 2^64 - 1", fc_getattr(&c, UINT64_MAX, &a), -EBADF);
	lookup("LOOKUP in nodeid 424242", 424242, "hello.txt", -EBADF);
	expect("RELEASE fh 777 (never given)", fc_release(&c, 1, 777, false),
	       -EBADF);
	x = lookup("LOOKUP 'hello.txt' once", 1, "hello.txt", 0);
	fc_forget(&c, x, 1);
	say("FORGET it (1)", 0);
	fc_forget(&c, x, 1);
	say("FORGET it again (1)", 0);
	fc_forget(&c, 31337, 1);
	say("FORGET nodeid 31337 (never given)", 0);
	fc_forget(&c, 1, 1000);
	say("FORGET the root (1000)", 0);
	expect("GETATTR the forgotten nodeid", fc_getattr(&c, x, &a), -EBADF);
	expect("GETATTR the root after FORGET", fc_getattr(&c, 1, &a), 0);
	lookup("LOOKUP 'hello.txt' again", 1, "hello.txt", 0);
	{
		uint32_t unknown = 4242;

		expect("opcode 4242", call("", unknown, 1, NULL, 0, NULL, NULL, 64),
		       -ENOSYS);
		expect("SETXATTR security.capability",
		       call("", FUSE_SETXATTR, 1, "\0\0\0\0\0\0\0\0", 8,
			    "security.capability", "x", 64), -ENOSYS);
	}

	/* The daemon still serves, and nothing outside changed. */
	expect("GETATTR the root at the end", fc_getattr(&c, 1, &a), 0);
	cr_assert_eq(kill(daemon_pid, 0), 0, "the daemon is alive");
	snapshot(tmp, after, sizeof(after));
	cr_assert_str_eq(before, after, "something outside the share changed");
	cr_assert(strstr(after, "TOPSECRET"), "the snapshot reads the secret");
	(void)abs;
}

/* ---- life cycle ---- */

Test(daemon, survives_a_front_end_disconnect_and_serves_the_next)
{
	uint64_t x = lookup("LOOKUP 'hello.txt'", 1, "hello.txt", 0);
	struct fuse_attr a;

	fe_disconnect();
	usleep(100 * 1000);
	cr_assert_eq(kill(daemon_pid, 0), 0, "the daemon is still running");
	fe_connect();
	cr_assert_eq(fc_getattr(&c, 1, &a), -EIO, "a new front-end must INIT");
	cr_assert_eq(fc_init(&c, 38, NULL), 0);
	cr_assert_eq(fc_getattr(&c, x, &a), -EBADF,
		     "inodes of the old connection are gone");
	cr_assert_eq(fc_getattr(&c, 1, &a), 0);
}

static void setup_unconfined(void)
{
	/* No sandbox: LeakSanitizer (sanitizer builds) needs /proc at exit. */
	start_daemon("--sandbox", "none");
}

TestSuite(daemon_exit, .init = setup_unconfined, .fini = stop_all,
	  .timeout = 120);

Test(daemon_exit, sigterm_is_a_clean_exit)
{
	int st;

	cr_assert_eq(kill(daemon_pid, SIGTERM), 0);
	for (int i = 0; i < 500 && waitpid(daemon_pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	cr_assert(WIFEXITED(st), "exited, not killed");
	cr_assert_eq(WEXITSTATUS(st), 0);
	daemon_pid = -1;
}

static void setup_pool(void)
{
	start_daemon("--thread-pool-size", "4");
}

TestSuite(daemon_pool, .init = setup_pool, .fini = stop_all, .timeout = 120);

Test(daemon_pool, a_worker_pool_serves_the_same)
{
	static uint8_t data[VIRTIOFS_MAX_IO], back[VIRTIOFS_MAX_IO];
	struct fuse_entry_out e;
	uint64_t fh;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	cr_assert_eq(fc_create(&c, 1, "pool.bin", O_RDWR, 0644, &e, &fh), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(fc_write(&c, e.nodeid, fh, (uint64_t)i * sizeof(data),
				      data, sizeof(data)), (ssize_t)sizeof(data));
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(fc_read(&c, e.nodeid, fh, (uint64_t)i * sizeof(data),
				     back, sizeof(back)), (ssize_t)sizeof(back));
		cr_assert_eq(memcmp(data, back, sizeof(data)), 0);
	}
	cr_assert_eq(fc_release(&c, e.nodeid, fh, false), 0);
	fe_disconnect();
	fe_connect();
	cr_assert_eq(fc_init(&c, 38, NULL), 0, "reconnect with workers");
}

/* ---- the command line ---- */

/* Run the daemon with @args; its exit status and stderr. */
static int run(char *const args[], char *err, size_t len)
{
	char *argv[16] = { (char *)VIRTIOFSD_BIN };
	int p[2], st;
	size_t got = 0;
	pid_t pid;

	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], err + got, len - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	err[got] = '\0';
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(cli, bad_options_and_directories_are_one_line_and_status_1)
{
	char err[4096];
	struct {
		char *args[8];
		const char *says;
	} cases[] = {
		{ { NULL }, "--socket-path is required" },
		{ { "--socket-path", "/tmp/x.sock", NULL }, "--shared-dir is required" },
		{ { "--bogus", NULL }, "unknown option '--bogus'" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/nonexistent-dir", NULL },
		  "--shared-dir /nonexistent-dir: No such file or directory" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/etc/passwd", NULL },
		  "--shared-dir /etc/passwd: not a directory" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "--cache", "sometimes", NULL },
		  "bad --cache 'sometimes'" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "--sandbox", "jail", NULL },
		  "bad --sandbox 'jail'" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "--thread-pool-size", "5000", NULL },
		  "bad --thread-pool-size '5000'" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "--dax-window", "3M", NULL },
		  "bad --dax-window '3M'" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "--log-level", "loud", NULL },
		  "bad --log-level 'loud'" },
		{ { "--socket-path", "/nonexistent-dir/x.sock", "--shared-dir", "/tmp", NULL },
		  "--socket-path /nonexistent-dir/x.sock: No such file or directory" },
		{ { "--socket-path", NULL }, "option '--socket-path' needs a value" },
		{ { "--socket-path", "/tmp/x.sock", "--shared-dir", "/tmp", "extra", NULL },
		  "unexpected argument 'extra'" },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(run(cases[i].args, err, sizeof(err)), 1,
			     "case %u: %s", i, err);
		cr_assert_eq(lines(err), 1, "case %u: one line, got '%s'", i, err);
		cr_assert(strstr(err, cases[i].says), "case %u: '%s' lacks '%s'",
			  i, err, cases[i].says);
		cr_assert(!strncmp(err, "vmm-virtiofsd: ", 15), "%s", err);
	}
}

Test(cli, help_and_version)
{
	char out[8192];
	char *help[] = { "--help", NULL }, *ver[] = { "--version", NULL };

	cr_assert_eq(run(help, out, sizeof(out)), 0);
	for (const char *opt = "--socket-path\0--shared-dir\0--readonly\0--sandbox\0"
			       "--cache\0--thread-pool-size\0--log-level\0"
			       "--dax-window\0--version\0";
	     *opt; opt += strlen(opt) + 1)
		cr_assert(strstr(out, opt), "--help lacks %s", opt);
	cr_assert_eq(run(ver, out, sizeof(out)), 0);
	cr_assert(!strncmp(out, "vmm-virtiofsd ", 14), "%s", out);
	cr_assert_eq(lines(out), 1);
}
