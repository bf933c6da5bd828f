// SPDX-License-Identifier: MIT
/*
 * bench-mapcost: benchmark 4, mapping cost under KVM (docs/benchmarks.md).
 *
 * Usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000]
 *                      [--iters N] [--warmup N]
 *                      [--mode ours,memslot,floor|both]
 *                      [--cpu N]
 *
 * One iteration = map a file at a fixed guest physical address, KVM_RUN a
 * vCPU whose guest code loads one byte from that address (its first
 * access: a nested page fault that KVM resolves) and writes it to an I/O
 * port (the exit that ends KVM_RUN), then unmap.  Two designs:
 *
 *   ours     one shmem region, registered once as one memslot; map and
 *            unmap are shmem_map() and shmem_unmap(), which never touch
 *            memslots.
 *   memslot  one memslot per mapping, as QEMU's patch series did: mmap()
 *            of the file plus KVM_SET_USER_MEMORY_REGION to add a slot;
 *            delete the slot and munmap() to unmap.
 *
 * and, to show what ours adds to the kernel's own work:
 *
 *   floor    the same region and live mappings as ours, but the timed
 *            mapping made and removed with the bare mmap() calls that
 *            shmem_map() and shmem_unmap() make, without shmem.
 *
 * For every size, each (design, live count) pair is a unit: a process with
 * its own VM holding that many live mappings beside the timed one (unit.c).
 * All units of a size run round robin, one iteration each in turn, so the
 * machine's load falls on every cell and every design alike.  The memslot
 * design stops at KVM's slot limit: it is measured at the largest count it
 * reaches, and the first slot it cannot get is reported.  Prints Markdown
 * tables, times in microseconds; exits 0 when every cell was measured or
 * failed only at that limit.  --cpu N runs the driver and every unit on
 * CPU N (see mapcost.sh for why it matters to the memslot design).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapcost.h"

#define MAX_SIZES	8
#define MAX_LIVE	16
#define MAX_ROWS	(MAX_SIZES * (MAX_LIVE + 1))

struct opts {
	uint64_t sizes[MAX_SIZES];
	unsigned int nsizes;
	uint64_t live[MAX_LIVE];
	unsigned int nlive;
	unsigned int iters;
	unsigned int warmup;
	bool run[3];		/* by enum design_kind */
	int cpu;		/* -1: not pinned */
};

struct stat_row {
	uint64_t size;
	uint64_t live;
	bool ok[3];		/* by enum design_kind */
	double p[3][NPHASES][2];	/* [design][phase][0 = p50, 1 = p99] */
	const char *memslot_why;
};

static const char *const design_name[3] = { "ours", "memslot", "floor" };

static const char *size_name(uint64_t size, char *buf, size_t len)
{
	if (size >= MiB && !(size % MiB))
		snprintf(buf, len, "%" PRIu64 " MiB", size / MiB);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", size / KiB);
	return buf;
}

/* ---- one size: every unit, round robin ---------------------------------- */

/*
 * The live counts of one size: the asked ones, plus the memslot design's
 * largest when an asked count is beyond it.
 */
static unsigned int live_counts(const struct opts *op, const struct host *h,
				uint64_t *out, uint64_t *mmax)
{
	unsigned int i, n = 0;
	bool added = !op->run[D_MEMSLOT];

	*mmax = h->nr_slots - SLOT_LIVE0;
	for (i = 0; i < op->nlive; i++) {
		if (!added && op->live[i] > *mmax) {
			if (!n || out[n - 1] != *mmax)
				out[n++] = *mmax;
			added = true;
		}
		out[n++] = op->live[i];
	}
	return n;
}

