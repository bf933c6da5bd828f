/* SPDX-License-Identifier: MIT */
/* Byte streams over a chain's buffers (iov.h). */
#include <string.h>

#include "iov.h"

size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - t)
			return SIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

void iov_cursor_init(struct iov_cursor *c, const struct iovec *iov,
		     unsigned int n)
{
	*c = (struct iov_cursor){ .iov = iov, .n = n,
				  .left = iov_total(iov, n) };
}

/* Visit the next @len bytes (already known to be there) in pieces. */
static void iov_walk(struct iov_cursor *c, size_t len, uint8_t *buf,
		     const uint8_t *src)
{
	while (len) {
		size_t room = c->iov[c->i].iov_len - c->off;
		size_t k = room < len ? room : len;
		uint8_t *p = (uint8_t *)c->iov[c->i].iov_base + c->off;

		if (buf)
			memcpy(buf, p, k);
		else if (src)
			memcpy(p, src, k);
		if (buf)
			buf += k;
		if (src)
			src += k;
		len -= k;
		c->left -= k;
		c->off += k;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	/* Step over empty buffers so i/off always name the next byte. */
	while (c->i < c->n && c->off == c->iov[c->i].iov_len) {
		c->i++;
		c->off = 0;
	}
}

bool iov_read(struct iov_cursor *c, void *dst, size_t len)
{
	if (len > c->left)
		return false;
	iov_walk(c, len, dst, NULL);
	return true;
}

bool iov_skip(struct iov_cursor *c, size_t len)
{
	if (len > c->left)
		return false;
	iov_walk(c, len, NULL, NULL);
	return true;
}

bool iov_write(struct iov_cursor *c, const void *src, size_t len)
{
	if (len > c->left)
		return false;
	iov_walk(c, len, NULL, src);
	return true;
}

int iov_slice(struct iov_cursor *c, size_t len, struct iovec *dst,
	      unsigned int max)
{
	struct iov_cursor save = *c;
	unsigned int k = 0;

	if (len > c->left)
		return -1;
	while (len) {
		size_t room = c->iov[c->i].iov_len - c->off;
		size_t take = room < len ? room : len;

		if (!room) {
			c->i++;
			c->off = 0;
			continue;
		}
		if (k == max) {
			*c = save;
			return -1;
		}
		dst[k++] = (struct iovec){
			(uint8_t *)c->iov[c->i].iov_base + c->off, take };
		iov_walk(c, take, NULL, NULL);
		len -= take;
	}
	return (int)k;
}
