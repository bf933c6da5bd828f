/* SPDX-License-Identifier: MIT */
/*
 * vfs-dax: guest-side checks of a virtio-fs DAX mount (guest scenario
 * vfs-dax.sh; the host runs `sum` on its own copy of a file).
 *
 *   vfs-dax make FILE BYTES      a file whose page k is all (k % 128) + 1
 *                                (the host makes the files trunc and remap use)
 *   vfs-dax isdax FILE...        "NAME dax 0|1" (statx STATX_ATTR_DAX)
 *   vfs-dax sum FILE             "sum NAME bytes N sum S": the file read
 *                                through mmap, S a 64-bit checksum
 *   vfs-dax watch FILE           mmap FILE, print its first line, wait for
 *                                a line on stdin, print it again
 *   vfs-dax trunc FILE           mmap FILE whole, read it, "trunc ready",
 *                                wait for a line on stdin (the host
 *                                truncates the file), read every page
 *                                again through the same mapping and
 *                                count pages of the old data and of zeros
 *   vfs-dax readloop FILE        open FILE once and read it whole with
 *                                pread, over and over, until a read fails:
 *                                "readloop: N passes, then ERROR"; every
 *                                100th pass "readloop pass N" on stdout
 *   vfs-dax efault SRC DST       write(DST at its end, from an mmap of
 *                                SRC): what the kernel answers
 *   vfs-dax remap N FILE...      N rounds over the FILEs (2 MiB each, more
 *                                than the window holds): each round writes
 *                                a counter into every file (pwrite, then a
 *                                store through a mapping) and reads both
 *                                back, while a second thread reads the
 *                                first file through its own mapping
 *                                throughout; "remap rounds N errors E"
 *
 * Exit 1 on an error (not for what efault and trunc report).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE		4096u
#define RANGE		(2u << 20)
#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX	0x00200000
#endif

static int die(const char *what, const char *path)
{
	fprintf(stderr, "vfs-dax: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void wait_line(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
}

/* The map of a whole file (read-only unless @rw), or NULL. */
static uint8_t *map_file(const char *path, bool rw, size_t *len, int *fdp)
{
	struct stat st;
	void *p;
	int fd = open(path, rw ? O_RDWR : O_RDONLY);

	if (fd < 0 || fstat(fd, &st))
		return NULL;
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len ? *len : 1, PROT_READ | (rw ? PROT_WRITE : 0),
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return p;
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	uint64_t s = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		s = (s ^ p[i]) * 1099511628211ull;
	return s;
}

static uint8_t page_byte(size_t page)
{
	return (uint8_t)((page & 0x7f) + 1);
}

static int do_make(const char *path, unsigned long long bytes)
{
	static uint8_t buf[PAGE];
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		return die("open", path);
	for (unsigned long long off = 0; off < bytes; off += PAGE) {
		size_t n = bytes - off < PAGE ? (size_t)(bytes - off) : PAGE;

		memset(buf, page_byte(off / PAGE), sizeof(buf));
		if (write(fd, buf, n) != (ssize_t)n)
			return die("write", path);
	}
	return close(fd) ? die("close", path) : 0;
}

static int do_isdax(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		struct statx sx;

		if (statx(AT_FDCWD, argv[i], 0, STATX_BASIC_STATS, &sx))
			return die("statx", argv[i]);
		printf("%s dax %d\n", base(argv[i]),
		       !!(sx.stx_attributes & STATX_ATTR_DAX));
	}
	return 0;
}

static int do_sum(const char *path)
{
	size_t len;
	uint8_t *p = map_file(path, false, &len, NULL);

	if (!p)
		return die("mmap", path);
	printf("sum %s bytes %zu sum %016llx\n", base(path), len,
	       (unsigned long long)checksum(p, len));
	munmap(p, len ? len : 1);
	return 0;
}

static void print_line(const char *tag, const uint8_t *p, size_t len)
{
	size_t n = 0;

	while (n < len && n < 60 && p[n] != '\n')
		n++;
	printf("%s %.*s\n", tag, (int)n, (const char *)p);
	fflush(stdout);
}

static int do_watch(const char *path)
{
	size_t len;
	uint8_t *p = map_file(path, false, &len, NULL);

	if (!p)
		return die("mmap", path);
	print_line("watch before:", p, len);
	wait_line();
	print_line("watch after:", p, len);
	munmap(p, len ? len : 1);
	return 0;
}

static int do_trunc(const char *path)
{
	size_t len, old = 0, zero = 0, other = 0;
	uint8_t *p = map_file(path, false, &len, NULL);
	volatile uint64_t sink = 0;

	if (!p)
		return die("mmap", path);
	for (size_t off = 0; off < len; off += PAGE)
		sink += p[off];
	printf("trunc ready: %zu bytes mapped\n", len);
	fflush(stdout);
	wait_line();
	/* Pages of the file as it was (vfs-dax make). */
	for (size_t off = 0; off < len; off += PAGE) {
		uint8_t want = page_byte(off / PAGE);
		size_t z = 0, o = 0;

		for (size_t i = 0; i < PAGE && off + i < len; i++) {
			z += p[off + i] == 0;
			o += p[off + i] == want;
		}
		if (o == PAGE)
			old++;
		else if (z == PAGE)
			zero++;
		else
			other++;
	}
	printf("trunc after: %zu pages of data, %zu pages of zeros, %zu other\n",
	       old, zero, other);
	munmap(p, len);
	return 0;
}

