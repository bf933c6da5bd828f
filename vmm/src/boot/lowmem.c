// SPDX-License-Identifier: MIT
#include <string.h>

#include "common/x86.h"

#include "base/layout.h"
#include "boot/lowmem.h"

void lowmem_write_gdt(uint8_t *ram)
{
	memcpy(ram + BOOT_GDT_ADDR, x86_flat_gdt, sizeof(x86_flat_gdt));
}

void lowmem_write_page_tables(uint8_t *ram)
{
	uint64_t pte = X86_PTE_P | X86_PTE_RW;
	unsigned int i;

	memset(ram + BOOT_PML4_ADDR, 0, 0x1000);
	memset(ram + BOOT_PDPT_ADDR, 0, 0x1000);
	x86_put64(ram + BOOT_PML4_ADDR, BOOT_PDPT_ADDR | pte);
	for (i = 0; i < 4; i++)
		x86_put64(ram + BOOT_PDPT_ADDR + i * 8,
			  (BOOT_PD_ADDR + i * 0x1000ULL) | pte);
	for (i = 0; i < 4 * 512; i++)
		x86_put64(ram + BOOT_PD_ADDR + i * 8,
			  ((uint64_t)i << 21) | pte | X86_PTE_PS);
}

void lowmem_write_reset_vector(uint8_t *ram)
{
	static const uint8_t stub[] = {
		0xba, PORT_ACPI_RESET & 0xff, PORT_ACPI_RESET >> 8, /* mov dx, port */
		0xb0, ACPI_RESET_VALUE,			/* mov al, value */
		0xee,					/* out dx, al */
		0xfa,					/* cli */
		0xf4,					/* 1: hlt */
		0xeb, 0xfd,				/* jmp 1b */
	};

	memcpy(ram + RESET_VECTOR_ADDR, stub, sizeof(stub));
}
