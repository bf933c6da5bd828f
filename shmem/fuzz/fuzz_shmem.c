/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: random map/unmap/reset/drop_owner sequences, valid and
 * hostile, against a model. After every step:
 *   - the return value is exactly the one the model predicts,
 *   - the table (shmem_foreach) equals the model,
 *   - /proc/self/maps over the reservation shows, page by page, the right
 *     file at the right offset and protection, or PROT_NONE anonymous memory,
 *   - each mapped page shows its file's contents.
 * The region is small (64 pages) so each step stays cheap.
 *
 * scripts/fuzz.sh fails unless the corpus reaches these functions:
 * fuzz-reach: check_request check_fd_file place explain_refusal shmem_unmap drop_each shmem_reset
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmem/shmem.h"
#include "region.h"	/* drops_range: how this kernel refuses */

#define PAGES		64
#define MAX_OPS		64
#define OP_BYTES	8

/* The fds a request may name; some are hostile on purpose. */
enum { F_A, F_B, F_A_RO, F_SEALED, F_FUTURE, F_NEG, F_PIPE, NFILES };

struct file {
	int fd;
	uint64_t pages;		/* size, for regular files */
	uint8_t tag;		/* page i holds byte tag + i */
	ino_t ino;
	bool rw_ok, ro_ok, sealed, pipe;
};

struct mapping {
	uint64_t start, len;	/* pages */
	uint64_t fd_off;	/* pages */
	int file;
	uint64_t flags, owner;
};

static struct shmem_region *region;
static uint8_t *base;
static uint64_t page;
static struct file files[NFILES];
static struct mapping model[PAGES];
static size_t nmodel;
static char maps_buf[1 << 20];

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_shmem: %s:%d: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

static void quiet(void *opaque, enum shmem_log_level level, const char *msg)
{
}

static int make_memfd(const char *name, uint64_t pages, uint8_t tag)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint8_t *buf = malloc(page);

	CHECK(fd >= 0 && buf);
	CHECK(ftruncate(fd, (off_t)(pages * page)) == 0);
	for (uint64_t i = 0; i < pages; i++) {
		memset(buf, tag + (int)i, page);
		CHECK(pwrite(fd, buf, page, (off_t)(i * page)) == (ssize_t)page);
	}
	free(buf);
	return fd;
}

static void add_file(int idx, int fd, uint64_t pages, uint8_t tag)
{
	struct stat st;

	files[idx].fd = fd;
	files[idx].pages = pages;
	files[idx].tag = tag;
	CHECK(fstat(fd, &st) == 0);
	files[idx].ino = st.st_ino;
}

/*
 * Linux 6.7 and later (and kernels with the change backported) map a
 * write-sealed memfd read-only and shared; others refuse. Ask this one.
 */
static bool sealed_ro_allowed(int fd)
{
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, page);
	return true;
}

