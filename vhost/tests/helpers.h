/* SPDX-License-Identifier: MIT */
/* Test helpers: fd counting, processes, control sockets, guest memory. */
#ifndef VHOST_TEST_HELPERS_H
#define VHOST_TEST_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

size_t fd_count(void);
uint64_t page_size(void);

/* A fresh directory under /tmp; the caller removes it with rm_tree(). */
char *make_tmpdir(void);
void rm_tree(const char *dir);

/* fork + exec; NULL-terminated argv. */
pid_t spawn(char *const argv[]);
/* SIGKILL and reap. */
void kill_wait(pid_t pid);
/* Wait until @path exists (a socket a child creates). */
bool wait_path(const char *path, int timeout_ms);

/* Connect to a line-based control socket. */
int ctl_connect(const char *path, int timeout_ms);
/* Send one command line, read one reply line into @out. 0 or -errno. */
int ctl(int fd, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Guest RAM: a memfd of @size mapped at *hva. Returns the fd. */
int guest_ram(uint64_t size, void **hva);

/* A split virtqueue laid out by a test "driver" in guest RAM. */
struct tvq {
	uint8_t *ram;		/* guest RAM base (gpa 0) */
	uint32_t num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t avail_idx, free_head, used_seen;
};
void tvq_init(struct tvq *q, void *ram, uint64_t gpa, uint32_t num);
/* Add a chain of @n buffers (gpa, len, writable). Returns the head. */
uint16_t tvq_add(struct tvq *q, const uint64_t *gpa, const uint32_t *len,
		 const bool *wr, unsigned int n);
/* Wait (on @call_fd, up to @timeout_ms) for a used entry. */
bool tvq_wait_used(struct tvq *q, int call_fd, int timeout_ms,
		   uint32_t *id, uint32_t *len);

#endif
