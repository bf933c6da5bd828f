/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for a hardware-reduced machine: RSDP, XSDT, FADT (sleep
 * control/status and reset registers in port I/O), DSDT (UART, virtio-mmio
 * devices, \_S5), MADT (one LAPIC per vCPU, the IOAPIC).
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One LNRO0005 (virtio-mmio) device in the DSDT. */
struct acpi_virtio_mmio {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
	bool level;		/* level-triggered (else edge) */
};

struct acpi_config {
	unsigned int ncpus;
	const struct acpi_virtio_mmio *virtio;
	unsigned int nvirtio;
	uint64_t gpa;		/* guest address of the first byte (the RSDP) */
};

/* Offsets of each table in the output, for tests and logs. */
struct acpi_layout {
	size_t rsdp, xsdt, fadt, dsdt, madt;
	size_t size;		/* bytes used */
};

#define ACPI_FADT_LEN		276
#define ACPI_RSDP_LEN		36

/*
 * Build all tables into @buf (@cap bytes), laid out for guest address
 * cfg->gpa. Returns 0, -ENOSPC or -EINVAL (no CPUs, too many, a device
 * window above 4 GiB).
 */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap,
	       struct acpi_layout *out);

/* 8-bit sum of @len bytes (0 for a valid table). */
uint8_t acpi_checksum(const void *p, size_t len);

#endif /* VMM_ACPI_H */