static void setup(void)
{
	struct shmem_region_config cfg = { .name = "fuzz", .log = quiet };
	char path[64];
	int p[2];

	page = (uint64_t)sysconf(_SC_PAGESIZE);
	cfg.size = PAGES * page;
	CHECK(shmem_region_create(&cfg, &region, NULL, 0) == 0);
	base = shmem_region_hva(region);

	add_file(F_A, make_memfd("a", 32, 0x20), 32, 0x20);
	files[F_A].rw_ok = true;
	add_file(F_B, make_memfd("b", 16, 0x80), 16, 0x80);
	files[F_B].rw_ok = true;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", files[F_A].fd);
	add_file(F_A_RO, open(path, O_RDONLY | O_CLOEXEC), 32, 0x20);
	files[F_A_RO].ro_ok = true;
	add_file(F_SEALED, make_memfd("s", 8, 0xc0), 8, 0xc0);
	CHECK(fcntl(files[F_SEALED].fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
		    F_SEAL_GROW) == 0);
	files[F_SEALED].rw_ok = true;
	files[F_SEALED].sealed = true;
	files[F_SEALED].ro_ok = sealed_ro_allowed(files[F_SEALED].fd);
	/* Read-only mappings of it are fine; read-write ones are refused. */
	add_file(F_FUTURE, make_memfd("f", 4, 0xe0), 4, 0xe0);
	CHECK(fcntl(files[F_FUTURE].fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0);
	files[F_FUTURE].rw_ok = true;
	files[F_FUTURE].ro_ok = true;
	files[F_FUTURE].sealed = true;
	files[F_NEG].fd = -1;
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	files[F_PIPE].fd = p[0];
	files[F_PIPE].pipe = true;
}

/* --- the model ---------------------------------------------------------- */

static int model_find(uint64_t start)
{
	for (size_t i = 0; i < nmodel; i++)
		if (model[i].start == start)
			return (int)i;
	return -1;
}

static bool model_overlaps(uint64_t start, uint64_t len)
{
	for (size_t i = 0; i < nmodel; i++)
		if (model[i].start < start + len && start < model[i].start + model[i].len)
			return true;
	return false;
}

static void model_insert(const struct mapping *m)
{
	size_t i = nmodel;

	while (i && model[i - 1].start > m->start) {
		model[i] = model[i - 1];
		i--;
	}
	model[i] = *m;
	nmodel++;
}

static void model_remove(size_t i)
{
	memmove(&model[i], &model[i + 1], (nmodel - i - 1) * sizeof(model[0]));
	nmodel--;
}

static const struct mapping *model_page(uint64_t pg)
{
	for (size_t i = 0; i < nmodel; i++)
		if (pg >= model[i].start && pg < model[i].start + model[i].len)
			return &model[i];
	return NULL;
}

/* The result the rules in docs/shmem.md give, in the order they are checked. */
static int expect_map(uint64_t off, uint64_t len, const struct file *f,
		      uint64_t fd_off, uint64_t flags)
{
	uint64_t size = PAGES * page;

	if (flags & ~SHMEM_MAP_FLAGS_MASK)
		return -EINVAL;
	if (fd_off % page)
		return -EINVAL;
	if (!len)
		return -EINVAL;
	if (off % page || len % page)
		return -EINVAL;
	if (off + len < off)
		return -EOVERFLOW;
	if (off + len > size)
		return -ERANGE;
	if (fd_off + len < fd_off || fd_off + len > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	if (f->fd < 0)
		return -EINVAL;
	if (f->pipe)
		return -ENODEV;
	if (fd_off + len > f->pages * page)
		return -ERANGE;
	/* Seals are checked up front only where the kernel drops the range. */
	if (region->drops_range && f->sealed) {
		if (flags & SHMEM_MAP_RW)
			return -EPERM;
		if (!f->ro_ok)
			return -EPERM;
	}
	if (model_overlaps(off / page, len / page))
		return -EEXIST;
	/* Left to the kernel's mmap(). */
	if ((flags & SHMEM_MAP_RW) && !f->rw_ok)
		return -EACCES;
	if (f->sealed && ((flags & SHMEM_MAP_RW) || !f->ro_ok))
		return -EPERM;
	return 0;
}

static int expect_unmap(uint64_t off, uint64_t len)
{
	int i;

	if (!len)
		return -EINVAL;
	if (off % page || len % page)
		return -EINVAL;
	if (off + len < off)
		return -EOVERFLOW;
	if (off + len > PAGES * page)
		return -ERANGE;
	i = model_find(off / page);
	return i >= 0 && model[i].len == len / page ? 0 : -ENOENT;
}

/* --- checks against the real thing ------------------------------------- */

struct walk {
	size_t n;
};

static int check_entry(void *arg, const struct shmem_mapping_info *m)
{
	struct walk *w = arg;
	const struct mapping *e;

	CHECK(w->n < nmodel);
	e = &model[w->n++];
	CHECK(m->shm_offset == e->start * page);
	CHECK(m->len == e->len * page);
	CHECK(m->fd_offset == e->fd_off * page);
	CHECK(m->flags == e->flags);
	CHECK(m->owner == e->owner);
	return 0;
}

static void check_table(void)
{
	struct walk w = { 0 };
	uint64_t bytes = 0;

	CHECK(shmem_foreach(region, check_entry, &w) == 0);
	CHECK(w.n == nmodel);
	CHECK(shmem_count(region) == nmodel);
	for (size_t i = 0; i < nmodel; i++)
		bytes += model[i].len * page;
	CHECK(shmem_bytes_mapped(region) == bytes);
}

static size_t read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	CHECK(fd >= 0);
	while (len + 1 < sizeof(maps_buf) &&
	       (n = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len)) > 0)
		len += (size_t)n;
	maps_buf[len] = '\0';
	close(fd);
	return len;
}

/* One maps line that meets the reservation: check each page it covers. */
static void check_vma(uintptr_t start, uintptr_t end, const char *perms,
		      uint64_t vma_off, unsigned long ino, bool seen[PAGES])
{
	uintptr_t lo = (uintptr_t)base, hi = lo + PAGES * page;

	for (uintptr_t a = start > lo ? start : lo; a < end && a < hi; a += page) {
		uint64_t pg = (a - lo) / page;
		const struct mapping *m = model_page(pg);

		seen[pg] = true;
		if (!m) {
			CHECK(strcmp(perms, "---p") == 0 && ino == 0);
			continue;
		}
		CHECK(strcmp(perms, m->flags & SHMEM_MAP_RW ? "rw-s" : "r--s") == 0);
		CHECK(ino == files[m->file].ino);
		CHECK(vma_off + (a - start) == (m->fd_off + pg - m->start) * page);
	}
}

