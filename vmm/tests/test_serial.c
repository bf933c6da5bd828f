// SPDX-License-Identifier: MIT
/*
 * The 16550A as Linux's 8250 driver probes and drives it: scratch and IER
 * checks, FIFO identification, loopback, THRE and RX interrupts, output.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/thread.h"
#include "devices/serial.h"

static struct serial s;
static int pipefd[2];
static int irq_level, irq_edges;

static void set_irq(void *opaque, int level)
{
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static void setup(void)
{
	cr_assert_eq(pipe(pipefd), 0);
	irq_level = irq_edges = 0;
	cr_assert_eq(serial_init(&s, -1, pipefd[1], set_irq, NULL), 0);
}

static void teardown(void)
{
	serial_destroy(&s);
	close(pipefd[0]);
	close(pipefd[1]);
}

static uint8_t in(unsigned int reg)
{
	uint8_t v;

	serial_bus_ops.read(&s, reg, &v, 1);
	return v;
}

static void out(unsigned int reg, uint8_t v)
{
	serial_bus_ops.write(&s, reg, &v, 1);
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, probes_as_a_16550a)
{
	out(7, 0xa5);
	cr_assert_eq(in(7), 0xa5, "scratch register");
	out(1, 0x0f);
	cr_assert_eq(in(1), 0x0f, "IER keeps 4 bits");
	out(1, 0);
	out(2, 0x01);			/* enable FIFO */
	cr_assert_eq(in(2) & 0xc0, 0xc0, "FIFO bits: a 16550A");
	/* Loopback: RTS|OUT2 come back as CTS|DCD. */
	out(4, 0x10 | 0x0a);
	cr_assert_eq(in(6) & 0xf0, 0x90);
	out(4, 0x08);
	/* Divisor latch. */
	out(3, 0x80);
	out(0, 0x01);
	out(1, 0x00);
	cr_assert_eq(in(0), 0x01);
	out(3, 0x03);
	cr_assert_eq(in(5) & 0x60, 0x60, "transmitter empty");
}

Test(serial, output_reaches_the_fd)
{
	char buf[8] = { 0 };

	out(0, 'o');
	out(0, 'k');
	cr_assert_eq(read(pipefd[0], buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "ok");
}

Test(serial, loopback_keeps_output_in_the_uart)
{
	out(4, 0x10);
	out(0, 'x');
	cr_assert_eq(in(5) & 1, 1, "data ready");
	cr_assert_eq(in(0), 'x');
	cr_assert_eq(in(5) & 1, 0);
}

Test(serial, thre_interrupt_raised_and_cleared_by_iir_read)
{
	out(1, 0x02);			/* enable THRI with an empty THR */
	cr_assert_eq(irq_level, 1, "THRE interrupt when enabled");
	cr_assert_eq(in(2) & 0x0f, 0x02, "IIR says THRE");
	cr_assert_eq(irq_level, 0, "reading IIR clears it");
	cr_assert_eq(in(2) & 0x01, 0x01, "no interrupt pending");
	out(0, 'a');
	cr_assert_eq(irq_level, 1, "next THRE after a byte");
	cr_assert_eq(irq_edges, 2);
}

Test(serial, input_raises_rx_interrupt_until_drained)
{
	const uint8_t msg[] = "hi";
	uint8_t big[100];

	out(1, 0x01);
	cr_assert_eq(serial_receive(&s, msg, 2), 2);
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(in(2) & 0x0f, 0x04, "IIR says RX data");
	cr_assert_eq(in(0), 'h');
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(in(0), 'i');
	cr_assert_eq(irq_level, 0);
	memset(big, 'z', sizeof(big));
	cr_assert_eq(serial_receive(&s, big, sizeof(big)), SERIAL_FIFO_SIZE,
		     "the FIFO takes 64 bytes, the rest waits");
}

/* What a vCPU thread does when the guest prints: one byte to the UART. */
static void *vcpu_prints(void *arg)
{
	out(0, 'x');
	return arg;
}

Test(serial, a_closed_console_never_raises_sigpipe_in_the_program)
{
	pid_t pid;
	int st;

	/* The console's reader went away. */
	close(pipefd[0]);
	pipefd[0] = open("/dev/null", O_RDONLY);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		pthread_t t;

		/* An embedding program keeps the default: SIGPIPE kills. */
		signal(SIGPIPE, SIG_DFL);
		if (thread_start(&t, vcpu_prints, NULL))
			_exit(2);
		pthread_join(t, NULL);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_not(WIFSIGNALED(st), "the program died of signal %d",
		      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 0);
}
