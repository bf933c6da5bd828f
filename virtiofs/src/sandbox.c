/* SPDX-License-Identifier: MIT */
/* The daemon's confinement (sandbox.h). */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

const char *vfs_sandbox_name(enum vfs_sandbox s)
{
	switch (s) {
	case VFS_SANDBOX_NAMESPACE: return "namespace";
	case VFS_SANDBOX_CHROOT: return "chroot";
	case VFS_SANDBOX_NONE: return "none";
	default: return "auto";
	}
}

static int fail(char *why, size_t len, const char *what)
{
	int err = errno ? errno : EINVAL;

	snprintf(why, len, "%s: %s", what, strerror(err));
	return -err;
}

/*
 * A private mount namespace (no network either) whose root is @dir: the
 * host's mounts stay invisible and nothing mounted here propagates back.
 */
static int enter_namespace(const char *dir, bool readonly, char *why,
			   size_t len)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWNET))
		return fail(why, len, "unshare(mount and network namespaces)");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return fail(why, len, "making / a slave mount");
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL))
		return fail(why, len, "bind-mounting the shared directory");
	if (readonly && mount(NULL, dir, NULL,
			      MS_REMOUNT | MS_BIND | MS_RDONLY, NULL))
		return fail(why, len, "remounting the share read-only");
	if (chdir(dir))
		return fail(why, len, "chdir to the shared directory");
	if (syscall(SYS_pivot_root, ".", "."))
		return fail(why, len, "pivot_root");
	if (umount2(".", MNT_DETACH))
		return fail(why, len, "detaching the old root");
	if (chdir("/"))
		return fail(why, len, "chdir /");
	return 0;
}

static int enter_chroot(const char *dir, char *why, size_t len)
{
	if (chdir(dir))
		return fail(why, len, "chdir to the shared directory");
	if (chroot("."))
		return fail(why, len, "chroot");
	if (chdir("/"))
		return fail(why, len, "chdir /");
	return 0;
}

int vfs_sandbox_enter(enum vfs_sandbox want, const char *dir, bool readonly,
		      enum vfs_sandbox *used, char *why, size_t len)
{
	int ret;

	errno = 0;
	switch (want) {
	case VFS_SANDBOX_NAMESPACE:
		*used = want;
		return enter_namespace(dir, readonly, why, len);
	case VFS_SANDBOX_CHROOT:
		*used = want;
		return enter_chroot(dir, why, len);
	case VFS_SANDBOX_NONE:
		*used = want;
		return 0;
	case VFS_SANDBOX_AUTO:
		break;
	}
	/*
	 * Strongest first. A namespace that fails part-way leaves us in a
	 * private namespace with the share bind-mounted: harmless for the
	 * chroot that follows.
	 */
	*used = VFS_SANDBOX_NAMESPACE;
	if (!enter_namespace(dir, readonly, why, len))
		return 0;
	*used = VFS_SANDBOX_CHROOT;
	ret = enter_chroot(dir, why, len);
	if (!ret)
		return 0;
	if (ret != -EPERM)
		return ret;
	*used = VFS_SANDBOX_NONE;
	return 0;
}

#define KEEP_CAPS	((1u << CAP_CHOWN) | (1u << CAP_DAC_OVERRIDE) | \
			 (1u << CAP_FOWNER) | (1u << CAP_FSETID) | \
			 (1u << CAP_SETGID) | (1u << CAP_SETUID))

int vfs_drop_privileges(char *why, size_t len)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[2] = { { 0 } };

	errno = 0;
	if (geteuid() == 0) {
		if (setgroups(0, NULL))
			return fail(why, len, "dropping supplementary groups");
		for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
			if (!(cap < 32 && (KEEP_CAPS & (1u << cap))) &&
			    prctl(PR_CAPBSET_DROP, cap) && errno != EINVAL)
				return fail(why, len, "dropping the bounding set");
		c[0].effective = c[0].permitted = KEEP_CAPS;
		if (syscall(SYS_capset, &h, c))
			return fail(why, len, "capset");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail(why, len, "no_new_privs");
	return 0;
}
