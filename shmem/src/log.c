/* SPDX-License-Identifier: MIT */
/* Log lines of a region: "shmem <name> (shmid N): <message>". */
#include <stdarg.h>
#include <stdio.h>

#include "region.h"

#define SHMEM_LOG_LINE	320

static const char *level_name(enum shmem_log_level level)
{
	switch (level) {
	case SHMEM_LOG_ERROR:
		return "error";
	case SHMEM_LOG_WARN:
		return "warning";
	case SHMEM_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* Formats into a stack buffer: no allocation, so it is safe on error paths. */
void shm_log(const struct shmem_region *r, enum shmem_log_level level,
	     const char *fmt, ...)
{
	char line[SHMEM_LOG_LINE];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "shmem %s (shmid %u): ",
		     r->name[0] ? r->name : "region", (unsigned int)r->shmid);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);

	if (r->log) {
		r->log(r->log_opaque, level, line);
		return;
	}
	fprintf(stderr, "%s: %s\n", level_name(level), line);
}
