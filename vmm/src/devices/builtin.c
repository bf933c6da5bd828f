// SPDX-License-Identifier: MIT
#include "devices/builtin.h"
#include "devices/console.h"
#include "devices/platform.h"

const struct dev_builtin dev_builtins[] = {
	{ "console", console_dev_create },
	{ "platform", platform_dev_create },
};

const unsigned int dev_nbuiltins = sizeof(dev_builtins) / sizeof(dev_builtins[0]);
