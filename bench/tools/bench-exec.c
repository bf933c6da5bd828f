// SPDX-License-Identifier: MIT
/*
 * bench-exec: run one command and time it from just before execve() to
 * the moment its exit is reaped (docs/benchmarks.md).
 *
 * Usage: bench-exec [-i IN] [-o OUT] [-e ERR] [-t SECONDS] -- COMMAND [ARGS...]
 *
 * The child takes CLOCK_MONOTONIC immediately before execve() and passes it
 * in VMM_BENCH_T0_NS (read by kvm-shim).  stdin/stdout/stderr of COMMAND
 * come from/go to IN/OUT/ERR (default /dev/null for all three).  After
 * SECONDS (default 300) the command is killed with SIGKILL.
 * Prints one line on stdout: "wall_ns NS status S" where S is the exit
 * status, or 128+signal when it was killed by a signal.
 * Exit status: 0 when the line was printed, 1 on a usage or host error.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

struct opts {
	const char *in, *out, *err;
	unsigned int timeout;
	char **argv;
};

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->in = o->out = o->err = "/dev/null";
	o->timeout = 300;
	while ((c = getopt(argc, argv, "+i:o:e:t:")) != -1) {
		switch (c) {
		case 'i': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'e': o->err = optarg; break;
		case 't': o->timeout = (unsigned int)strtoul(optarg, NULL, 10); break;
		default: return -EINVAL;
		}
	}
	if (optind >= argc || !o->timeout)
		return -EINVAL;
	o->argv = argv + optind;
	return 0;
}

static int redirect(const char *path, int flags, int target)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		return -errno;
	if (fd != target) {
		if (dup2(fd, target) < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

/* In the child: never returns. */
static void child(const struct opts *o)
{
	char t0[32];

	if (redirect(o->in, O_RDONLY, 0) || redirect(o->out, O_WRONLY | O_CREAT | O_TRUNC, 1) ||
	    redirect(o->err, O_WRONLY | O_CREAT | O_TRUNC, 2)) {
		perror("bench-exec: redirect");
		_exit(127);
	}
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)clock_now_ns());
	setenv("VMM_BENCH_T0_NS", t0, 1);
	execvp(o->argv[0], o->argv);
	fprintf(stderr, "bench-exec: %s: %s\n", o->argv[0], strerror(errno));
	_exit(127);
}

/*
 * Waits for pid (SIGCHLD is blocked), killing it after timeout seconds.
 * Sleeps in sigtimedwait(), so the exit is seen at once, without polling.
 */
static int reap(pid_t pid, unsigned int timeout, int *wstatus)
{
	struct timespec left = { (time_t)timeout, 0 };
	sigset_t chld;
	pid_t r;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		r = waitpid(pid, wstatus, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (sigtimedwait(&chld, NULL, &left) < 0 && errno == EAGAIN) {
			kill(pid, SIGKILL);
			return waitpid(pid, wstatus, 0) == pid ? 0 : -errno;
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t t0, t1;
	sigset_t chld, old;
	struct opts o;
	int ws, st;
	pid_t pid;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: bench-exec [-i IN] [-o OUT] [-e ERR] [-t SECONDS] -- COMMAND [ARGS...]\n");
		return 1;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	t0 = clock_now_ns();
	pid = fork();
	if (pid < 0) {
		perror("bench-exec: fork");
		return 1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		child(&o);
	}
	if (reap(pid, o.timeout, &ws) < 0) {
		perror("bench-exec: waitpid");
		return 1;
	}
	t1 = clock_now_ns();
	st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	printf("wall_ns %llu status %d\n", (unsigned long long)(t1 - t0), st);
	return 0;
}
