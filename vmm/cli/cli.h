/* SPDX-License-Identifier: MIT */
/* Command line of the vmm program (docs/cli.md). */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vmm/vmm.h>

#include "vhost_user_opt.h"

/* Exit statuses (docs/cli.md). */
enum {
	VMM_STATUS_POWEROFF = 0,
	VMM_STATUS_USAGE = 1,
	VMM_STATUS_HOST = 2,
	VMM_STATUS_REBOOT = 3,
	VMM_STATUS_CRASH = 4,
	VMM_STATUS_MEMORY_FAULT = 5,
};

enum cli_action {
	CLI_RUN,
	CLI_HELP,
	CLI_VERSION,
};

struct cli_options {
	enum cli_action action;
	struct vmm_config cfg;
	bool reboot_ok;
	bool console_off;
	unsigned int nvhost_user;
	struct vhost_user_opt vhost_user[VMM_VHOST_USER_MAX_DEVICES];
};

/*
 * Parse argv into @o (cfg starts from vmm_config_init()). Returns 0, or
 * -EINVAL with one line in @why naming the bad option or value.
 */
int cli_parse(int argc, char **argv, struct cli_options *o, char *why,
	      size_t whylen);

/* Exit status for how the guest stopped. */
int cli_exit_status(const struct vmm_exit *ex, bool reboot_ok);

extern const char cli_usage[];

#endif /* VMM_CLI_H */
