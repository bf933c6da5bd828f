/* SPDX-License-Identifier: MIT */
/*
 * What the machine writes into low guest memory besides the kernel: the
 * flat GDT that both the 64-bit and the PVH entry use, the identity map of
 * the first 4 GiB (2 MiB pages) that the 64-bit entry needs, and the
 * firmware stub at the reset vector. The addresses are layout.h's.
 */
#ifndef VMM_BOOT_LOWMEM_H
#define VMM_BOOT_LOWMEM_H

#include <stdint.h>

/* The flat GDT (common/x86.h) at BOOT_GDT_ADDR: both entries use it. */
void lowmem_write_gdt(uint8_t *ram);

/* The identity map at BOOT_PML4_ADDR, for the 64-bit entry. */
void lowmem_write_page_tables(uint8_t *ram);

/*
 * Firmware at the reset vector (0xffff0): writes the ACPI reset register,
 * so a guest that jumps there to reboot (Linux does on a hardware-reduced
 * ACPI machine: its EFI reboot finds no EFI and it falls back to the BIOS
 * reset vector) reboots the machine.
 */
void lowmem_write_reset_vector(uint8_t *ram);

#endif /* VMM_BOOT_LOWMEM_H */
