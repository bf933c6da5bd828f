// SPDX-License-Identifier: MIT
/*
 * A unit: one design at one live count, with its own VM, in a process of
 * its own.  Its own process, because KVM registers every VM with the MMU
 * notifier of the process that created it: VMs sharing a process would
 * each see every other one's mmap() and munmap() calls, which no VMM
 * does.  The parent drives the units round robin, one iteration per
 * command, so every unit and every design sees the same machine load.
 *
 * Protocol over two pipes: the unit sets up its live mappings and sends a
 * struct unit_ready; then each 'i' command runs one iteration and is
 * answered with an int32 status; 'e' asks for the struct unit_result, after
 * which the unit tears everything down and exits.  A unit whose parent is
 * gone reads end-of-file and exits too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mapcost.h"

struct samples {
	double *v[NPHASES];
	unsigned int n;
};

struct design {
	const struct unit_cfg *cfg;
	struct ours o;
	struct memslot m;
};

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- samples ------------------------------------------------------------ */

static int samples_init(struct samples *s, unsigned int n)
{
	int p;

	memset(s, 0, sizeof(*s));
	for (p = 0; p < NPHASES; p++) {
		s->v[p] = calloc(n ? n : 1, sizeof(double));
		if (!s->v[p])
			return -ENOMEM;
	}
	return 0;
}

static void samples_free(struct samples *s)
{
	int p;

	for (p = 0; p < NPHASES; p++)
		free(s->v[p]);
}

static void samples_add(struct samples *s, const uint64_t t[4])
{
	s->v[PH_MAP][s->n] = (double)(t[1] - t[0]) / 1e3;
	s->v[PH_RUN][s->n] = (double)(t[2] - t[1]) / 1e3;
	s->v[PH_UNMAP][s->n] = (double)(t[3] - t[2]) / 1e3;
	s->v[PH_TOTAL][s->n] = (double)(t[3] - t[0]) / 1e3;
	s->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank p50 and p99 of each phase. */
static void samples_summary(struct samples *s, double out[NPHASES][2])
{
	size_t r50 = (s->n * 50 + 99) / 100, r99 = (s->n * 99 + 99) / 100;
	int p;

	for (p = 0; p < NPHASES; p++) {
		qsort(s->v[p], s->n, sizeof(double), cmp_double);
		out[p][0] = s->v[p][r50 ? r50 - 1 : 0];
		out[p][1] = s->v[p][r99 ? r99 - 1 : 0];
	}
}

/* ---- the unit process ----------------------------------------------------- */

static int design_setup(struct design *d, const struct host *h,
			struct unit_ready *rd)
{
	const struct unit_cfg *c = d->cfg;
	bool at_limit = false;
	int ret;

	if (c->kind != D_MEMSLOT) {
		ret = ours_create(&d->o, h, c->size, c->live);
		return ret ? ret : ours_grow(&d->o, h, c->live);
	}
	ret = memslot_create(&d->m, h, c->size);
	if (ret)
		return ret;
	ret = memslot_grow(&d->m, h, c->live, rd->why, sizeof(rd->why));
	if (ret) {
		fprintf(stderr, "bench-mapcost: memslot: %s\n", rd->why);
		return ret;
	}
	if (c->probe_limit)
		ret = memslot_probe_limit(&d->m, h, &at_limit, rd->why,
					  sizeof(rd->why));
	rd->at_limit = at_limit;
	return ret;
}

static void design_teardown(struct design *d)
{
	if (d->cfg->kind == D_MEMSLOT)
		memslot_destroy(&d->m);
	else
		ours_destroy(&d->o);
}

static int design_iter(struct design *d, const struct host *h, unsigned int i,
		       uint64_t t[4])
{
	switch (d->cfg->kind) {
	case D_MEMSLOT:
		return memslot_iter(&d->m, h, i, t);
	case D_FLOOR:
		return floor_iter(&d->o, h, i, t);
	default:
		return ours_iter(&d->o, h, i, t);
	}
}

/* Serve 'i' commands until 'e'; fills @res. */
static int unit_serve(struct design *d, const struct host *h, int in, int out,
		      struct unit_result *res)
{
	const struct unit_cfg *c = d->cfg;
	struct samples s;
	unsigned int i;
	uint64_t t[4];
	char cmd = 0;
	int32_t st;
	int ret;

	ret = samples_init(&s, c->iters);
	for (i = 0; !ret; i++) {
		ret = read_full(in, &cmd, 1);
		if (ret || cmd != 'i')
			break;
		st = design_iter(d, h, i, t);
		if (!st && i >= c->warmup && s.n < c->iters)
			samples_add(&s, t);
		ret = write_full(out, &st, sizeof(st));
		if (!ret)
			ret = st;
	}
	if (!ret && cmd == 'e' && s.n == c->iters && s.n) {
		res->n = s.n;
		samples_summary(&s, res->p);
	} else if (!ret) {
		ret = -EPROTO;
	}
	samples_free(&s);
	return ret;
}

static int unit_child(const struct unit_cfg *c, const struct host *h, int in,
		      int out)
{
	struct design d = {
		.cfg = c,
		.o = { .vm = { .fd = -1, .vcpu_fd = -1 } },
		.m = { .vm = { .fd = -1, .vcpu_fd = -1 } },
	};
	struct unit_ready rd;
	struct unit_result res;
	int ret;

	memset(&rd, 0, sizeof(rd));
	memset(&res, 0, sizeof(res));
	ret = design_setup(&d, h, &rd);
	rd.ret = ret;
	if (write_full(out, &rd, sizeof(rd)) || ret)
		goto out;
	ret = unit_serve(&d, h, in, out, &res);
	res.ret = ret;
	write_full(out, &res, sizeof(res));
out:
	design_teardown(&d);
	return ret ? 1 : 0;
}

/* ---- the parent's side ---------------------------------------------------- */

int unit_start(struct unit *units, unsigned int idx, const struct host *h)
{
	struct unit *u = &units[idx];
	int to[2], from[2];
	unsigned int k;
	pid_t pid;

	if (pipe2(to, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return -errno;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		return -err;
	}
	if (pid == 0) {
		for (k = 0; k < idx; k++) {
			close(units[k].to);
			close(units[k].from);
		}
		close(to[1]);
		close(from[0]);
		_exit(unit_child(&u->cfg, h, to[0], from[1]));
	}
	close(to[0]);
	close(from[1]);
	u->pid = pid;
	u->to = to[1];
	u->from = from[0];
	return 0;
}

int unit_wait_ready(struct unit *u)
{
	int ret = read_full(u->from, &u->ready, sizeof(u->ready));

	return ret ? ret : u->ready.ret;
}

int unit_step(struct unit *u)
{
	int32_t st;
	int ret;

	ret = write_full(u->to, "i", 1);
	if (!ret)
		ret = read_full(u->from, &st, sizeof(st));
	return ret ? ret : st;
}

/* Collect the result and reap the unit. */
int unit_finish(struct unit *u)
{
	int ret;

	ret = write_full(u->to, "e", 1);
	if (!ret)
		ret = read_full(u->from, &u->res, sizeof(u->res));
	if (!ret)
		ret = u->res.ret;
	unit_stop(u);
	return ret;
}

/* Close the pipes (the unit then exits on its own) and reap it. */
void unit_stop(struct unit *u)
{
	if (u->pid <= 0)
		return;
	close(u->to);
	close(u->from);
	while (waitpid(u->pid, NULL, 0) < 0 && errno == EINTR)
		continue;
	u->pid = 0;
}
