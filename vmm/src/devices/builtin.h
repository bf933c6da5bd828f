/* SPDX-License-Identifier: MIT */
/*
 * The devices every machine has, as a table the machine walks without
 * naming them (kvmtool's util/init.c does the same with init lists).
 */
#ifndef VMM_DEVICES_BUILTIN_H
#define VMM_DEVICES_BUILTIN_H

#include <stddef.h>

#include "devices/device.h"

struct dev_builtin {
	const char *name;
	int (*create)(const struct dev_services *svc,
		      const struct vmm_config *cfg, struct dev_desc *out,
		      char *why, size_t whylen);
};

extern const struct dev_builtin dev_builtins[];
extern const unsigned int dev_nbuiltins;

#endif /* VMM_DEVICES_BUILTIN_H */
