// SPDX-License-Identifier: MIT
/*
 * bench-mapcost: benchmark 4, mapping cost under KVM (docs/benchmarks.md).
 *
 * Usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000]
 *                      [--iters N] [--warmup N] [--mode ours|memslot|both]
 *
 * One iteration = map a file page range at a fixed guest physical address,
 * KVM_RUN a vCPU whose guest code loads one byte from that address (its
 * first access: a nested page fault that KVM resolves) and writes it to an
 * I/O port (the exit that ends KVM_RUN), then unmap.  Two designs:
 *
 *   ours     one shmem region, registered once as one memslot; map and
 *            unmap are shmem_map() and shmem_unmap(), which never touch
 *            memslots.
 *   memslot  one memslot per mapping, as QEMU's patch series did: mmap()
 *            of the file plus KVM_SET_USER_MEMORY_REGION to add a slot;
 *            delete the slot and munmap() to unmap.
 *
 * Each design has its own VM with N live mappings of the same size next
 * to the timed one; the two designs run alternately, iteration by
 * iteration, so load on the machine hits both alike.  Prints Markdown
 * tables (times in microseconds) and exits 0 when every cell was measured
 * or failed only because the memslot design ran out of slots.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <shmem/shmem.h>

#define KiB		((uint64_t)1024)
#define MiB		(1024 * KiB)
#define GiB		(1024 * MiB)

/* Guest RAM layout (guest physical = guest virtual, identity mapped). */
#define RAM_SIZE	(2 * MiB)
#define GDT_ADDR	0x1000ULL
#define PML4_ADDR	0x2000ULL
#define PDPT_ADDR	0x3000ULL
#define PD_RAM_ADDR	0x4000ULL
#define PD_TEST_ADDR	0x5000ULL
#define CODE_ADDR	0x8000ULL
/* The mapping being timed lives here; live mappings follow it. */
#define TEST_GPA	(4 * GiB)
#define TEST_PORT	0x3f0

#define SLOT_RAM	0
#define SLOT_TEST	1	/* memslot design; ours uses it for the region */
#define SLOT_LIVE0	2	/* memslot design: first live mapping */

#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define MAX_SIZES	8
#define MAX_LIVE	16
#define MAX_ROWS	(MAX_SIZES * (MAX_LIVE + 1))

/* Fill bytes of the two files; iteration i maps file i % 2. */
static const uint8_t file_byte[2] = { 0xa1, 0xb2 };

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

struct opts {
	uint64_t sizes[MAX_SIZES];
	unsigned int nsizes;
	uint64_t live[MAX_LIVE];
	unsigned int nlive;
	unsigned int iters;
	unsigned int warmup;
	bool ours;
	bool memslot;
};

/* What every VM of the run shares. */
struct host {
	int kvm_fd;
	size_t run_size;
	unsigned int nr_slots;
	unsigned int phys_bits;
	struct kvm_cpuid2 *cpuid;
	int file[2];		/* memfds, filled with file_byte[] */
	uint64_t file_size;
};

struct vm {
	int fd;
	int vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;
};

struct ours {
	struct vm vm;
	struct shmem_region *region;
	uint64_t size;
	uint64_t live;
};

struct memslot {
	struct vm vm;
	uint64_t size;
	uint64_t live;
	void **hva;		/* live mappings, hva[i] in slot SLOT_LIVE0 + i */
	uint64_t cap;
	bool full;		/* a live mapping could not be added */
	bool at_limit;		/* ... because KVM has no more slot ids */
	char why[160];		/* why not */
};

/* Per-phase samples of one design in one cell, in microseconds. */
enum { PH_MAP, PH_RUN, PH_UNMAP, PH_TOTAL, NPHASES };

struct samples {
	double *v[NPHASES];
	unsigned int n;
};

struct stat_row {
	uint64_t size;
	uint64_t live;
	bool ours_ok;
	bool memslot_ok;
	double ours_p[NPHASES][2];	/* [phase][0 = p50, 1 = p99] */
	double memslot_p[NPHASES][2];
	char memslot_why[48];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));	/* x86: little-endian */
}

