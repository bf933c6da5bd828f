/* SPDX-License-Identifier: MIT */
#ifndef VHOST_SRC_LOG_H
#define VHOST_SRC_LOG_H

#include "vhost/log.h"

struct vhost_logger {
	vhost_log_fn fn;
	void *opaque;
	const char *prefix;	/* e.g. a device name; may be NULL */
};

void vhost_logf(const struct vhost_logger *l, enum vhost_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define vlog_err(l, ...)	vhost_logf(l, VHOST_LOG_ERROR, __VA_ARGS__)
#define vlog_warn(l, ...)	vhost_logf(l, VHOST_LOG_WARN, __VA_ARGS__)
#define vlog_info(l, ...)	vhost_logf(l, VHOST_LOG_INFO, __VA_ARGS__)
#define vlog_debug(l, ...)	vhost_logf(l, VHOST_LOG_DEBUG, __VA_ARGS__)

#endif
