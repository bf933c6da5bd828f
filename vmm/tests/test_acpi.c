// SPDX-License-Identifier: MIT
/*
 * ACPI tables: checksums, lengths, pointers and contents, then a decode of
 * each table by ACPICA's disassembler (`iasl -d`, Debian's acpica-tools).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "base/layout.h"

#define GPA	ACPI_TABLES_ADDR

static uint8_t buf[ACPI_TABLES_MAX];

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static const struct acpi_virtio_mmio two_virtio[] = {
	{ .base = MMIO_DEVICES_START, .size = 0x200, .gsi = 16, .level = true },
	{ .base = MMIO_DEVICES_START + 0x1000, .size = 0x200, .gsi = 17,
	  .level = false },
};

static struct acpi_layout build(unsigned int ncpus,
				const struct acpi_virtio_mmio *v,
				unsigned int nv)
{
	struct acpi_config cfg = { .ncpus = ncpus, .virtio = v, .nvirtio = nv,
				   .gpa = GPA };
	struct acpi_layout l;

	memset(buf, 0xcc, sizeof(buf));
	cr_assert_eq(acpi_build(&cfg, buf, sizeof(buf), &l), 0);
	return l;
}

static const uint8_t *table_at(uint64_t gpa)
{
	cr_assert_geq(gpa, GPA);
	cr_assert_lt(gpa - GPA, sizeof(buf));
	return buf + (gpa - GPA);
}

static void assert_table(const uint8_t *t, const char *sig)
{
	uint32_t len = get32(t + 4);

	cr_assert_eq(memcmp(t, sig, 4), 0, "expected %s", sig);
	cr_assert_geq(len, 36);
	cr_assert_eq(acpi_checksum(t, len), 0, "%s checksum", sig);
}

Test(acpi, rsdp_xsdt_and_tables_link_up_with_checksums)
{
	struct acpi_layout l = build(2, two_virtio, 2);
	const uint8_t *rsdp = buf, *xsdt, *fadt, *madt, *dsdt;

	cr_assert_eq(l.rsdp, 0, "the RSDP is first, where the BIOS-area scan finds it");
	cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
	cr_assert_eq(rsdp[15], 2, "RSDP revision 2 (XSDT)");
	cr_assert_eq(acpi_checksum(rsdp, 20), 0, "RSDP v1 checksum");
	cr_assert_eq(acpi_checksum(rsdp, ACPI_RSDP_LEN), 0, "RSDP extended checksum");
	cr_assert_eq(get32(rsdp + 20), ACPI_RSDP_LEN);

	xsdt = table_at(get64(rsdp + 24));
	assert_table(xsdt, "XSDT");
	cr_assert_eq(get32(xsdt + 4), 36 + 2 * 8, "two entries");
	fadt = table_at(get64(xsdt + 36));
	madt = table_at(get64(xsdt + 44));
	assert_table(fadt, "FACP");
	assert_table(madt, "APIC");
	cr_assert_eq(get32(fadt + 4), ACPI_FADT_LEN);
	dsdt = table_at(get64(fadt + 140));
	cr_assert_eq(get32(fadt + 40), get64(fadt + 140), "DSDT and X_DSDT agree");
	assert_table(dsdt, "DSDT");
	cr_assert_eq(l.size, l.dsdt + get32(dsdt + 4));
	cr_assert_leq(l.size, ACPI_TABLES_MAX);
}

Test(acpi, fadt_is_hardware_reduced_with_sleep_and_reset_registers)
{
	const uint8_t *fadt;

	build(1, NULL, 0);
	fadt = table_at(get64(table_at(get64(buf + 24)) + 36));
	cr_assert(get32(fadt + 112) & (1u << 20), "HW_REDUCED_ACPI");
	cr_assert(get32(fadt + 112) & (1u << 10), "RESET_REG_SUP");
	/* Reset register: system I/O, 8 bits, value 1. */
	cr_assert_eq(fadt[116], 1);
	cr_assert_eq(fadt[117], 8);
	cr_assert_eq(get64(fadt + 120), PORT_ACPI_RESET);
	cr_assert_eq(fadt[128], ACPI_RESET_VALUE);
	/* Sleep control and status registers (ACPI 5+). */
	cr_assert_eq(fadt[244], 1);
	cr_assert_eq(get64(fadt + 248), PORT_ACPI_SLEEP_CTL);
	cr_assert_eq(fadt[256], 1);
	cr_assert_eq(get64(fadt + 260), PORT_ACPI_SLEEP_STS);
}

Test(acpi, madt_lists_every_cpu_and_the_ioapic)
{
	unsigned int ncpus = 8, lapics = 0, ioapics = 0;
	const uint8_t *madt, *e, *end;

	build(ncpus, NULL, 0);
	madt = table_at(get64(table_at(get64(buf + 24)) + 44));
	cr_assert_eq(get32(madt + 36), LAPIC_ADDR);
	e = madt + 44;
	end = madt + get32(madt + 4);
	for (; e < end; e += e[1]) {
		cr_assert_geq(e[1], 2, "zero-length MADT entry");
		if (e[0] == 0) {
			cr_assert_eq(e[3], lapics, "APIC ids follow vCPU order");
			cr_assert_eq(get32(e + 4) & 1, 1, "CPU %u enabled", lapics);
			lapics++;
		} else if (e[0] == 1) {
			cr_assert_eq(get32(e + 4), IOAPIC_ADDR);
			ioapics++;
		}
	}
	cr_assert_eq(e, end, "entries fill the table exactly");
	cr_assert_eq(lapics, ncpus);
	cr_assert_eq(ioapics, 1);
}

