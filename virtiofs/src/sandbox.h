/* SPDX-License-Identifier: MIT */
/*
 * The daemon's confinement: after vfs_sandbox_enter() the shared
 * directory is "/" (a private mount namespace with the directory pivoted
 * to the root, or a chroot), and vfs_drop_privileges() leaves only the
 * capabilities that serving files as their owners needs.
 */
#ifndef VIRTIOFS_SANDBOX_H
#define VIRTIOFS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum vfs_sandbox {
	VFS_SANDBOX_AUTO,	/* the strongest the host allows */
	VFS_SANDBOX_NAMESPACE,
	VFS_SANDBOX_CHROOT,
	VFS_SANDBOX_NONE,
};

const char *vfs_sandbox_name(enum vfs_sandbox s);

/*
 * Confine the process to @dir. With AUTO: namespace, else chroot, else
 * none; *used says which. A read-only share is also mounted read-only
 * (namespace). 0, or -errno with the reason in @why.
 */
int vfs_sandbox_enter(enum vfs_sandbox want, const char *dir, bool readonly,
		      enum vfs_sandbox *used, char *why, size_t len);

/*
 * Drop supplementary groups, every capability but CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID, SETGID and SETUID (also from the bounding set), and set
 * no_new_privs. Without root only no_new_privs. 0 or -errno.
 */
int vfs_drop_privileges(char *why, size_t len);

#endif
