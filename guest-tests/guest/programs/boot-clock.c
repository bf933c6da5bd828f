// SPDX-License-Identifier: MIT
/*
 * boot-clock: runs inside a test guest, as init's first act when the
 * command line has vmmtest.clock=1. Reads the guest kernel's own clock
 * (CLOCK_BOOTTIME, which starts when the kernel's clock does, early in its
 * setup) and writes the boot marker (123 to I/O port 0x3f0, through
 * /dev/port) right after, in the same process, so the VMM's marker time
 * and the guest's clock describe the same moment; then prints
 * "VMMTEST: clock S" (seconds, millisecond resolution).
 *
 *   boot-clock [--no-marker]
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PORT_BOOT_MARKER	0x3f0
#define BOOT_MARKER_VALUE	"\173"

int main(int argc, char **argv)
{
	int marker = !(argc > 1 && !strcmp(argv[1], "--no-marker"));
	struct timespec ts;
	int fd = -1;

	if (marker) {
		fd = open("/dev/port", O_WRONLY);
		if (fd < 0) {
			perror("boot-clock: /dev/port");
			return 1;
		}
	}
	clock_gettime(CLOCK_BOOTTIME, &ts);
	if (marker && pwrite(fd, BOOT_MARKER_VALUE, 1, PORT_BOOT_MARKER) != 1) {
		perror("boot-clock: boot marker");
		return 1;
	}
	printf("VMMTEST: clock %lld.%03ld\n", (long long)ts.tv_sec,
	       ts.tv_nsec / 1000000);
	return 0;
}