static int run_units(struct unit *u, unsigned int n, const struct host *h,
		     const struct opts *op)
{
	unsigned int i, k, started, rounds = op->warmup + op->iters;
	int ret = 0;

	for (started = 0; !ret && started < n; started++)
		ret = unit_start(u, started, h);
	for (i = 0; !ret && i < started; i++)
		ret = unit_wait_ready(&u[i]);
	/* Round r starts with unit r mod n: no unit is always first. */
	for (i = 0; !ret && i < rounds; i++)
		for (k = 0; !ret && k < n; k++)
			ret = unit_step(&u[(k + i) % n]);
	for (i = 0; i < started; i++) {
		if (ret)
			unit_stop(&u[i]);
		else
			ret = unit_finish(&u[i]);
	}
	for (i = 0; i < started; i++)
		unit_stop(&u[i]);
	return ret;
}

static void fill_rows(const struct unit *u, unsigned int n, const uint64_t *counts,
		      unsigned int ncounts, uint64_t size, bool memslot,
		      const char *why_beyond, struct stat_row *rows)
{
	unsigned int c, k;

	for (c = 0; c < ncounts; c++) {
		struct stat_row *r = &rows[c];

		memset(r, 0, sizeof(*r));
		r->size = size;
		r->live = counts[c];
		r->memslot_why = memslot ? why_beyond : "not run";
		for (k = 0; k < n; k++) {
			if (u[k].cfg.live != counts[c])
				continue;
			memcpy(r->p[u[k].cfg.kind], u[k].res.p, sizeof(r->p[0]));
			r->ok[u[k].cfg.kind] = true;
		}
	}
}

static int run_size(const struct host *h, const struct opts *op, uint64_t size,
		    struct stat_row *rows, unsigned int *nrows)
{
	struct unit u[3 * (MAX_LIVE + 1)];
	uint64_t counts[MAX_LIVE + 1], mmax;
	unsigned int c, n = 0, probe = ~0u;
	unsigned int ncounts = live_counts(op, h, counts, &mmax);
	const char *beyond = "not measured";
	char sz[32];
	int ret;

	memset(u, 0, sizeof(u));
	for (c = 0; c < ncounts; c++) {
		struct unit_cfg cfg = {
			.size = size, .live = counts[c],
			.iters = op->iters, .warmup = op->warmup,
		};

		if (op->run[D_OURS])
			u[n++].cfg = cfg;
		if (op->run[D_FLOOR]) {
			u[n].cfg = cfg;
			u[n++].cfg.kind = D_FLOOR;
		}
		if (op->run[D_MEMSLOT] && counts[c] <= mmax) {
			cfg.kind = D_MEMSLOT;
			cfg.probe_limit = counts[c] == mmax &&
					  counts[ncounts - 1] > mmax;
			if (cfg.probe_limit)
				probe = n;
			u[n++].cfg = cfg;
		}
	}
	ret = run_units(u, n, h, op);
	if (ret)
		return ret;
	if (probe != ~0u) {
		printf("memslot %s: %s at %" PRIu64 " live mappings (%" PRIu64
		       " slots with guest RAM and the timed mapping): %s\n",
		       size_name(size, sz, sizeof(sz)),
		       u[probe].ready.at_limit ? "KVM's slot limit reached" :
						 "no slot limit found",
		       mmax, mmax + SLOT_LIVE0, u[probe].ready.why);
		if (u[probe].ready.at_limit)
			beyond = "fails (slot limit)";
	}
	fill_rows(u, n, counts, ncounts, size, op->run[D_MEMSLOT], beyond,
		  rows + *nrows);
	*nrows += ncounts;
	return 0;
}

/* ---- output ------------------------------------------------------------- */

static void print_cell(bool ok, const char *why, double p50, double p99)
{
	if (ok)
		printf(" %.2f | %.2f |", p50, p99);
	else
		printf(" %s | |", why && *why ? why : "-");
}

static void print_ratio(bool ok, double a, double b)
{
	if (ok && b > 0)
		printf(" %.2fx |", a / b);
	else
		printf(" |");
}

