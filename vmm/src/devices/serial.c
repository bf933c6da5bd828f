// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/thread.h"

#include "devices/serial.h"

#define UART_RX		0	/* in, DLAB=0 */
#define UART_TX		0	/* out, DLAB=0 */
#define UART_IER	1
#define UART_IIR	2	/* in */
#define UART_FCR	2	/* out */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RCVR	0x02
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Called with the lock held after every state change. */
static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_opaque, level);
	}
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == SERIAL_FIFO_SIZE)
		return;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = c;
	s->rx_count++;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
	s->rx_count--;
	return c;
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, c);
	} else if (s->out_fd >= 0) {
		ssize_t n;

		/*
		 * A console that went away is not the guest's problem. vCPU
		 * threads block SIGPIPE (thread_start()), so a closed pipe
		 * is an EPIPE here, never a signal that kills the program.
		 */
		do {
			n = write(s->out_fd, &c, 1);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EPIPE)
			thread_drop_sigpipe();
	}
	s->thre_pending = true;
}

static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	return (uint8_t)((s->mcr & 0x01 ? MSR_DSR : 0) |
			 (s->mcr & 0x02 ? MSR_CTS : 0) |
			 (s->mcr & 0x04 ? MSR_RI : 0) |
			 (s->mcr & 0x08 ? MSR_DCD : 0));
}

static uint8_t serial_in(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		return dlab ? s->dll : rx_pop(s);
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thre_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_out(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RCVR) {
			s->rx_head = s->rx_count = 0;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;		/* LSR and MSR are read-only */
	}
}

static void serial_bus_read(void *opaque, uint64_t off, void *data,
			    uint32_t len)
{
	struct serial *s = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	*(uint8_t *)data = serial_in(s, (unsigned int)off);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_bus_write(void *opaque, uint64_t off, const void *data,
			     uint32_t len)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	serial_out(s, (unsigned int)off, *(const uint8_t *)data);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

int serial_init(struct serial *s, int in_fd, int out_fd,
		void (*set_irq)(void *opaque, int level), void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	s->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->quit_fd < 0)
		return -errno;
	pthread_mutex_init(&s->lock, NULL);
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->mcr = 0x08;		/* OUT2 */
	return 0;
}

void serial_destroy(struct serial *s)
{
	serial_input_stop(s);
	if (s->quit_fd >= 0)
		close(s->quit_fd);
	s->quit_fd = -1;
	pthread_mutex_destroy(&s->lock);
}

unsigned int serial_receive(struct serial *s, const uint8_t *buf,
			    unsigned int len)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len && s->rx_count < SERIAL_FIFO_SIZE; i++)
		rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

static bool serial_quitting(struct serial *s)
{
	uint64_t v;

	return read(s->quit_fd, &v, sizeof(v)) == sizeof(v);
}

/* Wait until the FIFO is empty (the guest read it) or we are told to quit. */
static bool wait_for_room(struct serial *s)
{
	struct pollfd p = { .fd = s->quit_fd, .events = POLLIN };

	for (;;) {
		bool empty;

		pthread_mutex_lock(&s->lock);
		empty = !s->rx_count;
		pthread_mutex_unlock(&s->lock);
		if (empty)
			return true;
		if (poll(&p, 1, 10) > 0)
			return false;
	}
}

static bool feed(struct serial *s, const uint8_t *buf, unsigned int n)
{
	unsigned int off = 0;

	for (;;) {
		off += serial_receive(s, buf + off, n - off);
		if (off == n)
			return true;
		if (!wait_for_room(s))
			return false;
	}
}

static void *serial_input_thread(void *arg)
{
	struct serial *s = arg;
	struct pollfd p[2] = {
		{ .fd = s->in_fd, .events = POLLIN },
		{ .fd = s->quit_fd, .events = POLLIN },
	};
	uint8_t buf[SERIAL_FIFO_SIZE];

	for (;;) {
		ssize_t n;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		n = read(s->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;	/* end of input: the guest sees no more */
		if (!feed(s, buf, (unsigned int)n))
			break;
	}
	return NULL;
}

int serial_input_start(struct serial *s)
{
	int ret;

	if (s->in_fd < 0 || s->in_running)
		return 0;
	ret = thread_start(&s->in_thread, serial_input_thread, s);
	if (ret)
		return -ret;
	s->in_running = true;
	return 0;
}

void serial_input_stop(struct serial *s)
{
	uint64_t one = 1;

	if (!s->in_running)
		return;
	if (write(s->quit_fd, &one, sizeof(one)) < 0) {
		/* eventfd counter cannot overflow from one write */
	}
	pthread_join(s->in_thread, NULL);
	s->in_running = false;
	serial_quitting(s);
}
