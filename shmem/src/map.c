/* SPDX-License-Identifier: MIT */
/*
 * Mappings: validation of back-end requests, map, unmap, reset and
 * drop_owner.
 *
 * Every request is checked completely before anything is mapped; the
 * target address is always base + a validated offset inside the
 * reservation. A failed request leaves the range and the table as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/page.h"

#include "region.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif

#define ULL(x)	((unsigned long long)(x))


int shm_fill_none(struct shmem_region *r, uint64_t off, uint64_t len)
{
	void *p = mmap(r->base + off, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		       -1, 0);

	return p == MAP_FAILED ? -errno : 0;
}

/* Alignment, length, overflow and bounds of [off, off + len). */
static int check_range(struct shmem_region *r, struct shm_why *w,
		       uint64_t off, uint64_t len)
{
	if (!len)
		return shm_fail(w, -EINVAL, "zero length at shm_offset 0x%llx",
				ULL(off));
	if (off % r->page_size || len % r->page_size)
		return shm_fail(w, -EINVAL,
				"shm_offset 0x%llx or len 0x%llx is not aligned to page size 0x%llx",
				ULL(off), ULL(len), ULL(r->page_size));
	if (off + len < off)
		return shm_fail(w, -EOVERFLOW,
				"shm_offset 0x%llx + len 0x%llx overflows",
				ULL(off), ULL(len));
	if (off + len > r->size)
		return shm_fail(w, -ERANGE,
				"shm_offset 0x%llx + len 0x%llx is beyond the region size 0x%llx",
				ULL(off), ULL(len), ULL(r->size));
	return 0;
}

/* The request's own fields, without looking at the fd or the table. */
static int check_request(struct shmem_region *r, const struct shmem_map_req *q,
			 struct shm_why *w)
{
	int ret;

	if (q->flags & ~SHMEM_MAP_FLAGS_MASK)
		return shm_fail(w, -EINVAL, "unknown flag bits 0x%llx in flags 0x%llx",
				ULL(q->flags & ~SHMEM_MAP_FLAGS_MASK), ULL(q->flags));
	if (q->fd_offset % r->page_size)
		return shm_fail(w, -EINVAL,
				"fd_offset 0x%llx is not aligned to page size 0x%llx",
				ULL(q->fd_offset), ULL(r->page_size));
	ret = check_range(r, w, q->shm_offset, q->len);
	if (ret)
		return ret;
	/* mmap() takes a signed off_t: the file range must stay below 2^63. */
	if (q->fd_offset + q->len < q->fd_offset ||
	    q->fd_offset + q->len > (uint64_t)INT64_MAX)
		return shm_fail(w, -EOVERFLOW,
				"fd_offset 0x%llx + len 0x%llx overflows",
				ULL(q->fd_offset), ULL(q->len));
	if (q->fd < 0)
		return shm_fail(w, -EINVAL, "negative fd %d", q->fd);
	return 0;
}

/*
 * The kernel checks the fd's open mode against the protection in mmap()
 * itself, before it touches the old range, on every kernel version; shmem
 * leaves that check to it and only explains a refusal afterwards, keeping
 * a system call off the success path.
 */
static int explain_refusal(const struct shm_node *n, int fd, int err,
			   struct shm_why *w)
{
	int fl = fcntl(fd, F_GETFL), seals;

	if (err == -EBADF && (fl < 0 || (fl & O_PATH)))
		return shm_fail(w, err, "fd %d is not an open file (closed, or O_PATH)",
				fd);
	if (err == -EACCES && fl >= 0 && (fl & O_ACCMODE) == O_WRONLY)
		return shm_fail(w, err, "fd %d is write-only", fd);
	if (err == -EACCES && fl >= 0 && (n->flags & SHMEM_MAP_RW) &&
	    (fl & O_ACCMODE) != O_RDWR)
		return shm_fail(w, err,
				"read-write mapping of read-only fd %d at shm_offset 0x%llx",
				fd, ULL(n->start));
	seals = err == -EPERM ? fcntl(fd, F_GET_SEALS) : -1;
	if (seals > 0 && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return shm_fail(w, err,
				"fd %d is sealed against this mapping at shm_offset 0x%llx",
				fd, ULL(n->start));
	return shm_fail(w, err,
			"the kernel refused mmap(shm_offset 0x%llx, len 0x%llx, fd %d, fd_offset 0x%llx): %s",
			ULL(n->start), ULL(n->len), fd, ULL(n->fd_offset),
			strerror(-err));
}

/*
 * The file behind the fd (file.c: mappable, long enough, on a file system
 * that cannot make us wait), then rule 12: on a kernel that drops the
 * range on a late refusal, no sealed memfd reaches mmap().
 */
static int check_fd_file(struct shmem_region *r, const struct shmem_map_req *q,
			 struct shm_file *f, struct shm_why *w)
{
	int ret, fd = q->fd, seals;
	uint64_t flags = q->flags;

