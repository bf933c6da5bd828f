/* SPDX-License-Identifier: MIT */
/* Per-VM logging: no global state, the sink comes from the config. */
#ifndef VMM_BASE_LOG_H
#define VMM_BASE_LOG_H

#include <vmm/vmm.h>

struct vmm_log {
	enum vmm_log_level level;
	vmm_log_fn fn;		/* NULL: stderr */
	void *opaque;
};

void vmm_logf(const struct vmm_log *log, enum vmm_log_level level,
	      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_err(l, ...)		vmm_logf(l, VMM_LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...)	vmm_logf(l, VMM_LOG_WARN, __VA_ARGS__)
#define log_info(l, ...)	vmm_logf(l, VMM_LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...)	vmm_logf(l, VMM_LOG_DEBUG, __VA_ARGS__)

#endif /* VMM_BASE_LOG_H */
