// SPDX-License-Identifier: MIT
/* virtio-mmio register emulation, driven the way Linux's virtio_mmio driver drives it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio_mmio.h"

struct fake_dev {
	int driver_ok_calls;
	int driver_ok_ret;
	int reset_calls;
	int interrupts;
	int notified;
	uint8_t config[16];
	struct virtio_mmio_queue seen[2];
};

static void cfg_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
	memcpy(buf, ((struct fake_dev *)dev)->config + off, len);
}

static void cfg_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
	memcpy(((struct fake_dev *)dev)->config + off, buf, len);
}

static int drv_ok(void *dev, struct virtio_mmio *t)
{
	struct fake_dev *d = dev;

	d->driver_ok_calls++;
	memcpy(d->seen, t->queues, sizeof(d->seen));
	return d->driver_ok_ret;
}

static void dev_reset(void *dev, struct virtio_mmio *t)
{
	((struct fake_dev *)dev)->reset_calls++;
}

static void notify(void *dev, uint32_t q)
{
	((struct fake_dev *)dev)->notified = (int)q + 100;
}

static void irq(void *dev)
{
	((struct fake_dev *)dev)->interrupts++;
}

static const struct virtio_mmio_ops ops = {
	.config_read = cfg_read, .config_write = cfg_write,
	.driver_ok = drv_ok, .reset = dev_reset,
	.queue_notify = notify, .interrupt = irq,
};

static struct virtio_mmio t;
static struct fake_dev dev;

static void setup(void)
{
	struct virtio_mmio_config cfg = {
		.device_id = 26, .device_features = 1ULL << 0, .nqueues = 2,
		.queue_size_max = 256, .config_size = sizeof(dev.config),
		.ops = &ops, .dev = &dev,
	};

	memset(&dev, 0, sizeof(dev));
	cr_assert_eq(virtio_mmio_init(&t, &cfg), 0);
}

static void teardown(void)
{
	virtio_mmio_destroy(&t);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(&t, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&t, off, &v, 4);
}

/* The sequence of Linux's vm_probe/vm_finalize_features/vm_setup_vq. */
static void drive_to_driver_ok(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);	/* VERSION_1 */
	wr(VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK,
		     VIRTIO_CONFIG_S_FEATURES_OK);
	for (uint32_t q = 0; q < 2; q++) {
		wr(VIRTIO_MMIO_QUEUE_SEL, q);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
		wr(VIRTIO_MMIO_QUEUE_NUM, 128);
		wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000 * (q + 1));
		wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 1);
		wr(VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x2000 * (q + 1));
		wr(VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		wr(VIRTIO_MMIO_QUEUE_USED_LOW, 0x3000 * (q + 1));
		wr(VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(VIRTIO_MMIO_STATUS, 0xf);
}

TestSuite(virtio_mmio, .init = setup, .fini = teardown);

Test(virtio_mmio, identifies_as_modern_device)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 26);
	cr_assert_neq(rd(VIRTIO_MMIO_VENDOR_ID), 0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1, "VERSION_1 must be offered");
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, driver_ok_starts_device_with_guest_queue_addresses)
{
	drive_to_driver_ok();
	cr_assert_eq(dev.driver_ok_calls, 1);
	cr_assert_eq(dev.seen[1].num, 128);
	cr_assert_eq(dev.seen[1].desc, 0x100002000ULL);
	cr_assert_eq(dev.seen[1].avail, 0x4000);
	cr_assert_eq(dev.seen[1].used, 0x6000);
	cr_assert(dev.seen[0].ready && dev.seen[1].ready);
	cr_assert_eq(t.driver_features, (1ULL << 32) | 1);
	/* Used-ring interrupts arrive by irqfd: the VRING bit reads as set. */
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
		     VIRTIO_MMIO_INT_VRING);
	/* Writing DRIVER_OK again does not start the device twice. */
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(dev.driver_ok_calls, 1);
}

Test(virtio_mmio, failed_start_sets_needs_reset_and_interrupts)
{
	dev.driver_ok_ret = -5;
	drive_to_driver_ok();
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(dev.interrupts, 1);
}

Test(virtio_mmio, reset_stops_device_and_clears_state)
{
	drive_to_driver_ok();
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(dev.reset_calls, 2, "reset at probe and now");
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	cr_assert_eq(t.queues[1].desc, 0);
	cr_assert_eq(t.driver_features, 0);
}

Test(virtio_mmio, features_not_offered_are_refused)
{
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1 | (1 << 5));	/* bit 5 not offered */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
}