	ret = shm_file_check(fd, q->fd_offset, q->len, q->peer, f, w);
	if (ret)
		return ret;
	seals = f->seals;
	if (!r->drops_range || seals <= 0)
		return 0;
	if (!(flags & SHMEM_MAP_RW) && !r->sealed_ro_refused)
		return 0;
	if ((flags & SHMEM_MAP_RW) && (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return shm_fail(w, -EPERM,
				"read-write mapping of write-sealed fd %d (seals 0x%x)",
				fd, seals);
	if (!(flags & SHMEM_MAP_RW) && (seals & F_SEAL_WRITE))
		return shm_fail(w, -EPERM,
				"this kernel cannot map write-sealed fd %d (seals 0x%x) shared",
				fd, seals);
	return 0;
}

/*
 * Does a MAP_FIXED mmap() that the file's mmap hook refuses (a read-write
 * mapping of an F_SEAL_FUTURE_WRITE memfd) leave the old range in place?
 * Asked once per region in a scratch reservation of three pages. If the
 * middle page became a hole, another thread may already own it: only the
 * outer pages are given back. Any doubt counts as "drops".
 */
bool shm_kernel_drops_range(void)
{
	size_t page = (size_t)host_page_size();
	bool drops = true, hole = false;
	unsigned char vec;
	uint8_t *s;
	void *p;
	int fd;

	s = mmap(NULL, 3 * page, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s == MAP_FAILED)
		return true;
	fd = memfd_create("shmem-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		goto unmap;
	if (ftruncate(fd, (off_t)page) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE))
		goto close_fd;
	p = mmap(s + page, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (p == MAP_FAILED) {
		hole = mincore(s + page, page, &vec) != 0;
		drops = hole;
	}
close_fd:
	close(fd);
unmap:
	if (hole) {
		munmap(s, page);
		munmap(s + 2 * page, page);
	} else {
		munmap(s, 3 * page);
	}
	return drops;
}

/*
 * Linux 6.7 and later (and kernels with that change backported, such as
 * Debian 12's 6.1) map a write-sealed memfd read-only and shared; other
 * kernels refuse. Asked once per region, with a scratch memfd mapped at an
 * address of the kernel's choosing (nothing is replaced).
 */
bool shm_kernel_refuses_sealed_ro(void)
{
	long page = (long)host_page_size();
	bool refused = true;
	void *p;
	int fd;

	fd = memfd_create("shmem-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return true;
	if (ftruncate(fd, page) || fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))
		goto out;
	p = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED) {
		munmap(p, (size_t)page);
		refused = false;
	}
out:
	close(fd);
	return refused;
}

/*
 * Any file but tmpfs: map it where the kernel likes first, so that every
 * refusal of its mmap hook (hugetlbfs without free huge pages or with an
 * unaligned offset, a driver, ...) happens away from the reservation,
 * then move it over the PROT_NONE range with mremap(), which replaces the
 * range and installs the mapping under one hold of the mmap lock: no other
 * thread's mmap() can ever see a hole there. The kernel can still fail
 * after it removed the range only when it runs out of memory itself.
 */
static void *place_moved(void *want, uint64_t len, int prot, int fd,
			 uint64_t fd_offset)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)fd_offset);
	void *q;
	int err;

	if (p == MAP_FAILED)
		return p;
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, want);
	if (q != MAP_FAILED)
		return q;
	err = errno;
	munmap(p, len);
	errno = err;
	return MAP_FAILED;
}

/* With the lock held: the mmap itself, undone completely on failure. */
static int place(struct shmem_region *r, struct shm_node *n, int fd,
		 const struct shm_file *f, struct shm_why *w)
{
	int prot = PROT_READ | (n->flags & SHMEM_MAP_RW ? PROT_WRITE : 0);
	void *want = r->base + n->start, *p;
	int err, ret;

	if (r->test_mmap)
		p = r->test_mmap(want, n->len, prot, MAP_SHARED | MAP_FIXED, fd,
				 (off_t)n->fd_offset);
	else if (f->plain_shmem)
		p = mmap(want, n->len, prot, MAP_SHARED | MAP_FIXED, fd,
			 (off_t)n->fd_offset);
	else
		p = place_moved(want, n->len, prot, fd, n->fd_offset);
	if (p == want)
		return 0;
	if (p == MAP_FAILED) {
		err = -errno;
	} else {
		munmap(p, n->len);	/* not reachable with MAP_FIXED */
		err = -EFAULT;
	}
	/*
	 * Some kernels remove the old range before a MAP_FIXED mapping can
	 * still fail, leaving a hole any later mmap() could take: Debian 12's
	 * 6.1 does so for a memfd sealed with F_SEAL_FUTURE_WRITE (ENOMEM),
	 * which check_fd_file() refuses first there. The range was PROT_NONE
	 * (no overlap), so putting PROT_NONE back restores it exactly in
	 * every case.
	 */
	ret = shm_fill_none(r, n->start, n->len);
	if (ret)
		shm_log(r, SHMEM_LOG_ERROR,
			"map: cannot restore PROT_NONE at shm_offset 0x%llx len 0x%llx: %s",
			ULL(n->start), ULL(n->len), strerror(-ret));
	return explain_refusal(n, fd, err, w);
}