static const char *size_name(uint64_t size, char *buf, size_t len)
{
	if (size >= MiB && !(size % MiB))
		snprintf(buf, len, "%" PRIu64 " MiB", size / MiB);
	else
		snprintf(buf, len, "%" PRIu64 " KiB", size / KiB);
	return buf;
}

/* ---- host: /dev/kvm, CPUID, the files ---------------------------------- */

static int host_get_cpuid(struct host *h)
{
	unsigned int n;

	for (n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(h->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			h->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			fprintf(stderr, "bench-mapcost: KVM_GET_SUPPORTED_CPUID: %s\n",
				strerror(errno));
			return -errno;
		}
	}
	fprintf(stderr, "bench-mapcost: KVM_GET_SUPPORTED_CPUID: too many entries\n");
	return -E2BIG;
}

/* Physical address bits the vCPU will see (CPUID 0x80000008 EAX[7:0]). */
static unsigned int host_phys_bits(const struct host *h)
{
	unsigned int i;

	for (i = 0; i < h->cpuid->nent; i++)
		if (h->cpuid->entries[i].function == 0x80000008)
			return h->cpuid->entries[i].eax & 0xff;
	return 36;
}

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

static int host_open(struct host *h, uint64_t file_size)
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
	ret = host_get_cpuid(h);
	if (ret)
		return ret;
	h->phys_bits = host_phys_bits(h);
	for (i = 0; i < 2; i++) {
		ret = host_make_file(h, i);
		if (ret) {
			fprintf(stderr, "bench-mapcost: memfd: %s\n", strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void host_close(struct host *h)
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

static int vm_set_slot(struct vm *vm, uint32_t slot, uint64_t gpa,
		       uint64_t size, void *hva)
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
	static const uint64_t gdt[] = {
		0, 0,
		0x00af9b000000ffffULL,	/* 0x10: 64-bit code */
		0x00cf93000000ffffULL,	/* 0x18: data */
	};
	uint8_t *ram = vm->ram;

	memcpy(ram + GDT_ADDR, gdt, sizeof(gdt));
	put64(ram + PML4_ADDR, PDPT_ADDR | PTE_P | PTE_RW);
	/* 2 MiB pages: guest RAM at 0, the timed mapping at TEST_GPA. */
	put64(ram + PDPT_ADDR, PD_RAM_ADDR | PTE_P | PTE_RW);
	put64(ram + PDPT_ADDR + 8 * ((TEST_GPA >> 30) & 511),
	      PD_TEST_ADDR | PTE_P | PTE_RW);
	put64(ram + PD_RAM_ADDR, 0 | PTE_P | PTE_RW | PTE_PS);
	put64(ram + PD_TEST_ADDR + 8 * ((TEST_GPA >> 21) & 511),
	      TEST_GPA | PTE_P | PTE_RW | PTE_PS);
	memcpy(ram + CODE_ADDR, guest_code, sizeof(guest_code));
	put64(ram + CODE_ADDR + 2, TEST_GPA);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			 bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int vm_setup_vcpu(struct vm *vm, const struct host *h)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, h->cpuid) < 0)
		return -errno;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, 0x10, 0xb, true);
	flat_segment(&sregs.ds, 0x18, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = CODE_ADDR;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static void vm_destroy(struct vm *vm)
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

static int vm_create(struct vm *vm, const struct host *h)
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
static int vm_touch(struct vm *vm, uint8_t expect)
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

/* ---- ours: one region, one memslot -------------------------------------- */

static int ours_slot_add(void *hv, uint64_t gpa, void *hva, uint64_t size,
			 uint32_t *slot)
{
	int ret = vm_set_slot(hv, SLOT_TEST, gpa, size, hva);

	if (!ret)
		*slot = SLOT_TEST;
	return ret;
}

static int ours_slot_remove(void *hv, uint32_t slot)
{
	return vm_set_slot(hv, slot, 0, 0, NULL);
}

static const struct shmem_hv_ops ours_hv_ops = {
	.slot_add = ours_slot_add,
	.slot_remove = ours_slot_remove,
};

static void ours_destroy(struct ours *o)
{
	shmem_region_destroy(o->region);
	o->region = NULL;
	vm_destroy(&o->vm);
}

/* A region for the timed mapping (offset 0) and @max_live behind it. */
static int ours_create(struct ours *o, const struct host *h, uint64_t size,
		       uint64_t max_live)
{
	struct shmem_region_config cfg = {
		.size = (max_live + 1) * size,
		.align = 2 * MiB,
		.gpa = TEST_GPA,
		.name = "mapcost",
		.hv_ops = &ours_hv_ops,
	};
	int ret;

	memset(o, 0, sizeof(*o));
	o->size = size;
	ret = vm_create(&o->vm, h);
	if (ret)
		return ret;
	cfg.hv = &o->vm;
	ret = shmem_region_create(&cfg, &o->region);
	if (ret) {
		fprintf(stderr, "bench-mapcost: shmem_region_create (%" PRIu64 " bytes): %s\n",
			cfg.size, strerror(-ret));
		vm_destroy(&o->vm);
	}
	return ret;
}

static int ours_grow(struct ours *o, const struct host *h, uint64_t live)
{
	int ret;

	for (; o->live < live; o->live++) {
		ret = shmem_map(o->region, (o->live + 1) * o->size, o->size,
				h->file[0], 0, SHMEM_MAP_RW, 1);
		if (ret) {
			fprintf(stderr, "bench-mapcost: ours: live mapping %" PRIu64 ": shmem_map: %s\n",
				o->live + 1, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int ours_iter(struct ours *o, const struct host *h, unsigned int i,
		     uint64_t t[4])
{
	int ret, ret2;

	t[0] = now_ns();
	ret = shmem_map(o->region, 0, o->size, h->file[i & 1], 0,
			SHMEM_MAP_RW, 2);
	t[1] = now_ns();
	if (ret) {
		fprintf(stderr, "bench-mapcost: ours: shmem_map: %s\n", strerror(-ret));
		return ret;
	}
	ret = vm_touch(&o->vm, file_byte[i & 1]);
	t[2] = now_ns();
	ret2 = shmem_unmap(o->region, 0, o->size);
	t[3] = now_ns();
	if (ret2)
		fprintf(stderr, "bench-mapcost: ours: shmem_unmap: %s\n", strerror(-ret2));
	return ret ? ret : ret2;
}

/* ---- memslot: one memslot per mapping ----------------------------------- */

static void memslot_destroy(struct memslot *m)
{
	uint64_t i;

	vm_destroy(&m->vm);	/* drops every slot */
	for (i = 0; i < m->live; i++)
		munmap(m->hva[i], m->size);
	free(m->hva);
	m->hva = NULL;
	m->live = 0;
}

static int memslot_create(struct memslot *m, const struct host *h,
			  uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	return vm_create(&m->vm, h);
}

/* mmap() the file and give it its own slot. */
static int memslot_add(struct memslot *m, int fd, uint32_t slot, uint64_t gpa,
		       void **hva, const char **step)
{
	void *p;
	int ret;

	*step = "mmap";
	p = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*step = "KVM_SET_USER_MEMORY_REGION";
	ret = vm_set_slot(&m->vm, slot, gpa, m->size, p);
	if (ret) {
		munmap(p, m->size);
		return ret;
	}
	*hva = p;
	return 0;
}

static int memslot_del(struct memslot *m, uint32_t slot, void *hva)
{
	int ret = vm_set_slot(&m->vm, slot, 0, 0, NULL);

	if (ret)
		return ret;	/* the slot still points at it: keep it mapped */
	if (munmap(hva, m->size) < 0)
		return -errno;
	return 0;
}

/*
 * Add live mappings up to @live.  Running out of slots is a result, not
 * an error: it sets m->full and m->why and returns 0.
 */
static int memslot_grow(struct memslot *m, const struct host *h, uint64_t live)
{
	const char *step;
	void **p;
	int ret;

	if (m->full)
		return 0;
	if (m->cap < live) {
		p = realloc(m->hva, live * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->hva = p;
		m->cap = live;
	}
	for (; m->live < live; m->live++) {
		uint64_t slot = SLOT_LIVE0 + m->live;

		ret = memslot_add(m, h->file[0], (uint32_t)slot,
				  TEST_GPA + (m->live + 1) * m->size,
				  &m->hva[m->live], &step);
		if (ret) {
			m->full = true;
			m->at_limit = ret == -EINVAL && slot >= h->nr_slots &&
				      !strcmp(step, "KVM_SET_USER_MEMORY_REGION");
			snprintf(m->why, sizeof(m->why),
				 "live mapping %" PRIu64 " (slot %" PRIu64 "): %s: %s",
				 m->live + 1, slot, step, strerror(-ret));
			return 0;
		}
	}
	return 0;
}

static int memslot_iter(struct memslot *m, const struct host *h,
			unsigned int i, uint64_t t[4])
{
	const char *step;
	void *hva;
	int ret, ret2;

	t[0] = now_ns();
	ret = memslot_add(m, h->file[i & 1], SLOT_TEST, TEST_GPA, &hva, &step);
	t[1] = now_ns();
	if (ret) {
		fprintf(stderr, "bench-mapcost: memslot: %s: %s\n", step, strerror(-ret));
		return ret;
	}
	ret = vm_touch(&m->vm, file_byte[i & 1]);
	t[2] = now_ns();
	ret2 = memslot_del(m, SLOT_TEST, hva);
	t[3] = now_ns();
	if (ret2)
		fprintf(stderr, "bench-mapcost: memslot: unmap: %s\n", strerror(-ret2));
	return ret ? ret : ret2;
}

/* ---- statistics --------------------------------------------------------- */

static int samples_init(struct samples *s, unsigned int n)
{
	int p;

	memset(s, 0, sizeof(*s));
	for (p = 0; p < NPHASES; p++) {
		s->v[p] = calloc(n, sizeof(double));
		if (!s->v[p])
			return -ENOMEM;
	}
	return 0;
}

static void samples_free(struct samples *s)
{
	int p;

	for (p = 0; p < NPHASES; p++)
		free(s->v[p]);
}

static void samples_add(struct samples *s, const uint64_t t[4])
{
	s->v[PH_MAP][s->n] = (double)(t[1] - t[0]) / 1e3;
	s->v[PH_RUN][s->n] = (double)(t[2] - t[1]) / 1e3;
	s->v[PH_UNMAP][s->n] = (double)(t[3] - t[2]) / 1e3;
	s->v[PH_TOTAL][s->n] = (double)(t[3] - t[0]) / 1e3;
	s->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles p50 and p99 of each phase. */
static void samples_summary(struct samples *s, double out[NPHASES][2])
{
	size_t r50, r99;
	int p;

	r50 = (s->n * 50 + 99) / 100;
	r99 = (s->n * 99 + 99) / 100;
	for (p = 0; p < NPHASES; p++) {
		qsort(s->v[p], s->n, sizeof(double), cmp_double);
		out[p][0] = s->v[p][r50 ? r50 - 1 : 0];
		out[p][1] = s->v[p][r99 ? r99 - 1 : 0];
	}
}

/* ---- one cell: both designs at one size and live count ------------------ */

static int run_cell(struct ours *o, struct memslot *m, const struct host *h,
		    const struct opts *op, struct stat_row *row)
{
	bool do_m = m && !m->full && m->live == row->live;
	unsigned int i, k, total = op->warmup + op->iters;
	struct samples so, sm;
	uint64_t t[4];
	int ret;

	ret = samples_init(&so, op->iters);
	if (!ret)
		ret = samples_init(&sm, op->iters);
	for (i = 0; !ret && i < total; i++) {
		bool keep = i >= op->warmup;

		/* Odd iterations start with the memslot design. */
		for (k = 0; !ret && k < 2; k++) {
			bool mem = (k == 0) == (i & 1);

			if (mem && do_m) {
				ret = memslot_iter(m, h, i, t);
				if (!ret && keep)
					samples_add(&sm, t);
			} else if (!mem && o) {
				ret = ours_iter(o, h, i, t);
				if (!ret && keep)
					samples_add(&so, t);
			}
		}
	}
	if (!ret && o) {
		samples_summary(&so, row->ours_p);
		row->ours_ok = true;
	}
	if (!ret && do_m) {
		samples_summary(&sm, row->memslot_p);
		row->memslot_ok = true;
	}
	if (m && !do_m)
		snprintf(row->memslot_why, sizeof(row->memslot_why), "%s",
			 m->at_limit ? "fails (slot limit)" : "fails");
	samples_free(&so);
	samples_free(&sm);
	return ret;
}

/* The live counts of one size: the asked ones, plus the memslot design's
 * largest when an asked count is beyond it. */
static unsigned int live_counts(const struct opts *op, const struct host *h,
				uint64_t *out)
{
	uint64_t mmax = h->nr_slots - SLOT_LIVE0;
	unsigned int i, n = 0;
	bool added = !op->memslot;

	for (i = 0; i < op->nlive; i++) {
		if (!added && op->live[i] > mmax) {
			if (!n || out[n - 1] != mmax)
				out[n++] = mmax;
			added = true;
		}
		out[n++] = op->live[i];
	}
	return n;
}

static int run_size(const struct host *h, const struct opts *op, uint64_t size,
		    struct stat_row *rows, unsigned int *nrows, char *mwhy,
		    size_t mwhylen)
{
	uint64_t counts[MAX_LIVE + 1];
	unsigned int i, n = live_counts(op, h, counts);
	struct ours o = { .vm = { .fd = -1, .vcpu_fd = -1 } };
	struct memslot m = { .vm = { .fd = -1, .vcpu_fd = -1 } };
	int ret = 0;

	if (op->ours)
		ret = ours_create(&o, h, size, counts[n - 1]);
	if (!ret && op->memslot)
		ret = memslot_create(&m, h, size);
	for (i = 0; !ret && i < n; i++) {
		struct stat_row *row = &rows[(*nrows)++];

		memset(row, 0, sizeof(*row));
		row->size = size;
		row->live = counts[i];
		if (op->ours)
			ret = ours_grow(&o, h, counts[i]);
		if (!ret && op->memslot)
			ret = memslot_grow(&m, h, counts[i]);
		if (!ret)
			ret = run_cell(op->ours ? &o : NULL,
				       op->memslot ? &m : NULL, h, op, row);
	}
	if (m.full)
		snprintf(mwhy, mwhylen, "%s", m.why);
	if (op->ours)
		ours_destroy(&o);
	if (op->memslot)
		memslot_destroy(&m);
	return ret;
}

/* ---- output ------------------------------------------------------------- */

static void print_cell(bool ok, const char *why, double p50, double p99)
{
	if (ok)
		printf(" %.2f | %.2f |", p50, p99);
	else
		printf(" %s | |", why && *why ? why : "-");
}

static void print_ratio(bool ok, double a, double b)
{
	if (ok && b > 0)
		printf(" %.2fx |", a / b);
	else
		printf(" |");
}

static void print_main_table(const struct stat_row *rows, unsigned int n)
{
	unsigned int i;
	char sz[32];

	printf("| size | live | ours p50 | ours p99 | memslot p50 | memslot p99 | p50 memslot/ours | p99 memslot/ours |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct stat_row *r = &rows[i];
		bool both = r->ours_ok && r->memslot_ok;

		printf("| %s | %" PRIu64 " |", size_name(r->size, sz, sizeof(sz)),
		       r->live);
		print_cell(r->ours_ok, "-", r->ours_p[PH_TOTAL][0],
			   r->ours_p[PH_TOTAL][1]);
		print_cell(r->memslot_ok, r->memslot_why,
			   r->memslot_p[PH_TOTAL][0], r->memslot_p[PH_TOTAL][1]);
		print_ratio(both, r->memslot_p[PH_TOTAL][0], r->ours_p[PH_TOTAL][0]);
		print_ratio(both, r->memslot_p[PH_TOTAL][1], r->ours_p[PH_TOTAL][1]);
		printf("\n");
	}
}

static void print_phase(bool ok, const double p[NPHASES][2])
{
	int ph;

	for (ph = PH_MAP; ph <= PH_UNMAP; ph++) {
		if (ok)
			printf(" %.2f |", p[ph][0]);
		else
			printf(" |");
	}
}

static void print_phase_table(const struct stat_row *rows, unsigned int n)
{
	unsigned int i;
	char sz[32];

	printf("| size | live | ours map | ours run | ours unmap | memslot map | memslot run | memslot unmap |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < n; i++) {
		const struct stat_row *r = &rows[i];

		printf("| %s | %" PRIu64 " |", size_name(r->size, sz, sizeof(sz)),
		       r->live);
		print_phase(r->ours_ok, r->ours_p);
		print_phase(r->memslot_ok, r->memslot_p);
		printf("\n");
	}
}

/* p50 at the largest live count a design reached over p50 at the first. */
static void print_growth(const struct stat_row *rows, unsigned int n,
			 const struct opts *op, bool memslot)
{
	unsigned int s, i;
	char sz[32];

	printf("%s, p50 at the most live mappings measured / at the fewest:",
	       memslot ? "growth of memslot" : "flatness of ours (target <= 1.20x)");
	for (s = 0; s < op->nsizes; s++) {
		const struct stat_row *lo = NULL, *hi = NULL;

		for (i = 0; i < n; i++) {
			const struct stat_row *r = &rows[i];
			bool ok = memslot ? r->memslot_ok : r->ours_ok;

			if (r->size != op->sizes[s] || !ok)
				continue;
			if (!lo)
				lo = r;
			hi = r;
		}
		if (!lo || lo == hi)
			continue;
		printf(" %s %.2fx (%" PRIu64 " / %" PRIu64 ");",
		       size_name(op->sizes[s], sz, sizeof(sz)),
		       memslot ? hi->memslot_p[PH_TOTAL][0] / lo->memslot_p[PH_TOTAL][0] :
				 hi->ours_p[PH_TOTAL][0] / lo->ours_p[PH_TOTAL][0],
		       hi->live, lo->live);
	}
	printf("\n");
}

/* ---- options ------------------------------------------------------------ */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || !v)
		return -EINVAL;
	if (*end == 'K' || *end == 'k') {
		v *= KiB;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		v *= MiB;
		end++;
	}
	if (*end || v % 4096 || v > 1 * GiB)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || v > 10000000)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A comma-separated list into @out (sorted, at most @max entries). */
static int parse_list(const char *arg, uint64_t *out, unsigned int *n,
		      unsigned int max, int (*one)(const char *, uint64_t *))
{
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max || one(tok, &out[*n]))
			return -EINVAL;
		if (*n && out[*n - 1] == out[*n])
			continue;
		(*n)++;
	}
	if (!*n)
		return -EINVAL;
	qsort(out, *n, sizeof(out[0]), cmp_u64);
	return 0;
}

/* One option with its value; non-zero when either is bad. */
static int parse_one(struct opts *op, const char *o, const char *a)
{
	uint64_t v;

	if (!strcmp(o, "--sizes"))
		return parse_list(a, op->sizes, &op->nsizes, MAX_SIZES, parse_size);
	if (!strcmp(o, "--live"))
		return parse_list(a, op->live, &op->nlive, MAX_LIVE, parse_count);
	if (!strcmp(o, "--iters")) {
		if (parse_count(a, &v) || v > 1000000)
			return -EINVAL;
		op->iters = (unsigned int)v;
		return 0;
	}
	if (!strcmp(o, "--warmup")) {
		if (strcmp(a, "0") && (parse_count(a, &v) || v > 1000000))
			return -EINVAL;
		op->warmup = strcmp(a, "0") ? (unsigned int)v : 0;
		return 0;
	}
	if (!strcmp(o, "--mode")) {
		op->ours = !strcmp(a, "ours") || !strcmp(a, "both");
		op->memslot = !strcmp(a, "memslot") || !strcmp(a, "both");
		return op->ours || op->memslot ? 0 : -EINVAL;
	}
	return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *op)
{
	static const char *usage =
		"usage: bench-mapcost [--sizes 4K,2M] [--live 1,1000,10000,100000] [--iters N] [--warmup N] [--mode ours|memslot|both]\n";
	int i;

	parse_list("4K,2M", op->sizes, &op->nsizes, MAX_SIZES, parse_size);
	parse_list("1,1000,10000,100000", op->live, &op->nlive, MAX_LIVE, parse_count);
	op->iters = 200;
	op->warmup = 10;
	op->ours = op->memslot = true;
	for (i = 1; i < argc; i += 2) {
		const char *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!a || parse_one(op, argv[i], a)) {
			fprintf(stderr, "bench-mapcost: bad option %s%s%s\n%s", argv[i],
				a ? " " : "", a ? a : "", usage);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- checks before anything is mapped ----------------------------------- */

/*
 * Every live mapping is its own VMA (they map the same file offset, so
 * the kernel cannot merge them), in both designs.
 */
static int check_limits(const struct opts *op, const struct host *h)
{
	uint64_t max_live = op->live[op->nlive - 1];
	uint64_t max_size = op->sizes[op->nsizes - 1];
	uint64_t need = 1024, have = 0, end;
	FILE *f;

	if (op->ours)
		need += max_live + 1;
	if (op->memslot)
		need += (max_live < h->nr_slots ? max_live : h->nr_slots) + 1;
	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (f) {
		if (fscanf(f, "%" SCNu64, &have) != 1)
			have = 0;
		fclose(f);
	}
	if (have && have < need) {
		fprintf(stderr, "bench-mapcost: %" PRIu64 " live mappings need about %" PRIu64
			" memory mappings in this process, but vm.max_map_count is %" PRIu64
			"; raise it (sysctl -w vm.max_map_count=%" PRIu64 ") or ask for fewer with --live\n",
			max_live, need, have, need < 262144 ? 262144 : need);
		return -ENOMEM;
	}
	end = TEST_GPA + (max_live + 1) * max_size;
	if (h->phys_bits < 64 && end > (1ULL << h->phys_bits)) {
		fprintf(stderr, "bench-mapcost: %" PRIu64 " live mappings of %" PRIu64
			" bytes end at guest physical 0x%" PRIx64 ", beyond the vCPU's %u address bits; ask for fewer\n",
			max_live, max_size, end, h->phys_bits);
		return -ERANGE;
	}
	return 0;
}

static void print_header(const struct opts *op, const struct host *h)
{
	printf("mapcost: map + first guest access + unmap at one guest physical address, %u iterations per cell and design after %u warm-up, designs alternating; times in us\n",
	       op->iters, op->warmup);
	printf("ours: one memslot over a shmem region; map = shmem_map() (mmap MAP_FIXED into the reservation), unmap = shmem_unmap()\n");
	printf("memslot: one memslot per mapping; map = mmap() + KVM_SET_USER_MEMORY_REGION, unmap = slot deleted + munmap()\n");
	printf("kvm: KVM_CAP_NR_MEMSLOTS %u (memslot design: slot 0 guest RAM, slot 1 the timed mapping, live mappings from slot 2); vCPU physical address bits %u\n",
	       h->nr_slots, h->phys_bits);
}

int main(int argc, char **argv)
{
	static struct stat_row rows[MAX_ROWS];
	struct host h = { .kvm_fd = -1, .file = { -1, -1 } };
	struct opts op;
	unsigned int nrows = 0, s;
	char mwhy[MAX_SIZES][160];
	char sz[32];
	int ret;

	memset(&op, 0, sizeof(op));
	memset(mwhy, 0, sizeof(mwhy));
	if (parse_opts(argc, argv, &op))
		return 2;
	ret = host_open(&h, op.sizes[op.nsizes - 1]);
	if (!ret)
		ret = check_limits(&op, &h);
	if (!ret)
		print_header(&op, &h);
	for (s = 0; !ret && s < op.nsizes; s++) {
		ret = run_size(&h, &op, op.sizes[s], rows, &nrows, mwhy[s],
			       sizeof(mwhy[s]));
		if (*mwhy[s])
			printf("memslot %s: slot limit reached: %s\n",
			       size_name(op.sizes[s], sz, sizeof(sz)), mwhy[s]);
	}
	host_close(&h);
	if (ret)
		return 1;
	printf("\n");
	print_main_table(rows, nrows);
	printf("\np50 per phase (map | run: KVM_RUN with the first access and the port exit | unmap), us\n\n");
	print_phase_table(rows, nrows);
	printf("\n");
	if (op.ours)
		print_growth(rows, nrows, &op, false);
	if (op.memslot)
		print_growth(rows, nrows, &op, true);
	return 0;
}
