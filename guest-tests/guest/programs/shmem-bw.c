// SPDX-License-Identifier: MIT
/*
 * shmem-bw: runs inside a test guest. Sequential read and write bandwidth
 * over a mapping in a VIRTIO shared memory region against guest RAM, in
 * one run (benchmark 3, docs/benchmarks.md).
 *
 *   shmem-bw [-d DEVID] [-s SHMID] [-o OFFSET] [-m MIB] [-p PASSES] [-S SEED]
 *
 * Three buffers of MIB MiB (an even number, default 256): "shm", the
 * region's bytes [OFFSET, OFFSET + MIB MiB) mapped write-back through
 * /dev/mem; "ram", anonymous memory as any program gets it (transparent
 * huge pages as the guest kernel decides); "ram4k", anonymous memory with
 * MADV_NOHUGEPAGE, i.e. the 4 KiB guest pages that /dev/mem gives the shm
 * buffer. Each is first written once (first touch: faults, reported
 * apart), then come PASSES (default 20) rounds; in each, every buffer is
 * read from start to end (sum of 64-bit words), then every buffer is
 * written (64-bit stores), the three taking turns every 2 MiB chunk, each
 * chunk timed.
 *
 * The shm mapping must be write-back or the comparison means nothing: the
 * program reads the kernel's PAT memtype list (debugfs must be mounted on
 * /sys/kernel/debug) and fails unless the whole range is write-back.
 * With -S, the first and last pages are first checked against the pattern
 * SEED that the back-end filled the region with (shmem_pattern.h).
 *
 * Output, for the harness (MB/s, MB = 10^6 bytes):
 *   VMMTEST: shmbw memtype 0xSTART-0xEND write-back
 *   VMMTEST: shmbw pattern ok
 *   VMMTEST: shmbw bw BUF read PMED PBEST CMED write PMED PBEST CMED
 *            touch-ms T huge-kib K                          (one line)
 *   VMMTEST: shmbw ratio shm/BUF read MED Q1 Q3 write MED Q1 Q3
 * PMED, PBEST: median and best of the passes; CMED: 2 MiB over the median
 * chunk time. Ratio: shm's bandwidth over BUF's (ram, ram4k) for the same
 * chunk of the same round, median and quartiles over all chunks.
 * Exit status 0; 1 when the memory type or the pattern is wrong; 2 on any
 * other failure. Do not bind virtio_mmio to the device (IO_STRICT_DEVMEM).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shmem_pattern.h"
#include "virtio_shm.h"

#define SZ_2M		(2ULL << 20)
#define PAGE		4096ULL
#define MAX_PASSES	100
#define CHUNK		(2ULL << 20)	/* buffers take turns this often */
#define PAT_LIST	"/sys/kernel/debug/x86/pat_memtype_list"

enum { BUF_SHM, BUF_RAM, BUF_RAM4K, NBUF };
static const char *const buf_names[NBUF] = { "shm", "ram", "ram4k" };

struct opts {
	uint32_t devid;
	unsigned int shmid;
	uint64_t offset;
	uint64_t size;
	unsigned int passes;
	uint64_t seed;
	int check_seed;
};

struct buf {
	uint64_t *p;
	void *map;		/* what to munmap */
	size_t map_len;
	double touch_ms;
	uint64_t huge_kib;
	double *t[2];		/* seconds per (round, chunk): read, write */
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Sum of the 64-bit words, in four chains so the adds do not serialise.
 * The empty asm keeps the sums in general registers: the loads stay plain
 * 64-bit loads instead of being vectorised (the stores below are too).
 */
static __attribute__((noinline)) uint64_t read_pass(const uint64_t *p,
						    size_t words)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

	for (size_t i = 0; i < words; i += 4) {
		s0 += p[i];
		s1 += p[i + 1];
		s2 += p[i + 2];
		s3 += p[i + 3];
		__asm__("" : "+r"(s0), "+r"(s1), "+r"(s2), "+r"(s3));
	}
	return s0 + s1 + s2 + s3;
}

