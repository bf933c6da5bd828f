/* SPDX-License-Identifier: MIT */
/*
 * A tiny AML encoder: just what the DSDT needs (scopes, devices, names,
 * integers, strings, EISA ids, packages and resource-template buffers).
 * Errors are sticky: check aml->err once at the end.
 */
#ifndef VMM_AML_H
#define VMM_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;		/* -ENOSPC once the buffer overflowed */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* A name segment or path: "\\_SB_", "COM1", "_HID". */
void aml_name(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501") as its compressed 32-bit integer. */
void aml_eisaid(struct aml *a, const char *id);

/* Name(path, <object appended next>) */
void aml_name_decl(struct aml *a, const char *path);

/* Opened packages: *_open() returns a handle for aml_close(). */
size_t aml_scope_open(struct aml *a, const char *path);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, uint8_t nelem);
/* Buffer: the size integer is written by aml_close(). */
size_t aml_buffer_open(struct aml *a);
void aml_close(struct aml *a, size_t handle);

/* Resource descriptors (inside a buffer). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq_noflags(struct aml *a, unsigned int irq);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_res_interrupt(struct aml *a, uint32_t gsi, int level_triggered);
void aml_res_end(struct aml *a);

#endif /* VMM_AML_H */
