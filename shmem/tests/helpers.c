/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

size_t maps_read(char *buf, size_t cap)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	return len;
}

size_t maps_count(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t lines = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

size_t maps_count_range(const void *lo, const void *hi)
{
	static char buf[1 << 16];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	size_t n = 0;

	if (!f)
		return 0;
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start < (uintptr_t)hi && end > (uintptr_t)lo)
			n++;
	}
	fclose(f);
	return n;
}

bool maps_perms(const void *addr, char perms[5])
{
	static char buf[1 << 16];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	bool found = false;

	if (!f)
		return false;
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) == 3 &&
		    (uintptr_t)addr >= start && (uintptr_t)addr < end)
			found = true;
	}
	fclose(f);
	return found;
}

size_t fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

bool probe_read(const void *addr)
{
	char c;
	struct iovec local = { &c, 1 };
	struct iovec remote = { (void *)addr, 1 };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
}

bool probe_write(void *addr)
{
	char c;
	struct iovec local = { &c, 1 };
	struct iovec remote = { addr, 1 };

	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != 1)
		return false;
	return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == 1;
}

int child_signal(void (*fn)(void *arg), void *arg)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

int memfd_pattern(const char *name, uint64_t pages, uint8_t tag)
{
	uint64_t page = page_size();
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char *buf;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)(pages * page)))
		goto fail;
	buf = malloc(page);
	if (!buf)
		goto fail;
	for (uint64_t i = 0; i < pages; i++) {
		memset(buf, (uint8_t)(tag + i), page);
		if (pwrite(fd, buf, page, (off_t)(i * page)) != (ssize_t)page) {
			free(buf);
			goto fail;
		}
	}
	free(buf);
	return fd;
fail:
	close(fd);
	return -1;
}

void log_capture_fn(void *opaque, enum shmem_log_level level, const char *msg)
{
	struct log_capture *c = opaque;

	c->lines++;
	c->level = level;
	snprintf(c->last, sizeof(c->last), "%s", msg);
}

static int fake_add(void *hv, uint64_t gpa, void *hva, uint64_t size,
		    uint32_t *slot)
{
	struct fake_hv *f = hv;

	f->adds++;
	f->gpa = gpa;
	f->hva = hva;
	f->size = size;
	if (f->add_ret)
		return f->add_ret;
	*slot = f->next_slot;
	return 0;
}

static int fake_remove(void *hv, uint32_t slot)
{
	struct fake_hv *f = hv;

	f->removes++;
	f->removed_slot = slot;
	return f->remove_ret;
}

const struct shmem_hv_ops fake_hv_ops = {
	.slot_add = fake_add,
	.slot_remove = fake_remove,
};

struct snap {
	struct shmem_mapping_info *out;
	size_t cap, n;
};

static int snap_one(void *arg, const struct shmem_mapping_info *m)
{
	struct snap *s = arg;

	if (s->n < s->cap)
		s->out[s->n] = *m;
	s->n++;
	return 0;
}

size_t table_snapshot(struct shmem_region *r, struct shmem_mapping_info *out,
		      size_t cap)
{
	struct snap s = { out, cap, 0 };

	shmem_foreach(r, snap_one, &s);
	return s.n;
}

bool region_layout_ok(struct shmem_region *r, uint64_t stride)
{
	uint8_t *base = shmem_region_hva(r);
	uint64_t page = page_size(), size = shmem_region_size(r);

	for (uint64_t off = 0; off < size; off += stride * page) {
		bool mapped = shmem_lookup(r, off, NULL) == 0;

		if (probe_read(base + off) != mapped)
			return false;
	}
	return true;
}

void warm_allocator(void)
{
	struct shmem_region_config cfg = { .size = 4 * page_size() };
	struct shmem_region *r;
	int fd = memfd_pattern("warm", 1, 0);

	if (fd < 0)
		return;
	if (!t_create(&cfg, &r)) {
		t_map(r, 0, page_size(), fd, 0, 0, 0);
		t_unmap(r, 0, page_size());
		shmem_region_destroy(r);
	}
	close(fd);
	fd_count();
	maps_count();
}

_Thread_local char t_why[SHMEM_WHY_MAX];

int t_create(const struct shmem_region_config *cfg, struct shmem_region **out)
{
	t_why[0] = '\0';
	return shmem_region_create(cfg, out, t_why, sizeof(t_why));
}

int t_map(struct shmem_region *r, uint64_t shm_offset, uint64_t len, int fd,
	  uint64_t fd_offset, uint64_t flags, uint64_t owner)
{
	struct shmem_map_req q = {
		.shm_offset = shm_offset, .len = len, .fd = fd,
		.fd_offset = fd_offset, .flags = flags, .owner = owner,
	};

	t_why[0] = '\0';
	return shmem_map(r, &q, t_why, sizeof(t_why));
}

int t_unmap(struct shmem_region *r, uint64_t shm_offset, uint64_t len)
{
	t_why[0] = '\0';
	return shmem_unmap(r, shm_offset, len, t_why, sizeof(t_why));
}
