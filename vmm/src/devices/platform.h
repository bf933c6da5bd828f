/* SPDX-License-Identifier: MIT */
/*
 * Fixed platform ports: ACPI sleep control/status and reset registers (the
 * FADT points at them), i8042 reset (0xfe to port 0x64), the boot marker
 * port 0x3f0, the POST port 0x80. Power off and reboot stop the machine
 * through the stop service; the boot marker logs the time since start.
 */
#ifndef VMM_DEVICES_PLATFORM_H
#define VMM_DEVICES_PLATFORM_H

#include <stddef.h>

#include "devices/device.h"

int platform_dev_create(const struct dev_services *svc,
			const struct vmm_config *cfg, struct dev_desc *out,
			char *why, size_t whylen);

#endif /* VMM_DEVICES_PLATFORM_H */
