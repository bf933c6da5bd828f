// SPDX-License-Identifier: MIT
/* vmm: boot a Linux guest from the command line (docs/cli.md). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

#include "cli.h"

/* The VM a termination signal should stop; set only while it runs. */
static struct vmm *volatile running_vm;
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	struct vmm *vm = running_vm;

	stop_signal = sig;
	if (vm)
		vmm_stop(vm);
}

static void install_stop_handlers(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* A closed console must not kill us before the tty is restored. */
	signal(SIGPIPE, SIG_IGN);
}

static int status_for_error(const struct vmm_error *err)
{
	switch (err->kind) {
	case VMM_ERROR_CONFIG:
	case VMM_ERROR_INPUT:
		return VMM_STATUS_USAGE;
	default:
		return VMM_STATUS_HOST;
	}
}

static int add_devices(struct cli_options *o, struct vmm *vm,
		       struct vmm_error *err)
{
	unsigned int i;
	int ret;

	for (i = 0; i < o->nvhost_user; i++) {
		ret = vmm_add_vhost_user(vm, &o->vhost_user[i].dev, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int run(struct cli_options *o)
{
	struct vmm_error err;
	struct vmm_exit ex;
	struct vmm *vm;
	int ret;

	ret = vmm_create(&o->cfg, &vm, &err);
	if (ret < 0) {
		fprintf(stderr, "vmm: %s\n", err.msg);
		return status_for_error(&err);
	}
	/*
	 * From here a termination signal stops the VM, also while a device
	 * waits for its back-end: every such wait polls the VM's stop fd.
	 */
	running_vm = vm;
	if (stop_signal)	/* a signal came while the VM was being built */
		vmm_stop(vm);
	ret = add_devices(o, vm, &err);
	if (ret < 0) {
		running_vm = NULL;
		vmm_destroy(vm);
		if (stop_signal)
			return 128 + stop_signal;
		fprintf(stderr, "vmm: %s\n", err.msg);
		return status_for_error(&err);
	}
	ret = vmm_run(vm, &ex);
	running_vm = NULL;
	vmm_destroy(vm);
	if (ret < 0) {
		fprintf(stderr, "vmm: cannot run the guest: %s\n",
			strerror(-ret));
		return VMM_STATUS_HOST;
	}
	if (ex.reason == VMM_EXIT_CRASH || ex.reason == VMM_EXIT_HOST_ERROR ||
	    ex.reason == VMM_EXIT_MEMORY_FAULT)
		fprintf(stderr, "vmm: guest %s: %s\n",
			vmm_exit_reason_name(ex.reason), ex.detail);
	if (ex.reason == VMM_EXIT_STOPPED && stop_signal)
		return 128 + stop_signal;
	return cli_exit_status(&ex, o->reboot_ok);
}

int main(int argc, char **argv)
{
	uint64_t start = clock_now_ns();
	struct cli_options o;
	char why[512];

	if (cli_parse(argc, argv, &o, why, sizeof(why)) < 0) {
		fprintf(stderr, "vmm: %s\n", why);
		return VMM_STATUS_USAGE;
	}
	if (o.action == CLI_HELP) {
		fputs(cli_usage, stdout);
		return 0;
	}
	if (o.action == CLI_VERSION) {
		printf("vmm %s\n", VMM_VERSION_STRING);
		return 0;
	}
	o.cfg.start_ns = start;
	install_stop_handlers();
	return run(&o);
}