static void print_main_table(const struct stat_row *rows, unsigned int n)
{
	unsigned int i;
	char sz[32];

	printf("| size | live | ours p50 | ours p99 | memslot p50 | memslot p99 | p50 memslot/ours | p99 memslot/ours |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct stat_row *r = &rows[i];
		bool both = r->ok[D_OURS] && r->ok[D_MEMSLOT];

		printf("| %s | %" PRIu64 " |", size_name(r->size, sz, sizeof(sz)),
		       r->live);
		print_cell(r->ok[D_OURS], "not run", r->p[D_OURS][PH_TOTAL][0],
			   r->p[D_OURS][PH_TOTAL][1]);
		print_cell(r->ok[D_MEMSLOT], r->memslot_why,
			   r->p[D_MEMSLOT][PH_TOTAL][0], r->p[D_MEMSLOT][PH_TOTAL][1]);
		print_ratio(both, r->p[D_MEMSLOT][PH_TOTAL][0], r->p[D_OURS][PH_TOTAL][0]);
		print_ratio(both, r->p[D_MEMSLOT][PH_TOTAL][1], r->p[D_OURS][PH_TOTAL][1]);
		printf("\n");
	}
}

/* Ours against the bare kernel calls it makes. */
static void print_floor_table(const struct stat_row *rows, unsigned int n)
{
	unsigned int i;
	char sz[32];

	printf("| size | live | floor p50 | floor p99 | ours p50 | p50 ours/floor | floor map | ours map | floor unmap | ours unmap |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct stat_row *r = &rows[i];
		const double (*f)[2] = r->p[D_FLOOR], (*o)[2] = r->p[D_OURS];

		if (!r->ok[D_FLOOR] || !r->ok[D_OURS])
			continue;
		printf("| %s | %" PRIu64 " | %.2f | %.2f | %.2f | %.2fx | %.2f | %.2f | %.2f | %.2f |\n",
		       size_name(r->size, sz, sizeof(sz)), r->live,
		       f[PH_TOTAL][0], f[PH_TOTAL][1], o[PH_TOTAL][0],
		       o[PH_TOTAL][0] / f[PH_TOTAL][0], f[PH_MAP][0], o[PH_MAP][0],
		       f[PH_UNMAP][0], o[PH_UNMAP][0]);
	}
}

static void print_phase(bool ok, const double p[NPHASES][2])
{
	int ph;

	for (ph = PH_MAP; ph <= PH_UNMAP; ph++) {
		if (ok)
			printf(" %.2f |", p[ph][0]);
		else
			printf(" |");
	}
}

static void print_phase_table(const struct stat_row *rows, unsigned int n)
{
	unsigned int i;
	char sz[32];

	printf("| size | live | ours map | ours run | ours unmap | memslot map | memslot run | memslot unmap |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct stat_row *r = &rows[i];

		printf("| %s | %" PRIu64 " |", size_name(r->size, sz, sizeof(sz)),
		       r->live);
		print_phase(r->ok[D_OURS], r->p[D_OURS]);
		print_phase(r->ok[D_MEMSLOT], r->p[D_MEMSLOT]);
		printf("\n");
	}
}

/* p50 with the most live mappings measured over p50 with the fewest. */
static void print_growth(const struct stat_row *rows, unsigned int n,
			 const struct opts *op, enum design_kind kind)
{
	unsigned int s, i;
	char sz[32];

	printf("%s%s, total p50 with the most live mappings measured / with the fewest:",
	       kind == D_MEMSLOT ? "growth of " : "flatness of ", design_name[kind]);
	for (s = 0; s < op->nsizes; s++) {
		const struct stat_row *lo = NULL, *hi = NULL;

		for (i = 0; i < n; i++) {
			if (rows[i].size != op->sizes[s] || !rows[i].ok[kind])
				continue;
			if (!lo)
				lo = &rows[i];
			hi = &rows[i];
		}
		if (!lo || lo == hi)
			continue;
		printf(" %s %.2fx (%" PRIu64 " / %" PRIu64 ");",
		       size_name(op->sizes[s], sz, sizeof(sz)),
		       hi->p[kind][PH_TOTAL][0] / lo->p[kind][PH_TOTAL][0],
		       hi->live, lo->live);
	}
	printf("%s\n", kind == D_OURS ? " target <= 1.20x" : "");
}

