// SPDX-License-Identifier: MIT
/* Parsing of the --vhost-user option value (docs/cli.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/why.h"

#include "parse.h"
#include "vhost_user_opt.h"

#define PAGE_SIZE_4K	4096ULL
#define SHM_SIZE_MAX	(1ULL << 40)

static int parse_shm(const char *v, struct vmm_vhost_user *d, char *why,
		     size_t whylen)
{
	uint64_t id;
	const char *colon = strchr(v, ':');
	char idbuf[8];
	uint64_t size;
	unsigned int i;

	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(idbuf))
		return why_fail(why, whylen, -EINVAL, "shm=%s: must be ID:SIZE", v);
	snprintf(idbuf, sizeof(idbuf), "%.*s", (int)(colon - v), v);
	if (parse_uint(idbuf, 255, &id))
		return why_fail(why, whylen, -EINVAL, "shm=%s: ID must be 0 to 255", v);
	if (parse_size(colon + 1, &size) || size == 0 ||
	    size % PAGE_SIZE_4K || size > SHM_SIZE_MAX)
		return why_fail(why, whylen, -EINVAL,
				"shm=%s: SIZE must be a multiple of 4K from 4K to 1T",
				v);
	for (i = 0; i < d->nshm; i++)
		if (d->shm[i].id == id)
			return why_fail(why, whylen, -EINVAL, "shm=%s: shmid %llu given twice",
					v, (unsigned long long)id);
	if (d->nshm == VMM_VHOST_USER_MAX_SHM)
		return why_fail(why, whylen, -EINVAL, "shm=%s: at most %d regions", v,
				VMM_VHOST_USER_MAX_SHM);
	d->shm[d->nshm++] = (struct vmm_vhost_user_shm){
		.id = (uint8_t)id, .size = size,
	};
	return 0;
}

static int copy_str(const char *key, const char *v, char *dst, size_t max,
		    char *why, size_t whylen)
{
	size_t n = strlen(v);

	if (n == 0)
		return why_fail(why, whylen, -EINVAL, "%s=: empty", key);
	if (n >= max)
		return why_fail(why, whylen, -EINVAL, "%s=%s: longer than %zu bytes", key, v,
				max - 1);
	memcpy(dst, v, n + 1);
	return 0;
}

static int parse_queue_size(const char *v, struct vmm_vhost_user *d,
			    char *why, size_t whylen)
{
	uint64_t n;

	if (parse_uint(v, VMM_VHOST_USER_MAX_QUEUE_SIZE, &n) || n == 0 ||
	    (n & (n - 1)))
		return why_fail(why, whylen, -EINVAL,
				"queue-size=%s: must be a power of two from 1 to %d",
				v, VMM_VHOST_USER_MAX_QUEUE_SIZE);
	d->queue_size = (unsigned int)n;
	return 0;
}

static int parse_type(const char *v, struct vmm_vhost_user *d, char *why,
		      size_t whylen)
{
	if (strcmp(v, "fs"))
		return why_fail(why, whylen, -EINVAL, "type=%s: the only type is fs", v);
	if (d->virtio_id && d->virtio_id != VMM_VIRTIO_ID_FS)
		return why_fail(why, whylen, -EINVAL,
				"type=fs: conflicts with virtio-id=%u", d->virtio_id);
	d->virtio_id = VMM_VIRTIO_ID_FS;
	return 0;
}

static int parse_virtio_id(const char *v, struct vmm_vhost_user *d,
			   char *why, size_t whylen)
{
	uint64_t n;

	if (parse_uint(v, 0xffff, &n) || n == 0)
		return why_fail(why, whylen, -EINVAL,
				"virtio-id=%s: must be a device id from 1 to 65535",
				v);
	if (d->virtio_id && d->virtio_id != n)
		return why_fail(why, whylen, -EINVAL, "virtio-id=%s: conflicts with type=fs",
				v);
	d->virtio_id = (uint32_t)n;
	return 0;
}

/* One key=value pair; @v is NUL-terminated. */
static int parse_pair(const char *key, const char *v, struct vhost_user_opt *o,
		      char *why, size_t whylen)
{
	struct vmm_vhost_user *d = &o->dev;
	uint64_t n;

	if (!strcmp(key, "socket")) {
		if (d->socket_path)
			return why_fail(why, whylen, -EINVAL, "socket= given twice");
		d->socket_path = o->socket;
		return copy_str(key, v, o->socket, sizeof(o->socket), why,
				whylen);
	}
	if (!strcmp(key, "virtio-id"))
		return parse_virtio_id(v, d, why, whylen);
	if (!strcmp(key, "type"))
		return parse_type(v, d, why, whylen);
	if (!strcmp(key, "queues")) {
		if (parse_uint(v, VMM_VHOST_USER_MAX_QUEUES, &n) || n == 0)
			return why_fail(why, whylen, -EINVAL,
					"queues=%s: must be a number from 1 to %d",
					v, VMM_VHOST_USER_MAX_QUEUES);
		d->queues = (unsigned int)n;
		return 0;
	}
	if (!strcmp(key, "queue-size"))
		return parse_queue_size(v, d, why, whylen);
	if (!strcmp(key, "shm"))
		return parse_shm(v, d, why, whylen);
	if (!strcmp(key, "tag")) {
		if (d->tag)
			return why_fail(why, whylen, -EINVAL, "tag= given twice");
		d->tag = o->tag;
		return copy_str(key, v, o->tag, sizeof(o->tag), why, whylen);
	}
	if (!strcmp(key, "max-maps")) {
		if (parse_uint(v, UINT32_MAX, &n) || n == 0)
			return why_fail(why, whylen, -EINVAL,
					"max-maps=%s: must be a number from 1 to %u",
					v, UINT32_MAX);
		d->max_mappings = n;
		return 0;
	}
	if (!strcmp(key, "name")) {
		if (d->name)
			return why_fail(why, whylen, -EINVAL, "name= given twice");
		d->name = o->name;
		return copy_str(key, v, o->name, sizeof(o->name), why, whylen);
	}
	return why_fail(why, whylen, -EINVAL,
			"unknown key '%s' (socket, virtio-id, type, queues, queue-size, shm, tag, name, max-maps)",
			key);
}

