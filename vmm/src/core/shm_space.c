// SPDX-License-Identifier: MIT
/* Guest-physical placement of shared memory regions (shm_space.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <shmem/shmem.h>

#include "common/page.h"

#include "core/shm_space.h"

#define SHM_FLOOR	(1ULL << 32)	/* never below 4 GiB */
#define PHYS_BITS_MIN	36
#define PHYS_BITS_MAX	52
/*
 * A guest with 4-level paging maps physical memory, device memory such as
 * a DAX window included, only below 2^46 (MAX_PHYSMEM_BITS): a region
 * above that fails the driver's probe even where CPUID allows it.
 */
#define SHM_LIMIT_BITS	46

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = PAGE_SIZE_4K;

	while (p < v && p < (1ULL << 63))
		p <<= 1;
	return p;
}

void shm_space_init(struct shm_space *s, uint64_t ram_end,
		    unsigned int phys_bits)
{
	memset(s, 0, sizeof(*s));
	if (phys_bits < PHYS_BITS_MIN || phys_bits > PHYS_BITS_MAX)
		phys_bits = PHYS_BITS_MIN;
	s->next = ram_end > SHM_FLOOR ? ram_end : SHM_FLOOR;
	if (phys_bits > SHM_LIMIT_BITS)
		phys_bits = SHM_LIMIT_BITS;
	s->limit = 1ULL << phys_bits;
}

int shm_space_alloc(struct shm_space *s, uint64_t size, uint64_t *gpa)
{
	uint64_t align, base;

	if (!size || size % PAGE_SIZE_4K)
		return -EINVAL;
	align = pow2_ceil(size);
	if (s->next > s->limit || align > s->limit)
		return -ENOSPC;
	base = (s->next + align - 1) & ~(align - 1);
	if (base < s->next || base > s->limit || size > s->limit - base)
		return -ENOSPC;
	*gpa = base;
	s->next = base + size;
	return 0;
}

uint64_t shm_space_host_align(uint64_t size)
{
	return size >= PAGE_SIZE_2M ? PAGE_SIZE_2M : 0;
}

int shm_space_add(struct shm_space *s, const char *dev, uint8_t shmid,
		  uint64_t gpa, uint64_t size, struct shmem_region *region)
{
	struct shm_space_entry *e;

	if (s->n == SHM_SPACE_MAX_REGIONS)
		return -ENOSPC;
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->gpa = gpa;
	e->size = size;
	e->shmid = shmid;
	e->region = region;
	snprintf(e->dev, sizeof(e->dev), "%s", dev ? dev : "?");
	return 0;
}

void shm_space_remove(struct shm_space *s, uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		if (s->e[i].gpa != gpa)
			continue;
		memmove(&s->e[i], &s->e[i + 1],
			(s->n - i - 1) * sizeof(s->e[0]));
		s->n--;
		return;
	}
}

const struct shm_space_entry *shm_space_find(const struct shm_space *s,
					     uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < s->n; i++)
		if (gpa >= s->e[i].gpa && gpa - s->e[i].gpa < s->e[i].size)
			return &s->e[i];
	return NULL;
}

/* ---- what a fault without an address can still be pinned on ---- */

struct unreadable {
	uint8_t *base;
	uint64_t page;
	uint64_t off, map_off, map_len;		/* off: first bad page */
};

static bool page_readable(const void *p)
{
	uint8_t b;
	struct iovec l = { &b, 1 }, r = { (void *)p, 1 };

	/* Through the kernel: a page that faults returns EFAULT, no SIGBUS. */
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == 1;
}

/*
 * A mapping whose file shrank under it faults from the file's new end on:
 * its last page tells, a binary search finds the first one.
 */
static int find_unreadable(void *arg, const struct shmem_mapping_info *m)
{
	struct unreadable *u = arg;
	uint64_t lo = 0, hi = m->len / u->page - 1;

	if (page_readable(u->base + m->shm_offset + hi * u->page))
		return 0;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (page_readable(u->base + m->shm_offset + mid * u->page))
			lo = mid + 1;
		else
			hi = mid;
	}
	u->off = m->shm_offset + lo * u->page;
	u->map_off = m->shm_offset;
	u->map_len = m->len;
	return 1;
}

size_t shm_space_describe(const struct shm_space *s, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;

	if (!len)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < s->n && used < len; i++) {
		const struct shm_space_entry *e = &s->e[i];
		size_t maps = e->region ? shmem_count(e->region) : 0;

		struct unreadable u = { .page = PAGE_SIZE_4K };
		int n;

		n = snprintf(buf + used, len - used,
			     "%s%s shm%u 0x%llx+0x%llx %zu mapping%s",
			     i ? "; " : "", e->dev, e->shmid,
			     (unsigned long long)e->gpa,
			     (unsigned long long)e->size, maps,
			     maps == 1 ? "" : "s");
		if (n < 0)
			break;
		used += (size_t)n;
		u.base = e->region ? shmem_region_hva(e->region) : NULL;
		if (!maps || !u.base || used >= len ||
		    shmem_foreach(e->region, find_unreadable, &u) != 1)
			continue;
		n = snprintf(buf + used, len - used,
			     ", offset 0x%llx unreadable (the file behind mapping 0x%llx+0x%llx ends before it: truncated?)",
			     (unsigned long long)u.off,
			     (unsigned long long)u.map_off,
			     (unsigned long long)u.map_len);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used >= len)
		used = len - 1;
	return used;
}
