/* SPDX-License-Identifier: MIT */
/*
 * The machine's console: the 16550A UART (serial.h) as COM1 (port 0x3f8,
 * interrupt line 4), fed from the config's console_in by an input thread
 * while vmm_run() runs, with a terminal console_in in raw mode for that
 * time and restored after.
 */
#ifndef VMM_DEVICES_CONSOLE_H
#define VMM_DEVICES_CONSOLE_H

#include <stddef.h>

#include "devices/device.h"

int console_dev_create(const struct dev_services *svc,
		       const struct vmm_config *cfg, struct dev_desc *out,
		       char *why, size_t whylen);

#endif /* VMM_DEVICES_CONSOLE_H */
