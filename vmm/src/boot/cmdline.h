/* SPDX-License-Identifier: MIT */
/*
 * The guest kernel command line as the machine hands it over: the user's
 * line, plus what this machine needs the kernel to know about it.
 *
 * vmm has no PCI host bridge, yet a stock x86 kernel probes PCI
 * configuration space through ports 0xcf8/0xcfc at boot, every access an
 * exit (on an AMD family 0xf CPU, some 33,000 of them: two scans of all 256
 * buses for a GART bridge). "pci=off" tells it there is none, as
 * Firecracker does. It is put first, so that "--" and what follows (init's
 * arguments) keep their place, and only when the user's line sets no
 * "pci=" itself: the user's choice wins.
 */
#ifndef VMM_CMDLINE_H
#define VMM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define CMDLINE_NO_PCI	"pci=off"

/*
 * Does @cmdline pass the kernel parameter @name ("pci", say, as in
 * "pci=..." or a bare "pci")? Words are split as the kernel splits them:
 * at blanks outside double quotes. Words after a bare "--" are init's,
 * not the kernel's, and do not count.
 */
bool cmdline_has_param(const char *cmdline, const char *name);

/*
 * The command line to boot with: "pci=off " + @user, or @user unchanged
 * when it sets pci= already. Returns a string to free(), or NULL when out
 * of memory.
 */
char *cmdline_build(const char *user);

#endif /* VMM_CMDLINE_H */
