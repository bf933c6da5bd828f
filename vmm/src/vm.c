// SPDX-License-Identifier: MIT
/*
 * The machine's lifecycle: vmm_create() loads the guest and sets up KVM,
 * vmm_run() runs one thread per vCPU until the guest stops, vmm_destroy()
 * releases everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bzimage.h"
#include "cmdline.h"
#include "e820.h"
#include "layout.h"
#include "platform.h"
#include "vhost_user_dev.h"
#include "vm.h"

#define DEFAULT_CMDLINE		"console=ttyS0"
#define DEFAULT_MEMORY		(256ULL << 20)
#define KERNEL_MAX_SIZE		(256ULL << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void vmm_config_init(struct vmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_size = DEFAULT_MEMORY;
	cfg->cpus = 1;
	cfg->console_in = STDIN_FILENO;
	cfg->console_out = STDOUT_FILENO;
	cfg->log_level = VMM_LOG_WARN;
}

const char *vmm_exit_reason_name(enum vmm_exit_reason reason)
{
	switch (reason) {
	case VMM_EXIT_POWEROFF:
		return "power off";
	case VMM_EXIT_REBOOT:
		return "reboot";
	case VMM_EXIT_CRASH:
		return "crash";
	case VMM_EXIT_MEMORY_FAULT:
		return "shared memory fault";
	case VMM_EXIT_STOPPED:
		return "stopped";
	case VMM_EXIT_HOST_ERROR:
		return "host error";
	}
	return "unknown";
}

static int set_err(struct vmm_error *err, enum vmm_error_kind kind, int ret,
		   const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->kind = kind;
		err->errnum = -ret;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int check_config(const struct vmm_config *cfg, struct vmm_error *err)
{
	if (!cfg->kernel_path || !*cfg->kernel_path)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "no kernel given");
	if (cfg->memory_size < VMM_MIN_MEMORY ||
	    cfg->memory_size > VMM_MAX_MEMORY ||
	    cfg->memory_size % 4096)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "memory size %llu: must be a multiple of 4 KiB from 16 MiB to 1 TiB",
			       (unsigned long long)cfg->memory_size);
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "cpus %u: must be 1 to %u", cfg->cpus,
			       VMM_MAX_CPUS);
	if (cfg->log_level > VMM_LOG_DEBUG)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "log level %d is not a level", cfg->log_level);
	return 0;
}

/* Open a guest input file; fill @size. */
static int open_input(const char *what, const char *path, uint64_t *size,
		      struct vmm_error *err)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		return set_err(err, VMM_ERROR_INPUT, ret, "%s %s: %s", what,
			       path, strerror(-ret));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return set_err(err, VMM_ERROR_INPUT, -EINVAL,
			       "%s %s: not a regular file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int read_full(int fd, void *buf, uint64_t len)
{
	uint8_t *p = buf;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the file shrank */
		done += (uint64_t)n;
	}
	return 0;
}

static int read_kernel(const char *path, uint8_t **image, uint64_t *len,
		       struct vmm_error *err)
{
	int fd, ret;

	fd = open_input("kernel", path, len, err);
	if (fd < 0)
		return fd;
	if (*len > KERNEL_MAX_SIZE) {
		ret = set_err(err, VMM_ERROR_INPUT, -EFBIG,
			      "kernel %s: larger than 256 MiB", path);
		goto out;
	}
	*image = malloc(*len ? *len : 1);
	if (!*image) {
		ret = set_err(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
		goto out;
	}
	ret = read_full(fd, *image, *len);
	if (ret) {
		free(*image);
		*image = NULL;
		set_err(err, VMM_ERROR_INPUT, ret, "kernel %s: %s", path,
			strerror(-ret));
	}
out:
	close(fd);
	return ret;
}

static void vm_set_irq_com1(void *opaque, int level)
{
	vm_irq_line(opaque, IRQ_COM1, level);
}

static int vm_setup_devices(struct vmm *vm, const struct vmm_config *cfg,
			    struct vmm_error *err)
{
	int ret;

	ret = serial_init(&vm->serial, cfg->console_in, cfg->console_out,
			  vm_set_irq_com1, vm);
	if (ret)
		return set_err(err, VMM_ERROR_HOST, ret, "serial: %s",
			       strerror(-ret));
	vm->serial_ready = true;
	ret = bus_register(&vm->pio, PORT_COM1, 8, &serial_bus_ops,
			   &vm->serial);
	if (!ret)
		ret = platform_register(vm);
	if (ret)
		return set_err(err, VMM_ERROR_HOST, ret, "device setup: %s",
			       strerror(-ret));
	return 0;
}

static int vm_create_vcpus(struct vmm *vm, struct vmm_error *err)
{
	char why[160];
	unsigned int i;
	int ret;

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return set_err(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
	for (i = 0; i < vm->ncpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], &vm->kvm, i, vm->ncpus, why,
				  sizeof(why));
		if (ret)
			return set_err(err, VMM_ERROR_HOST, ret, "%s", why);
		vm->vcpus[i].vm = vm;
		vm->vcpus_created++;
	}
	return 0;
}

