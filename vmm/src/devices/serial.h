/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (COM1 at 0x3f8, IRQ 4): transmit goes to an fd at once,
 * receive comes from an fd through a 64-byte FIFO fed by an input thread.
 */
#ifndef VMM_DEVICES_SERIAL_H
#define VMM_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"

#define SERIAL_FIFO_SIZE	64

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thre_pending;		/* THR-empty interrupt not yet seen */
	bool irq_level;
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	int out_fd;			/* -1: discard */
	int in_fd;			/* -1: no input */
	int quit_fd;			/* eventfd: stop the input thread */
	bool in_running;
	pthread_t in_thread;
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
};

extern const struct bus_ops serial_bus_ops;

int serial_init(struct serial *s, int in_fd, int out_fd,
		void (*set_irq)(void *opaque, int level), void *irq_opaque);
void serial_destroy(struct serial *s);

/* Queue guest input; returns how many bytes fit. */
unsigned int serial_receive(struct serial *s, const uint8_t *buf,
			    unsigned int len);

/* The input thread: reads in_fd into the RX FIFO until serial_input_stop. */
int serial_input_start(struct serial *s);
void serial_input_stop(struct serial *s);

#endif /* VMM_DEVICES_SERIAL_H */
