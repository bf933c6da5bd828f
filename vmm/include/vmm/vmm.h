/* SPDX-License-Identifier: MIT */
/*
 * libvmm: a KVM microVM that boots a Linux kernel: a bzImage, or an
 * uncompressed ELF vmlinux through its PVH entry (docs/cli.md).
 *
 *	struct vmm_config cfg;
 *	struct vmm_error err;
 *	struct vmm_exit ex;
 *	struct vmm *vm;
 *
 *	vmm_config_init(&cfg);
 *	cfg.kernel_path = "bzImage";
 *	if (vmm_create(&cfg, &vm, &err) < 0)
 *		... err.msg says why, err.kind whose fault ...
 *	if (vmm_run(vm, &ex) == 0)
 *		... ex.reason says how the guest stopped ...
 *	vmm_destroy(vm);
 *
 * The library never exits the process, never aborts and keeps no global
 * mutable state: several VMs may live in one process. Every function returns
 * 0 or a negative errno.
 */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>

#include <vmm/vhost_user.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMM_VERSION_STRING	"0.1.0"

#define VMM_MAX_CPUS		64
#define VMM_MIN_MEMORY		(16ULL << 20)
#define VMM_MAX_MEMORY		(1ULL << 40)

/*
 * vCPU threads are kicked out of KVM_RUN with this signal, sent to the
 * thread only (pthread_kill). vCPU threads keep it blocked except inside
 * KVM_RUN, so no handler is needed; an embedding program should not send
 * it to the process as a whole.
 */
#define VMM_KICK_SIGNAL		(SIGRTMIN + 6)

enum vmm_log_level {
	VMM_LOG_ERROR,
	VMM_LOG_WARN,
	VMM_LOG_INFO,
	VMM_LOG_DEBUG,
};

/* One message, without the "vmm: " prefix and without a newline. */
typedef void (*vmm_log_fn)(void *opaque, enum vmm_log_level level,
			   const char *msg);

struct vmm_config {
	/*
	 * Required: a bzImage (64-bit boot protocol 2.12 or later), or an
	 * x86-64 ELF vmlinux with a PVH entry note (CONFIG_PVH=y), whose
	 * segments are loaded at their physical addresses; told apart by
	 * content.
	 */
	const char *kernel_path;
	const char *initrd_path;	/* NULL: no initrd */
	const char *cmdline;		/* NULL: "console=ttyS0" */
	uint64_t memory_size;		/* bytes; page multiple */
	unsigned int cpus;		/* 1..VMM_MAX_CPUS */
	/*
	 * Console (the 16550A UART at 0x3f8): guest output is written to
	 * console_out (-1: discarded), console_in is read for guest input
	 * (-1: none). A terminal console_in is put in raw mode while
	 * vmm_run() runs and restored before it returns. The fds are
	 * borrowed, not closed.
	 */
	int console_in;
	int console_out;
	enum vmm_log_level log_level;	/* messages above it are dropped */
	vmm_log_fn log;			/* NULL: "vmm: msg" lines on stderr */
	void *log_opaque;
	/*
	 * CLOCK_MONOTONIC time the boot marker is measured from, in ns.
	 * 0: the time of vmm_create().
	 */
	uint64_t start_ns;
	/*
	 * Guest RAM that other processes can map: a memfd, which every
	 * vhost-user back-end needs (vmm_add_vhost_user() refuses a VM
	 * without it). false (the default): private anonymous memory,
	 * advised for transparent huge pages, so the guest runs on 2 MiB
	 * pages where the host allows them.
	 */
	bool memory_shared;
};

enum vmm_error_kind {
	VMM_ERROR_NONE,
	VMM_ERROR_CONFIG,	/* a config value is out of range */
	VMM_ERROR_INPUT,	/* kernel/initrd missing, unreadable, invalid */
	VMM_ERROR_HOST,		/* no usable KVM, missing capability, resources */
};

struct vmm_error {
	enum vmm_error_kind kind;
	int errnum;		/* positive errno */
	char msg[256];		/* one line, no "vmm: " prefix */
};

enum vmm_exit_reason {
	VMM_EXIT_POWEROFF,	/* ACPI S5 through the FADT sleep register */
	VMM_EXIT_REBOOT,	/* ACPI reset register or i8042 0xfe */
	VMM_EXIT_CRASH,		/* triple fault, KVM internal error, bad entry */
	VMM_EXIT_MEMORY_FAULT,	/* guest touched an unmapped shared page */
	VMM_EXIT_STOPPED,	/* vmm_stop() */
	VMM_EXIT_HOST_ERROR,	/* a host-side failure while running */
};

struct vmm_exit {
	enum vmm_exit_reason reason;
	int errnum;		/* VMM_EXIT_HOST_ERROR: positive errno */
	char detail[512];	/* e.g. which vCPU and KVM exit, for a crash */
};

struct vmm;

/* Defaults: 256 MiB, 1 CPU, stdin/stdout console, VMM_LOG_WARN. */
void vmm_config_init(struct vmm_config *cfg);

/*
 * Validate @cfg, read the kernel and initrd, set up KVM, guest memory and
 * vCPUs. @err (may be NULL) says what failed. Errors: -EINVAL (config),
 * -ENOENT/-EACCES/-ENOEXEC/-E2BIG (kernel or initrd; -ENOEXEC for a file
 * that is neither a bzImage nor a vmlinux vmm can boot, -E2BIG for one
 * that needs more memory), -ENODEV/-ENOSYS (no usable KVM or
 * capability), -ENOMEM, ...
 */
int vmm_create(const struct vmm_config *cfg, struct vmm **out,
	       struct vmm_error *err);

/*
 * Run the guest until it powers off, reboots, crashes or vmm_stop() is
 * called; fill @ex. Returns 0 when the guest ran (whatever ex->reason), a
 * negative errno when it could not start (then @ex is untouched). A VM runs
 * once: a second call returns -EALREADY.
 */
int vmm_run(struct vmm *vm, struct vmm_exit *ex);

/*
 * Ask a running vmm_run() to return with VMM_EXIT_STOPPED (unless the guest
 * already stopped it). Thread-safe and async-signal-safe.
 */
void vmm_stop(struct vmm *vm);

/* Release everything vmm_create() acquired. NULL is ignored. */
void vmm_destroy(struct vmm *vm);

/* "power off", "reboot", "crash", ... */
const char *vmm_exit_reason_name(enum vmm_exit_reason reason);

#ifdef __cplusplus
}
#endif

#endif /* VMM_VMM_H */