struct boot_files {
	uint8_t *image;
	uint64_t image_len;
	struct bzimage_info info;
	int initrd_fd;
	uint64_t initrd_size;
};

static int load_inputs(const struct vmm_config *cfg, struct boot_files *bf,
		       struct vmm_error *err)
{
	char why[160];
	int ret;

	ret = read_kernel(cfg->kernel_path, &bf->image, &bf->image_len, err);
	if (ret)
		return ret;
	ret = bzimage_parse(bf->image, bf->image_len, &bf->info, why,
			    sizeof(why));
	if (ret)
		return set_err(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       cfg->kernel_path, why);
	if (cfg->initrd_path) {
		ret = open_input("initrd", cfg->initrd_path, &bf->initrd_size,
				 err);
		if (ret < 0)
			return ret;
		bf->initrd_fd = ret;
	}
	return 0;
}

static int load_guest(struct vmm *vm, const struct vmm_config *cfg,
		      struct boot_files *bf, struct vmm_error *err)
{
	struct e820_entry e820[8];
	struct boot_input in = {
		.image = bf->image,
		.info = &bf->info,
		.rsdp_addr = ACPI_TABLES_ADDR,
	};
	uint64_t low_end = vm->ram.layout.low_size;
	char why[160], *cmdline;
	int ret;

	if (bf->initrd_fd >= 0) {
		ret = bzimage_initrd_addr(&bf->info, low_end, bf->initrd_size,
					  &in.initrd_addr);
		if (ret)
			return set_err(err, VMM_ERROR_CONFIG, ret,
				       "initrd %s (%llu bytes) does not fit in guest memory below %llu MiB; give the guest more memory",
				       cfg->initrd_path,
				       (unsigned long long)bf->initrd_size,
				       (unsigned long long)(low_end >> 20));
		in.initrd_size = bf->initrd_size;
		ret = read_full(bf->initrd_fd, vm->ram.base + in.initrd_addr,
				bf->initrd_size);
		if (ret)
			return set_err(err, VMM_ERROR_INPUT, ret,
				       "initrd %s: %s", cfg->initrd_path,
				       strerror(-ret));
	}
	ret = e820_build(&vm->ram.layout, e820, 8);
	if (ret < 0)
		return set_err(err, VMM_ERROR_HOST, ret, "e820 map");
	in.e820 = e820;
	in.e820_entries = ret;
	cmdline = cmdline_build(cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE);
	if (!cmdline)
		return set_err(err, VMM_ERROR_HOST, -ENOMEM,
			       "kernel command line: out of memory");
	log_debug(&vm->log, "kernel command line: %s", cmdline);
	in.cmdline = cmdline;
	ret = bzimage_load(&in, vm->ram.base, low_end, why, sizeof(why));
	free(cmdline);
	if (ret)
		return set_err(err, VMM_ERROR_CONFIG, ret, "%s", why);
	boot_write_page_tables(vm->ram.base);
	platform_write_reset_vector(vm->ram.base);
	return 0;
}

static int vm_setup_kvm(struct vmm *vm, uint64_t memory, bool shared,
			struct vmm_error *err)
{
	char why[160];
	int ret;

	ret = kvm_init(&vm->kvm, why, sizeof(why));
	if (ret)
		return set_err(err, VMM_ERROR_HOST, ret, "%s", why);
	vm->kvm_ready = true;
	if (vm->ncpus > vm->kvm.max_vcpus)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "cpus %u: KVM on this host allows at most %u",
			       vm->ncpus, vm->kvm.max_vcpus);
	ret = ram_create(&vm->ram, memory, shared);
	if (ret)
		return set_err(err, VMM_ERROR_HOST, ret,
			       "guest memory (%llu MiB): %s",
			       (unsigned long long)(memory >> 20),
			       strerror(-ret));
	ret = ram_register(&vm->ram, &vm->kvm);
	if (ret)
		return set_err(err, VMM_ERROR_HOST, ret,
			       "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	return 0;
}

static struct vmm *vm_alloc(const struct vmm_config *cfg)
{
	struct vmm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->log.level = cfg->log_level;
	vm->log.fn = cfg->log;
	vm->log.opaque = cfg->log_opaque;
	vm->start_ns = cfg->start_ns ? cfg->start_ns : now_ns();
	vm->ncpus = cfg->cpus;
	vm->console_in = cfg->console_in;
	vm->ram.memfd = -1;
	vm->stop_efd = -1;
	vm->mmio_next = MMIO_DEVICES_START;
	vm->gsi_next = IRQ_DEVICE_FIRST;
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	return vm;
}

