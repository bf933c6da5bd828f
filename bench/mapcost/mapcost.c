// SPDX-License-Identifier: MIT
/*
 * bench-mapcost: benchmark 4, mapping cost under KVM (docs/benchmarks.md).
 *
 * Usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000]
 *                      [--iters N] [--warmup N] [--mode ours|memslot|both]
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
 * For every size, each (design, live count) pair is a unit: a process with
 * its own VM holding that many live mappings beside the timed one (unit.c).
 * All units of a size run round robin, one iteration each in turn, so the
 * machine's load falls on every cell and both designs alike.  The memslot
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
	bool ours;
	bool memslot;
	int cpu;		/* -1: not pinned */
};

struct stat_row {
	uint64_t size;
	uint64_t live;
	bool ours_ok;
	bool memslot_ok;
	double ours_p[NPHASES][2];	/* [phase][0 = p50, 1 = p99] */
	double memslot_p[NPHASES][2];
	const char *memslot_why;
};

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
	bool added = !op->memslot;

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
			if (u[k].cfg.memslot) {
				memcpy(r->memslot_p, u[k].res.p, sizeof(r->memslot_p));
				r->memslot_ok = true;
			} else {
				memcpy(r->ours_p, u[k].res.p, sizeof(r->ours_p));
				r->ours_ok = true;
			}
		}
	}
}

static int run_size(const struct host *h, const struct opts *op, uint64_t size,
		    struct stat_row *rows, unsigned int *nrows)
{
	struct unit u[2 * (MAX_LIVE + 1)];
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

		if (op->ours)
			u[n++].cfg = cfg;
		if (op->memslot && counts[c] <= mmax) {
			cfg.memslot = true;
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
	fill_rows(u, n, counts, ncounts, size, op->memslot, beyond,
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
		bool both = r->ours_ok && r->memslot_ok;

		printf("| %s | %" PRIu64 " |", size_name(r->size, sz, sizeof(sz)),
		       r->live);
		print_cell(r->ours_ok, "not run", r->ours_p[PH_TOTAL][0],
			   r->ours_p[PH_TOTAL][1]);
		print_cell(r->memslot_ok, r->memslot_why,
			   r->memslot_p[PH_TOTAL][0], r->memslot_p[PH_TOTAL][1]);
		print_ratio(both, r->memslot_p[PH_TOTAL][0], r->ours_p[PH_TOTAL][0]);
		print_ratio(both, r->memslot_p[PH_TOTAL][1], r->ours_p[PH_TOTAL][1]);
		printf("\n");
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
		print_phase(r->ours_ok, r->ours_p);
		print_phase(r->memslot_ok, r->memslot_p);
		printf("\n");
	}
}

/* p50 with the most live mappings measured over p50 with the fewest. */
static void print_growth(const struct stat_row *rows, unsigned int n,
			 const struct opts *op, bool memslot)
{
	unsigned int s, i;
	char sz[32];

	printf("%s, total p50 with the most live mappings measured / with the fewest:",
	       memslot ? "growth of memslot" : "flatness of ours (target <= 1.20x)");
	for (s = 0; s < op->nsizes; s++) {
		const struct stat_row *lo = NULL, *hi = NULL;
		double a, b;

		for (i = 0; i < n; i++) {
			const struct stat_row *r = &rows[i];

			if (r->size != op->sizes[s] ||
			    !(memslot ? r->memslot_ok : r->ours_ok))
				continue;
			if (!lo)
				lo = r;
			hi = r;
		}
		if (!lo || lo == hi)
			continue;
		a = memslot ? hi->memslot_p[PH_TOTAL][0] : hi->ours_p[PH_TOTAL][0];
		b = memslot ? lo->memslot_p[PH_TOTAL][0] : lo->ours_p[PH_TOTAL][0];
		printf(" %s %.2fx (%" PRIu64 " / %" PRIu64 ");",
		       size_name(op->sizes[s], sz, sizeof(sz)), a / b, hi->live,
		       lo->live);
	}
	printf("\n");
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
	if (!strcmp(o, "--mode")) {
		op->ours = !strcmp(a, "ours") || !strcmp(a, "both");
		op->memslot = !strcmp(a, "memslot") || !strcmp(a, "both");
		return op->ours || op->memslot ? 0 : -EINVAL;
	}
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *op)
{
	static const char *usage =
		"usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000] [--iters N] [--warmup N] [--mode ours|memslot|both] [--cpu N]\n";
	int i;

	parse_list("4K,2M", op->sizes, &op->nsizes, MAX_SIZES, parse_size);
	parse_list("1,1000,10000,100000", op->live, &op->nlive, MAX_LIVE, parse_count);
	op->iters = 1000;
	op->warmup = 10;
	op->cpu = -1;
	op->ours = op->memslot = true;
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
	printf("mapcost: map + first guest access + unmap at one guest physical address; %u iterations per cell and design after %u warm-up, every cell of a size and both designs round robin, each in its own process and VM; times in us\n",
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
	if (op.ours)
		print_growth(rows, nrows, &op, false);
	if (op.memslot)
		print_growth(rows, nrows, &op, true);
	return 0;
}
