// SPDX-License-Identifier: MIT
/*
 * The device manager: it turns a device's struct dev_desc into machine
 * state (bus windows, interrupt lines, irqfds, ioeventfds, shared memory
 * regions with their memslots, DSDT entries), hands the device its
 * wiring, and takes it all away again. Firecracker's
 * device_manager/mmio.rs register_mmio_device() is the model: the
 * machine, not the device, decides addresses and lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmem/shmem.h>

#include "common/why.h"

#include "base/layout.h"
#include "core/devices.h"
#include "core/kvm_shmem.h"
#include "core/vm.h"

static int irq_line(void *hv, uint32_t gsi, int level)
{
	return kvm_irq_line(hv, gsi, level);
}

static void stop_machine(void *machine, enum vmm_exit_reason reason,
			 const char *detail)
{
	vm_request_stop(machine, reason, 0, detail);
}

static uint64_t ms_since_start(void *machine, uint64_t *frac_us)
{
	return vm_ms_since_start(machine, frac_us);
}

void vm_dev_services_init(struct vmm *vm)
{
	struct dev_services *s = &vm->svc;
	unsigned int i;

	s->log = &vm->log;
	s->stop = stop_machine;
	s->stop_fd = vm->stop_efd;
	s->ms_since_start = ms_since_start;
	s->machine = vm;
	s->ram_fd = vm->ram.memfd;
	s->nram = vm->ram.nregions;
	for (i = 0; i < vm->ram.nregions && i < DEV_MAX_RAM; i++)
		s->ram[i] = (struct dev_ram){
			.gpa = vm->ram.regions[i].gpa,
			.size = vm->ram.regions[i].size,
			.hva = vm->ram.regions[i].hva,
			.fd_offset = vm->ram.regions[i].fd_offset,
		};
}

const struct dev_services *vm_dev_services(struct vmm *vm)
{
	return &vm->svc;
}

/* Shared memory regions log only what they cannot report otherwise. */
static void shm_log(void *opaque, enum shmem_log_level level, const char *msg)
{
	struct vmm *vm = opaque;

	vmm_logf(&vm->log, (enum vmm_log_level)level, "%s", msg);
}

/* ---- wiring, step by step; each step undone by unwire() ---- */

static int check_desc(const struct dev_desc *d, char *why, size_t whylen)
{
	if (!d->ops || !d->ops->destroy || !d->dev)
		return why_fail(why, whylen, -EINVAL, "no device");
	if (d->nwindows > DEV_MAX_WINDOWS || d->nnotify > DEV_MAX_NOTIFY ||
	    d->nshm > DEV_MAX_SHM)
		return why_fail(why, whylen, -EINVAL,
				"too many windows, notifiers or regions");
	if ((d->nnotify || d->acpi_virtio_mmio) &&
	    (!d->nwindows || d->windows[0].bus != DEV_BUS_MMIO))
		return why_fail(why, whylen, -EINVAL,
				"notifiers and DSDT entries need an MMIO window 0");
	if (d->acpi_virtio_mmio && d->irq != DEV_IRQ_EVENTFD)
		return why_fail(why, whylen, -EINVAL,
				"a DSDT entry needs an interrupt");
	return 0;
}

static int wire_windows(struct vmm *vm, struct vm_device *v,
			const struct dev_desc *d, struct dev_wiring *w,
			char *why, size_t whylen)
{
	unsigned int i;
	int ret;

	for (i = 0; i < d->nwindows; i++) {
		const struct dev_window *win = &d->windows[i];
		struct bus *bus = win->bus == DEV_BUS_PIO ? &vm->pio : &vm->mmio;
		uint64_t base = win->base;

		if (win->bus == DEV_BUS_MMIO && !base) {
			ret = res_mmio_alloc(&vm->res, win->size, &base);
			if (ret)
				return why_fail(why, whylen, ret,
						"no MMIO window of 0x%llx bytes left",
						(unsigned long long)win->size);
		}
		ret = bus_register(bus, base, win->size, win->ops, win->opaque);
		if (ret)
			return why_fail(why, whylen, ret,
					"%s window 0x%llx+0x%llx: %s",
					win->bus == DEV_BUS_PIO ? "port" : "MMIO",
					(unsigned long long)base,
					(unsigned long long)win->size,
					ret == -EEXIST ? "taken" : strerror(-ret));
		v->windows[v->nwindows].bus = bus;
		v->windows[v->nwindows++].base = base;
		w->base[i] = base;
	}
	return 0;
}

