// SPDX-License-Identifier: MIT
#include <string.h>

#include "layout.h"
#include "platform.h"
#include "vm.h"

#define SLP_EN			0x20
#define SLP_TYP(v)		(((v) >> 2) & 0x7)
#define I8042_CMD_RESET		0xfe

static void read_zero(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void acpi_pm_write(void *opaque, uint64_t off, const void *data,
			  uint32_t len)
{
	struct vmm *vm = opaque;
	uint8_t v = *(const uint8_t *)data;

	switch (PORT_ACPI_SLEEP_CTL + off) {
	case PORT_ACPI_SLEEP_CTL:
		if ((v & SLP_EN) && SLP_TYP(v) == ACPI_S5_TYPE)
			vm_request_stop(vm, VMM_EXIT_POWEROFF, 0,
					"ACPI S5 (power off)");
		else if (v & SLP_EN)
			log_warn(&vm->log, "guest asked for sleep type %u: not supported",
				 SLP_TYP(v));
		break;
	case PORT_ACPI_RESET:
		if (v == ACPI_RESET_VALUE)
			vm_request_stop(vm, VMM_EXIT_REBOOT, 0,
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
	struct vmm *vm = opaque;

	if (*(const uint8_t *)data == I8042_CMD_RESET)
		vm_request_stop(vm, VMM_EXIT_REBOOT, 0, "i8042 reset");
}

/* Status 0: output buffer empty, input buffer empty (ready for commands). */
static const struct bus_ops i8042_cmd_ops = {
	.read = read_zero,
	.write = i8042_write,
};

static void marker_write(void *opaque, uint64_t off, const void *data,
			 uint32_t len)
{
	struct vmm *vm = opaque;
	uint64_t ms, us;

	if (*(const uint8_t *)data != BOOT_MARKER_VALUE)
		return;
	ms = vm_ms_since_start(vm, &us);
	log_info(&vm->log, "boot marker: %llu.%03llu ms since start",
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

void platform_write_reset_vector(uint8_t *ram)
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

int platform_register(struct vmm *vm)
{
	struct bus *pio = vm_pio_bus(vm);
	int ret;

	ret = bus_register(pio, PORT_ACPI_SLEEP_CTL, 3, &acpi_pm_ops, vm);
	if (!ret)
		ret = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, vm);
	if (!ret)
		ret = bus_register(pio, PORT_I8042_DATA, 1, &ignore_ops, vm);
	if (!ret)
		ret = bus_register(pio, PORT_BOOT_MARKER, 1, &marker_ops, vm);
	if (!ret)
		ret = bus_register(pio, 0x80, 1, &ignore_ops, vm);
	return ret;
}