Test(acpi, dsdt_grows_with_virtio_devices)
{
	struct acpi_layout a = build(1, NULL, 0);
	size_t none = a.size - a.dsdt;
	struct acpi_layout b = build(1, two_virtio, 2);

	cr_assert_gt(b.size - b.dsdt, none);
	cr_assert(memmem(buf + b.dsdt, b.size - b.dsdt, "LNRO0005", 8),
		  "virtio-mmio _HID in the DSDT");
}

Test(acpi, errors)
{
	struct acpi_config cfg = { .ncpus = 0, .gpa = GPA };
	struct acpi_virtio_mmio high = { .base = 1ULL << 32, .size = 0x200 };

	cr_assert_eq(acpi_build(&cfg, buf, sizeof(buf), NULL), -EINVAL);
	cfg.ncpus = 1;
	cr_assert_eq(acpi_build(&cfg, buf, 200, NULL), -ENOSPC);
	cfg.virtio = &high;
	cfg.nvirtio = 1;
	cr_assert_eq(acpi_build(&cfg, buf, sizeof(buf), NULL), -EINVAL);
}

/* ---- iasl -d ---- */

static char dir[64];

static void write_file(const char *name, const void *p, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, len, f), len);
	fclose(f);
}

static char *read_file(const char *name)
{
	static char text[256 * 1024];
	char path[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "iasl wrote no %s", path);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static int iasl_disassemble(const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s > %s.log 2>&1", dir,
		 name, name);
	return system(cmd);
}

static void decode_setup(void)
{
	if (system("command -v iasl > /dev/null 2>&1") != 0)
		cr_assert_fail("iasl not found: install Debian's acpica-tools "
			       "(scripts/install-deps.sh) to decode the ACPI tables");
	strcpy(dir, "/tmp/vmm-acpi-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void decode_teardown(void)
{
	char cmd[128];

	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd)) {
		}
	}
}

static void write_table(const char *name, const uint8_t *t)
{
	write_file(name, t, get32(t + 4));
}

TestSuite(acpi_iasl, .init = decode_setup, .fini = decode_teardown);

Test(acpi_iasl, every_table_decodes)
{
	const uint8_t *xsdt, *fadt, *madt, *dsdt;
	char *dsl;

	build(4, two_virtio, 2);
	xsdt = table_at(get64(buf + 24));
	fadt = table_at(get64(xsdt + 36));
	madt = table_at(get64(xsdt + 44));
	dsdt = table_at(get64(fadt + 140));
	/* The RSDP is no table to iasl; its checksums are tested above. */
	write_table("xsdt.dat", xsdt);
	write_table("facp.dat", fadt);
	write_table("apic.dat", madt);
	write_table("dsdt.dat", dsdt);

	cr_assert_eq(iasl_disassemble("dsdt.dat"), 0, "iasl -d dsdt: %s",
		     read_file("dsdt.dat.log"));
	dsl = read_file("dsdt.dsl");
	cr_assert(strstr(dsl, "Device (COM1)"), "%s", dsl);
	cr_assert(strstr(dsl, "EisaId (\"PNP0501\")"), "%s", dsl);
	cr_assert(strstr(dsl, "IO (Decode16,") && strstr(dsl, "0x03F8"), "%s", dsl);
	cr_assert(strstr(dsl, "IRQNoFlags ()"), "%s", dsl);
	cr_assert(strstr(dsl, "Device (VR00)") && strstr(dsl, "Device (VR01)"), "%s", dsl);
	cr_assert(strstr(dsl, "\"LNRO0005\""), "%s", dsl);
	cr_assert(strstr(dsl, "Memory32Fixed (ReadWrite,") && strstr(dsl, "0xD0001000"), "%s", dsl);
	cr_assert(strstr(dsl, "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )"), "%s", dsl);
	cr_assert(strstr(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"), "%s", dsl);
	cr_assert(strstr(dsl, "Name (\\_S5, Package (0x04)"), "%s", dsl);
	cr_assert_null(strstr(read_file("dsdt.dat.log"), "Error"),
		       "%s", read_file("dsdt.dat.log"));

	cr_assert_eq(iasl_disassemble("facp.dat"), 0, "iasl -d facp: %s",
		     read_file("facp.dat.log"));
	dsl = read_file("facp.dsl");
	cr_assert(strstr(dsl, "Hardware Reduced (V5) : 1"), "%s", dsl);
	cr_assert(strstr(dsl, "Reset Register Supported (V2) : 1"), "%s", dsl);
	cr_assert(strstr(dsl, "Sleep Control Register"), "%s", dsl);
	cr_assert_null(strstr(dsl, "Invalid"), "%s", dsl);
	cr_assert_null(strstr(dsl, "Incorrect checksum"), "%s", dsl);

	cr_assert_eq(iasl_disassemble("apic.dat"), 0, "iasl -d apic: %s",
		     read_file("apic.dat.log"));
	dsl = read_file("apic.dsl");
	cr_assert(strstr(dsl, "Local Apic ID : 03"), "%s", dsl);
	cr_assert(strstr(dsl, "I/O Apic"), "%s", dsl);
	cr_assert_null(strstr(dsl, "Incorrect checksum"), "%s", dsl);

	cr_assert_eq(iasl_disassemble("xsdt.dat"), 0, "iasl -d xsdt: %s",
		     read_file("xsdt.dat.log"));
	cr_assert_null(strstr(read_file("xsdt.dsl"), "Incorrect checksum"));
}
