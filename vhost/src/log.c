/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void vhost_logf(const struct vhost_logger *l, enum vhost_log_level level,
		const char *fmt, ...)
{
	char msg[512];
	int off = 0;
	va_list ap;

	if (!l->fn && level > VHOST_LOG_WARN)
		return;
	if (l->prefix)
		off = snprintf(msg, sizeof(msg), "%s: ", l->prefix);
	if (off < 0 || (size_t)off >= sizeof(msg))
		off = 0;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - (size_t)off, fmt, ap);
	va_end(ap);
	if (l->fn)
		l->fn(l->opaque, level, msg);
	else
		fprintf(stderr, "vhost: %s\n", msg);
}
