/* SPDX-License-Identifier: MIT */
/*
 * Regions: the PROT_NONE reservation, its one memory slot, destruction and
 * introspection of the mapping table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/page.h"

#include "region.h"

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static void init_identity(struct shmem_region *r,
			  const struct shmem_region_config *cfg)
{
	r->page_size = host_page_size();
	r->shmid = cfg->shmid;
	if (cfg->name)
		snprintf(r->name, sizeof(r->name), "%s", cfg->name);
	r->log = cfg->log;
	r->log_opaque = cfg->log_opaque;
}


static int check_config(struct shmem_region *r,
			const struct shmem_region_config *cfg, struct shm_why *w)
{
	uint64_t page = r->page_size;

	if (!cfg->size || cfg->size % page || cfg->size > SHMEM_REGION_MAX_SIZE)
		return shm_fail(w, -EINVAL,
				"size 0x%llx is not a non-zero multiple of 0x%llx up to 0x%llx",
				(unsigned long long)cfg->size, (unsigned long long)page,
				(unsigned long long)SHMEM_REGION_MAX_SIZE);
	if (cfg->align && (!is_pow2(cfg->align) || cfg->align < page ||
			   cfg->align > SHMEM_REGION_MAX_SIZE))
		return shm_fail(w, -EINVAL,
				"align 0x%llx is not a power of two in [0x%llx, 0x%llx]",
				(unsigned long long)cfg->align, (unsigned long long)page,
				(unsigned long long)SHMEM_REGION_MAX_SIZE);
	if (cfg->gpa % page)
		return shm_fail(w, -EINVAL, "gpa 0x%llx is not page aligned",
				(unsigned long long)cfg->gpa);
	if (cfg->gpa + cfg->size < cfg->gpa)
		return shm_fail(w, -EOVERFLOW, "gpa 0x%llx + size 0x%llx overflows",
				(unsigned long long)cfg->gpa,
				(unsigned long long)cfg->size);
	if (cfg->hv_ops && (!cfg->hv_ops->slot_add || !cfg->hv_ops->slot_remove))
		return shm_fail(w, -EINVAL, "hv_ops lacks slot_add or slot_remove");
	return 0;
}

/*
 * Reserve size bytes of PROT_NONE address space starting at a multiple of
 * align: over-reserve by align - page, then give back head and tail.
 */
static int reserve(struct shmem_region *r, uint64_t size, uint64_t align,
		   struct shm_why *w)
{
	uint64_t extra = align > r->page_size ? align - r->page_size : 0;
	uint64_t total = size + extra, head, tail;
	uint8_t *raw, *base;

	raw = mmap(NULL, total, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) {
		int err = -errno;

		return shm_fail(w, err, "cannot reserve 0x%llx bytes: %s",
				(unsigned long long)total, strerror(-err));
	}
	base = raw;
	if (extra)
		base = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	head = (uint64_t)(base - raw);
	tail = extra - head;
	if (head)
		munmap(raw, head);
	if (tail)
		munmap(base + size, tail);
	r->base = base;
	r->size = size;
	return 0;
}

static int add_slot(struct shmem_region *r, struct shm_why *w)
{
	int ret;

	if (!r->hv_ops)
		return 0;
	ret = r->hv_ops->slot_add(r->hv, r->gpa, r->base, r->size, &r->slot);
	if (ret) {
		ret = ret < 0 ? ret : -EIO;
		return shm_fail(w, ret,
				"the hypervisor refused a slot at gpa 0x%llx size 0x%llx: %s",
				(unsigned long long)r->gpa,
				(unsigned long long)r->size, strerror(-ret));
	}
	r->slot_added = true;
	return 0;
}

int shmem_region_create(const struct shmem_region_config *cfg,
			struct shmem_region **out, char *why, size_t whylen)
{
	struct shmem_region tmp = { 0 }, *r;
	struct shm_why w = { why, whylen };
	int ret;

