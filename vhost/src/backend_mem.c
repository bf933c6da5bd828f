/* SPDX-License-Identifier: MIT */
/* Back-end library: the guest memory table (front-end fds mapped here). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend_priv.h"

static void region_unmap(struct be_mem_region *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

void be_mem_clear(struct vhost_be *be)
{
	for (unsigned int i = 0; i < be->nmem; i++)
		region_unmap(&be->mem[i]);
	be->nmem = 0;
}

/* Map @fd for @w into @out. The fd stays the caller's. */
static int region_map(const struct vhost_user_mem_region *w, int fd,
		      struct be_mem_region *out)
{
	uint64_t len = w->mmap_offset + w->size;
	struct stat st;
	void *p;

	if (!w->size || len < w->size || w->guest_addr + w->size < w->guest_addr ||
	    w->user_addr + w->size < w->user_addr || len > (1ull << 47))
		return -EINVAL;
	/* A range past the end of a file would fault (SIGBUS) on access. */
	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < len)
		return -ERANGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*out = (struct be_mem_region){
		.gpa = w->guest_addr, .size = w->size, .uva = w->user_addr,
		.map = p, .map_len = len, .mmap_offset = w->mmap_offset,
	};
	return 0;
}

static void be_vrings_retranslate(struct vhost_be *be)
{
	for (unsigned int i = 0; i < VHOST_BE_MAX_QUEUES; i++)
		if (be->vq[i].has_addr && be_vring_translate(be, &be->vq[i]))
			vlog_warn(&be->log, "vring %u: addresses no longer mapped", i);
}

int be_mem_set_table(struct vhost_be *be, const struct vhost_user_mem_table *t,
		     int *fds, unsigned int nfds)
{
	struct be_mem_region fresh[VHOST_USER_MEM_REGIONS];
	unsigned int i;
	int ret = 0;

	if (t->nregions > VHOST_USER_MEM_REGIONS || nfds != t->nregions)
		return -EINVAL;
	for (i = 0; i < t->nregions; i++) {
		ret = region_map(&t->regions[i], fds[i], &fresh[i]);
		if (ret)
			break;
	}
	if (ret) {
		while (i--)
			region_unmap(&fresh[i]);
		return ret;
	}
	be_mem_clear(be);
	memcpy(be->mem, fresh, t->nregions * sizeof(fresh[0]));
	be->nmem = t->nregions;
	be_vrings_retranslate(be);
	return 0;
}

int be_mem_add(struct vhost_be *be, const struct vhost_user_mem_region *r,
	       int fd)
{
	int ret;

	if (be->nmem >= VHOST_BE_MAX_MEM_SLOTS)
		return -ENOSPC;
	ret = region_map(r, fd, &be->mem[be->nmem]);
	if (ret)
		return ret;
	be->nmem++;
	be_vrings_retranslate(be);
	return 0;
}

int be_mem_remove(struct vhost_be *be, const struct vhost_user_mem_region *r)
{
	for (unsigned int i = 0; i < be->nmem; i++) {
		struct be_mem_region *m = &be->mem[i];

		if (m->gpa != r->guest_addr || m->uva != r->user_addr ||
		    m->size != r->size)
			continue;
		region_unmap(m);
		be->mem[i] = be->mem[--be->nmem];
		be_vrings_retranslate(be);
		return 0;
	}
	return -ENOENT;
}

static void *region_va(struct be_mem_region *m, uint64_t off)
{
	return (uint8_t *)m->map + m->mmap_offset + off;
}

void *vhost_be_gpa_to_va(struct vhost_be *be, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < be->nmem; i++) {
		struct be_mem_region *m = &be->mem[i];

		if (gpa >= m->gpa && gpa - m->gpa <= m->size &&
		    len <= m->size - (gpa - m->gpa))
			return region_va(m, gpa - m->gpa);
	}
	return NULL;
}

void *be_uva_to_va(struct vhost_be *be, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < be->nmem; i++) {
		struct be_mem_region *m = &be->mem[i];

		if (uva >= m->uva && uva - m->uva <= m->size &&
		    len <= m->size - (uva - m->uva))
			return region_va(m, uva - m->uva);
	}
	return NULL;
}

unsigned int vhost_be_mem_regions(const struct vhost_be *be)
{
	return be->nmem;
}
