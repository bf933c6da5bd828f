// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/why.h"

#include "cli.h"
#include "parse.h"

const char cli_usage[] =
"Usage: vmm run --kernel PATH [options]\n"
"       vmm --help | --version\n"
"\n"
"Boot a Linux kernel in a KVM microVM with a serial console.\n"
"\n"
"Options for run:\n"
"  --kernel PATH        kernel to boot (required): a bzImage, or an ELF\n"
"                       vmlinux with a PVH entry (CONFIG_PVH=y), which\n"
"                       boots without decompressing itself\n"
"  --initrd PATH        initial ramdisk\n"
"  --cmdline STR        kernel command line (default: console=ttyS0); pci=off\n"
"                       is put first unless it sets pci= (there is no PCI)\n"
"  --memory SIZE        guest RAM, with K, M or G suffix (default: 256M;\n"
"                       16M to 1T, a multiple of 4K; no suffix: bytes)\n"
"  --cpus N             vCPUs, 1 to 64 (default: 1)\n"
"  --console stdio|off  serial console on stdin/stdout, or none (default: stdio)\n"
"  --log-level LEVEL    error, warn, info or debug (default: warn)\n"
"  --reboot-ok          exit 0 (not 3) when the guest reboots\n"
"  --vhost-user socket=PATH,virtio-id=N[,queues=N][,queue-size=N]\n"
"               [,shm=ID:SIZE]...[,name=NAME][,max-maps=N]\n"
"  --vhost-user socket=PATH,type=fs,tag=TAG[,queues=N][,name=NAME]\n"
"                       a vhost-user device on virtio-mmio (repeatable, up\n"
"                       to 8); shm= gives the shared memory regions of a\n"
"                       back-end without GET_SHMEM_CONFIG; max-maps= the\n"
"                       most mappings it may hold (default: half of what\n"
"                       vm.max_map_count leaves; docs/shmem.md)\n"
"\n"
"Exit status: 0 guest powered off, 1 bad invocation or input, 2 host-side\n"
"failure, 3 guest rebooted, 4 guest crashed, 5 guest touched an unmapped\n"
"shared-memory page. See docs/cli.md.\n";

static int parse_memory(const char *v, struct cli_options *o, char *why,
			size_t whylen)
{
	uint64_t size;

	if (parse_size(v, &size) < 0)
		return why_fail(why, whylen, -EINVAL,
				"--memory '%s': not a size (a number with K, M or G)",
				v);
	if (size < VMM_MIN_MEMORY || size > VMM_MAX_MEMORY)
		return why_fail(why, whylen, -EINVAL,
				"--memory '%s': out of range (16M to 1T)", v);
	if (size % 4096)
		return why_fail(why, whylen, -EINVAL,
				"--memory '%s': not a multiple of 4K", v);
	o->cfg.memory_size = size;
	return 0;
}

static int parse_cpus(const char *v, struct cli_options *o, char *why,
		      size_t whylen)
{
	uint64_t n;

	if (parse_uint(v, VMM_MAX_CPUS, &n) || n < 1)
		return why_fail(why, whylen, -EINVAL,
				"--cpus '%s': must be a number from 1 to 64", v);
	o->cfg.cpus = (unsigned int)n;
	return 0;
}

static int parse_console(const char *v, struct cli_options *o, char *why,
			 size_t whylen)
{
	if (!strcmp(v, "stdio")) {
		o->console_off = false;
		o->cfg.console_in = STDIN_FILENO;
		o->cfg.console_out = STDOUT_FILENO;
	} else if (!strcmp(v, "off")) {
		o->console_off = true;
		o->cfg.console_in = -1;
		o->cfg.console_out = -1;
	} else {
		return why_fail(why, whylen, -EINVAL,
				"--console '%s': must be stdio or off", v);
	}
	return 0;
}

static int parse_log_level(const char *v, struct cli_options *o, char *why,
			   size_t whylen)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			o->cfg.log_level = (enum vmm_log_level)i;
			return 0;
		}
	}
	return why_fail(why, whylen, -EINVAL,
			"--log-level '%s': must be error, warn, info or debug", v);
}

static int parse_vhost_user(const char *v, struct cli_options *o, char *why,
			    size_t whylen)
{
	char reason[400];

	if (o->nvhost_user == VMM_VHOST_USER_MAX_DEVICES)
		return why_fail(why, whylen, -EINVAL, "--vhost-user: at most %d devices",
				VMM_VHOST_USER_MAX_DEVICES);
	if (vhost_user_opt_parse(v, &o->vhost_user[o->nvhost_user], reason,
				 sizeof(reason)))
		return why_fail(why, whylen, -EINVAL, "--vhost-user: %s", reason);
	o->nvhost_user++;
	return 0;
}

static int parse_path(const char *opt, const char *v, const char **dst,
		      char *why, size_t whylen)
{
	if (!*v)
		return why_fail(why, whylen, -EINVAL, "%s: empty path", opt);
	*dst = v;
	return 0;
}