static int check_complete(struct vmm_vhost_user *d, char *why, size_t whylen)
{
	if (!d->socket_path)
		return why_fail(why, whylen, -EINVAL, "socket=PATH is required");
	if (!d->virtio_id)
		return why_fail(why, whylen, -EINVAL, "virtio-id=N or type=fs is required");
	if (d->tag && d->virtio_id != VMM_VIRTIO_ID_FS)
		return why_fail(why, whylen, -EINVAL, "tag= is only for type=fs");
	return 0;
}

int vhost_user_opt_parse(const char *s, struct vhost_user_opt *o, char *why,
			 size_t whylen)
{
	char item[512];
	const char *p = s;
	int ret;

	memset(o, 0, sizeof(*o));
	vmm_vhost_user_init(&o->dev);
	if (!*s)
		return why_fail(why, whylen, -EINVAL, "empty value");
	while (*p) {
		size_t n = strcspn(p, ",");
		char *eq;

		if (n == 0)
			return why_fail(why, whylen, -EINVAL, "empty item in '%s'", s);
		if (n >= sizeof(item))
			return why_fail(why, whylen, -EINVAL, "item too long in '%s'", s);
		memcpy(item, p, n);
		item[n] = '\0';
		p += n;
		if (*p == ',' && !*++p)
			return why_fail(why, whylen, -EINVAL, "trailing ',' in '%s'", s);
		eq = strchr(item, '=');
		if (!eq)
			return why_fail(why, whylen, -EINVAL, "'%s' is not KEY=VALUE", item);
		*eq = '\0';
		ret = parse_pair(item, eq + 1, o, why, whylen);
		if (ret)
			return ret;
	}
	return check_complete(&o->dev, why, whylen);
}