int shmem_map(struct shmem_region *r, const struct shmem_map_req *req,
	      char *why, size_t whylen)
{
	struct shm_why w = { why, whylen };
	struct shm_node *n, *old;
	struct shm_file f;
	int ret;

	ret = check_request(r, req, &w);
	if (ret)
		return ret;
	ret = check_fd_file(r, req, &f, &w);
	if (ret)
		return ret;
	n = malloc(sizeof(*n));
	if (!n)
		return shm_fail(&w, -ENOMEM, "out of memory");
	*n = (struct shm_node){ .start = req->shm_offset, .len = req->len,
				.fd_offset = req->fd_offset, .flags = req->flags,
				.owner = req->owner };

	/*
	 * The overlap check and the insertion are one tree descent; the
	 * entry is taken out again if the kernel refuses the mmap().
	 */
	pthread_mutex_lock(&r->lock);
	old = shm_tree_insert_disjoint(&r->tree, n);
	if (old) {
		ret = shm_fail(&w, -EEXIST,
			       "shm_offset 0x%llx len 0x%llx overlaps the mapping at 0x%llx len 0x%llx",
			       ULL(n->start), ULL(n->len), ULL(old->start),
			       ULL(old->len));
		goto unlock;
	}
	ret = shm_budget_charge(r, &w);
	if (ret) {
		shm_tree_remove(&r->tree, n);
		goto unlock;
	}
	ret = place(r, n, req->fd, &f, &w);
	if (ret) {
		shm_tree_remove(&r->tree, n);
		shm_budget_release(r, 1);
		goto unlock;
	}
	n = NULL;
unlock:
	pthread_mutex_unlock(&r->lock);
	free(n);
	return ret;
}

int shmem_unmap(struct shmem_region *r, uint64_t shm_offset, uint64_t len,
		char *why, size_t whylen)
{
	struct shm_why w = { why, whylen };
	struct shm_node *n;
	int ret;

	ret = check_range(r, &w, shm_offset, len);
	if (ret)
		return ret;

	pthread_mutex_lock(&r->lock);
	n = shm_tree_find(&r->tree, shm_offset);
	if (!n || n->len != len) {
		ret = shm_fail(&w, -ENOENT,
			       "shm_offset 0x%llx len 0x%llx is not one live mapping%s",
			       ULL(shm_offset), ULL(len),
			       n ? " (a mapping of another length starts there)" : "");
		goto unlock;
	}
	ret = shm_fill_none(r, n->start, n->len);
	if (ret) {
		shm_fail(&w, ret,
			 "cannot put PROT_NONE back at shm_offset 0x%llx len 0x%llx: %s",
			 ULL(n->start), ULL(n->len), strerror(-ret));
		goto unlock;
	}
	shm_tree_remove(&r->tree, n);
	shm_budget_release(r, 1);
	free(n);
unlock:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* With the lock held: drop mappings one by one; keep any that fail. */
static size_t drop_each(struct shmem_region *r, bool all, uint64_t owner)
{
	struct shm_node *n = shm_tree_first(&r->tree), *next;
	size_t dropped = 0;
	int ret;

	for (; n; n = next) {
		next = shm_tree_next(&r->tree, n->start);
		if (!all && n->owner != owner)
			continue;
		ret = shm_fill_none(r, n->start, n->len);
		if (ret) {
			shm_log(r, SHMEM_LOG_ERROR,
				"drop: cannot put PROT_NONE at shm_offset 0x%llx len 0x%llx: %s",
				ULL(n->start), ULL(n->len), strerror(-ret));
			continue;
		}
		shm_tree_remove(&r->tree, n);
		free(n);
		dropped++;
	}
	shm_budget_release(r, dropped);
	return dropped;
}

static void free_node(struct shm_node *n)
{
	free(n);
}

/* One mmap() over the whole region; one by one only if that fails. */
size_t shmem_reset(struct shmem_region *r)
{
	size_t dropped;

	pthread_mutex_lock(&r->lock);
	dropped = r->tree.count;
	if (!dropped)
		goto unlock;
	if (shm_fill_none(r, 0, r->size)) {
		dropped = drop_each(r, true, 0);
		goto unlock;
	}
	shm_tree_clear(&r->tree, free_node);
	shm_budget_release(r, dropped);
unlock:
	pthread_mutex_unlock(&r->lock);
	return dropped;
}

size_t shmem_drop_owner(struct shmem_region *r, uint64_t owner)
{
	size_t dropped;

	pthread_mutex_lock(&r->lock);
	dropped = drop_each(r, false, owner);
	pthread_mutex_unlock(&r->lock);
	return dropped;
}