/* Options that take a value; @v is that value. */
static int parse_valued(const char *opt, const char *v, struct cli_options *o,
			char *why, size_t whylen)
{
	if (!strcmp(opt, "--kernel"))
		return parse_path(opt, v, &o->cfg.kernel_path, why, whylen);
	if (!strcmp(opt, "--initrd"))
		return parse_path(opt, v, &o->cfg.initrd_path, why, whylen);
	if (!strcmp(opt, "--cmdline")) {
		o->cfg.cmdline = v;
		return 0;
	}
	if (!strcmp(opt, "--memory"))
		return parse_memory(v, o, why, whylen);
	if (!strcmp(opt, "--cpus"))
		return parse_cpus(v, o, why, whylen);
	if (!strcmp(opt, "--console"))
		return parse_console(v, o, why, whylen);
	if (!strcmp(opt, "--log-level"))
		return parse_log_level(v, o, why, whylen);
	if (!strcmp(opt, "--vhost-user"))
		return parse_vhost_user(v, o, why, whylen);
	return 1;	/* not a valued option */
}

static const char *const valued[] = {
	"--kernel", "--initrd", "--cmdline", "--memory", "--cpus",
	"--console", "--log-level", "--vhost-user",
};

static bool is_valued(const char *opt)
{
	size_t i;

	for (i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (!strcmp(opt, valued[i]))
			return true;
	return false;
}

/* One argument at *i (may consume the next). */
static int parse_arg(int argc, char **argv, int *i, struct cli_options *o,
		     char *why, size_t whylen)
{
	char opt[32];
	const char *arg = argv[*i], *eq, *v;
	size_t optlen;

	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		o->action = CLI_HELP;
		return 0;
	}
	if (!strcmp(arg, "--version") || !strcmp(arg, "-V")) {
		o->action = CLI_VERSION;
		return 0;
	}
	if (!strcmp(arg, "--reboot-ok")) {
		o->reboot_ok = true;
		return 0;
	}
	eq = strchr(arg, '=');
	optlen = eq ? (size_t)(eq - arg) : strlen(arg);
	if (strncmp(arg, "--", 2) || optlen >= sizeof(opt))
		return why_fail(why, whylen, -EINVAL, "unknown argument '%s' (see vmm --help)",
				arg);
	snprintf(opt, sizeof(opt), "%.*s", (int)optlen, arg);
	if (!is_valued(opt))
		return why_fail(why, whylen, -EINVAL, "unknown option '%s' (see vmm --help)",
				opt);
	if (eq) {
		v = eq + 1;
	} else {
		if (*i + 1 >= argc)
			return why_fail(why, whylen, -EINVAL, "%s needs a value", opt);
		v = argv[++*i];
	}
	return parse_valued(opt, v, o, why, whylen);
}

int cli_parse(int argc, char **argv, struct cli_options *o, char *why,
	      size_t whylen)
{
	int i = 1, ret;

	memset(o, 0, sizeof(*o));
	vmm_config_init(&o->cfg);
	o->action = CLI_RUN;
	if (argc < 2)
		return why_fail(why, whylen, -EINVAL, "no command given (try vmm --help)");
	if (!strcmp(argv[1], "run")) {
		i = 2;
	} else if (strncmp(argv[1], "-", 1)) {
		return why_fail(why, whylen, -EINVAL,
				"unknown command '%s' (the command is run; see vmm --help)",
				argv[1]);
	}
	for (; i < argc; i++) {
		ret = parse_arg(argc, argv, &i, o, why, whylen);
		if (ret)
			return ret;
		if (o->action != CLI_RUN)
			return 0;
	}
	if (strcmp(argv[1], "run"))
		return why_fail(why, whylen, -EINVAL, "no command given (try vmm --help)");
	if (!o->cfg.kernel_path)
		return why_fail(why, whylen, -EINVAL, "run needs --kernel PATH");
	/* Back-ends map guest RAM; without them it stays private (huge pages). */
	o->cfg.memory_shared = o->nvhost_user > 0;
	return 0;
}

int cli_exit_status(const struct vmm_exit *ex, bool reboot_ok)
{
	switch (ex->reason) {
	case VMM_EXIT_POWEROFF:
	case VMM_EXIT_STOPPED:
		return VMM_STATUS_POWEROFF;
	case VMM_EXIT_REBOOT:
		return reboot_ok ? VMM_STATUS_POWEROFF : VMM_STATUS_REBOOT;
	case VMM_EXIT_CRASH:
		return VMM_STATUS_CRASH;
	case VMM_EXIT_MEMORY_FAULT:
		return VMM_STATUS_MEMORY_FAULT;
	case VMM_EXIT_HOST_ERROR:
		return VMM_STATUS_HOST;
	}
	return VMM_STATUS_HOST;
}