static int wire_irq(struct vmm *vm, struct vm_device *v,
		    const struct dev_desc *d, struct dev_wiring *w,
		    char *why, size_t whylen)
{
	int ret;

	switch (d->irq) {
	case DEV_IRQ_NONE:
		return 0;
	case DEV_IRQ_LINE:
		w->gsi = d->irq_gsi;
		w->irq = (struct dev_irq){ irq_line, &vm->kvm, d->irq_gsi };
		return 0;
	case DEV_IRQ_EVENTFD:
		break;
	default:
		return why_fail(why, whylen, -EINVAL, "unknown interrupt kind");
	}
	ret = res_gsi_alloc(&vm->res, &w->gsi);
	if (ret)
		return why_fail(why, whylen, ret,
				"no interrupt line left (IOAPIC pins %d-%d are taken)",
				IRQ_DEVICE_FIRST, IRQ_DEVICE_LAST);
	ret = kvm_irqfd(&vm->kvm, d->irq_fd, w->gsi, true);
	if (ret)
		return why_fail(why, whylen, ret, "KVM_IRQFD: %s",
				strerror(-ret));
	v->irq_fd = d->irq_fd;
	v->gsi = w->gsi;
	return 0;
}

static int wire_notify(struct vmm *vm, struct vm_device *v,
		       const struct dev_desc *d, const struct dev_wiring *w,
		       char *why, size_t whylen)
{
	unsigned int i;
	int ret;

	for (i = 0; i < d->nnotify; i++) {
		const struct dev_notify *n = &d->notify[i];
		uint64_t addr = w->base[0] + n->offset;

		ret = kvm_ioeventfd(&vm->kvm, addr, 4, n->datamatch, n->fd,
				    true);
		if (ret)
			return why_fail(why, whylen, ret,
					"KVM_IOEVENTFD at 0x%llx: %s",
					(unsigned long long)addr,
					strerror(-ret));
		v->notify[v->nnotify].addr = addr;
		v->notify[v->nnotify].datamatch = n->datamatch;
		v->notify[v->nnotify++].fd = n->fd;
	}
	return 0;
}

static int wire_one_shm(struct vmm *vm, struct vm_device *v,
			const struct dev_shm_req *q, struct dev_wiring *w,
			char *why, size_t whylen)
{
	struct shmem_region_config rc = {
		.size = q->size,
		.align = shm_space_host_align(q->size),
		.shmid = q->id,
		.name = v->name,
		.hv_ops = &kvm_shmem_hv_ops,
		.hv = &vm->kvm,
		.log = shm_log,
		.log_opaque = vm,
		.max_mappings = v->budget.limit,
		.budget = &v->budget,
	};
	char reason[SHMEM_WHY_MAX];
	unsigned int i = w->nshm;
	int ret;

	ret = shm_space_alloc(&vm->res.shm, q->size, &rc.gpa);
	if (ret)
		return why_fail(why, whylen, ret,
				"shm %u (%llu bytes): no room below the guest's physical address limit",
				q->id, (unsigned long long)q->size);
	ret = shmem_region_create(&rc, &v->shm[v->nshm], reason,
				  sizeof(reason));
	if (ret)
		return why_fail(why, whylen, ret, "shm %u: %s", q->id, reason);
	v->nshm++;
	ret = shm_space_add(&vm->res.shm, v->name, q->id, rc.gpa, q->size,
			    v->shm[v->nshm - 1]);
	if (ret)
		return why_fail(why, whylen, ret,
				"shm %u: more than %d regions in the machine",
				q->id, SHM_SPACE_MAX_REGIONS);
	log_info(&vm->log, "%s shm %u: guest 0x%llx+0x%llx, host %p", v->name,
		 q->id, (unsigned long long)rc.gpa, (unsigned long long)q->size,
		 shmem_region_hva(v->shm[v->nshm - 1]));
	w->shm[i].id = q->id;
	w->shm[i].gpa = rc.gpa;
	w->shm[i].size = q->size;
	w->shm[i].region = v->shm[v->nshm - 1];
	w->nshm = i + 1;
	return 0;
}

static int wire_shm(struct vmm *vm, struct vm_device *v,
		    const struct dev_desc *d, struct dev_wiring *w,
		    char *why, size_t whylen)
{
	unsigned int i, j;
	int ret;

	for (i = 0; i < d->nshm; i++) {
		for (j = 0; j < i; j++)
			if (d->shm[j].id == d->shm[i].id)
				return why_fail(why, whylen, -EINVAL,
						"shm %u given twice",
						d->shm[i].id);
		ret = wire_one_shm(vm, v, &d->shm[i], w, why, whylen);
		if (ret)
			return ret;
	}
	return 0;
}

static int wire_dsdt(struct vmm *vm, const struct dev_desc *d,
		     const struct dev_wiring *w, char *why, size_t whylen)
{
	int ret;

	if (!d->acpi_virtio_mmio)
		return 0;
	ret = res_dsdt_add(&vm->res, w->base[0], (uint32_t)d->windows[0].size,
			   w->gsi);
	if (ret)
		return why_fail(why, whylen, ret, "DSDT entry: %s",
				strerror(-ret));
	return 0;
}

