// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "base/log.h"

void vmm_logf(const struct vmm_log *log, enum vmm_log_level level,
	      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log || level > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log->fn)
		log->fn(log->opaque, level, msg);
	else
		fprintf(stderr, "vmm: %s\n", msg);
}
