// SPDX-License-Identifier: MIT
/*
 * The composition root: vmm_create() builds the machine in order (boot
 * files, KVM, guest RAM, resources, the built-in devices, vCPUs) and
 * vmm_destroy() takes it apart in reverse. Devices come from the built-in
 * table (devices/builtin.h) and the public API of optional devices; this
 * file names none of them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"

#include "base/layout.h"
#include "core/devices.h"
#include "core/vm.h"
#include "devices/builtin.h"

#define DEFAULT_MEMORY		(256ULL << 20)

void vmm_config_init(struct vmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->memory_size = DEFAULT_MEMORY;
	cfg->cpus = 1;
	cfg->console_in = STDIN_FILENO;
	cfg->console_out = STDOUT_FILENO;
	cfg->log_level = VMM_LOG_WARN;
}

int vm_fail(struct vmm_error *err, enum vmm_error_kind kind, int ret,
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
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "no kernel given");
	if (cfg->memory_size < VMM_MIN_MEMORY ||
	    cfg->memory_size > VMM_MAX_MEMORY ||
	    cfg->memory_size % 4096)
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "memory size %llu: must be a multiple of 4 KiB from 16 MiB to 1 TiB",
			       (unsigned long long)cfg->memory_size);
	if (cfg->cpus < 1 || cfg->cpus > VMM_MAX_CPUS)
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "cpus %u: must be 1 to %u", cfg->cpus,
			       VMM_MAX_CPUS);
	if (cfg->log_level > VMM_LOG_DEBUG)
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "log level %d is not a level", cfg->log_level);
	return 0;
}

static int setup_kvm(struct vmm *vm, uint64_t memory, bool shared,
		     struct vmm_error *err)
{
	char why[160];
	int ret;

	ret = kvm_init(&vm->kvm, why, sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_HOST, ret, "%s", why);
	vm->kvm_ready = true;
	if (vm->ncpus > vm->kvm.max_vcpus)
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "cpus %u: KVM on this host allows at most %u",
			       vm->ncpus, vm->kvm.max_vcpus);
	ret = ram_create(&vm->ram, memory, shared);
	if (ret)
		return vm_fail(err, VMM_ERROR_HOST, ret,
			       "guest memory (%llu MiB): %s",
			       (unsigned long long)(memory >> 20),
			       strerror(-ret));
	ret = ram_register(&vm->ram, &vm->kvm);
	if (ret)
		return vm_fail(err, VMM_ERROR_HOST, ret,
			       "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	res_init(&vm->res, ram_end(&vm->ram), kvm_guest_phys_bits(&vm->kvm));
	vm_dev_services_init(vm);
	return 0;
}

static int attach_builtins(struct vmm *vm, const struct vmm_config *cfg,
			   struct vmm_error *err)
{
	char why[200];
	unsigned int i;
	int ret;

	for (i = 0; i < dev_nbuiltins; i++) {
		struct dev_desc d;

		memset(&d, 0, sizeof(d));
		ret = dev_builtins[i].create(&vm->svc, cfg, &d, why,
					     sizeof(why));
		if (!ret)
			ret = vm_dev_attach(vm, &d, why, sizeof(why));
		if (ret)
			return vm_fail(err, VMM_ERROR_HOST, ret, "%s: %s",
				       dev_builtins[i].name, why);
	}
	return 0;
}

static int create_vcpus(struct vmm *vm, const struct boot_entry *entry,
			struct vmm_error *err)
{
	char why[160];
	unsigned int i;
	int ret;

	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return vm_fail(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
	for (i = 0; i < vm->ncpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], &vm->kvm, i, vm->ncpus, why,
				  sizeof(why));
		if (ret)
			return vm_fail(err, VMM_ERROR_HOST, ret, "%s", why);
		vm->vcpus[i].vm = vm;
		vm->vcpus_created++;
	}
	ret = vcpu_set_boot_state(&vm->vcpus[0], entry);
	if (ret)
		return vm_fail(err, VMM_ERROR_HOST, ret, "boot vCPU state: %s",
			       strerror(-ret));
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
	vm->start_ns = cfg->start_ns ? cfg->start_ns : clock_now_ns();
	vm->ncpus = cfg->cpus;
	vm->ram.memfd = -1;
	/* First: devices are given it, and a stop may come at any time. */
	vm->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_efd < 0) {
		free(vm);
		return NULL;
	}
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	shmem_budget_init(&vm->map_budget, shmem_map_budget_default(), NULL,
			  "the machine");
	return vm;
}

static int vm_build(struct vmm *vm, const struct vmm_config *cfg,
		    struct vmm_error *err)
{
	struct boot_entry entry;
	struct boot_files bf;
	int ret;

	/* The boot files first: bad input is reported before KVM is needed. */
	ret = vm_boot_files_read(cfg, &bf, err);
	if (!ret)
		ret = setup_kvm(vm, cfg->memory_size, cfg->memory_shared, err);
	if (!ret)
		ret = vm_boot_files_load(vm, cfg, &bf, &entry, err);
	vm_boot_files_release(&bf);
	if (!ret)
		ret = attach_builtins(vm, cfg, err);
	if (!ret)
		ret = create_vcpus(vm, &entry, err);
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
		return vm_fail(err, VMM_ERROR_CONFIG, -EINVAL,
			       "no configuration");
	ret = check_config(cfg, err);
	if (ret)
		return ret;
	vm = vm_alloc(cfg);
	if (!vm)
		return vm_fail(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
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
	/* Device threads and memslots go before KVM and guest RAM. */
	vm_devs_destroy(vm);
	if (vm->kvm_ready)
		kvm_exit(&vm->kvm);
	ram_destroy(&vm->ram);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	free(vm);
}
