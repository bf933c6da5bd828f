/* SPDX-License-Identifier: MIT */
/* The machine's one address map: guest physical memory, ports, lines. */
#ifndef VMM_BASE_LAYOUT_H
#define VMM_BASE_LAYOUT_H

#define SZ_1K		0x400ULL
#define SZ_1M		0x100000ULL
#define SZ_1G		0x40000000ULL
#define SZ_4G		0x100000000ULL

/* Low memory: boot structures below 1 MiB. */
#define BOOT_GDT_ADDR		0x0500ULL
/* PVH entry (an ELF vmlinux): hvm_start_info, its module list, memory map. */
#define PVH_START_INFO_ADDR	0x6000ULL
#define PVH_MODLIST_ADDR	0x6040ULL	/* one entry: the initrd */
#define PVH_MEMMAP_ADDR		0x6080ULL	/* up to 0x7000 */
#define PVH_INFO_END		0x7000ULL
#define BOOT_ZERO_PAGE_ADDR	0x7000ULL	/* 64-bit entry (a bzImage) */
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xa000ULL
#define BOOT_PD_ADDR		0xb000ULL	/* 4 pages: 4 GiB in 2 MiB pages */
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL	/* up to 0x30000 */
#define EBDA_START		0x9fc00ULL	/* reserved from here to 1 MiB */
#define ACPI_TABLES_ADDR	0xe0000ULL	/* RSDP first: BIOS area scan */
#define ACPI_TABLES_MAX		0x1f000ULL	/* up to 0xff000 */
#define RESET_VECTOR_ADDR	0xffff0ULL	/* f000:fff0, where a CPU resets */
#define HIGH_MEMORY_START	SZ_1M	/* below: vmm's; kernels load above */

/* 32-bit MMIO hole: RAM above 3 GiB moves above 4 GiB. */
#define MMIO_HOLE_START		0xc0000000ULL
#define MMIO_HOLE_END		SZ_4G
/* Device windows (virtio-mmio and friends) are handed out from here. */
#define MMIO_DEVICES_START	0xd0000000ULL
#define MMIO_DEVICES_END	0xfec00000ULL
#define IOAPIC_ADDR		0xfec00000ULL
#define LAPIC_ADDR		0xfee00000ULL

/* KVM's private pages, inside the hole, below the IOAPIC. */
#define KVM_IDENTITY_MAP_ADDR	0xfeffc000ULL
#define KVM_TSS_ADDR		0xfeffd000ULL

/* Port I/O. */
#define PORT_POST		0x80
#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_BOOT_MARKER	0x3f0
#define PORT_COM1		0x3f8
#define PORT_ACPI_SLEEP_CTL	0x600
#define PORT_ACPI_SLEEP_STS	0x601
#define PORT_ACPI_RESET		0x602

#define BOOT_MARKER_VALUE	0x7b
#define ACPI_RESET_VALUE	0x01
#define ACPI_S5_TYPE		5	/* SLP_TYP of \_S5 */

#define IRQ_COM1		4
/* GSIs handed to devices: the IOAPIC's pins above the ISA range. */
#define IRQ_DEVICE_FIRST	16
#define IRQ_DEVICE_LAST		23

#endif /* VMM_BASE_LAYOUT_H */
