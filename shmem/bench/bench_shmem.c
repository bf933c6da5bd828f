/* SPDX-License-Identifier: MIT */
/*
 * bench_shmem: map and unmap latency of shmem against the floor, the bare
 * system calls shmem cannot avoid, measured in the same run:
 *
 *   ours:  shmem_map(RW, 4 KiB)             then shmem_unmap()
 *   floor: mmap(MAP_FIXED|MAP_SHARED, fd)   then mmap(PROT_NONE, MAP_FIXED)
 *
 * at the same addresses, with 1, 1,000, 10,000 and 100,000 live mappings.
 * Each size has its own region, all four exist at once, and samples go
 * round-robin over sizes and alternate ours/floor, so that a noisy shared
 * machine disturbs every column alike. The live mappings come
 * from one memfd with fd_offset == shm_offset so the kernel merges them
 * (vm.max_map_count would not allow 100,000 separate VMAs); the table
 * still holds every one of them. Then 1,000,000 map/unmap cycles with open
 * fds and RSS before and after.
 *
 * Usage: bench_shmem [samples per size] [cycles]
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/page.h"

#include "shmem/shmem.h"

#define MAX_LIVE	100000ULL
#define SLOTS		64ULL	/* measurement pages, after a one-page gap */

struct bench {
	struct shmem_region *r;
	uint8_t *base;
	uint64_t page;
	int live_fd;		/* the live mappings' file (shared) */
	int fd;			/* the measured mapping's file (shared) */
	uint64_t live;
};

struct series {
	double *map, *unmap, *both;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(size_t)(p * (double)(n - 1))];
}

static size_t fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, resident = 0;

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * (long)(host_page_size() / 1024);
}

static uint64_t slot_off(const struct bench *b, size_t i)
{
	return (MAX_LIVE + 1 + i % SLOTS) * b->page;
}