/* Take the machine's wiring away and destroy the device, then its regions. */
static void unwire(struct vmm *vm, struct vm_device *v)
{
	unsigned int i;
	int ret;

	for (i = v->nnotify; i-- > 0;) {
		ret = kvm_ioeventfd(&vm->kvm, v->notify[i].addr, 4,
				    v->notify[i].datamatch, v->notify[i].fd,
				    false);
		if (ret)
			log_warn(&vm->log, "%s: cannot remove the ioeventfd at 0x%llx: %s",
				 v->name, (unsigned long long)v->notify[i].addr,
				 strerror(-ret));
	}
	if (v->irq_fd >= 0 && kvm_irqfd(&vm->kvm, v->irq_fd, v->gsi, false))
		log_warn(&vm->log, "%s: cannot remove the irqfd of line %u",
			 v->name, v->gsi);
	for (i = v->nwindows; i-- > 0;)
		bus_unregister(v->windows[i].bus, v->windows[i].base);
	/* The device goes before its regions: its threads may map into them. */
	v->ops->destroy(v->dev);
	for (i = v->nshm; i-- > 0;) {
		shm_space_remove(&vm->res.shm, shmem_region_gpa(v->shm[i]));
		shmem_region_destroy(v->shm[i]);
	}
	free(v);
}

static int wire(struct vmm *vm, struct vm_device *v, const struct dev_desc *d,
		char *why, size_t whylen)
{
	struct dev_wiring w;
	int ret;

	memset(&w, 0, sizeof(w));
	ret = wire_windows(vm, v, d, &w, why, whylen);
	if (!ret)
		ret = wire_irq(vm, v, d, &w, why, whylen);
	if (!ret)
		ret = wire_notify(vm, v, d, &w, why, whylen);
	if (!ret)
		ret = wire_shm(vm, v, d, &w, why, whylen);
	if (!ret)
		ret = wire_dsdt(vm, d, &w, why, whylen);
	if (!ret && d->ops->wired)
		ret = d->ops->wired(d->dev, &w, why, whylen);
	return ret;
}

/*
 * A device's share of the machine's mapping budget: what it asked for, at
 * most the machine's, by default half of it, so that one back-end alone
 * cannot starve the others.
 */
static void init_budget(struct vmm *vm, struct vm_device *v,
			const struct dev_desc *d)
{
	uint64_t all = vm->map_budget.limit, limit = all / 2;
	char name[80];

	if (d->max_mappings)
		limit = d->max_mappings < all ? d->max_mappings : all;
	snprintf(name, sizeof(name), "device %s", v->name);
	shmem_budget_init(&v->budget, limit, &vm->map_budget, name);
	if (d->nshm)
		log_info(&vm->log, "%s: at most %llu mappings (the machine: %llu)",
			 v->name, (unsigned long long)limit,
			 (unsigned long long)all);
}

int vm_dev_can_attach(struct vmm *vm, char *why, size_t whylen)
{
	if (vm->ran)
		return why_fail(why, whylen, -EBUSY, "the VM already ran");
	if (vm->ndevices == VM_MAX_DEVICES)
		return why_fail(why, whylen, -ENOSPC, "at most %d devices",
				VM_MAX_DEVICES);
	return 0;
}

int vm_dev_attach(struct vmm *vm, const struct dev_desc *d, char *why,
		  size_t whylen)
{
	struct res_mark mark = res_mark(&vm->res);
	struct vm_device *v;
	int ret;

	ret = check_desc(d, why, whylen);
	if (!ret)
		ret = vm_dev_can_attach(vm, why, whylen);
	if (ret) {
		if (d->ops && d->ops->destroy && d->dev)
			d->ops->destroy(d->dev);
		return ret;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		d->ops->destroy(d->dev);
		return why_fail(why, whylen, -ENOMEM, "out of memory");
	}
	snprintf(v->name, sizeof(v->name), "%s", d->name ? d->name : "?");
	v->dev = d->dev;
	v->ops = d->ops;
	v->irq_fd = -1;
	init_budget(vm, v, d);
	ret = wire(vm, v, d, why, whylen);
	if (ret) {
		unwire(vm, v);
		res_rollback(&vm->res, &mark);
		return ret;
	}
	vm->devices[vm->ndevices++] = v;
	return 0;
}

int vm_devs_start(struct vmm *vm, char *why, size_t whylen)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->ndevices; i++) {
		struct vm_device *v = vm->devices[i];

		if (v->ops->start) {
			ret = v->ops->start(v->dev, why, whylen);
			if (ret)
				return ret;
		}
		v->started = true;
	}
	return 0;
}

void vm_devs_stop(struct vmm *vm)
{
	unsigned int i;

	for (i = vm->ndevices; i-- > 0;) {
		struct vm_device *v = vm->devices[i];

		if (v->started && v->ops->stop)
			v->ops->stop(v->dev);
		v->started = false;
	}
}

void vm_devs_destroy(struct vmm *vm)
{
	while (vm->ndevices)
		unwire(vm, vm->devices[--vm->ndevices]);
}