/* Plain 64-bit stores (a value the compiler cannot turn into memset). */
static __attribute__((noinline)) void write_pass(uint64_t *p, size_t words,
						 uint64_t v)
{
	for (size_t i = 0; i < words; i++) {
		p[i] = v + i;
		__asm__("" : "+r"(v));
	}
	__asm__ volatile("" : : "r"(p) : "memory");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Quantile @q (0 to 1, interpolated) of the @n values at @v; sorts @v. */
static double quantile(double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;

	qsort(v, n, sizeof(*v), cmp_double);
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (v[i + 1] - v[i]) * (pos - (double)i);
}

/*
 * The PAT memory type of [start, end): every byte must be covered by
 * write-back entries of the kernel's memtype list. 0 if so, 1 if not, 2 if
 * the list cannot be read.
 */
static int check_memtype(uint64_t start, uint64_t end)
{
	FILE *f = fopen(PAT_LIST, "r");
	uint64_t covered = start;
	char line[256], type[64];
	int bad = 0;

	if (!f) {
		fprintf(stderr, "shmem-bw: %s: %s (mount debugfs)\n", PAT_LIST,
			strerror(errno));
		return 2;
	}
	/* Sorted by start: "PAT: [mem 0x...-0x...] write-back". */
	while (fgets(line, sizeof(line), f)) {
		uint64_t s, e;

		if (sscanf(line, "PAT: [mem 0x%" SCNx64 "-0x%" SCNx64 "] %63s",
			   &s, &e, type) != 3 || e <= start || s >= end)
			continue;
		printf("VMMTEST: shmbw memtype 0x%" PRIx64 "-0x%" PRIx64 " %s\n",
		       s, e, type);
		if (strcmp(type, "write-back"))
			bad = 1;
		else if (s <= covered && e > covered)
			covered = e;
	}
	fclose(f);
	if (bad || covered < end) {
		fprintf(stderr, "shmem-bw: 0x%" PRIx64 "-0x%" PRIx64
			" is not all write-back (%s)\n", start, end,
			bad ? "another type" : "not in the memtype list");
		return 1;
	}
	return 0;
}

/* Bytes [off, off + len) of a buffer filled from its start with @seed. */
static uint64_t pattern_bad(const uint8_t *p, uint64_t off, uint64_t len,
			    uint64_t seed)
{
	uint64_t bad = 0;

	for (uint64_t i = off; i < off + len; i++)
		bad += p[i] != shmem_pattern_byte(seed, i);
	return bad;
}

static int map_shm(const struct opts *o, struct buf *b, uint64_t *phys)
{
	int regs = open("/dev/mem", O_RDWR | O_SYNC), mem = -1, ret = 2;

	if (regs < 0) {
		perror("shmem-bw: /dev/mem");
		return 2;
	}
	if (locate_phys(regs, o->devid, o->shmid, o->offset, o->size, phys))
		goto out;
	if (*phys % PAGE) {
		fprintf(stderr, "shmem-bw: shm offset not page aligned\n");
		goto out;
	}
	/* No O_SYNC: the kernel maps /dev/mem write-back where it may. */
	mem = open("/dev/mem", O_RDWR);
	if (mem < 0) {
		perror("shmem-bw: /dev/mem");
		goto out;
	}
	b->p = map_phys(mem, *phys, o->size);
	if (!b->p)
		goto out;
	b->map = b->p;
	b->map_len = o->size;
	ret = 0;
out:
	if (mem >= 0)
		close(mem);
	close(regs);
	return ret;
}

/* Anonymous memory, 2 MiB aligned so huge pages can back all of it. */
static int map_ram(uint64_t size, int huge, struct buf *b)
{
	size_t len = size + SZ_2M;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		perror("shmem-bw: mmap");
		return 2;
	}
	b->map = m;
	b->map_len = len;
	b->p = (uint64_t *)(((uintptr_t)m + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1));
	if (!huge && madvise(b->p, size, MADV_NOHUGEPAGE)) {
		perror("shmem-bw: madvise");
		return 2;
	}
	return 0;
}

