// SPDX-License-Identifier: MIT
/*
 * shmem-bw: runs inside a test guest. Sequential read and write bandwidth
 * over a mapping in a VIRTIO shared memory region against guest RAM, in
 * one run (benchmark 3, docs/benchmarks.md).
 *
 *   shmem-bw [-d DEVID] [-s SHMID] [-o OFFSET] [-m MIB] [-p PASSES] [-S SEED]
 *
 * Three buffers of MIB MiB (default 256): "shm", the region's bytes
 * [OFFSET, OFFSET + MIB MiB) mapped write-back through /dev/mem; "ram",
 * anonymous memory as any program gets it (transparent huge pages as the
 * guest kernel decides); "ram4k", anonymous memory with MADV_NOHUGEPAGE,
 * i.e. the 4 KiB guest pages that /dev/mem gives the shm buffer. Each is
 * first written once (first touch: faults, reported apart), then come
 * PASSES (default 20) rounds; in each, every buffer is read (sum of 64-bit
 * words), then every buffer is written (64-bit stores), the buffer order
 * rotating from round to round.
 *
 * The shm mapping must be write-back or the comparison means nothing: the
 * program reads the kernel's PAT memtype list (debugfs must be mounted on
 * /sys/kernel/debug) and fails unless the whole range is write-back.
 * With -S, the first and last pages are first checked against the pattern
 * SEED that the back-end filled the region with (shmem_pattern.h).
 *
 * Output, for the harness (MB = 10^6 bytes; median and best of PASSES):
 *   VMMTEST: shmbw memtype 0xSTART-0xEND write-back
 *   VMMTEST: shmbw pattern ok
 *   VMMTEST: shmbw bw BUF read MED BEST write MED BEST touch-ms T huge-kib K
 *   VMMTEST: shmbw ratio shm/BUF read MED MIN MAX write MED MIN MAX
 * (BUF ram and ram4k; the ratio of shm's bandwidth to BUF's per round).
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
	double rd[MAX_PASSES];	/* MB/s per pass */
	double wr[MAX_PASSES];
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

static double median(const double *v, unsigned int n)
{
	double s[MAX_PASSES];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double best(const double *v, unsigned int n)
{
	double b = 0;

	for (unsigned int i = 0; i < n; i++)
		b = v[i] > b ? v[i] : b;
	return b;
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

static void measure(struct buf *bufs, const struct opts *o)
{
	size_t words = o->size / 8;
	volatile uint64_t sink;

	for (unsigned int r = 0; r < o->passes; r++) {
		for (int k = 0; k < NBUF; k++) {
			struct buf *b = &bufs[(r + k) % NBUF];
			double t = now_s();

			sink = read_pass(b->p, words);
			b->rd[r] = (double)o->size / (now_s() - t) / 1e6;
		}
		for (int k = 0; k < NBUF; k++) {
			struct buf *b = &bufs[(r + k) % NBUF];
			double t = now_s();

			write_pass(b->p, words, r);
			b->wr[r] = (double)o->size / (now_s() - t) / 1e6;
		}
	}
	(void)sink;
}

/*
 * shm over @other, round by round: the passes of one round run back to
 * back, so their ratio is the least disturbed by load that comes and
 * goes.  Median, lowest and highest.
 */
static void print_ratio(const char *name, const double *shm,
			const double *other, unsigned int n)
{
	double r[MAX_PASSES], lo = 1e300, hi = 0;

	for (unsigned int i = 0; i < n; i++) {
		r[i] = shm[i] / other[i];
		lo = r[i] < lo ? r[i] : lo;
		hi = r[i] > hi ? r[i] : hi;
	}
	printf(" %s %.3f %.3f %.3f", name, median(r, n), lo, hi);
}

static void report(const struct buf *bufs, unsigned int n)
{
	const struct buf *shm = &bufs[BUF_SHM];

	for (int i = 0; i < NBUF; i++)
		printf("VMMTEST: shmbw bw %s read %.1f %.1f write %.1f %.1f"
		       " touch-ms %.1f huge-kib %" PRIu64 "\n", buf_names[i],
		       median(bufs[i].rd, n), best(bufs[i].rd, n),
		       median(bufs[i].wr, n), best(bufs[i].wr, n),
		       bufs[i].touch_ms, bufs[i].huge_kib);
	for (int i = BUF_RAM; i < NBUF; i++) {
		printf("VMMTEST: shmbw ratio shm/%s", buf_names[i]);
		print_ratio("read", shm->rd, bufs[i].rd, n);
		print_ratio("write", shm->wr, bufs[i].wr, n);
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
	if (optind != argc || !o->size || o->size > (1ULL << 40) ||
	    !o->passes || o->passes > MAX_PASSES || o->shmid > 255)
		return -1;
	return 0;
}

static int run(const struct opts *o, struct buf *bufs)
{
	uint64_t phys, bad;
	int ret;

	ret = map_shm(o, &bufs[BUF_SHM], &phys);
	if (ret)
		return ret;
	ret = check_memtype(phys, phys + o->size);
	if (ret)
		return ret;
	if (o->check_seed) {
		const uint8_t *p = (const uint8_t *)bufs[BUF_SHM].p;

		bad = pattern_bad(p, 0, PAGE, o->seed) +
		      pattern_bad(p, o->size - PAGE, PAGE, o->seed);
		if (bad) {
			fprintf(stderr, "shmem-bw: %" PRIu64 " bytes differ from"
				" the back-end's pattern\n", bad);
			return 1;
		}
		printf("VMMTEST: shmbw pattern ok\n");
	}
	ret = map_ram(o->size, 1, &bufs[BUF_RAM]);
	if (!ret)
		ret = map_ram(o->size, 0, &bufs[BUF_RAM4K]);
	if (ret)
		return ret;
	first_touch(bufs, o->size);
	measure(bufs, o);
	report(bufs, o->passes);
	return 0;
}

int main(int argc, char **argv)
{
	struct buf bufs[NBUF] = { 0 };
	struct opts o;
	int ret;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: shmem-bw [-d DEVID] [-s SHMID] [-o OFFSET]"
			" [-m MIB] [-p PASSES (1-%d)] [-S SEED]\n", MAX_PASSES);
		return 2;
	}
	ret = run(&o, bufs);
	for (int i = 0; i < NBUF; i++)
		if (bufs[i].map)
			munmap(bufs[i].map, bufs[i].map_len);
	return ret;
}
