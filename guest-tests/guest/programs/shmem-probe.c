// SPDX-License-Identifier: MIT
/*
 * shmem-probe: runs inside a test guest. Finds virtio-mmio devices the way a
 * driver would (their ACPI LNRO0005 windows, listed in /proc/iomem), reads
 * each device's shared memory regions from the SHMSel/SHMLen/SHMBase
 * registers, and reads or writes region contents through /dev/mem.
 *
 *   shmem-probe list
 *   shmem-probe verify DEVID SHMID OFFSET LEN SEED   pattern check, exit 1 on mismatch
 *   shmem-probe fill   DEVID SHMID OFFSET LEN SEED   write the pattern
 *   shmem-probe peek   DEVID SHMID OFFSET            read one byte
 *   shmem-probe poke   DEVID SHMID OFFSET VALUE      write one byte
 *
 * DEVID is a virtio device id; the first device with that id is used.
 * Lines for the harness start with "VMMTEST: ". The guest must not bind
 * the virtio_mmio driver to a window this program reads (the kernel's
 * IO_STRICT_DEVMEM refuses /dev/mem access to claimed ranges).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shmem_pattern.h"
#include "virtio_shm.h"

static int cmd_list(int mem)
{
	struct dev devs[MAX_DEVS];
	int n = scan(mem, devs, MAX_DEVS);

	for (int i = 0; i < n; i++) {
		printf("VMMTEST: device 0x%" PRIx64 " id %u\n", devs[i].base,
		       devs[i].id);
		for (unsigned int id = 0; id < 256; id++) {
			uint64_t b, l;

			if (!shm_region(mem, devs[i].base, id, &b, &l))
				printf("VMMTEST: device 0x%" PRIx64
				       " shm %u base 0x%" PRIx64 " len 0x%" PRIx64 "\n",
				       devs[i].base, id, b, l);
		}
	}
	printf("VMMTEST: devices %d\n", n);
	return 0;
}

/* Locate [off, off + len) of region @shmid of the first device @devid. */
static uint8_t *locate(int mem, uint32_t devid, unsigned int shmid,
		       uint64_t off, uint64_t len)
{
	uint64_t phys;

	if (locate_phys(mem, devid, shmid, off, len, &phys))
		return NULL;
	return map_phys(mem, phys, len);
}

static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

int main(int argc, char **argv)
{
	int mem = open("/dev/mem", O_RDWR | O_SYNC);
	uint8_t *p;
	uint64_t len, bad;

	if (mem < 0) {
		perror("shmem-probe: /dev/mem");
		return 2;
	}
	if (argc == 2 && !strcmp(argv[1], "list"))
		return cmd_list(mem);
	if (argc == 5 && !strcmp(argv[1], "peek")) {
		p = locate(mem, num(argv[2]), num(argv[3]), num(argv[4]), 1);
		if (!p)
			return 2;
		printf("VMMTEST: peek 0x%02x\n", *(volatile uint8_t *)p);
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "poke")) {
		p = locate(mem, num(argv[2]), num(argv[3]), num(argv[4]), 1);
		if (!p)
			return 2;
		*(volatile uint8_t *)p = (uint8_t)num(argv[5]);
		printf("VMMTEST: poked 0x%02x\n", (unsigned int)*(volatile uint8_t *)p);
		return 0;
	}
	if (argc != 7) {
		fprintf(stderr, "usage: shmem-probe list | verify|fill DEVID SHMID OFFSET LEN SEED"
			" | peek DEVID SHMID OFFSET | poke DEVID SHMID OFFSET VALUE\n");
		return 2;
	}
	len = num(argv[5]);
	p = locate(mem, num(argv[2]), num(argv[3]), num(argv[4]), len);
	if (!p)
		return 2;
	if (!strcmp(argv[1], "fill")) {
		shmem_pattern_fill(p, len, num(argv[6]));
		printf("VMMTEST: filled %" PRIu64 " bytes\n", len);
		return 0;
	}
	if (!strcmp(argv[1], "verify")) {
		bad = shmem_pattern_check(p, len, num(argv[6]));
		printf("VMMTEST: verify %s (%" PRIu64 " bad bytes)\n",
		       bad ? "mismatch" : "ok", bad);
		return bad ? 1 : 0;
	}
	fprintf(stderr, "shmem-probe: unknown command %s\n", argv[1]);
	return 2;
}
