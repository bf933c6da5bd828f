/* SPDX-License-Identifier: MIT */
/*
 * Finding VIRTIO shared memory regions from inside a test guest, the way a
 * driver would: virtio-mmio devices are the ACPI LNRO0005 windows listed in
 * /proc/iomem; a device's regions are read from its SHMSel/SHMLen/SHMBase
 * registers. Register windows and region contents are reached through a
 * /dev/mem descriptor the caller opens (O_SYNC for registers: uncached).
 *
 * Shared by the guest programs; every function is static inline so a
 * program that uses only some of them builds without warnings. Error
 * messages start with the program's name.
 */
#ifndef VIRTIO_SHM_H
#define VIRTIO_SHM_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

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

/* Map [phys, phys + len) of /dev/mem descriptor @mem; NULL on failure. */
static inline void *map_phys(int mem, uint64_t phys, size_t len)
{
	uint64_t page = phys & ~0xfffULL;
	size_t span = len + (phys - page);
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, mem,
			  (off_t)page);

	if (p == MAP_FAILED) {
		fprintf(stderr, "%s: mmap /dev/mem at 0x%" PRIx64 ": %s\n",
			program_invocation_short_name, phys, strerror(errno));
		return NULL;
	}
	return p + (phys - page);
}

static inline int find_windows(uint64_t *bases, int max)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];
	int n = 0;

	if (!f) {
		fprintf(stderr, "%s: /proc/iomem: %s\n",
			program_invocation_short_name, strerror(errno));
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

static inline volatile uint32_t *reg(void *win, unsigned int off)
{
	return (volatile uint32_t *)((uint8_t *)win + off);
}

/* The virtio-mmio devices behind the LNRO0005 windows; their number. */
static inline int scan(int mem, struct dev *devs, int max)
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
static inline int shm_region(int mem, uint64_t base, unsigned int shmid,
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

/*
 * Guest-physical address of [off, off + len) of region @shmid of the first
 * device with id @devid, found through register descriptor @mem; -1 (and
 * a message) when there is no such device, region or range.
 */
static inline int locate_phys(int mem, uint32_t devid, unsigned int shmid,
			      uint64_t off, uint64_t len, uint64_t *phys)
{
	struct dev devs[MAX_DEVS];
	int n = scan(mem, devs, MAX_DEVS);
	uint64_t b, l;

	for (int i = 0; i < n; i++) {
		if (devs[i].id != devid)
			continue;
		if (shm_region(mem, devs[i].base, shmid, &b, &l)) {
			fprintf(stderr, "%s: device %u has no shm %u\n",
				program_invocation_short_name, devid, shmid);
			return -1;
		}
		if (off > l || len > l - off) {
			fprintf(stderr, "%s: range beyond shm %u (len 0x%"
				PRIx64 ")\n", program_invocation_short_name,
				shmid, l);
			return -1;
		}
		*phys = b + off;
		return 0;
	}
	fprintf(stderr, "%s: no virtio-mmio device with id %u\n",
		program_invocation_short_name, devid);
	return -1;
}

#endif