/* ---- options ------------------------------------------------------------ */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || !v)
		return -EINVAL;
	if (*end == 'K' || *end == 'k') {
		v *= KiB;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= MiB;
		end++;
	}
	if (*end || v % 4096 || v > 1 * GiB)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || v > 10000000)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A comma-separated list into @out (sorted, at most @max entries). */
static int parse_list(const char *arg, uint64_t *out, unsigned int *n,
		      unsigned int max, int (*one)(const char *, uint64_t *))
{
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max || one(tok, &out[*n]))
			return -EINVAL;
		if (*n && out[*n - 1] == out[*n])
			continue;
		(*n)++;
	}
	if (!*n)
		return -EINVAL;
	qsort(out, *n, sizeof(out[0]), cmp_u64);
	return 0;
}

/* A comma-separated list of designs; "both" is ours,memslot. */
static int parse_mode(const char *arg, bool run[3])
{
	char buf[64], *tok, *save = NULL;
	int k;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	run[D_OURS] = run[D_MEMSLOT] = run[D_FLOOR] = false;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "both")) {
			run[D_OURS] = run[D_MEMSLOT] = true;
			continue;
		}
		for (k = 0; k < 3 && strcmp(tok, design_name[k]); k++)
			;
		if (k == 3)
			return -EINVAL;
		run[k] = true;
	}
	return run[D_OURS] || run[D_MEMSLOT] || run[D_FLOOR] ? 0 : -EINVAL;
}

