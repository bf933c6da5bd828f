/* SPDX-License-Identifier: MIT */
/*
 * Byte streams over a chain's buffers. A request's bytes may be split at
 * any offset across its descriptors: a cursor reads (or writes) them in
 * order, never past the bytes the chain gave, and copies what it reads
 * out of guest memory so a value cannot change after it was checked.
 */
#ifndef VIRTIOFS_IOV_H
#define VIRTIOFS_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct iov_cursor {
	const struct iovec *iov;
	unsigned int n;
	unsigned int i;		/* current buffer */
	size_t off;		/* offset inside it */
	size_t left;		/* bytes from here to the end of the stream */
};

void iov_cursor_init(struct iov_cursor *c, const struct iovec *iov,
		     unsigned int n);
/* Total bytes of @n buffers (saturates at SIZE_MAX). */
size_t iov_total(const struct iovec *iov, unsigned int n);
/* Copy the next @len bytes out; false (nothing consumed) if fewer left. */
bool iov_read(struct iov_cursor *c, void *dst, size_t len);
/* Skip @len bytes; false if fewer left. */
bool iov_skip(struct iov_cursor *c, size_t len);
/* Copy @len bytes in; false (nothing written) if there is less room. */
bool iov_write(struct iov_cursor *c, const void *src, size_t len);
/*
 * Describe the next @len bytes as at most @max iovecs in @dst (pointing
 * into the chain, no copy) and consume them. Returns the count, or -1
 * (nothing consumed) if fewer than @len bytes are left or @max is too
 * small.
 */
int iov_slice(struct iov_cursor *c, size_t len, struct iovec *dst,
	      unsigned int max);

#endif
