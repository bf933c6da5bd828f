// SPDX-License-Identifier: MIT
/*
 * chaos-probe: runs inside a test guest, for the chaos measurement
 * (docs/testing.md).
 *
 *   chaos-probe heartbeat SECONDS CPU
 *       spin on CPU reading the clock; print the longest gap between two
 *       reads: how long that vCPU was kept from running
 *   chaos-probe hammer INDEX SECONDS CPU
 *       drive the INDEX-th virtio-mmio device with id 63 (in address
 *       order) from CPU as a driver would, over and over (200 us apart):
 *       reset, feature negotiation, one queue, DRIVER_OK, config reads;
 *       print the longest single register access
 *
 * Both print one line, "VMMTEST: ...". The hammer's queue addresses are
 * never used: no queue is ever notified.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio_shm.h"

#define R_STATUS		0x070
#define R_DRV_FEATURES		0x020
#define R_DRV_FEATURES_SEL	0x024
#define R_QUEUE_SEL		0x030
#define R_QUEUE_NUM		0x038
#define R_QUEUE_READY		0x044
#define R_QUEUE_DESC_LOW	0x080
#define R_QUEUE_AVAIL_LOW	0x090
#define R_QUEUE_USED_LOW	0x0a0
#define R_CONFIG		0x100

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "chaos-probe: cpu %d: %s\n", cpu,
			strerror(errno));
}

static int heartbeat(int secs, int cpu)
{
	uint64_t end, prev, now, gap, max = 0, loops = 0;

	pin(cpu);
	prev = now_ns();
	end = prev + (uint64_t)secs * 1000000000ULL;
	do {
		now = now_ns();
		gap = now - prev;
		if (gap > max)
			max = gap;
		prev = now;
		loops++;
	} while (now < end);
	printf("VMMTEST: heartbeat cpu %d max_gap_us %" PRIu64 " loops %"
	       PRIu64 "\n", cpu, max / 1000, loops);
	return 0;
}

static uint64_t worst;

static void wr(void *win, unsigned int off, uint32_t v)
{
	uint64_t t0 = now_ns(), d;

	*reg(win, off) = v;
	d = now_ns() - t0;
	if (d > worst)
		worst = d;
}

static uint32_t rd(void *win, unsigned int off)
{
	uint64_t t0 = now_ns(), d;
	uint32_t v = *reg(win, off);

	d = now_ns() - t0;
	if (d > worst)
		worst = d;
	return v;
}

static void one_round(void *win)
{
	uint32_t s = 1;

	wr(win, R_STATUS, 0);
	wr(win, R_STATUS, s);				/* ACKNOWLEDGE */
	wr(win, R_STATUS, s |= 2);			/* DRIVER */
	wr(win, R_DRV_FEATURES_SEL, 1);
	wr(win, R_DRV_FEATURES, 1);			/* VERSION_1 */
	wr(win, R_STATUS, s |= 8);			/* FEATURES_OK */
	wr(win, R_QUEUE_SEL, 0);
	wr(win, R_QUEUE_NUM, 8);
	wr(win, R_QUEUE_DESC_LOW, 0x200000);
	wr(win, R_QUEUE_AVAIL_LOW, 0x201000);
	wr(win, R_QUEUE_USED_LOW, 0x202000);
	wr(win, R_QUEUE_READY, 1);
	wr(win, R_STATUS, s |= 4);			/* DRIVER_OK */
	rd(win, R_CONFIG);
	rd(win, R_CONFIG + 4);
	rd(win, R_STATUS);
}

static int hammer(int index, int secs, int cpu)
{
	struct dev devs[MAX_DEVS];
	uint64_t end, rounds = 0, base = 0;
	int mem, n, seen = 0;
	void *win;

	pin(cpu);
	mem = open("/dev/mem", O_RDWR | O_SYNC);
	if (mem < 0) {
		perror("chaos-probe: /dev/mem");
		return 2;
	}
	n = scan(mem, devs, MAX_DEVS);
	for (int i = 0; i < n; i++)
		if (devs[i].id == 63 && seen++ == index)
			base = devs[i].base;
	if (!base) {
		fprintf(stderr, "chaos-probe: no device %d with id 63\n", index);
		return 1;
	}
	win = map_phys(mem, base, MMIO_WINDOW);
	if (!win)
		return 1;
	end = now_ns() + (uint64_t)secs * 1000000000ULL;
	while (now_ns() < end) {
		one_round(win);
		rounds++;
		/* A breath between rounds: a driver does not reset in a loop. */
		usleep(200);
	}
	wr(win, R_STATUS, 0);
	printf("VMMTEST: hammer %d rounds %" PRIu64 " max_access_us %" PRIu64
	       "\n", index, rounds, worst / 1000);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "heartbeat"))
		return heartbeat(atoi(argv[2]), atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "hammer"))
		return hammer(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: chaos-probe heartbeat SECONDS CPU\n"
			"       chaos-probe hammer INDEX SECONDS CPU\n");
	return 2;
}
