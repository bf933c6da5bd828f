// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/why.h"
#include "common/x86.h"

#include "base/layout.h"
#include "core/kvm.h"

struct kvm_cap_need {
	int cap;
	const char *name;
};

static const struct kvm_cap_need needed_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
};

static int kvm_open_dev(struct kvm *kvm, char *why, size_t whylen)
{
	int ver;

	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		int err = errno;

		return why_fail(why, whylen, err == ENOENT ? -ENODEV : -err,
				"cannot open /dev/kvm: %s%s", strerror(err),
				err == ENOENT ?
				" (KVM is not available on this host)" : "");
	}
	ver = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return why_fail(why, whylen, -ENOSYS,
				"/dev/kvm has API version %d, need %d", ver,
				KVM_API_VERSION);
	return 0;
}

static int kvm_check_caps(struct kvm *kvm, char *why, size_t whylen)
{
	size_t i;
	int n;

	for (i = 0; i < sizeof(needed_caps) / sizeof(needed_caps[0]); i++) {
		if (ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION,
			  needed_caps[i].cap) <= 0)
			return why_fail(why, whylen, -ENOSYS, "KVM lacks %s",
					needed_caps[i].name);
	}
	n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	kvm->nr_slots = n > KVM_SLOTS_MAX ? KVM_SLOTS_MAX : (unsigned int)n;
	n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n <= 0)
		n = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = n > 0 ? (unsigned int)n : 1;
	n = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n < (int)sizeof(struct kvm_run))
		return why_fail(why, whylen, -ENOSYS,
				"KVM_GET_VCPU_MMAP_SIZE failed");
	kvm->run_size = (size_t)n;
	return 0;
}

static int kvm_get_cpuid(struct kvm *kvm, char *why, size_t whylen)
{
	int ret = x86_kvm_supported_cpuid(kvm->sys_fd, &kvm->cpuid);

	if (ret)
		return why_fail(why, whylen, ret, "KVM_GET_SUPPORTED_CPUID: %s",
				strerror(-ret));
	return 0;
}

static int vm_ioctl(struct kvm *kvm, unsigned long req, unsigned long arg,
		    const char *name, char *why, size_t whylen)
{
	if (ioctl(kvm->vm_fd, req, arg) < 0)
		return why_fail(why, whylen, -errno, "%s: %s", name,
				strerror(errno));
	return 0;
}

static int kvm_create_vm(struct kvm *kvm, char *why, size_t whylen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	int ret;

	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0)
		return why_fail(why, whylen, -errno, "KVM_CREATE_VM: %s",
				strerror(errno));
	ret = vm_ioctl(kvm, KVM_SET_IDENTITY_MAP_ADDR, (unsigned long)&idmap,
		       "KVM_SET_IDENTITY_MAP_ADDR", why, whylen);
	if (!ret)
		ret = vm_ioctl(kvm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR,
			       "KVM_SET_TSS_ADDR", why, whylen);
	if (!ret)
		ret = vm_ioctl(kvm, KVM_CREATE_IRQCHIP, 0,
			       "KVM_CREATE_IRQCHIP", why, whylen);
	if (!ret)
		ret = vm_ioctl(kvm, KVM_CREATE_PIT2, (unsigned long)&pit,
			       "KVM_CREATE_PIT2", why, whylen);
	return ret;
}

int kvm_init(struct kvm *kvm, char *why, size_t whylen)
{
	int ret;

	memset(kvm, 0, sizeof(*kvm));
	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
	pthread_mutex_init(&kvm->slot_lock, NULL);
	ret = kvm_open_dev(kvm, why, whylen);
	if (!ret)
		ret = kvm_check_caps(kvm, why, whylen);
	if (!ret)
		ret = kvm_get_cpuid(kvm, why, whylen);
	if (!ret)
		ret = kvm_create_vm(kvm, why, whylen);
	if (ret)
		kvm_exit(kvm);
	return ret;
}

void kvm_exit(struct kvm *kvm)
{
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->vm_fd = -1;
	kvm->sys_fd = -1;
	free(kvm->cpuid);
	kvm->cpuid = NULL;
	pthread_mutex_destroy(&kvm->slot_lock);
}

int kvm_slot_alloc(struct kvm *kvm, uint32_t *slot)
{
	unsigned int i;
	int ret = -ENOSPC;

	pthread_mutex_lock(&kvm->slot_lock);
	for (i = 0; i < kvm->nr_slots; i++) {
		if (!(kvm->slot_used[i / 64] & (1ULL << (i % 64)))) {
			kvm->slot_used[i / 64] |= 1ULL << (i % 64);
			*slot = i;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&kvm->slot_lock);
	return ret;
}

void kvm_slot_free(struct kvm *kvm, uint32_t slot)
{
	if (slot >= KVM_SLOTS_MAX)
		return;
	pthread_mutex_lock(&kvm->slot_lock);
	kvm->slot_used[slot / 64] &= ~(1ULL << (slot % 64));
	pthread_mutex_unlock(&kvm->slot_lock);
}

int kvm_set_memory(struct kvm *kvm, uint32_t slot, uint64_t gpa,
		   uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

unsigned int kvm_guest_phys_bits(const struct kvm *kvm)
{
	return x86_cpuid_phys_bits(kvm->cpuid);
}

int kvm_irq_line(struct kvm *kvm, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int kvm_irqfd(struct kvm *kvm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irq = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(kvm->vm_fd, KVM_IRQFD, &irq) < 0)
		return -errno;
	return 0;
}

int kvm_ioeventfd(struct kvm *kvm, uint64_t addr, uint32_t len,
		  uint64_t datamatch, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}