	if (!cfg || !out)
		return shm_fail(&w, -EINVAL, "no configuration");
	/* Check before allocating: a rejected config costs nothing. */
	init_identity(&tmp, cfg);
	ret = check_config(&tmp, cfg, &w);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r)
		return shm_fail(&w, -ENOMEM, "out of memory");
	init_identity(r, cfg);
	r->gpa = cfg->gpa;
	r->hv_ops = cfg->hv_ops;
	r->hv = cfg->hv;
	r->max_mappings = cfg->max_mappings ? cfg->max_mappings :
			  shmem_map_budget_default();
	r->budget = cfg->budget;
	ret = -pthread_mutex_init(&r->lock, NULL);
	if (ret) {
		shm_fail(&w, ret, "mutex: %s", strerror(-ret));
		goto free_region;
	}
	r->drops_range = shm_kernel_drops_range();
	r->sealed_ro_refused = r->drops_range && shm_kernel_refuses_sealed_ro();
	ret = reserve(r, cfg->size, cfg->align, &w);
	if (ret)
		goto destroy_lock;
	ret = add_slot(r, &w);
	if (ret)
		goto unreserve;
	*out = r;
	return 0;

unreserve:
	munmap(r->base, r->size);
destroy_lock:
	pthread_mutex_destroy(&r->lock);
free_region:
	free(r);
	return ret;
}

static void free_node(struct shm_node *n)
{
	free(n);
}

/*
 * The slot is removed before the reservation is released, so the
 * hypervisor never points at address space we gave back. If removal fails
 * the guest may still reach the range: drop the mappings but keep the
 * PROT_NONE reservation (leaking address space) rather than let a later
 * unrelated mmap() land where the guest can see it.
 */
void shmem_region_destroy(struct shmem_region *r)
{
	bool release = true;
	int ret;

	if (!r)
		return;
	if (r->slot_added) {
		ret = r->hv_ops->slot_remove(r->hv, r->slot);
		if (ret) {
			shm_log(r, SHMEM_LOG_ERROR,
				"destroy: slot_remove(%u) failed: %d; keeping the reservation at %p",
				r->slot, ret, (void *)r->base);
			release = false;
		}
	}
	if (release) {
		if (munmap(r->base, r->size))
			shm_log(r, SHMEM_LOG_ERROR, "destroy: munmap failed: %s",
				strerror(errno));
	} else if (r->tree.count && shm_fill_none(r, 0, r->size)) {
		shm_log(r, SHMEM_LOG_ERROR,
			"destroy: cannot drop mappings: %s", strerror(errno));
	}
	shm_budget_release(r, r->tree.count);
	shm_tree_clear(&r->tree, free_node);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void *shmem_region_hva(const struct shmem_region *r)
{
	return r->base;
}

uint64_t shmem_region_size(const struct shmem_region *r)
{
	return r->size;
}

uint64_t shmem_region_gpa(const struct shmem_region *r)
{
	return r->gpa;
}

static void node_info(const struct shm_node *n, struct shmem_mapping_info *info)
{
	info->shm_offset = n->start;
	info->len = n->len;
	info->fd_offset = n->fd_offset;
	info->flags = n->flags;
	info->owner = n->owner;
}

int shmem_lookup(struct shmem_region *r, uint64_t shm_offset,
		 struct shmem_mapping_info *info)
{
	struct shm_node *n;
	int ret = -ENOENT;

	pthread_mutex_lock(&r->lock);
	n = shm_tree_floor(&r->tree, shm_offset);
	if (n && shm_offset - n->start < n->len) {
		if (info)
			node_info(n, info);
		ret = 0;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

struct visit {
	shmem_visit_fn fn;
	void *arg;
	bool by_owner;
	uint64_t owner;
};

static int visit_node(void *arg, struct shm_node *n)
{
	struct visit *v = arg;
	struct shmem_mapping_info info;

	if (v->by_owner && n->owner != v->owner)
		return 0;
	node_info(n, &info);
	return v->fn(v->arg, &info);
}

static int walk(struct shmem_region *r, struct visit *v)
{
	int ret;

	pthread_mutex_lock(&r->lock);
	ret = shm_tree_walk(&r->tree, visit_node, v);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int shmem_foreach(struct shmem_region *r, shmem_visit_fn fn, void *arg)
{
	struct visit v = { .fn = fn, .arg = arg };

	return walk(r, &v);
}

int shmem_foreach_owner(struct shmem_region *r, uint64_t owner,
			shmem_visit_fn fn, void *arg)
{
	struct visit v = { .fn = fn, .arg = arg, .by_owner = true, .owner = owner };

	return walk(r, &v);
}

size_t shmem_count(struct shmem_region *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->tree.count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t shmem_bytes_mapped(struct shmem_region *r)
{
	uint64_t n;

	pthread_mutex_lock(&r->lock);
	n = r->tree.bytes;
	pthread_mutex_unlock(&r->lock);
	return n;
}
