// SPDX-License-Identifier: MIT
/*
 * Embedding libvmm: boot a kernel from a config struct, run it, report how
 * the guest stopped.
 *
 * Usage: vmm-embed-example KERNEL INITRD CMDLINE
 * Exit status: 0 when the guest powered off, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>

#include <vmm/vmm.h>

/* Log sink: the library hands us each message; we choose where it goes. */
static void log_line(void *opaque, enum vmm_log_level level, const char *msg)
{
	fprintf(stderr, "%s: %s\n", (const char *)opaque, msg);
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	struct vmm_error err;
	struct vmm_exit ex;
	struct vmm *vm;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: %s KERNEL INITRD CMDLINE\n", argv[0]);
		return 1;
	}
	vmm_config_init(&cfg);
	cfg.kernel_path = argv[1];
	cfg.initrd_path = *argv[2] ? argv[2] : NULL;
	cfg.cmdline = argv[3];
	cfg.memory_size = 256ULL << 20;
	cfg.cpus = 1;
	cfg.console_in = -1;		/* no guest input */
	cfg.log = log_line;
	cfg.log_opaque = "vmm-embed-example";

	ret = vmm_create(&cfg, &vm, &err);
	if (ret < 0) {
		fprintf(stderr, "vmm-embed-example: cannot create the VM: %s\n",
			err.msg);
		return 1;
	}
	ret = vmm_run(vm, &ex);
	vmm_destroy(vm);
	if (ret < 0) {
		fprintf(stderr, "vmm-embed-example: cannot run the VM: %s\n",
			strerror(-ret));
		return 1;
	}
	printf("vmm-embed-example: guest stopped: %s%s%s\n",
	       vmm_exit_reason_name(ex.reason), *ex.detail ? ": " : "",
	       ex.detail);
	return ex.reason == VMM_EXIT_POWEROFF ? 0 : 1;
}