static int grow_live(struct bench *b, uint64_t want)
{
	for (; b->live < want; b->live++) {
		uint64_t off = b->live * b->page;
		struct shmem_map_req q = {
			.shm_offset = off, .len = b->page, .fd = b->live_fd,
			.fd_offset = off, .flags = SHMEM_MAP_RW, .owner = 1,
		};
		int ret = shmem_map(b->r, &q, NULL, 0);

		if (ret) {
			fprintf(stderr, "bench_shmem: live map %llu: %s\n",
				(unsigned long long)b->live, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int sample_ours(struct bench *b, size_t i, struct series *s)
{
	uint64_t off = slot_off(b, i);
	struct shmem_map_req q = {
		.shm_offset = off, .len = b->page, .fd = b->fd,
		.flags = SHMEM_MAP_RW, .owner = 2,
	};
	double t0, t1, t2;
	int ret;

	t0 = (double)clock_now_ns();
	ret = shmem_map(b->r, &q, NULL, 0);
	t1 = (double)clock_now_ns();
	if (!ret)
		ret = shmem_unmap(b->r, off, b->page, NULL, 0);
	t2 = (double)clock_now_ns();
	s->map[i] = t1 - t0;
	s->unmap[i] = t2 - t1;
	s->both[i] = t2 - t0;
	return ret;
}

static int sample_floor(struct bench *b, size_t i, struct series *s)
{
	void *addr = b->base + slot_off(b, i), *p;
	double t0, t1, t2;

	t0 = (double)clock_now_ns();
	p = mmap(addr, b->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 b->fd, 0);
	t1 = (double)clock_now_ns();
	if (p == MAP_FAILED)
		return -errno;
	p = mmap(addr, b->page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	t2 = (double)clock_now_ns();
	if (p == MAP_FAILED)
		return -errno;
	s->map[i] = t1 - t0;
	s->unmap[i] = t2 - t1;
	s->both[i] = t2 - t0;
	return 0;
}

static void print_row(uint64_t live, const char *op, double *ours, double *floor,
		      size_t n, double *p50_out)
{
	double o50 = pct(ours, n, 0.50), o99 = pct(ours, n, 0.99);
	double f50 = pct(floor, n, 0.50), f99 = pct(floor, n, 0.99);

	printf("| %7llu | %-9s | %8.2f | %8.2f | %8.2f | %8.2f | %5.2fx | %5.2fx |\n",
	       (unsigned long long)live, op, o50 / 1e3, o99 / 1e3, f50 / 1e3,
	       f99 / 1e3, o50 / f50, o99 / f99);
	if (p50_out)
		*p50_out = o50;
}

#define NSIZES	4

/* xorshift64: a fixed, cheap sequence for the sampling order. */
static uint64_t next_rand(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/*
 * One sample of every size, ours and floor. The order is random, so that
 * periodic work in the kernel (RCU, slab refills) falls on both alike.
 */
static int sample_all(struct bench *b, size_t i, struct series *ours,
		      struct series *floor)
{
	uint64_t rnd = next_rand();
	int ret = 0;

	for (size_t k = 0; k < NSIZES && !ret; k++) {
		size_t j = (rnd + k) % NSIZES;

		if ((rnd >> (8 + k)) & 1)
			ret = sample_ours(&b[j], i, &ours[j]) ?:
			      sample_floor(&b[j], i, &floor[j]);
		else
			ret = sample_floor(&b[j], i, &floor[j]) ?:
			      sample_ours(&b[j], i, &ours[j]);
	}
	return ret;
}

static int run_sizes(struct bench *b, size_t n, struct series *ours,
		     struct series *floor)
{
	size_t warm = n / 10;
	double p50[2][NSIZES];
	int ret;

	for (size_t i = 0; i < warm + n; i++) {
		ret = sample_all(b, i < warm ? i : i - warm, ours, floor);
		if (ret) {
			fprintf(stderr, "bench_shmem: sample: %s\n", strerror(-ret));
			return ret;
		}
	}
	for (size_t j = 0; j < NSIZES; j++) {
		if (shmem_count(b[j].r) != b[j].live)
			return -EPROTO;
		print_row(b[j].live, "map", ours[j].map, floor[j].map, n, NULL);
		print_row(b[j].live, "unmap", ours[j].unmap, floor[j].unmap, n, NULL);
		print_row(b[j].live, "map+unmap", ours[j].both, floor[j].both, n,
			  &p50[0][j]);
		p50[1][j] = pct(floor[j].both, n, 0.50);
	}
	printf("\nflatness, map+unmap p50 with %llu live / with 1 live: ours %.2fx, floor %.2fx\n",
	       (unsigned long long)b[NSIZES - 1].live, p50[0][NSIZES - 1] / p50[0][0],
	       p50[1][NSIZES - 1] / p50[1][0]);
	return 0;
}

static int cycles(struct bench *b, unsigned long count)
{
	size_t fds0 = fd_count(), live = shmem_count(b->r);
	long rss0 = rss_kib();
	double t0 = (double)clock_now_ns(), t;
	int ret = 0;

	for (unsigned long i = 0; i < count && !ret; i++) {
		uint64_t off = slot_off(b, i);
		struct shmem_map_req q = {
			.shm_offset = off, .len = b->page, .fd = b->fd,
			.flags = SHMEM_MAP_RW, .owner = 2,
		};

		ret = shmem_map(b->r, &q, NULL, 0) ?:
		      shmem_unmap(b->r, off, b->page, NULL, 0);
	}
	t = (double)clock_now_ns() - t0;
	if (ret) {
		fprintf(stderr, "bench_shmem: cycle: %s\n", strerror(-ret));
		return ret;
	}
	printf("\n%lu map/unmap cycles with %zu live mappings: %.2f s (%.2f us per cycle)\n",
	       count, live, t / 1e9, t / 1e3 / (double)count);
	printf("| | before | after |\n|---|---|---|\n");
	printf("| open fds | %zu | %zu |\n", fds0, fd_count());
	printf("| RSS (KiB) | %ld | %ld |\n", rss0, rss_kib());
	printf("| live mappings | %zu | %zu |\n", live, shmem_count(b->r));
	return 0;
}

static int setup(struct bench *b, uint64_t live, int live_fd, int fd)
{
	/* 100,000 merged mappings: past the default budget, on purpose. */
	struct shmem_region_config cfg = {
		.name = "bench", .max_mappings = SHMEM_MAX_MAPPINGS_UNLIMITED,
	};

	b->page = host_page_size();
	b->live_fd = live_fd;
	b->fd = fd;
	cfg.size = (MAX_LIVE + 1 + SLOTS) * b->page;
	if (shmem_region_create(&cfg, &b->r, NULL, 0))
		return -1;
	b->base = shmem_region_hva(b->r);
	return grow_live(b, live);
}

static void series_free(struct series *s)
{
	free(s->map);
	free(s->unmap);
	free(s->both);
}

static int series_alloc(struct series *s, size_t n)
{
	s->map = calloc(n, sizeof(double));
	s->unmap = calloc(n, sizeof(double));
	s->both = calloc(n, sizeof(double));
	return s->map && s->unmap && s->both ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[NSIZES] = { 1, 1000, 10000, MAX_LIVE };
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000000;
	struct series ours[NSIZES] = { 0 }, floor[NSIZES] = { 0 };
	struct bench b[NSIZES] = { 0 };
	uint64_t page = host_page_size();
	int live_fd, fd, ret = 1;

	live_fd = memfd_create("bench-live", MFD_CLOEXEC);
	fd = memfd_create("bench", MFD_CLOEXEC);
	if (n < 100 || live_fd < 0 || fd < 0 ||
	    ftruncate(live_fd, (off_t)(MAX_LIVE * page)) || ftruncate(fd, (off_t)page)) {
		fprintf(stderr, "bench_shmem: setup failed\n");
		goto out;
	}
	for (size_t j = 0; j < NSIZES; j++) {
		if (setup(&b[j], sizes[j], live_fd, fd) || series_alloc(&ours[j], n) ||
		    series_alloc(&floor[j], n)) {
			fprintf(stderr, "bench_shmem: setup failed\n");
			goto out;
		}
	}
	printf("map/unmap of one 4 KiB RW page, %zu samples per size, times in us\n\n", n);
	printf("| live | op | ours p50 | ours p99 | floor p50 | floor p99 | p50 ours/floor | p99 ours/floor |\n");
	printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
	if (run_sizes(b, n, ours, floor))
		goto out;
	if (cycles(&b[NSIZES - 1], count))
		goto out;
	ret = 0;
out:
	for (size_t j = 0; j < NSIZES; j++) {
		series_free(&ours[j]);
		series_free(&floor[j]);
		if (b[j].r)
			shmem_region_destroy(b[j].r);
	}
	if (live_fd >= 0)
		close(live_fd);
	if (fd >= 0)
		close(fd);
	return ret;
}
