// SPDX-License-Identifier: MIT
/* The --vhost-user option value: what users type and what they get wrong. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vhost_user_opt.h"

static struct vhost_user_opt o;
static char err[512];

static int parse(const char *s)
{
	err[0] = '\0';
	return vhost_user_opt_parse(s, &o, err, sizeof(err));
}

static void assert_refused(const char *value, const char *needle);

Test(vhost_user_opt, full_generic_device)
{
	cr_assert_eq(parse("socket=/tmp/ex.sock,virtio-id=63,queues=2,"
			   "queue-size=128,shm=0:64M,shm=3:0x2000"), 0, "%s", err);
	cr_assert_str_eq(o.dev.socket_path, "/tmp/ex.sock");
	cr_assert_eq(o.dev.virtio_id, 63);
	cr_assert_eq(o.dev.queues, 2);
	cr_assert_eq(o.dev.queue_size, 128);
	cr_assert_eq(o.dev.nshm, 2);
	cr_assert_eq(o.dev.shm[0].id, 0);
	cr_assert_eq(o.dev.shm[0].size, 64ULL << 20);
	cr_assert_eq(o.dev.shm[1].id, 3);
	cr_assert_eq(o.dev.shm[1].size, 0x2000);
	cr_assert_null(o.dev.tag);
	cr_assert_null(o.dev.name, "default: log lines use the socket path");
}

Test(vhost_user_opt, name_for_log_lines)
{
	cr_assert_eq(parse("socket=/s,virtio-id=1,name=ex0"), 0, "%s", err);
	cr_assert_str_eq(o.dev.name, "ex0");
	assert_refused("socket=/s,virtio-id=1,name=0123456789abcdef0123456789abcdef",
		       "longer than 31");
}

Test(vhost_user_opt, fs_shorthand_with_tag)
{
	cr_assert_eq(parse("socket=/run/fs.sock,type=fs,tag=share"), 0, "%s",
		     err);
	cr_assert_eq(o.dev.virtio_id, 26);
	cr_assert_str_eq(o.dev.tag, "share");
	cr_assert_eq(o.dev.queues, 0, "default: decided with the back-end");
	cr_assert_eq(parse("type=fs,virtio-id=26,socket=/s,tag=t"), 0, "%s",
		     err);
}

static void assert_refused(const char *value, const char *needle)
{
	cr_assert_eq(parse(value), -EINVAL, "'%s' accepted", value);
	cr_assert(strstr(err, needle), "'%s': message '%s' lacks '%s'", value,
		  err, needle);
	cr_assert_null(strchr(err, '\n'), "one line");
}

Test(vhost_user_opt, every_bad_value_is_named)
{
	assert_refused("", "empty");
	assert_refused("virtio-id=63", "socket=PATH is required");
	assert_refused("socket=/s", "virtio-id=N or type=fs is required");
	assert_refused("socket=/s,virtio-id=0", "virtio-id=0");
	assert_refused("socket=/s,virtio-id=70000", "virtio-id=70000");
	assert_refused("socket=/s,virtio-id=x", "virtio-id=x");
	assert_refused("socket=/s,type=net", "type=net");
	assert_refused("socket=/s,type=fs,virtio-id=63", "conflicts");
	assert_refused("socket=/s,virtio-id=63,queues=0", "queues=0");
	assert_refused("socket=/s,virtio-id=63,queues=65", "queues=65");
	assert_refused("socket=/s,virtio-id=63,queue-size=100", "queue-size=100");
	assert_refused("socket=/s,virtio-id=63,queue-size=65536",
		       "queue-size=65536");
	assert_refused("socket=/s,virtio-id=63,shm=64M", "shm=64M");
	assert_refused("socket=/s,virtio-id=63,shm=256:4K", "shm=256:4K");
	assert_refused("socket=/s,virtio-id=63,shm=0:4097", "shm=0:4097");
	assert_refused("socket=/s,virtio-id=63,shm=0:0", "shm=0:0");
	assert_refused("socket=/s,virtio-id=63,shm=0:2T", "shm=0:2T");
	assert_refused("socket=/s,virtio-id=63,shm=1:4K,shm=1:8K", "twice");
	assert_refused("socket=/s,virtio-id=63,tag=x", "tag= is only for");
	assert_refused("socket=/s,type=fs,tag=", "tag=: empty");
	assert_refused("socket=/s,type=fs,tag=0123456789012345678901234567890123456",
		       "longer than 36");
	assert_refused("socket=/s,virtio-id=63,colour=red", "unknown key 'colour'");
	assert_refused("socket=/s,virtio-id=63,", "trailing ','");
	assert_refused("socket=/s,,virtio-id=63", "empty item");
	assert_refused("socket=/s,virtio-id", "not KEY=VALUE");
	assert_refused("socket=/a,socket=/b,virtio-id=1", "socket= given twice");
}

Test(vhost_user_opt, socket_path_must_fit_sun_path)
{
	char v[200];

	snprintf(v, sizeof(v), "socket=/%0120d,virtio-id=1", 0);
	assert_refused(v, "longer than 107 bytes");
}

Test(vhost_user_opt, at_most_eight_regions)
{
	cr_assert_eq(parse("socket=/s,virtio-id=1,shm=0:4K,shm=1:4K,shm=2:4K,"
			   "shm=3:4K,shm=4:4K,shm=5:4K,shm=6:4K,shm=7:4K"), 0,
		     "%s", err);
	assert_refused("socket=/s,virtio-id=1,shm=0:4K,shm=1:4K,shm=2:4K,"
		       "shm=3:4K,shm=4:4K,shm=5:4K,shm=6:4K,shm=7:4K,shm=8:4K",
		       "at most 8");
}

Test(vhost_user_opt, max_maps_caps_the_device)
{
	cr_assert_eq(parse("socket=/s,virtio-id=63,max-maps=1000"), 0, "%s",
		     err);
	cr_assert_eq(o.dev.max_mappings, 1000);
	cr_assert_eq(parse("socket=/s,virtio-id=63"), 0, "%s", err);
	cr_assert_eq(o.dev.max_mappings, 0, "default: the machine decides");
	assert_refused("socket=/s,virtio-id=63,max-maps=0", "max-maps=0");
	assert_refused("socket=/s,virtio-id=63,max-maps=lots", "max-maps=lots");
}