static int vm_build(struct vmm *vm, const struct vmm_config *cfg,
		    struct vmm_error *err)
{
	struct boot_files bf = { .initrd_fd = -1 };
	char why[160];
	int ret;

	ret = load_inputs(cfg, &bf, err);
	if (!ret)
		ret = vm_setup_kvm(vm, cfg->memory_size, cfg->memory_shared,
				   err);
	if (!ret)
		ret = load_guest(vm, cfg, &bf, err);
	if (!ret)
		ret = vm_setup_devices(vm, cfg, err);
	if (!ret)
		ret = vm_create_vcpus(vm, err);
	if (!ret) {
		ret = vcpu_set_boot_state(&vm->vcpus[0],
					  bf.info.pref_address + 0x200,
					  BOOT_ZERO_PAGE_ADDR);
		if (ret)
			set_err(err, VMM_ERROR_HOST, ret, "boot vCPU state: %s",
				strerror(-ret));
	}
	if (!ret) {
		vm->stop_efd = eventfd(0, EFD_CLOEXEC);
		if (vm->stop_efd < 0) {
			ret = -errno;
			set_err(err, VMM_ERROR_HOST, ret, "eventfd: %s",
				strerror(errno));
		}
	}
	(void)why;
	free(bf.image);
	if (bf.initrd_fd >= 0)
		close(bf.initrd_fd);
	return ret;
}

int vmm_create(const struct vmm_config *cfg, struct vmm **out,
	       struct vmm_error *err)
{
	struct vmm *vm;
	int ret;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!cfg || !out)
		return set_err(err, VMM_ERROR_CONFIG, -EINVAL,
			       "no configuration");
	ret = check_config(cfg, err);
	if (ret)
		return ret;
	vm = vm_alloc(cfg);
	if (!vm)
		return set_err(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
	ret = vm_build(vm, cfg, err);
	if (ret) {
		vmm_destroy(vm);
		return ret;
	}
	*out = vm;
	return 0;
}

void vmm_destroy(struct vmm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = 0; i < vm->vcpus_created; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	/* Back-end threads and memslots go before KVM and guest RAM. */
	vhost_user_devs_destroy(vm->vhost_user);
	if (vm->serial_ready)
		serial_destroy(&vm->serial);
	if (vm->kvm_ready)
		kvm_exit(&vm->kvm);
	ram_destroy(&vm->ram);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	free(vm);
}

void vm_request_stop(struct vmm *vm, enum vmm_exit_reason reason,
		     int errnum, const char *detail)
{
	uint64_t one = 1;
	int expected = 0;

	if (atomic_compare_exchange_strong(&vm->stop_claimed, &expected, 1)) {
		vm->exit.reason = reason;
		vm->exit.errnum = errnum;
		if (detail) {
			size_t n = strlen(detail);

			if (n >= sizeof(vm->exit.detail))
				n = sizeof(vm->exit.detail) - 1;
			memcpy(vm->exit.detail, detail, n);
			vm->exit.detail[n] = '\0';
		}
		atomic_store(&vm->stopping, true);
	}
	if (write(vm->stop_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow from these few writes */
	}
}

void vmm_stop(struct vmm *vm)
{
	vm_request_stop(vm, VMM_EXIT_STOPPED, 0, "stopped by the host");
}

int vm_mmio_alloc(struct vmm *vm, uint64_t size, uint64_t *gpa)
{
	uint64_t base = (vm->mmio_next + 0xfff) & ~0xfffULL;

	if (!size || size > MMIO_DEVICES_END - base)
		return -ENOSPC;
	*gpa = base;
	vm->mmio_next = base + size;
	return 0;
}

int vm_irq_alloc(struct vmm *vm, uint32_t *gsi)
{
	if (vm->gsi_next > IRQ_DEVICE_LAST)
		return -ENOSPC;
	*gsi = vm->gsi_next++;
	return 0;
}

int vm_irq_line(struct vmm *vm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(vm->kvm.vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int vm_add_virtio_mmio(struct vmm *vm, uint64_t base, uint32_t size,
		       uint32_t gsi, bool level)
{
	if (vm->ran)
		return -EBUSY;
	if (vm->nvirtio == VM_MAX_VIRTIO)
		return -ENOSPC;
	if (base + size > MMIO_HOLE_END || gsi > IRQ_DEVICE_LAST)
		return -EINVAL;
	vm->virtio[vm->nvirtio++] = (struct acpi_virtio_mmio){
		.base = base, .size = size, .gsi = gsi, .level = level,
	};
	return 0;
}

uint64_t vm_ms_since_start(const struct vmm *vm, uint64_t *frac_us)
{
	uint64_t us = (now_ns() - vm->start_ns) / 1000;

	*frac_us = us % 1000;
	return us / 1000;
}
