/* SPDX-License-Identifier: MIT */
/*
 * bench_shmem: map and unmap latency of shmem against the floor, the bare
 * system calls shmem cannot avoid, measured in the same run:
 *
 *   ours:  shmem_map(RW, 4 KiB)             then shmem_unmap()
 *   floor: mmap(MAP_FIXED|MAP_SHARED, fd)   then mmap(PROT_NONE, MAP_FIXED)
 *
 * at the same addresses, interleaved sample by sample, with 1, 1,000,
 * 10,000 and 100,000 live mappings in the region. The live mappings come
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

#include "shmem/shmem.h"

#define MAX_LIVE	100000ULL
#define SLOTS		64ULL	/* measurement pages, after a one-page gap */

struct bench {
	struct shmem_region *r;
	uint8_t *base;
	uint64_t page;
	int live_fd;		/* the live mappings' file */
	int fd;			/* the measured mapping's file */
	uint64_t live;
};

struct series {
	double *map, *unmap, *both;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

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
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t slot_off(const struct bench *b, size_t i)
{
	return (MAX_LIVE + 1 + i % SLOTS) * b->page;
}

static int grow_live(struct bench *b, uint64_t want)
{
	for (; b->live < want; b->live++) {
		uint64_t off = b->live * b->page;
		int ret = shmem_map(b->r, off, b->page, b->live_fd, off, SHMEM_MAP_RW, 1);

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
	double t0, t1, t2;
	int ret;

	t0 = now_ns();
	ret = shmem_map(b->r, off, b->page, b->fd, 0, SHMEM_MAP_RW, 2);
	t1 = now_ns();
	if (!ret)
		ret = shmem_unmap(b->r, off, b->page);
	t2 = now_ns();
	s->map[i] = t1 - t0;
	s->unmap[i] = t2 - t1;
	s->both[i] = t2 - t0;
	return ret;
}

static int sample_floor(struct bench *b, size_t i, struct series *s)
{
	void *addr = b->base + slot_off(b, i), *p;
	double t0, t1, t2;

	t0 = now_ns();
	p = mmap(addr, b->page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 b->fd, 0);
	t1 = now_ns();
	if (p == MAP_FAILED)
		return -errno;
	p = mmap(addr, b->page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	t2 = now_ns();
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

static int run_size(struct bench *b, uint64_t live, size_t n, struct series *ours,
		    struct series *floor, double *both_p50)
{
	size_t warm = n / 10;
	int ret;

	ret = grow_live(b, live);
	if (ret)
		return ret;
	for (size_t i = 0; i < warm + n; i++) {
		size_t k = i < warm ? i : i - warm;

		/* Alternate who goes first, so drift hits both alike. */
		if (i & 1) {
			ret = sample_ours(b, k, ours) ?: sample_floor(b, k, floor);
		} else {
			ret = sample_floor(b, k, floor) ?: sample_ours(b, k, ours);
		}
		if (ret) {
			fprintf(stderr, "bench_shmem: sample: %s\n", strerror(-ret));
			return ret;
		}
	}
	if (shmem_count(b->r) != live)
		return -EPROTO;
	print_row(live, "map", ours->map, floor->map, n, NULL);
	print_row(live, "unmap", ours->unmap, floor->unmap, n, NULL);
	print_row(live, "map+unmap", ours->both, floor->both, n, both_p50);
	return 0;
}

static int cycles(struct bench *b, unsigned long count)
{
	size_t fds0 = fd_count(), live = shmem_count(b->r);
	long rss0 = rss_kib();
	double t0 = now_ns(), t;
	int ret = 0;

	for (unsigned long i = 0; i < count && !ret; i++) {
		uint64_t off = slot_off(b, i);

		ret = shmem_map(b->r, off, b->page, b->fd, 0, SHMEM_MAP_RW, 2) ?:
		      shmem_unmap(b->r, off, b->page);
	}
	t = now_ns() - t0;
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

static int setup(struct bench *b)
{
	struct shmem_region_config cfg = { .name = "bench" };

	b->page = (uint64_t)sysconf(_SC_PAGESIZE);
	cfg.size = (MAX_LIVE + 1 + SLOTS) * b->page;
	if (shmem_region_create(&cfg, &b->r))
		return -1;
	b->base = shmem_region_hva(b->r);
	b->live_fd = memfd_create("bench-live", MFD_CLOEXEC);
	b->fd = memfd_create("bench", MFD_CLOEXEC);
	if (b->live_fd < 0 || b->fd < 0)
		return -1;
	if (ftruncate(b->live_fd, (off_t)(MAX_LIVE * b->page)) ||
	    ftruncate(b->fd, (off_t)b->page))
		return -1;
	return 0;
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
	static const uint64_t sizes[] = { 1, 1000, 10000, MAX_LIVE };
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000000;
	struct series ours = { 0 }, floor = { 0 };
	struct bench b = { 0 };
	double first = 0, last = 0;
	int ret = 1;

	if (n < 100 || setup(&b) || series_alloc(&ours, n) ||
	    series_alloc(&floor, n)) {
		fprintf(stderr, "bench_shmem: setup failed\n");
		goto out;
	}
	printf("map/unmap of one 4 KiB RW page, %zu samples per size, times in us\n\n", n);
	printf("| live | op | ours p50 | ours p99 | floor p50 | floor p99 | p50 ours/floor | p99 ours/floor |\n");
	printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (run_size(&b, sizes[i], n, &ours, &floor, i ? &last : &first))
			goto out;
	}
	printf("\nflatness: map+unmap p50 with %llu live / with 1 live = %.2fx\n",
	       (unsigned long long)MAX_LIVE, last / first);
	if (cycles(&b, count))
		goto out;
	ret = 0;
out:
	series_free(&ours);
	series_free(&floor);
	if (b.r)
		shmem_region_destroy(b.r);
	if (b.live_fd > 0)
		close(b.live_fd);
	if (b.fd > 0)
		close(b.fd);
	return ret;
}
