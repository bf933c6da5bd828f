// SPDX-License-Identifier: MIT
/*
 * The guest: one vCPU in 64-bit mode, set up directly (GDT, 4-level page
 * tables with 2 MiB pages, CPUID from KVM), whose code loads one byte from
 * TEST_GPA, writes it to an I/O port and jumps back.  Each KVM_RUN is one
 * first access to whatever is mapped at TEST_GPA, ended by the port exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/x86.h"

#include "mapcost.h"

/* Guest RAM layout (guest physical = guest virtual, identity mapped). */
#define RAM_SIZE	(2 * MiB)
#define GDT_ADDR	0x1000ULL
#define PML4_ADDR	0x2000ULL
#define PDPT_ADDR	0x3000ULL
#define PD_RAM_ADDR	0x4000ULL
#define PD_TEST_ADDR	0x5000ULL
#define CODE_ADDR	0x8000ULL
#define TEST_PORT	0x3f0


/* Fill bytes of the two files; iteration i maps file i % 2. */
const uint8_t file_byte[2] = { 0xa1, 0xb2 };

/*
 *   mov rbx, TEST_GPA
 *   mov dx, TEST_PORT
 * 1: mov al, [rbx]        ; the first access to the new mapping
 *   out dx, al            ; exit to the host with the byte read
 *   jmp 1b
 */
static const uint8_t guest_code[] = {
	0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0,	/* imm64 patched in */
	0x66, 0xba, TEST_PORT & 0xff, TEST_PORT >> 8,
	0x8a, 0x03,
	0xee,
	0xeb, 0xfb,
};

/* ---- host: /dev/kvm, CPUID, the files ---------------------------------- */

static int host_make_file(struct host *h, int i)
{
	void *p;

	h->file[i] = memfd_create(i ? "mapcost-b" : "mapcost-a", MFD_CLOEXEC);
	if (h->file[i] < 0)
		return -errno;
	if (ftruncate(h->file[i], (off_t)h->file_size) < 0)
		return -errno;
	/* Fill it, so no iteration pays for allocating the file's pages. */
	p = mmap(NULL, h->file_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 h->file[i], 0);
	if (p == MAP_FAILED)
		return -errno;
	memset(p, file_byte[i], h->file_size);
	munmap(p, h->file_size);
	return 0;
}