/* AnonHugePages of the mapping holding @addr, from /proc/self/smaps. */
static uint64_t huge_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	uintptr_t a = (uintptr_t)addr;
	char line[256];
	uint64_t kib = 0;
	int in = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t s, e;

		/* A mapping's first line: "START-END perms ..." */
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &s, &e) == 2) {
			in = a >= s && a < e;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %" SCNu64, &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

static void first_touch(struct buf *bufs, uint64_t size)
{
	for (int i = 0; i < NBUF; i++) {
		double t = now_s();

		write_pass(bufs[i].p, size / 8, 0x0101010101010101ULL * (i + 1));
		bufs[i].touch_ms = (now_s() - t) * 1e3;
	}
	for (int i = BUF_RAM; i < NBUF; i++)
		bufs[i].huge_kib = huge_kib(bufs[i].p);
}

/*
 * One round: every buffer read from start to end, then every buffer
 * written, the buffers taking turns every CHUNK bytes (the order rotating
 * per chunk and per round), each chunk timed on its own.  Load on a shared
 * host comes and goes within milliseconds: taking turns puts the three
 * buffers under the same conditions, and a stall that lands in one chunk
 * stays visible as that chunk's time.
 */
static uint64_t one_round(struct buf *bufs, size_t nchunks, unsigned int r,
			  int write)
{
	uint64_t sum = 0;

	for (size_t c = 0; c < nchunks; c++) {
		for (int k = 0; k < NBUF; k++) {
			struct buf *b = &bufs[(r + c + k) % NBUF];
			uint64_t *p = b->p + c * (CHUNK / 8);
			double t0 = now_s();

			if (write)
				write_pass(p, CHUNK / 8, r + c);
			else
				sum += read_pass(p, CHUNK / 8);
			b->t[write][r * nchunks + c] = now_s() - t0;
		}
	}
	return sum;
}

static void measure(struct buf *bufs, size_t nchunks, unsigned int passes)
{
	volatile uint64_t sink;
	uint64_t sum = 0;

	for (unsigned int r = 0; r < passes; r++) {
		sum += one_round(bufs, nchunks, r, 0);
		one_round(bufs, nchunks, r, 1);
	}
	sink = sum;
	(void)sink;
}

/*
 * Bandwidth of one operation over one buffer, MB/s: median and best of
 * the whole passes, and the median over all chunks (what a pass gives
 * when no stall of the host lands in it).
 */
static void print_bw(const char *op, const double *t, size_t nchunks,
		     unsigned int passes, double *scratch)
{
	double chunk_mb = (double)CHUNK / 1e6, best = 0;

	for (unsigned int r = 0; r < passes; r++) {
		double sum = 0;

		for (size_t c = 0; c < nchunks; c++)
			sum += t[r * nchunks + c];
		scratch[r] = chunk_mb * (double)nchunks / sum;
		best = scratch[r] > best ? scratch[r] : best;
	}
	printf(" %s %.1f %.1f", op, quantile(scratch, passes, 0.5), best);
	memcpy(scratch, t, passes * nchunks * sizeof(*t));
	printf(" %.1f", chunk_mb / quantile(scratch, passes * nchunks, 0.5));
}

/*
 * shm's bandwidth over @other's, chunk by chunk: the two chunks of a pair
 * ran within milliseconds of each other.  Median and quartiles.
 */
static void print_ratio(const char *op, const double *shm,
			const double *other, size_t n, double *scratch)
{
	for (size_t i = 0; i < n; i++)
		scratch[i] = other[i] / shm[i];
	printf(" %s %.3f %.3f %.3f", op, quantile(scratch, n, 0.5),
	       quantile(scratch, n, 0.25), quantile(scratch, n, 0.75));
}

static void report(const struct buf *bufs, size_t nchunks,
		   unsigned int passes, double *scratch)
{
	size_t n = passes * nchunks;

	for (int i = 0; i < NBUF; i++) {
		printf("VMMTEST: shmbw bw %s", buf_names[i]);
		print_bw("read", bufs[i].t[0], nchunks, passes, scratch);
		print_bw("write", bufs[i].t[1], nchunks, passes, scratch);
		printf(" touch-ms %.1f huge-kib %" PRIu64 "\n",
		       bufs[i].touch_ms, bufs[i].huge_kib);
	}
	for (int i = BUF_RAM; i < NBUF; i++) {
		printf("VMMTEST: shmbw ratio shm/%s", buf_names[i]);
		print_ratio("read", bufs[BUF_SHM].t[0], bufs[i].t[0], n, scratch);
		print_ratio("write", bufs[BUF_SHM].t[1], bufs[i].t[1], n, scratch);
		printf("\n");
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .devid = 63, .size = 256ULL << 20, .passes = 20 };
	while ((c = getopt(argc, argv, "d:s:o:m:p:S:")) != -1) {
		switch (c) {
		case 'd': o->devid = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 's': o->shmid = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'o': o->offset = strtoull(optarg, NULL, 0); break;
		case 'm': o->size = strtoull(optarg, NULL, 0) << 20; break;
		case 'p': o->passes = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 0);
			o->check_seed = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !o->size || o->size % CHUNK ||
	    o->size > (1ULL << 40) || !o->passes || o->passes > MAX_PASSES ||
	    o->shmid > 255)
		return -1;
	return 0;
}

/* Room for every chunk's time, per buffer and operation. */
static int alloc_samples(struct buf *bufs, size_t n, double **scratch)
{
	for (int i = 0; i < NBUF; i++) {
		bufs[i].t[0] = calloc(n, sizeof(double));
		bufs[i].t[1] = calloc(n, sizeof(double));
		if (!bufs[i].t[0] || !bufs[i].t[1])
			goto nomem;
	}
	*scratch = calloc(n, sizeof(double));
	if (*scratch)
		return 0;
nomem:
	fprintf(stderr, "shmem-bw: out of memory\n");
	return 2;
}

static int check_pattern(const struct opts *o, const struct buf *shm)
{
	const uint8_t *p = (const uint8_t *)shm->p;
	uint64_t bad = pattern_bad(p, 0, PAGE, o->seed) +
		       pattern_bad(p, o->size - PAGE, PAGE, o->seed);

	if (bad) {
		fprintf(stderr, "shmem-bw: %" PRIu64 " bytes differ from"
			" the back-end's pattern\n", bad);
		return 1;
	}
	printf("VMMTEST: shmbw pattern ok\n");
	return 0;
}

static int run(const struct opts *o, struct buf *bufs, double **scratch)
{
	size_t nchunks = o->size / CHUNK;
	uint64_t phys;
	int ret;

	ret = map_shm(o, &bufs[BUF_SHM], &phys);
	if (ret)
		return ret;
	ret = check_memtype(phys, phys + o->size);
	if (!ret && o->check_seed)
		ret = check_pattern(o, &bufs[BUF_SHM]);
	if (!ret)
		ret = map_ram(o->size, 1, &bufs[BUF_RAM]);
	if (!ret)
		ret = map_ram(o->size, 0, &bufs[BUF_RAM4K]);
	if (!ret)
		ret = alloc_samples(bufs, o->passes * nchunks, scratch);
	if (ret)
		return ret;
	first_touch(bufs, o->size);
	measure(bufs, nchunks, o->passes);
	report(bufs, nchunks, o->passes, *scratch);
	return 0;
}

int main(int argc, char **argv)
{
	struct buf bufs[NBUF] = { 0 };
	double *scratch = NULL;
	struct opts o;
	int ret;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: shmem-bw [-d DEVID] [-s SHMID] [-o OFFSET]"
			" [-m MIB (even)] [-p PASSES (1-%d)] [-S SEED]\n",
			MAX_PASSES);
		return 2;
	}
	ret = run(&o, bufs, &scratch);
	for (int i = 0; i < NBUF; i++) {
		if (bufs[i].map)
			munmap(bufs[i].map, bufs[i].map_len);
		free(bufs[i].t[0]);
		free(bufs[i].t[1]);
	}
	free(scratch);
	return ret;
}
