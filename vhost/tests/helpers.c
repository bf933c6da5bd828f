/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#include "helpers.h"

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
	return n - 1;	/* the directory's own fd */
}

uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/vhost-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

void rm_tree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

void kill_wait(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

bool wait_path(const char *path, int timeout_ms)
{
	int64_t end = clock_now_ms() + timeout_ms;

	while (access(path, F_OK)) {
		if (clock_now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

int ctl_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int64_t end = clock_now_ms() + timeout_ms;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
		if (clock_now_ms() > end)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

int ctl(int fd, char *out, size_t len, const char *fmt, ...)
{
	char line[512];
	size_t got = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(fd, line, (size_t)n) != n)
		return -EIO;
	while (got + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 10000) != 1)
			return -ETIMEDOUT;
		r = read(fd, out + got, 1);
		if (r <= 0)
			return -EIO;
		if (out[got] == '\n')
			break;
		got++;
	}
	out[got] = '\0';
	return 0;
}

int guest_ram(uint64_t size, void **hva)
{
	int fd = memfd_create("guest-ram", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		return -1;
	*hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*hva == MAP_FAILED) {
		close(fd);
		return -1;
	}
	return fd;
}

struct tdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void tvq_init(struct tvq *q, void *ram, uint64_t gpa, uint32_t num)
{
	memset(q, 0, sizeof(*q));
	q->ram = ram;
	q->num = num;
	q->desc_gpa = gpa;
	q->avail_gpa = gpa + 16ull * num;
	q->used_gpa = (q->avail_gpa + 6 + 2ull * num + 4095) & ~4095ull;
	memset(q->ram + gpa, 0, q->used_gpa + 6 + 8ull * num - gpa);
}

uint16_t tvq_add(struct tvq *q, const uint64_t *gpa, const uint32_t *len,
		 const bool *wr, unsigned int n)
{
	struct tdesc *d = (struct tdesc *)(q->ram + q->desc_gpa);
	uint16_t *avail = (uint16_t *)(q->ram + q->avail_gpa);
	uint16_t head = q->free_head;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % q->num);

		d[idx].addr = gpa[i];
		d[idx].len = len[i];
		d[idx].flags = (uint16_t)((wr[i] ? 2 : 0) | (i + 1 < n ? 1 : 0));
		d[idx].next = (uint16_t)((idx + 1) % q->num);
	}
	q->free_head = (uint16_t)((head + n) % q->num);
	avail[2 + q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_store_n(&avail[1], q->avail_idx, __ATOMIC_RELEASE);
	return head;
}

bool tvq_wait_used(struct tvq *q, int call_fd, int timeout_ms, uint32_t *id,
		   uint32_t *len)
{
	uint16_t *used = (uint16_t *)(q->ram + q->used_gpa);
	int64_t end = clock_now_ms() + timeout_ms;

	while (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == q->used_seen) {
		struct pollfd p = { .fd = call_fd, .events = POLLIN };
		int64_t left = end - clock_now_ms();
		uint64_t v;

		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)left) == 1 && read(call_fd, &v, 8) < 0)
			return false;
	}
	{
		uint32_t *ring = (uint32_t *)(used + 2);
		uint32_t slot = q->used_seen % q->num;

		*id = ring[2 * slot];
		*len = ring[2 * slot + 1];
	}
	q->used_seen++;
	return true;
}