/* One option with its value; non-zero when either is bad. */
static int parse_one(struct opts *op, const char *o, const char *a)
{
	uint64_t v;

	if (!strcmp(o, "--sizes"))
		return parse_list(a, op->sizes, &op->nsizes, MAX_SIZES, parse_size);
	if (!strcmp(o, "--live"))
		return parse_list(a, op->live, &op->nlive, MAX_LIVE, parse_count);
	if (!strcmp(o, "--iters")) {
		if (parse_count(a, &v) || v > 1000000)
			return -EINVAL;
		op->iters = (unsigned int)v;
		return 0;
	}
	if (!strcmp(o, "--warmup")) {
		if (strcmp(a, "0") && (parse_count(a, &v) || v > 1000000))
			return -EINVAL;
		op->warmup = strcmp(a, "0") ? (unsigned int)v : 0;
		return 0;
	}
	if (!strcmp(o, "--cpu")) {
		if (strcmp(a, "0") && (parse_count(a, &v) || v >= CPU_SETSIZE))
			return -EINVAL;
		op->cpu = strcmp(a, "0") ? (int)v : 0;
		return 0;
	}
	if (!strcmp(o, "--mode"))
		return parse_mode(a, op->run);
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *op)
{
	static const char *usage =
		"usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000] [--iters N] [--warmup N] [--mode ours,memslot,floor|both] [--cpu N]\n";
	int i;

	parse_list("4K,2M", op->sizes, &op->nsizes, MAX_SIZES, parse_size);
	parse_list("1,1000,10000,100000", op->live, &op->nlive, MAX_LIVE, parse_count);
	op->iters = 1000;
	op->warmup = 10;
	op->cpu = -1;
	op->run[D_OURS] = op->run[D_MEMSLOT] = op->run[D_FLOOR] = true;
	for (i = 1; i < argc; i += 2) {
		const char *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!a || parse_one(op, argv[i], a)) {
			fprintf(stderr, "bench-mapcost: bad option %s%s%s\n%s", argv[i],
				a ? " " : "", a ? a : "", usage);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- checks before anything is mapped ----------------------------------- */

/*
 * Every live mapping is its own VMA (they map the same file offset, so
 * the kernel cannot merge them), and the largest unit holds them all.
 */
static int check_limits(const struct opts *op, const struct host *h)
{
	uint64_t max_live = op->live[op->nlive - 1];
	uint64_t max_size = op->sizes[op->nsizes - 1];
	uint64_t need = max_live + 1024, have = 0, end;
	FILE *f;

	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (fscanf(f, "%" SCNu64, &have) != 1)
			have = 0;
		fclose(f);
	}
	if (have && have < need) {
		fprintf(stderr, "bench-mapcost: %" PRIu64 " live mappings need about %" PRIu64
			" memory mappings in one process, but vm.max_map_count is %" PRIu64
			"; raise it (sysctl -w vm.max_map_count=%" PRIu64 ") or ask for fewer with --live\n",
			max_live, need, have, need < 262144 ? 262144 : need);
		return -ENOMEM;
	}
	end = TEST_GPA + (max_live + 1) * max_size;
	if (h->phys_bits < 64 && end > (1ULL << h->phys_bits)) {
		fprintf(stderr, "bench-mapcost: %" PRIu64 " live mappings of %" PRIu64
			" bytes end at guest physical 0x%" PRIx64 ", beyond the vCPU's %u address bits; ask for fewer\n",
			max_live, max_size, end, h->phys_bits);
		return -ERANGE;
	}
	return 0;
}

/* Every unit inherits the driver's CPU. */
static int pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "bench-mapcost: cannot run on CPU %d: %s\n", cpu,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static void print_header(const struct opts *op, const struct host *h)
{
	char cpu[32] = "not pinned";

	if (op->cpu >= 0)
		snprintf(cpu, sizeof(cpu), "CPU %d", op->cpu);
	printf("mapcost: map + first guest access + unmap at one guest physical address; %u iterations per cell and design after %u warm-up, every cell of a size and every design round robin, each in its own process and VM; times in us\n",
	       op->iters, op->warmup);
	printf("ours: one memslot over a shmem region; map = shmem_map() (mmap MAP_FIXED into the reservation), unmap = shmem_unmap()\n");
	printf("memslot: one memslot per mapping; map = mmap() + KVM_SET_USER_MEMORY_REGION, unmap = slot deleted + munmap()\n");
	printf("kvm: KVM_CAP_NR_MEMSLOTS %u (memslot design: slot 0 guest RAM, slot 1 the timed mapping, live mappings from slot 2); vCPU physical address bits %u; driver and units on %s\n",
	       h->nr_slots, h->phys_bits, cpu);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct stat_row rows[MAX_ROWS];
	struct host h = { .kvm_fd = -1, .file = { -1, -1 } };
	unsigned int nrows = 0, s;
	struct opts op;
	int ret;

	/* A unit that died must not take the driver with it. */
	signal(SIGPIPE, SIG_IGN);
	memset(&op, 0, sizeof(op));
	if (parse_opts(argc, argv, &op))
		return 2;
	ret = pin_cpu(op.cpu);
	if (!ret)
		ret = host_open(&h, op.sizes[op.nsizes - 1]);
	if (!ret)
		ret = check_limits(&op, &h);
	if (!ret)
		print_header(&op, &h);
	for (s = 0; !ret && s < op.nsizes; s++)
		ret = run_size(&h, &op, op.sizes[s], rows, &nrows);
	host_close(&h);
	if (ret) {
		fprintf(stderr, "bench-mapcost: failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("\n");
	print_main_table(rows, nrows);
	printf("\np50 per phase (map | run: KVM_RUN with the first access and the port exit | unmap), us\n\n");
	print_phase_table(rows, nrows);
	printf("\n");
	if (op.run[D_FLOOR] && op.run[D_OURS]) {
		printf("ours against the floor: the same region and the same mmap() calls without shmem (p50 and p99 of the iteration, p50 of map and unmap), us\n\n");
		print_floor_table(rows, nrows);
		printf("\n");
	}
	for (s = 0; s < 3; s++)
		if (op.run[s])
			print_growth(rows, nrows, &op, (enum design_kind)s);
	return 0;
}