static int do_readloop(const char *path)
{
	static uint8_t buf[1 << 20];
	unsigned long passes = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return die("open", path);
	for (;;) {
		off_t off = 0;
		ssize_t n;

		while ((n = pread(fd, buf, sizeof(buf), off)) > 0)
			off += n;
		if (n < 0)
			break;
		if (++passes % 100 == 0) {
			printf("readloop pass %lu\n", passes);
			fflush(stdout);
		}
	}
	printf("readloop: %lu passes, then %s\n", passes, strerror(errno));
	close(fd);
	return 0;
}

static int do_efault(const char *src, const char *dst)
{
	size_t len;
	uint8_t *p = map_file(src, false, &len, NULL);
	int fd = open(dst, O_WRONLY | O_APPEND);
	ssize_t n;

	if (!p || len < PAGE)
		return die("mmap", src);
	if (fd < 0)
		return die("open", dst);
	/* An extending write goes to the daemon with the source pages. */
	n = write(fd, p, PAGE);
	printf("efault: write from a DAX mapping returned %zd%s%s\n", n,
	       n < 0 ? ", " : "", n < 0 ? strerror(errno) : "");
	close(fd);
	munmap(p, len);
	return 0;
}

/* ---- remap: the window reclaimed under reads and writes ---- */

struct reader {
	const char *path;
	atomic_bool stop;
	uint64_t reads, errors;
};

/* Reads the first file through its own mapping until told to stop. */
static void *read_loop(void *arg)
{
	struct reader *rd = arg;
	size_t len;
	uint8_t *p = map_file(rd->path, false, &len, NULL);

	if (!p) {
		rd->errors++;
		return NULL;
	}
	while (!atomic_load(&rd->stop)) {
		/* The last page is never written (vfs-dax make's pattern). */
		for (size_t i = 0; i < 64; i++)
			if (p[len - PAGE + i * 8] != page_byte(len / PAGE - 1))
				rd->errors++;
		rd->reads++;
	}
	munmap(p, len);
	return NULL;
}

static int do_remap(unsigned long rounds, int n, char **paths)
{
	struct reader rd = { .path = paths[0] };
	uint64_t errors = 0;
	int fds[16];
	pthread_t t;

	if (n < 2 || n > 16)
		return die("remap", "needs 2 to 16 files");
	for (int f = 0; f < n; f++) {
		fds[f] = open(paths[f], O_RDWR);
		if (fds[f] < 0)
			return die("open", paths[f]);
	}
	if (!getenv("VFS_DAX_NO_READER") &&
	    pthread_create(&t, NULL, read_loop, &rd))
		return die("pthread_create", "");
	for (unsigned long i = 0; i < rounds; i++) {
		for (int f = 0; f < n; f++) {
			/* Slots of 8 bytes in the first 2 MiB - 4 KiB. */
			off_t off = (off_t)((i * 8 * 61 + (unsigned)f * 8) %
					    (RANGE - PAGE));
			uint64_t v = i * 16 + (unsigned)f, back = 0;
			size_t len;
			uint8_t *m;

			if (pwrite(fds[f], &v, 8, off) != 8 ||
			    pread(fds[f], &back, 8, off) != 8)
				return die("pwrite/pread", paths[f]);
			errors += back != v;
			/* The same through a mapping, a moment later. */
			m = map_file(paths[f], true, &len, NULL);
			if (!m)
				return die("mmap", paths[f]);
			errors += memcmp(m + off, &v, 8) != 0;
			v = ~v;
			memcpy(m + off, &v, 8);
			munmap(m, len);
			if (pread(fds[f], &back, 8, off) != 8)
				return die("pread", paths[f]);
			errors += back != v;
		}
	}
	atomic_store(&rd.stop, true);
	if (!getenv("VFS_DAX_NO_READER"))
		pthread_join(t, NULL);
	errors += rd.errors;
	for (int f = 0; f < n; f++)
		close(fds[f]);
	printf("remap rounds %lu files %d reads-behind %llu errors %llu\n",
	       rounds, n, (unsigned long long)rd.reads,
	       (unsigned long long)errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "make"))
		return do_make(argv[2], strtoull(argv[3], NULL, 0));
	if (argc >= 3 && !strcmp(argv[1], "isdax"))
		return do_isdax(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "sum"))
		return do_sum(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "watch"))
		return do_watch(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "trunc"))
		return do_trunc(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "readloop"))
		return do_readloop(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "efault"))
		return do_efault(argv[2], argv[3]);
	if (argc >= 5 && !strcmp(argv[1], "remap"))
		return do_remap(strtoul(argv[2], NULL, 10), argc - 3, argv + 3);
	fprintf(stderr, "usage: vfs-dax make|isdax|sum|watch|trunc|readloop|efault|remap ...\n");
	return 2;
}
