/* SPDX-License-Identifier: MIT */
/*
 * vmm-virtiofsd: share a host directory with a guest over virtio-fs.
 * Its options mirror virtiofsd's (docs/virtiofs.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/backend.h"
#include "virtiofs/server.h"

#include "device.h"
#include "sandbox.h"

#define PROG		"vmm-virtiofsd"
#define VERSION		"0.1.0"
#define DAX_ALIGN	(2ull << 20)
#define DAX_MAX		VIRTIOFS_DAX_WINDOW_MAX
#define MAX_FDS_CAP	1048576u
#define FD_RESERVE	64u

struct opts {
	const char *socket_path;
	const char *shared_dir;
	bool readonly;
	enum vfs_sandbox sandbox;
	enum virtiofs_cache cache;
	unsigned int threads;
	enum virtiofs_log_level level;
	uint64_t dax_window;
};

static void log_line(void *opaque, enum virtiofs_log_level level,
		     const char *msg)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const struct opts *o = opaque;

	if (level > o->level)
		return;
	fprintf(stderr, PROG ": %s: %s\n", names[level], msg);
}

/* The vhost library's levels are numbered like ours. */
static void vhost_log(void *opaque, enum vhost_log_level level,
		      const char *msg)
{
	log_line(opaque, (enum virtiofs_log_level)level, msg);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --socket-path PATH --shared-dir DIR [options]\n"
"Share DIR with a guest as a virtio-fs device over vhost-user (PATH).\n"
"  --socket-path PATH       vhost-user socket to listen on (required)\n"
"  --shared-dir DIR         directory to share (required)\n"
"  --readonly               refuse every change (EROFS)\n"
"  --sandbox MODE           namespace | chroot | none (default: the\n"
"                           strongest the host allows, in that order)\n"
"  --cache MODE             auto | always | never (default auto)\n"
"  --thread-pool-size N     worker threads, 0 serves on the queue thread\n"
"                           (default 0, at most %u)\n"
"  --log-level LEVEL        error | warn | info | debug (default info)\n"
"  --dax-window SIZE        DAX window size, K/M/G suffixes, a multiple\n"
"                           of 2M up to 1T; 0 = no DAX (default)\n"
"  --help                   this text\n"
"  --version                the version\n"
"One front-end at a time; after a disconnect it waits for the next.\n"
"SIGTERM or SIGINT: clean exit.\n", VFS_MAX_THREADS);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return -1;
}

static int pick(const char *arg, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (errno || *end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
	static const char *const sandboxes[] = { "namespace", "chroot", "none" };
	static const char *const caches[] = { "auto", "always", "never" };
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char *end;
	unsigned long n;
	int i;

	switch (c) {
	case 's': o->socket_path = arg; return 0;
	case 'd': o->shared_dir = arg; return 0;
	case 'r': o->readonly = true; return 0;
	case 'S':
		i = pick(arg, sandboxes, 3);
		if (i < 0)
			return bad("bad --sandbox '%s' (namespace, chroot or none)", arg);
		o->sandbox = (enum vfs_sandbox)(VFS_SANDBOX_NAMESPACE + i);
		return 0;
	case 'c':
		i = pick(arg, caches, 3);
		if (i < 0)
			return bad("bad --cache '%s' (auto, always or never)", arg);
		o->cache = (enum virtiofs_cache)i;
		return 0;
	case 't':
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end || errno ||
		    n > VFS_MAX_THREADS)
			return bad("bad --thread-pool-size '%s' (0 to 1024)", arg);
		o->threads = (unsigned int)n;
		return 0;
	case 'l':
		/* virtiofsd spells it "err". */
		i = strcmp(arg, "err") ? pick(arg, levels, 4) : 0;
		if (i < 0)
			return bad("bad --log-level '%s' (error, warn, info or debug)", arg);
		o->level = (enum virtiofs_log_level)i;
		return 0;
	case 'D':
		if (parse_size(arg, &o->dax_window) ||
		    o->dax_window % DAX_ALIGN || o->dax_window > DAX_MAX)
			return bad("bad --dax-window '%s' (0, or a multiple of 2M up to 1T)", arg);
		return 0;
	}
	return -1;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "shared-dir", required_argument, NULL, 'd' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "sandbox", required_argument, NULL, 'S' },
		{ "cache", required_argument, NULL, 'c' },
		{ "thread-pool-size", required_argument, NULL, 't' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "dax-window", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", longs, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " " VERSION "\n");
			exit(0);
		case ':':
			return bad("option '%s' needs a value", argv[optind - 1]);
		case '?':
			return bad("unknown option '%s' (see --help)", argv[optind - 1]);
		default:
			if (parse_opt(o, c, optarg))
				return -1;
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->socket_path)
		return bad("%s", "--socket-path is required (see --help)");
	if (!o->shared_dir)
		return bad("%s", "--shared-dir is required (see --help)");
	return 0;
}