static void check_maps(void)
{
	uintptr_t lo = (uintptr_t)base, hi = lo + PAGES * page;
	bool seen[PAGES] = { false };
	char *line, *save = NULL;

	read_maps();
	for (line = strtok_r(maps_buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long start, end, off, ino;
		char perms[5];

		CHECK(sscanf(line, "%lx-%lx %4s %lx %*s %lu", &start, &end, perms,
			     &off, &ino) == 5);
		if (start < hi && end > lo)
			check_vma(start, end, perms, off, ino, seen);
	}
	for (int i = 0; i < PAGES; i++)
		CHECK(seen[i]);
}

static void check_data(void)
{
	for (size_t i = 0; i < nmodel; i++) {
		const struct mapping *m = &model[i];

		for (uint64_t p = 0; p < m->len; p++) {
			uint8_t want = files[m->file].tag + (uint8_t)(m->fd_off + p);

			CHECK(base[(m->start + p) * page + p] == want);
		}
	}
}

/* --- the operations ---------------------------------------------------- */

/* Bend a field so it breaks one rule. */
static void bend(uint8_t how, uint64_t *off, uint64_t *len, uint64_t *fd_off)
{
	switch (how % 16) {
	case 1: *off += page / 2; break;
	case 2: *fd_off += 8; break;
	case 3: *len += 256; break;
	case 4: *off = -page * (uint64_t)(how / 16 + 1); break;
	case 5: *fd_off = -page * (uint64_t)(how / 16 + 1); break;
	case 6: *fd_off = (uint64_t)INT64_MAX + 1 - page; break;
	case 7: *len = -page; break;
	default: break;
	}
}

static void do_map(const uint8_t *b)
{
	uint64_t off = (b[1] % (PAGES + 8)) * page, len = (b[2] % 11) * page;
	uint64_t fd_off = (b[4] % 40) * page;
	uint64_t flags = (b[5] & 1) | (b[5] & 0x80 ? 1ULL << (b[5] % 64) : 0);
	int file = b[3] % NFILES;
	char why[SHMEM_WHY_MAX] = "";
	struct shmem_map_req q;
	struct mapping m;
	int want, ret;

	bend(b[7], &off, &len, &fd_off);
	want = expect_map(off, len, &files[file], fd_off, flags);
	q = (struct shmem_map_req){
		.shm_offset = off, .len = len, .fd = files[file].fd,
		.fd_offset = fd_off, .flags = flags, .owner = b[6] % 4,
	};
	ret = shmem_map(region, &q, why, sizeof(why));
	/* Every refusal says why. */
	CHECK(!ret || why[0]);
	if (ret != want)
		fprintf(stderr, "map(0x%lx, 0x%lx, file %d, 0x%lx, 0x%lx) = %d, want %d\n",
			off, len, file, fd_off, flags, ret, want);
	CHECK(ret == want);
	if (ret)
		return;
	m = (struct mapping){ off / page, len / page, fd_off / page, file, flags,
			      b[6] % 4 };
	model_insert(&m);
}

static void do_unmap(const uint8_t *b)
{
	uint64_t off = (b[1] % (PAGES + 8)) * page, len = (b[2] % 11) * page;
	uint64_t unused = 0;
	char why[SHMEM_WHY_MAX] = "";
	int want, ret, i;

	/* Mostly aim at a live mapping, so removals really happen. */
	if (nmodel && !(b[3] & 1)) {
		i = b[1] % (int)nmodel;
		off = model[i].start * page;
		len = model[i].len * page;
	}
	bend(b[7], &off, &len, &unused);
	want = expect_unmap(off, len);
	ret = shmem_unmap(region, off, len, why, sizeof(why));
	CHECK(ret == want);
	CHECK(!ret || why[0]);
	if (ret)
		return;
	model_remove((size_t)model_find(off / page));
}

static void do_drop_owner(const uint8_t *b)
{
	uint64_t owner = b[6] % 4;
	size_t want = 0;

	for (size_t i = nmodel; i-- > 0;)
		if (model[i].owner == owner) {
			model_remove(i);
			want++;
		}
	CHECK(shmem_drop_owner(region, owner) == want);
}

static void do_reset(void)
{
	CHECK(shmem_reset(region) == nmodel);
	nmodel = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!region)
		setup();
	do_reset();

	for (size_t i = 0; i + OP_BYTES <= size && i < MAX_OPS * OP_BYTES; i += OP_BYTES) {
		const uint8_t *b = data + i;

		switch (b[0] % 8) {
		case 0: case 1: case 2: case 3:
			do_map(b);
			break;
		case 4: case 5:
			do_unmap(b);
			break;
		case 6:
			do_drop_owner(b);
			break;
		default:
			do_reset();
			break;
		}
		check_table();
		check_maps();
		check_data();
	}
	return 0;
}
