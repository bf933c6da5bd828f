/* SPDX-License-Identifier: MIT */
/*
 * The value of vmm's --vhost-user option:
 *   socket=PATH,virtio-id=N|type=fs[,queues=N][,queue-size=N]
 *   [,shm=ID:SIZE]...[,tag=TAG][,name=NAME]
 * parsed into a struct vmm_vhost_user whose strings live in the same
 * struct vhost_user_opt (so it must not be copied).
 */
#ifndef VMM_VHOST_USER_OPT_H
#define VMM_VHOST_USER_OPT_H

#include <stddef.h>

#include <vmm/vhost_user.h>

#define VHOST_USER_OPT_PATH_MAX	108	/* sizeof(sockaddr_un.sun_path) */
#define VHOST_USER_OPT_NAME_MAX	32

struct vhost_user_opt {
	struct vmm_vhost_user dev;
	char socket[VHOST_USER_OPT_PATH_MAX];
	char tag[VMM_VIRTIO_FS_TAG_MAX + 1];
	char name[VHOST_USER_OPT_NAME_MAX];
};

/*
 * Parse @s into @o. Returns 0, or -EINVAL with one line in @why naming the bad
 * key and value (without the option name).
 */
int vhost_user_opt_parse(const char *s, struct vhost_user_opt *o, char *why,
			 size_t whylen);

#endif /* VMM_VHOST_USER_OPT_H */
