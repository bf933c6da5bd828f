// SPDX-License-Identifier: MIT
/*
 * Installed-library smoke program: without KVM it still proves the header,
 * the link and the library's error path (a missing kernel is reported as
 * an input error, not a crash or an exit).
 */
#include <stdio.h>
#include <string.h>

#include <vmm/vmm.h>

int main(void)
{
	struct vmm_config cfg;
	struct vmm_error err;
	struct vmm *vm = NULL;
	int ret;

	vmm_config_init(&cfg);
	cfg.kernel_path = "/nonexistent/bzImage";
	ret = vmm_create(&cfg, &vm, &err);
	if (ret >= 0 || err.kind != VMM_ERROR_INPUT || !strstr(err.msg, "bzImage")) {
		fprintf(stderr, "unexpected: ret %d kind %d msg '%s'\n", ret,
			err.kind, err.msg);
		return 1;
	}
	printf("consumer ok: %s (%s)\n", err.msg,
	       vmm_exit_reason_name(VMM_EXIT_POWEROFF));
	return 0;
}
