/* SPDX-License-Identifier: MIT */
/*
 * vfs-bench: the guest side of the virtio-fs benchmark (bench/virtiofs/).
 *
 *   vfs-bench write FILE MIB   write MIB MiB in 1 MiB writes, fsync
 *   vfs-bench read FILE        read to the end in 1 MiB reads
 *   vfs-bench meta DIR N       create N empty files, stat each, unlink each
 *   vfs-bench fill FILE MIB SEED   write MIB MiB of a pattern (1 MiB writes)
 *   vfs-bench check FILE SEED      read FILE back, compare with the pattern
 *
 * Prints one line: "write BYTES NS", "read BYTES NS",
 * "meta N CREATE_NS STAT_NS UNLINK_NS", or for fill and check
 * "pattern SEED bytes N sum S" (S: a 64-bit checksum of the bytes). The
 * pattern is cheap to make and check, so a round trip of 100 MiB costs
 * little more than the I/O; the host runs the same program on its side.
 * Exit 1 on any error or mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	(1u << 20)

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int die(const char *what, const char *path)
{
	fprintf(stderr, "vfs-bench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int do_write(const char *path, unsigned long mib)
{
	static uint8_t buf[CHUNK];
	uint64_t t0, t1;
	int fd;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	t0 = now_ns();
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return die("open", path);
	for (unsigned long i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return die("write", path);
	if (fsync(fd) || close(fd))
		return die("fsync", path);
	t1 = now_ns();
	printf("write %lu %llu\n", mib * CHUNK, (unsigned long long)(t1 - t0));
	return 0;
}

static int do_read(const char *path)
{
	static uint8_t buf[CHUNK];
	uint64_t t0, t1, total = 0;
	ssize_t n;
	int fd;

	t0 = now_ns();
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return die("open", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	if (n < 0)
		return die("read", path);
	close(fd);
	t1 = now_ns();
	printf("read %llu %llu\n", (unsigned long long)total,
	       (unsigned long long)(t1 - t0));
	return 0;
}

static int do_meta(const char *dir, unsigned long n)
{
	char path[4096];
	uint64_t t[4];
	struct stat st;

	t[0] = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0 || close(fd))
			return die("create", path);
	}
	t[1] = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		if (stat(path, &st))
			return die("stat", path);
	}
	t[2] = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", dir, i);
		if (unlink(path))
			return die("unlink", path);
	}
	t[3] = now_ns();
	printf("meta %lu %llu %llu %llu\n", n, (unsigned long long)(t[1] - t[0]),
	       (unsigned long long)(t[2] - t[1]),
	       (unsigned long long)(t[3] - t[2]));
	return 0;
}

/* xorshift64*: the pattern's next 8 bytes. */
static uint64_t next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static void pattern(uint64_t *buf, size_t words, uint64_t *state)
{
	for (size_t i = 0; i < words; i++)
		buf[i] = next(state);
}

static uint64_t sum(const uint64_t *buf, size_t words, uint64_t s)
{
	for (size_t i = 0; i < words; i++)
		s = (s ^ buf[i]) * 0x100000001b3ull;
	return s;
}

static int do_fill(const char *path, unsigned long mib, uint64_t seed)
{
	static uint64_t buf[CHUNK / 8];
	uint64_t state = seed | 1, s = 0;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		return die("open", path);
	for (unsigned long i = 0; i < mib; i++) {
		pattern(buf, CHUNK / 8, &state);
		s = sum(buf, CHUNK / 8, s);
		if (write(fd, buf, CHUNK) != (ssize_t)CHUNK)
			return die("write", path);
	}
	if (close(fd))
		return die("close", path);
	printf("pattern %llu bytes %llu sum %016llx\n", (unsigned long long)seed,
	       (unsigned long long)mib * CHUNK, (unsigned long long)s);
	return 0;
}

static int do_check(const char *path, uint64_t seed)
{
	static uint64_t buf[CHUNK / 8], want[CHUNK / 8];
	uint64_t state = seed | 1, s = 0, total = 0;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return die("open", path);
	for (;;) {
		size_t got = 0;

		while (got < CHUNK &&
		       (n = read(fd, (uint8_t *)buf + got, CHUNK - got)) > 0)
			got += (size_t)n;
		if (n < 0)
			return die("read", path);
		if (!got)
			break;
		if (got % 8) {
			fprintf(stderr, "vfs-bench: %s: size not a multiple of 8\n", path);
			return 1;
		}
		pattern(want, got / 8, &state);
		if (memcmp(buf, want, got)) {
			fprintf(stderr, "vfs-bench: %s: mismatch in the MiB at %llu\n",
				path, (unsigned long long)total);
			return 1;
		}
		s = sum(buf, got / 8, s);
		total += got;
		if (got < CHUNK)
			break;
	}
	close(fd);
	printf("pattern %llu bytes %llu sum %016llx\n", (unsigned long long)seed,
	       (unsigned long long)total, (unsigned long long)s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return do_fill(argv[2], strtoul(argv[3], NULL, 0),
			       strtoull(argv[4], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "check"))
		return do_check(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "write"))
		return do_write(argv[2], strtoul(argv[3], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "read"))
		return do_read(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "meta"))
		return do_meta(argv[2], strtoul(argv[3], NULL, 0));
	fprintf(stderr, "usage: vfs-bench write FILE MIB | read FILE | meta DIR N |\n"
		"       fill FILE MIB SEED | check FILE SEED\n");
	return 2;
}
