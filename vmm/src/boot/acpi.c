// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "base/layout.h"

#define ACPI_HDR_LEN		36
#define ACPI_OEM_ID		"VMM   "
#define ACPI_OEM_TABLE_ID	"VMMMICRO"
#define ACPI_CREATOR_ID		"VMM "

#define FADT_REVISION		6
#define FADT_F_PWR_BUTTON	(1u << 4)
#define FADT_F_SLP_BUTTON	(1u << 5)
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED	(1u << 20)
#define FADT_BOOT_NO_VGA	(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC	(1u << 5)

#define MADT_PCAT_COMPAT	1u
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_LAPIC_ENABLED	1u

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return sum;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, ACPI_OEM_ID, 6);
	memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
	put32(t + 24, 1);
	memcpy(t + 28, ACPI_CREATOR_ID, 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t)
{
	uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = (uint8_t)-acpi_checksum(t, len);
}

static void gas_port8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8;		/* bit width */
	g[2] = 0;		/* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

static size_t build_fadt(uint8_t *t, uint64_t dsdt)
{
	memset(t, 0, ACPI_FADT_LEN);
	header(t, "FACP", ACPI_FADT_LEN, FADT_REVISION);
	put32(t + 40, (uint32_t)dsdt);
	put16(t + 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC);
	put32(t + 112, FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP |
		       FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	gas_port8(t + 116, PORT_ACPI_RESET);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0;		/* FADT minor version: ACPI 6.0 */
	put64(t + 140, dsdt);
	gas_port8(t + 244, PORT_ACPI_SLEEP_CTL);
	gas_port8(t + 256, PORT_ACPI_SLEEP_STS);
	memcpy(t + 268, "VMMVMMVM", 8);
	finish(t);
	return ACPI_FADT_LEN;
}

static void dsdt_uart(struct aml *a)
{
	size_t dev, buf;

	dev = aml_device_open(a, "COM1");
	aml_name_decl(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_decl(a, "_UID");
	aml_integer(a, 0);
	aml_name_decl(a, "_STA");
	aml_integer(a, 0xf);
	aml_name_decl(a, "_CRS");
	buf = aml_buffer_open(a);
	aml_res_io(a, PORT_COM1, 8);
	aml_res_irq_noflags(a, IRQ_COM1);
	aml_res_end(a);
	aml_close(a, buf);
	aml_close(a, dev);
}

static void dsdt_virtio(struct aml *a, const struct acpi_virtio_mmio *v,
			unsigned int idx)
{
	char name[5];
	size_t dev, buf;

	snprintf(name, sizeof(name), "VR%02X", idx & 0xff);
	dev = aml_device_open(a, name);
	aml_name_decl(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name_decl(a, "_UID");
	aml_integer(a, idx);
	aml_name_decl(a, "_CCA");
	aml_integer(a, 1);
	aml_name_decl(a, "_CRS");
	buf = aml_buffer_open(a);
	aml_res_mem32_fixed(a, (uint32_t)v->base, v->size);
	aml_res_interrupt(a, v->gsi, v->level);
	aml_res_end(a);
	aml_close(a, buf);
	aml_close(a, dev);
}

static void dsdt_s5(struct aml *a)
{
	size_t pkg;

	aml_name_decl(a, "\\_S5");
	pkg = aml_package_open(a, 4);
	aml_integer(a, ACPI_S5_TYPE);
	aml_integer(a, ACPI_S5_TYPE);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a, pkg);
}

static int build_dsdt(const struct acpi_config *cfg, uint8_t *t, size_t cap,
		      size_t *len)
{
	struct aml a;
	unsigned int i;
	size_t sb;

	if (cap < ACPI_HDR_LEN)
		return -ENOSPC;
	aml_init(&a, t + ACPI_HDR_LEN, cap - ACPI_HDR_LEN);
	sb = aml_scope_open(&a, "\\_SB_");
	dsdt_uart(&a);
	for (i = 0; i < cfg->nvirtio; i++)
		dsdt_virtio(&a, &cfg->virtio[i], i);
	aml_close(&a, sb);
	dsdt_s5(&a);
	if (a.err)
		return a.err;
	*len = ACPI_HDR_LEN + a.len;
	header(t, "DSDT", (uint32_t)*len, 2);
	finish(t);
	return 0;
}

static size_t madt_size(unsigned int ncpus)
{
	return ACPI_HDR_LEN + 8 + 8 * (size_t)ncpus + 12;
}

static size_t build_madt(const struct acpi_config *cfg, uint8_t *t)
{
	size_t len = madt_size(cfg->ncpus);
	uint8_t *e = t + ACPI_HDR_LEN + 8;
	unsigned int i;

	memset(t, 0, len);
	header(t, "APIC", (uint32_t)len, 5);
	put32(t + 36, (uint32_t)LAPIC_ADDR);
	put32(t + 40, MADT_PCAT_COMPAT);
	for (i = 0; i < cfg->ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC id: the vCPU index */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = 0;			/* IOAPIC id */
	put32(e + 4, (uint32_t)IOAPIC_ADDR);
	put32(e + 8, 0);		/* GSI base */
	finish(t);
	return len;
}

static size_t build_xsdt(uint8_t *t, uint64_t fadt, uint64_t madt)
{
	size_t len = ACPI_HDR_LEN + 16;

	memset(t, 0, len);
	header(t, "XSDT", (uint32_t)len, 1);
	put64(t + ACPI_HDR_LEN, fadt);
	put64(t + ACPI_HDR_LEN + 8, madt);
	finish(t);
	return len;
}

static void build_rsdp(uint8_t *t, uint64_t xsdt)
{
	memset(t, 0, ACPI_RSDP_LEN);
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, ACPI_OEM_ID, 6);
	t[15] = 2;			/* revision: ACPI 2.0+ */
	put32(t + 20, ACPI_RSDP_LEN);
	put64(t + 24, xsdt);
	t[8] = (uint8_t)-acpi_checksum(t, 20);
	t[32] = (uint8_t)-acpi_checksum(t, ACPI_RSDP_LEN);
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

static int check_config(const struct acpi_config *cfg)
{
	unsigned int i;

	if (!cfg->ncpus || cfg->ncpus > 255)
		return -EINVAL;
	for (i = 0; i < cfg->nvirtio; i++)
		if (cfg->virtio[i].base + cfg->virtio[i].size > SZ_4G)
			return -EINVAL;
	return 0;
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap,
	       struct acpi_layout *out)
{
	struct acpi_layout l = { 0 };
	size_t dsdt_len;
	int ret;

	ret = check_config(cfg);
	if (ret)
		return ret;
	l.xsdt = align16(ACPI_RSDP_LEN);
	l.fadt = align16(l.xsdt + ACPI_HDR_LEN + 16);
	l.madt = align16(l.fadt + ACPI_FADT_LEN);
	l.dsdt = align16(l.madt + madt_size(cfg->ncpus));
	if (l.dsdt > cap)
		return -ENOSPC;
	ret = build_dsdt(cfg, buf + l.dsdt, cap - l.dsdt, &dsdt_len);
	if (ret)
		return ret;
	l.size = l.dsdt + dsdt_len;

	build_madt(cfg, buf + l.madt);
	build_fadt(buf + l.fadt, cfg->gpa + l.dsdt);
	build_xsdt(buf + l.xsdt, cfg->gpa + l.fadt, cfg->gpa + l.madt);
	build_rsdp(buf + l.rsdp, cfg->gpa + l.xsdt);
	if (out)
		*out = l;
	return 0;
}