int host_open(struct host *h, uint64_t file_size)
{
	int n, ret, i;

	h->file_size = file_size;
	h->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (h->kvm_fd < 0) {
		ret = -errno;
		fprintf(stderr, "bench-mapcost: cannot open /dev/kvm: %s\n",
			strerror(-ret));
		return ret;
	}
	if (ioctl(h->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "bench-mapcost: /dev/kvm: unexpected API version\n");
		return -ENOSYS;
	}
	n = ioctl(h->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (n < SLOT_LIVE0 + 1) {
		fprintf(stderr, "bench-mapcost: KVM_CAP_NR_MEMSLOTS is %d\n", n);
		return -ENOSYS;
	}
	h->nr_slots = (unsigned int)n;
	n = ioctl(h->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "bench-mapcost: KVM_GET_VCPU_MMAP_SIZE failed\n");
		return -ENOSYS;
	}
	h->run_size = (size_t)n;
	ret = x86_kvm_supported_cpuid(h->kvm_fd, &h->cpuid);
	if (ret) {
		fprintf(stderr, "bench-mapcost: KVM_GET_SUPPORTED_CPUID: %s\n",
			strerror(-ret));
		return ret;
	}
	h->phys_bits = x86_cpuid_phys_bits(h->cpuid);
	for (i = 0; i < 2; i++) {
		ret = host_make_file(h, i);
		if (ret) {
			fprintf(stderr, "bench-mapcost: memfd: %s\n", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void host_close(struct host *h)
{
	int i;

	for (i = 0; i < 2; i++)
		if (h->file[i] >= 0)
			close(h->file[i]);
	if (h->kvm_fd >= 0)
		close(h->kvm_fd);
	free(h->cpuid);
}

/* ---- a VM with one vCPU in 64-bit mode ---------------------------------- */

int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

static void vm_write_guest(struct vm *vm)
{
	const uint64_t pte = X86_PTE_P | X86_PTE_RW;
	uint8_t *ram = vm->ram;

	memcpy(ram + GDT_ADDR, x86_flat_gdt, sizeof(x86_flat_gdt));
	x86_put64(ram + PML4_ADDR, PDPT_ADDR | pte);
	/* 2 MiB pages: guest RAM at 0, the timed mapping at TEST_GPA. */
	x86_put64(ram + PDPT_ADDR, PD_RAM_ADDR | pte);
	x86_put64(ram + PDPT_ADDR + 8 * ((TEST_GPA >> 30) & 511),
		  PD_TEST_ADDR | pte);
	x86_put64(ram + PD_RAM_ADDR, 0 | pte | X86_PTE_PS);
	x86_put64(ram + PD_TEST_ADDR + 8 * ((TEST_GPA >> 21) & 511),
		  TEST_GPA | pte | X86_PTE_PS);
	memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
	x86_put64(ram + CODE_ADDR + 2, TEST_GPA);
}

static int vm_setup_vcpu(struct vm *vm, const struct host *h)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, h->cpuid) < 0)
		return -errno;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	x86_long_mode_sregs(&sregs, GDT_ADDR, PML4_ADDR);
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = CODE_ADDR;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->ram)
		munmap(vm->ram, RAM_SIZE);
	vm->run = NULL;
	vm->ram = NULL;
	vm->fd = vm->vcpu_fd = -1;
}

int vm_create(struct vm *vm, const struct host *h)
{
	const char *step;
	void *p;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->fd = vm->vcpu_fd = -1;
	step = "KVM_CREATE_VM";
	vm->fd = ioctl(h->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		goto err_errno;
	step = "guest RAM";
	p = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	vm->ram = p;
	vm_write_guest(vm);
	step = "KVM_SET_USER_MEMORY_REGION (guest RAM)";
	ret = vm_set_slot(vm, SLOT_RAM, 0, RAM_SIZE, vm->ram);
	if (ret)
		goto err;
	step = "KVM_CREATE_VCPU";
	vm->vcpu_fd = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		goto err_errno;
	step = "mmap of kvm_run";
	p = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vm->vcpu_fd, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	vm->run = p;
	vm->run_size = h->run_size;
	step = "vCPU set-up (CPUID, registers)";
	ret = vm_setup_vcpu(vm, h);
	if (ret)
		goto err;
	return 0;
err_errno:
	ret = -errno;
err:
	fprintf(stderr, "bench-mapcost: %s: %s\n", step, strerror(-ret));
	vm_destroy(vm);
	return ret;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO (no memory at the address)";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	default: return "another exit";
	}
}

/*
 * Let the guest load one byte from TEST_GPA and report it on TEST_PORT;
 * it must be @expect, the byte of the file just mapped there.
 */
int vm_touch(struct vm *vm, uint8_t expect)
{
	const struct kvm_run *run = vm->run;
	uint8_t got;

	if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
		int err = errno;

		fprintf(stderr, "bench-mapcost: KVM_RUN: %s\n", strerror(err));
		return -err;
	}
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.port != TEST_PORT ||
	    run->io.size != 1) {
		fprintf(stderr, "bench-mapcost: guest stopped with %s (%u), not its port write\n",
			exit_name(run->exit_reason), run->exit_reason);
		return -EPROTO;
	}
	got = *((const uint8_t *)run + run->io.data_offset);
	if (got != expect) {
		fprintf(stderr, "bench-mapcost: guest read 0x%02x at the new mapping, expected 0x%02x\n",
			got, expect);
		return -EPROTO;
	}
	return 0;
}

