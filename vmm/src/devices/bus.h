/* SPDX-License-Identifier: MIT */
/*
 * Port-I/O and MMIO dispatch by address range. A device registers a window
 * with its ops; vCPU exits are routed to the window containing the access.
 * One struct bus per address space. Registration may happen while vCPUs
 * run (an rwlock guards the table); callbacks run with the read lock held
 * and must not register or unregister on the same bus.
 */
#ifndef VMM_DEVICES_BUS_H
#define VMM_DEVICES_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* @off: from the window's base; @len: 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const void *data,
		      uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	pthread_rwlock_t lock;
	struct bus_range *ranges;	/* sorted by base, no overlaps */
	size_t n;
	size_t cap;
};

void bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);

/* -EINVAL (len 0 or wraps), -EEXIST (overlaps a window), -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque);
/* Remove the window starting at @base: -ENOENT if none. */
int bus_unregister(struct bus *bus, uint64_t base);

/*
 * Dispatch an access. Returns false when no window contains all of
 * [addr, addr + len) (reads then leave @data untouched).
 */
bool bus_read(struct bus *bus, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, uint32_t len);

#endif /* VMM_DEVICES_BUS_H */
