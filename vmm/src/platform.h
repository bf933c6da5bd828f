/* SPDX-License-Identifier: MIT */
/*
 * Fixed platform ports: ACPI sleep control/status and reset registers (the
 * FADT points at them), i8042 reset (0xfe to port 0x64), the boot marker
 * port 0x3f0, the POST port 0x80.
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

struct vmm;

int platform_register(struct vmm *vm);

#endif /* VMM_PLATFORM_H */
