/* SPDX-License-Identifier: MIT */
/*
 * The device manager, as the public API of optional devices sees it
 * (the files in api/): the services a device is built from, and the one call that
 * wires a device into the machine. Nothing here names a device type, and
 * nothing exposes struct vmm.
 */
#ifndef VMM_CORE_DEVICES_H
#define VMM_CORE_DEVICES_H

#include <stddef.h>

#include "devices/device.h"

struct vmm;

/* The services a device of this VM is created with. */
const struct dev_services *vm_dev_services(struct vmm *vm);

/*
 * May a device be attached now? -EBUSY once the VM ran, -ENOSPC when the
 * machine holds its maximum of devices; asked before a device is built.
 */
int vm_dev_can_attach(struct vmm *vm, char *why, size_t whylen);

/*
 * Wire the device @d describes: place and register its windows, give it
 * its interrupt, assign its ioeventfds, create its shared memory regions
 * (one memslot each, placed in the guest's shared-memory space), add its
 * DSDT entry, then call d->ops->wired(). Between vmm_create() and
 * vmm_run() only.
 *
 * The machine takes the device over in every case: on failure everything
 * is unwound and d->ops->destroy() is called. Errors: -EBUSY (the VM
 * already ran), -ENOSPC (no MMIO window, interrupt line, memslot or
 * guest-physical room left), -EINVAL (a bad description), what the
 * device's wired() returned, KVM's errors; worded into @why.
 */
int vm_dev_attach(struct vmm *vm, const struct dev_desc *d, char *why,
		  size_t whylen);

#endif /* VMM_CORE_DEVICES_H */
