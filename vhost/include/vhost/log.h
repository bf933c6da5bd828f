/* SPDX-License-Identifier: MIT */
/* Log sink shared by the vhost front-end and the back-end library. */
#ifndef VHOST_LOG_H
#define VHOST_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum vhost_log_level {
	VHOST_LOG_ERROR,
	VHOST_LOG_WARN,
	VHOST_LOG_INFO,
	VHOST_LOG_DEBUG,
};

/*
 * Called with one complete line (no trailing newline). NULL sends errors
 * and warnings to stderr and drops the rest.
 */
typedef void (*vhost_log_fn)(void *opaque, enum vhost_log_level level,
			     const char *msg);

#ifdef __cplusplus
}
#endif

#endif /* VHOST_LOG_H */