static unsigned long read_ulong(const char *path, unsigned long dflt)
{
	unsigned long v;
	FILE *f = fopen(path, "re");

	if (!f)
		return dflt;
	if (fscanf(f, "%lu", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/*
 * As many fds as the host lets us have, less a reserve for ourselves: each
 * inode the guest holds is an fd. As root, the limit is raised (hard limit
 * too, as virtiofsd does) to min(2^20, fs.nr_open, fs.file-max - 16384),
 * so one guest cannot take the whole system's files either.
 */
static unsigned int fd_budget(void)
{
	unsigned long want = MAX_FDS_CAP, nr_open, file_max;
	struct rlimit r;

	nr_open = read_ulong("/proc/sys/fs/nr_open", MAX_FDS_CAP);
	file_max = read_ulong("/proc/sys/fs/file-max", ~0ul);
	if (nr_open < want)
		want = nr_open;
	if (file_max > 16384 && file_max - 16384 < want)
		want = file_max - 16384;
	if (getrlimit(RLIMIT_NOFILE, &r))
		return 1024 - FD_RESERVE;
	if (r.rlim_cur < want) {
		struct rlimit up = { want, want > r.rlim_max ? want : r.rlim_max };

		/* Without CAP_SYS_RESOURCE: up to the hard limit only. */
		if (setrlimit(RLIMIT_NOFILE, &up)) {
			r.rlim_cur = r.rlim_max < want ? r.rlim_max : want;
			setrlimit(RLIMIT_NOFILE, &r);
		}
		getrlimit(RLIMIT_NOFILE, &r);
	}
	if (r.rlim_cur > MAX_FDS_CAP)
		r.rlim_cur = MAX_FDS_CAP;
	return r.rlim_cur > 2 * FD_RESERVE ? (unsigned int)r.rlim_cur - FD_RESERVE :
					     FD_RESERVE;
}

static int stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked in every thread: only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* What main() opened, closed at the end. */
struct setup {
	int listen_fd, stop_fd, proc_fd, root_fd;
	enum vfs_sandbox used;
};

int main(int argc, char **argv)
{
	struct opts o = { .sandbox = VFS_SANDBOX_AUTO,
			  .level = VIRTIOFS_LOG_INFO };
	struct setup s = { -1, -1, -1, -1, VFS_SANDBOX_NONE };
	struct virtiofs_server *srv = NULL;
	struct virtiofs_server_config sc;
	struct vfs_device_config dc;
	struct vfs_device_dax dax = { NULL };
	char why[256];
	struct stat st;
	int ret;

	if (parse_args(&o, argc, argv))
		return 1;
	if (stat(o.shared_dir, &st) || !S_ISDIR(st.st_mode) ||
	    access(o.shared_dir, R_OK | X_OK)) {
		fprintf(stderr, PROG ": --shared-dir %s: %s\n", o.shared_dir,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	umask(0);
	s.stop_fd = stop_signals();
	s.proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s.stop_fd < 0 || s.proc_fd < 0) {
		fprintf(stderr, PROG ": %s: %s\n",
			s.stop_fd < 0 ? "signalfd" : "/proc/self/fd",
			strerror(errno));
		return 1;
	}
	s.listen_fd = vhost_be_listen(o.socket_path);
	if (s.listen_fd < 0) {
		fprintf(stderr, PROG ": --socket-path %s: %s\n", o.socket_path,
			strerror(-s.listen_fd));
		return 1;
	}
	sc = (struct virtiofs_server_config){
		.readonly = o.readonly, .cache = o.cache,
		.max_fds = fd_budget(), .creds = geteuid() == 0,
		.dax_window = o.dax_window, .dax_ops = &vfs_device_dax_ops,
		.dax_opaque = &dax,
		.log = log_line, .log_opaque = &o, .log_level = o.level,
	};
	ret = vfs_sandbox_enter(o.sandbox, o.shared_dir, o.readonly, &s.used,
				why, sizeof(why));
	if (ret) {
		fprintf(stderr, PROG ": --sandbox %s: %s\n",
			vfs_sandbox_name(o.sandbox), why);
		return 1;
	}
	s.root_fd = open(s.used == VFS_SANDBOX_NONE ? o.shared_dir : "/",
			 O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s.root_fd < 0) {
		fprintf(stderr, PROG ": --shared-dir %s: %s\n", o.shared_dir,
			strerror(errno));
		return 1;
	}
	ret = vfs_drop_privileges(why, sizeof(why));
	if (ret) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	sc.root_fd = s.root_fd;
	sc.proc_fd = s.proc_fd;
	ret = virtiofs_server_new(&sc, &srv);
	if (ret) {
		fprintf(stderr, PROG ": --shared-dir %s: %s\n", o.shared_dir,
			strerror(-ret));
		return 1;
	}
	snprintf(why, sizeof(why), "sharing %s on %s (sandbox %s, cache %s, %u threads, fd budget %u, DAX window %llu MiB)",
		 o.shared_dir, o.socket_path, vfs_sandbox_name(s.used),
		 o.cache == VIRTIOFS_CACHE_AUTO ? "auto" :
		 o.cache == VIRTIOFS_CACHE_ALWAYS ? "always" : "never",
		 o.threads, sc.max_fds,
		 (unsigned long long)(o.dax_window >> 20));
	log_line(&o, VIRTIOFS_LOG_INFO, why);
	dc = (struct vfs_device_config){
		.listen_fd = s.listen_fd, .stop_fd = s.stop_fd, .srv = srv,
		.threads = o.threads, .dax_window = o.dax_window, .dax = &dax,
		.log = vhost_log, .log_opaque = &o,
	};
	ret = vfs_device_run(&dc);
	virtiofs_server_free(srv);
	close(s.listen_fd);
	close(s.root_fd);
	close(s.proc_fd);
	close(s.stop_fd);
	if (ret) {
		fprintf(stderr, PROG ": %s\n", strerror(-ret));
		return 2;
	}
	log_line(&o, VIRTIOFS_LOG_INFO, "stopped");
	return 0;
}
