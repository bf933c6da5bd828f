// SPDX-License-Identifier: MIT
/*
 * The public API of vhost-user devices (<vmm/vhost_user.h>): build the
 * device from the machine's services, hand it to the machine, and turn a
 * failure into the one line a user reads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vmm/vhost_user.h>
#include <vmm/vmm.h>

#include "core/devices.h"
#include "devices/vhost_user/dev.h"

void vmm_vhost_user_init(struct vmm_vhost_user *dev)
{
	memset(dev, 0, sizeof(*dev));
}

/* Whose fault a failure is. */
static enum vmm_error_kind error_kind(int ret)
{
	switch (ret) {
	case -EINVAL:
		return VMM_ERROR_CONFIG;
	case -ENOENT:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -EPIPE:
	case -EPROTO:
	case -EIO:
	case -EACCES:
	case -ENOTSOCK:
	case -ENAMETOOLONG:
		return VMM_ERROR_INPUT;
	default:
		return VMM_ERROR_HOST;
	}
}

int vmm_add_vhost_user(struct vmm *vm, const struct vmm_vhost_user *dev,
		       struct vmm_error *err)
{
	struct vmm_error local;
	struct dev_desc desc;
	char why[VU_WHY_MAX];
	const char *name;
	int ret;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	if (!vm || !dev) {
		err->kind = VMM_ERROR_CONFIG;
		err->errnum = EINVAL;
		snprintf(err->msg, sizeof(err->msg), "vhost-user: no device");
		return -EINVAL;
	}
	name = dev->name && *dev->name ? dev->name :
	       dev->socket_path ? dev->socket_path : "?";
	ret = vm_dev_can_attach(vm, why, sizeof(why));
	if (!ret)
		ret = vhost_user_dev_create(vm_dev_services(vm), dev, &desc,
					    why, sizeof(why));
	if (!ret)
		ret = vm_dev_attach(vm, &desc, why, sizeof(why));
	if (!ret)
		return 0;
	err->kind = error_kind(ret);
	err->errnum = -ret;
	snprintf(err->msg, sizeof(err->msg), "vhost-user %s: %s", name, why);
	return ret;
}
