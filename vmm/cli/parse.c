// SPDX-License-Identifier: MIT
/* Numbers and sizes in command-line option values. */
#include "parse.h"

#include <errno.h>
#include <stdlib.h>

/* The number at the start of @s; *end points past it. */
static int parse_prefix(const char *s, uint64_t *v, char **end)
{
	int base = 10;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return -EINVAL;
	}
	errno = 0;
	*v = strtoull(s, end, base);
	return errno ? -EINVAL : 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;
	char *end;

	if (parse_prefix(s, &v, &end) || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	uint64_t v;
	char *end;

	if (parse_prefix(s, &v, &end))
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end || (shift && v > (~0ULL >> shift)))
		return -EINVAL;
	*out = v << shift;
	return 0;
}