Test(virtio_mmio, version_1_is_required)
{
	wr(VIRTIO_MMIO_STATUS, 3);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(dev.driver_ok_calls, 0, "no start without FEATURES_OK");
}

/* The device has queues 0 and 1: index 2 is the first that does not exist. */
Test(virtio_mmio, queue_index_equal_to_the_count_is_out_of_range)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 64);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(t.queues[2].num, 0);
	cr_assert_eq(t.queues[2].ready, 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	cr_assert_eq(dev.notified, 0, "a notify for queue 2 reached the device");
}

/* Once FEATURES_OK is set, the driver's feature writes are ignored. */
Test(virtio_mmio, features_frozen_after_features_ok)
{
	drive_to_driver_ok();
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	cr_assert_eq(t.driver_features, (1ULL << 32) | 1);
}

/* DRIVER_OK cleared and set again (no reset between) does not restart. */
Test(virtio_mmio, driver_ok_set_again_does_not_restart)
{
	drive_to_driver_ok();
	wr(VIRTIO_MMIO_STATUS, 0xb);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(dev.driver_ok_calls, 1);
}

Test(virtio_mmio, queue_registers_frozen_while_ready_and_sizes_checked)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 100);		/* not a power of two */
	cr_assert_eq(t.queues[0].num, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 512);		/* above the maximum */
	cr_assert_eq(t.queues[0].num, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 64);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x9000);
	cr_assert_eq(t.queues[0].desc, 0x5000);
	wr(VIRTIO_MMIO_QUEUE_SEL, 7);		/* no such queue */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, shared_memory_registers)
{
	cr_assert_eq(virtio_mmio_add_shm(&t, 1, 0x2000000000ULL, 0x40000000ULL), 0);
	cr_assert_eq(virtio_mmio_add_shm(&t, 1, 0, 4096), -EEXIST);
	wr(VIRTIO_MMIO_SHM_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0x40000000U);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_BASE_LOW), 0);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_BASE_HIGH), 0x20);
	wr(VIRTIO_MMIO_SHM_SEL, 0);		/* absent: length all ones */
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffU);
	cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffU);
}

Test(virtio_mmio, config_space_routed_to_device_within_bounds)
{
	uint8_t b = 0x5a, out = 0;
	uint32_t w = 0xdeadbeef, r = 0;

	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 3, &b, 1);
	cr_assert_eq(dev.config[3], 0x5a);
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 3, &out, 1);
	cr_assert_eq(out, 0x5a);
	virtio_mmio_write(&t, VIRTIO_MMIO_CONFIG + 14, &w, 4);	/* crosses the end */
	cr_assert_eq(dev.config[14], 0);
	r = 1;
	virtio_mmio_read(&t, VIRTIO_MMIO_CONFIG + 14, &r, 4);
	cr_assert_eq(r, 0);
}

Test(virtio_mmio, config_change_bumps_generation_and_interrupts)
{
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);

	virtio_mmio_signal_config(&t);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(dev.interrupts, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio, unaligned_or_narrow_register_access_is_ignored)
{
	uint16_t h = 0xffff;
	uint32_t v = 0xffffffff;

	virtio_mmio_read(&t, VIRTIO_MMIO_MAGIC_VALUE, &h, 2);
	cr_assert_eq(h, 0);
	virtio_mmio_write(&t, VIRTIO_MMIO_STATUS + 1, &v, 4);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(virtio_mmio, notify_without_ioeventfd_reaches_device)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(dev.notified, 101);
	dev.notified = 0;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 9);	/* no such queue */
	cr_assert_eq(dev.notified, 0);
}

/* A back-end thread posts without the lock; the guest sees it at once. */
Test(virtio_mmio, posted_needs_reset_reaches_a_started_driver)
{
	uint32_t gen;

	drive_to_driver_ok();
	gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_mmio_post(&t, VIRTIO_MMIO_EV_NEEDS_RESET);
	cr_assert_eq(dev.interrupts, 1, "interrupt raised by the poster");
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS),
		     VIRTIO_MMIO_INT_CONFIG | VIRTIO_MMIO_INT_VRING);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	/* The driver resets: the device is clean again. */
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(dev.reset_calls, 2);
}

Test(virtio_mmio, posted_needs_reset_ignored_before_the_driver_starts)
{
	virtio_mmio_post(&t, VIRTIO_MMIO_EV_NEEDS_RESET);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0, "nothing to reset yet");
}

Test(virtio_mmio, posted_config_change_bumps_generation)
{
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);

	virtio_mmio_post(&t, VIRTIO_MMIO_EV_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
