/* SPDX-License-Identifier: MIT */
/*
 * The project's one error convention: a call returns 0 or a negative errno,
 * and the layer that knows why it failed words one line into the caller's
 * reason buffer (char *why, size_t whylen; NULL is allowed). Callers pass
 * the buffer down and report the line once, at the layer that logs.
 */
#ifndef COMMON_WHY_H
#define COMMON_WHY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Word the reason into @why (may be NULL) and return @err. */
static inline int why_fail(char *why, size_t whylen, int err,
			   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int why_fail(char *why, size_t whylen, int err,
			   const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return err;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return err;
}

#endif /* COMMON_WHY_H */
