// SPDX-License-Identifier: MIT
/* The platform's fixed ports (platform.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/why.h"

#include "base/layout.h"
#include "devices/platform.h"

#define SLP_EN			0x20
#define SLP_TYP(v)		(((v) >> 2) & 0x7)
#define I8042_CMD_RESET		0xfe

struct platform {
	const struct dev_services *svc;
};

static void read_zero(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void acpi_pm_write(void *opaque, uint64_t off, const void *data,
			  uint32_t len)
{
	const struct dev_services *svc = ((struct platform *)opaque)->svc;
	uint8_t v = *(const uint8_t *)data;

	switch (PORT_ACPI_SLEEP_CTL + off) {
	case PORT_ACPI_SLEEP_CTL:
		if ((v & SLP_EN) && SLP_TYP(v) == ACPI_S5_TYPE)
			svc->stop(svc->machine, VMM_EXIT_POWEROFF,
				  "ACPI S5 (power off)");
		else if (v & SLP_EN)
			log_warn(svc->log, "guest asked for sleep type %u: not supported",
				 SLP_TYP(v));
		break;
	case PORT_ACPI_RESET:
		if (v == ACPI_RESET_VALUE)
			svc->stop(svc->machine, VMM_EXIT_REBOOT,
				  "ACPI reset register");
		break;
	default:
		break;	/* sleep status: write-1-to-clear, nothing latched */
	}
}

static const struct bus_ops acpi_pm_ops = {
	.read = read_zero,
	.write = acpi_pm_write,
};

static void i8042_write(void *opaque, uint64_t off, const void *data,
			uint32_t len)
{
	const struct dev_services *svc = ((struct platform *)opaque)->svc;

	if (*(const uint8_t *)data == I8042_CMD_RESET)
		svc->stop(svc->machine, VMM_EXIT_REBOOT, "i8042 reset");
}

/* Status 0: output buffer empty, input buffer empty (ready for commands). */
static const struct bus_ops i8042_cmd_ops = {
	.read = read_zero,
	.write = i8042_write,
};

static void marker_write(void *opaque, uint64_t off, const void *data,
			 uint32_t len)
{
	const struct dev_services *svc = ((struct platform *)opaque)->svc;
	uint64_t ms, us;

	if (*(const uint8_t *)data != BOOT_MARKER_VALUE)
		return;
	ms = svc->ms_since_start(svc->machine, &us);
	log_info(svc->log, "boot marker: %llu.%03llu ms since start",
		 (unsigned long long)ms, (unsigned long long)us);
}

static const struct bus_ops marker_ops = {
	.read = read_zero,
	.write = marker_write,
};

static void ignore_write(void *opaque, uint64_t off, const void *data,
			 uint32_t len)
{
}

static const struct bus_ops ignore_ops = {
	.read = read_zero,
	.write = ignore_write,
};

static void platform_destroy(void *dev)
{
	free(dev);
}

static const struct dev_ops platform_ops = {
	.destroy = platform_destroy,
};

int platform_dev_create(const struct dev_services *svc,
			const struct vmm_config *cfg, struct dev_desc *out,
			char *why, size_t whylen)
{
	struct platform *p;

	(void)cfg;
	p = calloc(1, sizeof(*p));
	if (!p)
		return why_fail(why, whylen, -ENOMEM, "out of memory");
	p->svc = svc;
	*out = (struct dev_desc){
		.name = "platform",
		.dev = p,
		.ops = &platform_ops,
		.nwindows = 5,
		.windows = {
			{ DEV_BUS_PIO, PORT_ACPI_SLEEP_CTL, 3, &acpi_pm_ops, p },
			{ DEV_BUS_PIO, PORT_I8042_CMD, 1, &i8042_cmd_ops, p },
			{ DEV_BUS_PIO, PORT_I8042_DATA, 1, &ignore_ops, p },
			{ DEV_BUS_PIO, PORT_BOOT_MARKER, 1, &marker_ops, p },
			{ DEV_BUS_PIO, PORT_POST, 1, &ignore_ops, p },
		},
	};
	return 0;
}
