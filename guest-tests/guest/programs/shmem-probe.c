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

#define MMIO_MAGIC		0x000
#define MMIO_DEVICE_ID		0x008
#define MMIO_SHM_SEL		0x0ac
#define MMIO_SHM_LEN_LOW	0x0b0
#define MMIO_SHM_LEN_HIGH	0x0b4
#define MMIO_SHM_BASE_LOW	0x0b8
#define MMIO_SHM_BASE_HIGH	0x0bc
#define MMIO_WINDOW		0x1000
#define MAX_DEVS		32

struct dev {
	uint64_t base;
	uint32_t id;
};

static void *map_phys(int mem, uint64_t phys, size_t len)
{
	uint64_t page = phys & ~0xfffULL;
	size_t span = len + (phys - page);
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, mem,
			  (off_t)page);

	if (p == MAP_FAILED) {
		fprintf(stderr, "shmem-probe: mmap /dev/mem at 0x%" PRIx64 ": %s\n",
			phys, strerror(errno));
		return NULL;
	}
	return p + (phys - page);
}

static int find_windows(uint64_t *bases, int max)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];
	int n = 0;

	if (!f) {
		perror("shmem-probe: /proc/iomem");
		return -1;
	}
	while (n < max && fgets(line, sizeof(line), f)) {
		uint64_t start;
		int dup = 0;

		if (!strstr(line, "LNRO0005"))
			continue;
		if (sscanf(line, " %" SCNx64 "-", &start) != 1)
			continue;
		for (int i = 0; i < n; i++)
			dup |= bases[i] == start;
		if (!dup)
			bases[n++] = start;
	}
	fclose(f);
	return n;
}

static volatile uint32_t *reg(void *win, unsigned int off)
{
	return (volatile uint32_t *)((uint8_t *)win + off);
}

static int scan(int mem, struct dev *devs, int max)
{
	uint64_t bases[MAX_DEVS];
	int n = find_windows(bases, max < MAX_DEVS ? max : MAX_DEVS), found = 0;

	for (int i = 0; i < n; i++) {
		void *win = map_phys(mem, bases[i], MMIO_WINDOW);

		if (!win)
			continue;
		if (*reg(win, MMIO_MAGIC) == 0x74726976) {
			devs[found].base = bases[i];
			devs[found].id = *reg(win, MMIO_DEVICE_ID);
			found++;
		}
		munmap((void *)((uintptr_t)win & ~0xfffUL), MMIO_WINDOW);
	}
	return found;
}

/* Base and length of region @shmid of the device at @base; -1 if absent. */
static int shm_region(int mem, uint64_t base, unsigned int shmid,
		      uint64_t *shm_base, uint64_t *shm_len)
{
	void *win = map_phys(mem, base, MMIO_WINDOW);
	uint64_t len;

	if (!win)
		return -1;
	*reg(win, MMIO_SHM_SEL) = shmid;
	len = *reg(win, MMIO_SHM_LEN_LOW) |
	      (uint64_t)*reg(win, MMIO_SHM_LEN_HIGH) << 32;
	*shm_base = *reg(win, MMIO_SHM_BASE_LOW) |
		    (uint64_t)*reg(win, MMIO_SHM_BASE_HIGH) << 32;
	munmap((void *)((uintptr_t)win & ~0xfffUL), MMIO_WINDOW);
	if (len == ~0ULL)
		return -1;
	*shm_len = len;
	return 0;
}

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
	struct dev devs[MAX_DEVS];
	int n = scan(mem, devs, MAX_DEVS);
	uint64_t b, l;

	for (int i = 0; i < n; i++) {
		if (devs[i].id != devid)
			continue;
		if (shm_region(mem, devs[i].base, shmid, &b, &l)) {
			fprintf(stderr, "shmem-probe: device %u has no shm %u\n",
				devid, shmid);
			return NULL;
		}
		if (off > l || len > l - off) {
			fprintf(stderr, "shmem-probe: range beyond shm %u (len 0x%"
				PRIx64 ")\n", shmid, l);
			return NULL;
		}
		return map_phys(mem, b + off, len);
	}
	fprintf(stderr, "shmem-probe: no virtio-mmio device with id %u\n", devid);
	return NULL;
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
	if (argc != 7) {
		fprintf(stderr, "usage: shmem-probe list | verify|fill DEVID SHMID OFFSET LEN SEED"
			" | peek DEVID SHMID OFFSET\n");
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
