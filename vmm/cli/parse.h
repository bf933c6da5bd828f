/* SPDX-License-Identifier: MIT */
/* Numbers and sizes in command-line option values. */
#ifndef VMM_PARSE_H
#define VMM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A whole decimal or 0x-prefixed hexadecimal number, at most @max.
 * No sign, no spaces, no trailing characters. 0 or -EINVAL.
 */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

/*
 * A size in bytes: a number as parse_uint() takes it, with an optional
 * K, M, G or T suffix (powers of 1024, either case). 0 or -EINVAL (also
 * on overflow).
 */
int parse_size(const char *s, uint64_t *out);

#endif /* VMM_PARSE_H */
