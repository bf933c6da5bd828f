/* SPDX-License-Identifier: MIT */
/*
 * Fixed platform ports: ACPI sleep control/status and reset registers (the
 * FADT points at them), i8042 reset (0xfe to port 0x64), the boot marker
 * port 0x3f0, the POST port 0x80.
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

struct vmm;

#include <stdint.h>

int platform_register(struct vmm *vm);

/*
 * Firmware at the reset vector (0xffff0, in low RAM @ram): writes the ACPI
 * reset register, so a guest that jumps there to reboot (Linux does on a
 * hardware-reduced ACPI machine: its EFI reboot finds no EFI and it falls
 * back to the BIOS reset vector) reboots the machine.
 */
void platform_write_reset_vector(uint8_t *ram);

#endif /* VMM_PLATFORM_H */
