// SPDX-License-Identifier: MIT
/* The serial console device (console.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/why.h"

#include "base/layout.h"
#include "devices/console.h"
#include "devices/serial.h"

struct console {
	struct serial uart;
	struct dev_irq irq;
	int in_fd;
	struct termios saved_tty;
	bool tty_raw;
};

static void console_set_irq(void *opaque, int level)
{
	struct console *c = opaque;

	dev_irq_set(&c->irq, level);
}

static void tty_raw(struct console *c)
{
	struct termios t;

	if (c->in_fd < 0 || !isatty(c->in_fd) ||
	    tcgetattr(c->in_fd, &c->saved_tty) < 0)
		return;
	t = c->saved_tty;
	cfmakeraw(&t);
	t.c_oflag |= OPOST | ONLCR;	/* keep host-side line endings sane */
	if (tcsetattr(c->in_fd, TCSANOW, &t) == 0)
		c->tty_raw = true;
}

static void tty_restore(struct console *c)
{
	if (!c->tty_raw)
		return;
	tcsetattr(c->in_fd, TCSANOW, &c->saved_tty);
	c->tty_raw = false;
}

static int console_wired(void *dev, const struct dev_wiring *w, char *why,
			 size_t whylen)
{
	struct console *c = dev;

	c->irq = w->irq;
	return 0;
}

static int console_start(void *dev, char *why, size_t whylen)
{
	struct console *c = dev;
	int ret;

	tty_raw(c);
	ret = serial_input_start(&c->uart);
	if (ret) {
		tty_restore(c);
		return why_fail(why, whylen, ret,
				"cannot start the console input thread: %s",
				strerror(-ret));
	}
	return 0;
}

static void console_stop(void *dev)
{
	struct console *c = dev;

	serial_input_stop(&c->uart);
	tty_restore(c);
}

static void console_destroy(void *dev)
{
	struct console *c = dev;

	tty_restore(c);
	serial_destroy(&c->uart);
	free(c);
}

static const struct dev_ops console_ops = {
	.wired = console_wired,
	.start = console_start,
	.stop = console_stop,
	.destroy = console_destroy,
};

int console_dev_create(const struct dev_services *svc,
		       const struct vmm_config *cfg, struct dev_desc *out,
		       char *why, size_t whylen)
{
	struct console *c;
	int ret;

	(void)svc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return why_fail(why, whylen, -ENOMEM, "out of memory");
	c->in_fd = cfg->console_in;
	ret = serial_init(&c->uart, cfg->console_in, cfg->console_out,
			  console_set_irq, c);
	if (ret) {
		free(c);
		return why_fail(why, whylen, ret, "UART: %s", strerror(-ret));
	}
	*out = (struct dev_desc){
		.name = "console",
		.dev = c,
		.ops = &console_ops,
		.nwindows = 1,
		.windows[0] = { DEV_BUS_PIO, PORT_COM1, 8, &serial_bus_ops,
				&c->uart },
		.irq = DEV_IRQ_LINE,
		.irq_gsi = IRQ_COM1,
	};
	return 0;
}
