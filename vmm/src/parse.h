/* SPDX-License-Identifier: MIT */
/* Numbers and sizes in command-line option values. */
#ifndef VMM_PARSE_H
#define VMM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A whole decimal or 0x-prefixed hexadecimal number, at most @max.
 * No sign, no spaces, no trailing characters. 0 or -1.
 */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * A size in bytes: a number as parse_uint() takes it, with an optional
 * K, M, G or T suffix (powers of 1024, either case). 0 or -1 (also on
 * overflow).
 */
int parse_size(const char *s, uint64_t *out);

/* Format one error line into @err (@errlen bytes) and return -1. */
int parse_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VMM_PARSE_H */
