// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "boot/aml.h"

#define AML_ZERO	0x00
#define AML_ONE		0x01
#define AML_NAME	0x08
#define AML_BYTE	0x0a
#define AML_WORD	0x0b
#define AML_DWORD	0x0c
#define AML_STRING	0x0d
#define AML_QWORD	0x0e
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_PACKAGE	0x12
#define AML_EXT		0x5b
#define AML_DEVICE	0x82
#define AML_ONES	0xff

/*
 * A handle records where the package's body starts; bit 63 marks a buffer
 * (whose BufferSize integer is inserted at close time).
 */
#define HANDLE_BUFFER	(1ULL << 63)

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = cap;
	a->err = 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	while (n--) {
		aml_byte(a, (uint8_t)v);
		v >>= 8;
	}
}

static void aml_nameseg(struct aml *a, const char *seg, size_t n)
{
	char s[4] = { '_', '_', '_', '_' };

	memcpy(s, seg, n > 4 ? 4 : n);
	aml_bytes(a, s, 4);
}

void aml_name(struct aml *a, const char *path)
{
	const char *dot;
	size_t nseg = 1;

	if (*path == '\\') {
		aml_byte(a, '\\');
		path++;
	}
	for (dot = path; (dot = strchr(dot, '.')); dot++)
		nseg++;
	if (nseg == 2)
		aml_byte(a, 0x2e);	/* DualNamePrefix */
	else if (nseg > 2) {
		aml_byte(a, 0x2f);	/* MultiNamePrefix */
		aml_byte(a, (uint8_t)nseg);
	}
	while (*path) {
		dot = strchr(path, '.');
		if (!dot)
			dot = path + strlen(path);
		aml_nameseg(a, path, (size_t)(dot - path));
		path = *dot ? dot + 1 : dot;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

static unsigned int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned int)(c - '0');
	if (c >= 'A' && c <= 'F')
		return (unsigned int)(c - 'A' + 10);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (strlen(id) != 7) {
		a->err = -EINVAL;
		return;
	}
	v = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 |
	    (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
	    (uint32_t)((id[2] - 0x40) & 0x1f) << 16 |
	    hexval(id[3]) << 12 | hexval(id[4]) << 8 |
	    hexval(id[5]) << 4 | hexval(id[6]);
	/* Stored big-endian: the byte order of the EISA id. */
	v = __builtin_bswap32(v);
	aml_byte(a, AML_DWORD);
	aml_le(a, v, 4);
}

void aml_name_decl(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_name(a, path);
}

size_t aml_scope_open(struct aml *a, const char *path)
{
	size_t h;

	aml_byte(a, AML_SCOPE);
	h = a->len;
	aml_name(a, path);
	return h;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	size_t h;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	h = a->len;
	aml_name(a, name);
	return h;
}

size_t aml_package_open(struct aml *a, uint8_t nelem)
{
	size_t h;

	aml_byte(a, AML_PACKAGE);
	h = a->len;
	aml_byte(a, nelem);
	return h;
}

size_t aml_buffer_open(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	return a->len | HANDLE_BUFFER;
}

/* Insert @n bytes at @at, shifting the tail. */
static void aml_insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

/* PkgLength counts its own bytes too (ACPI 6.5, 20.2.4). */
static size_t pkglength_encode(size_t body, uint8_t out[4])
{
	size_t n, total;

	for (n = 1; n <= 4; n++) {
		total = body + n;
		if (n == 1 && total <= 0x3f) {
			out[0] = (uint8_t)total;
			return 1;
		}
		if (n > 1 && total < (1ULL << (4 + 8 * (n - 1)))) {
			size_t i;

			out[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
			for (i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0;
}

void aml_close(struct aml *a, size_t handle)
{
	size_t start = handle & ~HANDLE_BUFFER;
	uint8_t enc[4];
	size_t n;

	if (a->err)
		return;
	if (handle & HANDLE_BUFFER) {
		struct aml size;
		uint8_t tmp[9];

		aml_init(&size, tmp, sizeof(tmp));
		aml_integer(&size, a->len - start);
		aml_insert(a, start, tmp, size.len);
	}
	n = pkglength_encode(a->len - start, enc);
	if (!n) {
		a->err = -E2BIG;
		return;
	}
	aml_insert(a, start, enc, n);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
			 (uint8_t)base, (uint8_t)(base >> 8), 0x01, len };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *a, unsigned int irq)
{
	uint16_t mask = (uint16_t)(1u << (irq & 15));
	uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };

	aml_bytes(a, d, sizeof(d));
}

void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len)
{
	aml_byte(a, 0x86);
	aml_le(a, 9, 2);
	aml_byte(a, 0x01);		/* read-write */
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

void aml_res_interrupt(struct aml *a, uint32_t gsi, int level_triggered)
{
	/* consumer, active high, exclusive; bit 1 set = edge */
	uint8_t flags = (uint8_t)(0x01 | (level_triggered ? 0 : 0x02));

	aml_byte(a, 0x89);
	aml_le(a, 6, 2);
	aml_byte(a, flags);
	aml_byte(a, 1);
	aml_le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
	uint8_t d[2] = { 0x79, 0x00 };

	aml_bytes(a, d, sizeof(d));
}
