// SPDX-License-Identifier: MIT
/*
 * Loading the guest: the kernel and initrd files are read and checked,
 * then placed in guest RAM with the command line, the memory map, the boot
 * tables and the reset-vector stub (boot/lowmem.c). The kernel is a
 * bzImage (boot/bzimage.c, the 64-bit boot protocol) or an uncompressed
 * ELF vmlinux with a PVH entry (boot/elf.c, boot/pvh.c), told apart by its
 * first bytes. A vmlinux is not read whole: its headers are checked before
 * KVM is touched, and its segments are read from the file straight to
 * their place in guest RAM.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/layout.h"
#include "boot/bzimage.h"
#include "boot/cmdline.h"
#include "boot/e820.h"
#include "boot/elf.h"
#include "boot/lowmem.h"
#include "boot/pvh.h"
#include "core/vm.h"

#define DEFAULT_CMDLINE		"console=ttyS0"
#define KERNEL_MAX_SIZE		(256ULL << 20)	/* of a bzImage */
#define E820_MAX		8
#define KERNEL_MAGIC_LEN	4	/* "\x7fELF" tells a vmlinux */

/* Open a guest input file; fill @size. Returns the fd or -errno. */
static int open_input(const char *what, const char *path, uint64_t *size,
		      struct vmm_error *err)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		return vm_fail(err, VMM_ERROR_INPUT, ret, "%s %s: %s", what,
			       path, strerror(-ret));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vm_fail(err, VMM_ERROR_INPUT, -EINVAL,
			       "%s %s: not a regular file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static int read_full_at(int fd, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the file shrank */
		done += (uint64_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, uint64_t len)
{
	return read_full_at(fd, buf, len, 0);
}

/* elf_reader over the kernel file. */
static int read_fd(void *opaque, uint64_t off, void *buf, size_t len)
{
	return read_full_at(*(const int *)opaque, buf, len, off);
}

static int read_bzimage(const char *path, int fd, struct boot_files *bf,
			struct vmm_error *err)
{
	char why[160];
	int ret;

	if (bf->kernel_size > KERNEL_MAX_SIZE)
		return vm_fail(err, VMM_ERROR_INPUT, -EFBIG,
			       "kernel %s: larger than 256 MiB", path);
	bf->image_len = bf->kernel_size;
	bf->image = malloc(bf->image_len ? bf->image_len : 1);
	if (!bf->image)
		return vm_fail(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
	ret = read_full(fd, bf->image, bf->image_len);
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       path, strerror(-ret));
	ret = bzimage_parse(bf->image, bf->image_len, &bf->info, why,
			    sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       path, why);
	bf->mode = BOOT_MODE_64BIT;
	return 0;
}

/* Check a vmlinux, and that it fits the RAM @cfg asks for. */
static int read_vmlinux(const struct vmm_config *cfg, int *fd,
			struct boot_files *bf, struct vmm_error *err)
{
	struct elf_reader r = { read_fd, fd, bf->kernel_size };
	struct ram_layout l;
	char why[200];
	int ret;

	ret = elf_parse(&r, &bf->elf, why, sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       cfg->kernel_path, why);
	ram_layout_init(&l, cfg->memory_size);
	ret = pvh_check_placement(&bf->elf, &l, why, sizeof(why));
	if (ret)
		return vm_fail(err, ret == -E2BIG ? VMM_ERROR_CONFIG :
			       VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       cfg->kernel_path, why);
	bf->mode = BOOT_MODE_PVH;
	bf->kernel_fd = *fd;
	*fd = -1;
	return 0;
}

static int read_kernel(const struct vmm_config *cfg, struct boot_files *bf,
		       struct vmm_error *err)
{
	const char *path = cfg->kernel_path;
	uint8_t head[KERNEL_MAGIC_LEN] = { 0 };
	int fd, ret;

	fd = open_input("kernel", path, &bf->kernel_size, err);
	if (fd < 0)
		return fd;
	if (bf->kernel_size >= sizeof(head)) {
		ret = read_full(fd, head, sizeof(head));
		if (ret) {
			vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
				path, strerror(-ret));
			goto out;
		}
	}
	if (elf_is_elf(head, sizeof(head)))
		ret = read_vmlinux(cfg, &fd, bf, err);
	else
		ret = read_bzimage(path, fd, bf, err);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int vm_boot_files_read(const struct vmm_config *cfg, struct boot_files *bf,
		       struct vmm_error *err)
{
	int ret;

	memset(bf, 0, sizeof(*bf));
	bf->kernel_fd = -1;
	bf->initrd_fd = -1;
	ret = read_kernel(cfg, bf, err);
	if (ret)
		return ret;
	if (!cfg->initrd_path)
		return 0;
	ret = open_input("initrd", cfg->initrd_path, &bf->initrd_size, err);
	if (ret < 0)
		return ret;
	bf->initrd_fd = ret;
	return 0;
}

/* What either protocol hands the kernel besides the kernel itself. */
struct boot_common {
	struct e820_entry e820[E820_MAX];
	int e820_entries;
	char *cmdline;
	uint64_t initrd_addr;		/* 0: no initrd */
	uint64_t initrd_size;
};

static int place_initrd(struct vmm *vm, const struct vmm_config *cfg,
			const struct boot_files *bf, struct boot_common *c,
			struct vmm_error *err)
{
	uint64_t low_end = vm->ram.layout.low_size;
	int ret;

	if (bf->mode == BOOT_MODE_PVH)
		ret = pvh_initrd_addr(&bf->elf, low_end, bf->initrd_size,
				      &c->initrd_addr);
	else
		ret = bzimage_initrd_addr(&bf->info, low_end, bf->initrd_size,
					  &c->initrd_addr);
	if (ret)
		return vm_fail(err, VMM_ERROR_CONFIG, ret,
			       "initrd %s (%llu bytes) does not fit in guest memory below %llu MiB; give the guest more memory",
			       cfg->initrd_path,
			       (unsigned long long)bf->initrd_size,
			       (unsigned long long)(low_end >> 20));
	c->initrd_size = bf->initrd_size;
	ret = read_full(bf->initrd_fd, vm->ram.base + c->initrd_addr,
			bf->initrd_size);
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "initrd %s: %s",
			       cfg->initrd_path, strerror(-ret));
	return 0;
}

static int prepare_common(struct vmm *vm, const struct vmm_config *cfg,
			  const struct boot_files *bf, struct boot_common *c,
			  struct vmm_error *err)
{
	int ret;

	if (bf->initrd_fd >= 0) {
		ret = place_initrd(vm, cfg, bf, c, err);
		if (ret)
			return ret;
	}
	ret = e820_build(&vm->ram.layout, c->e820, E820_MAX);
	if (ret < 0)
		return vm_fail(err, VMM_ERROR_HOST, ret, "e820 map");
	c->e820_entries = ret;
	c->cmdline = cmdline_build(cfg->cmdline ? cfg->cmdline :
				   DEFAULT_CMDLINE);
	if (!c->cmdline)
		return vm_fail(err, VMM_ERROR_HOST, -ENOMEM,
			       "kernel command line: out of memory");
	log_debug(&vm->log, "kernel command line: %s", c->cmdline);
	return 0;
}

/* The 64-bit boot protocol: zero page, page tables, rsi = zero page. */
static int load_bzimage(struct vmm *vm, const struct boot_files *bf,
			const struct boot_common *c, struct boot_entry *entry,
			struct vmm_error *err)
{
	struct boot_input in = {
		.image = bf->image,
		.info = &bf->info,
		.cmdline = c->cmdline,
		.initrd_addr = c->initrd_addr,
		.initrd_size = c->initrd_size,
		.e820 = c->e820,
		.e820_entries = c->e820_entries,
		.rsdp_addr = ACPI_TABLES_ADDR,
	};
	char why[160];
	int ret;

	ret = bzimage_load(&in, vm->ram.base, vm->ram.layout.low_size, why,
			   sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_CONFIG, ret, "%s", why);
	lowmem_write_page_tables(vm->ram.base);
	entry->mode = BOOT_MODE_64BIT;
	entry->rip = bf->info.pref_address + 0x200;	/* the 64-bit entry */
	entry->arg = BOOT_ZERO_PAGE_ADDR;
	return 0;
}

/* PVH: segments from the file, hvm_start_info, ebx = its address. */
static int load_vmlinux(struct vmm *vm, const struct vmm_config *cfg,
			const struct boot_files *bf,
			const struct boot_common *c, struct boot_entry *entry,
			struct vmm_error *err)
{
	int fd = bf->kernel_fd;
	struct elf_reader r = { read_fd, &fd, bf->kernel_size };
	struct pvh_input in = {
		.cmdline = c->cmdline,
		.initrd_addr = c->initrd_addr,
		.initrd_size = c->initrd_size,
		.rsdp_addr = ACPI_TABLES_ADDR,
		.e820 = c->e820,
		.e820_entries = c->e820_entries,
	};
	char why[160];
	int ret;

	ret = elf_load(&r, &bf->elf, vm->ram.base, vm->ram.layout.low_size);
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       cfg->kernel_path, strerror(-ret));
	ret = pvh_write_start_info(&in, vm->ram.base, why, sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_CONFIG, ret, "%s", why);
	entry->mode = BOOT_MODE_PVH;
	entry->rip = bf->elf.pvh_entry;
	entry->arg = PVH_START_INFO_ADDR;
	return 0;
}

int vm_boot_files_load(struct vmm *vm, const struct vmm_config *cfg,
		       const struct boot_files *bf, struct boot_entry *entry,
		       struct vmm_error *err)
{
	struct boot_common c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = prepare_common(vm, cfg, bf, &c, err);
	if (!ret && bf->mode == BOOT_MODE_PVH)
		ret = load_vmlinux(vm, cfg, bf, &c, entry, err);
	else if (!ret)
		ret = load_bzimage(vm, bf, &c, entry, err);
	free(c.cmdline);
	if (ret)
		return ret;
	lowmem_write_gdt(vm->ram.base);
	lowmem_write_reset_vector(vm->ram.base);
	return 0;
}

void vm_boot_files_release(struct boot_files *bf)
{
	free(bf->image);
	bf->image = NULL;
	if (bf->kernel_fd >= 0)
		close(bf->kernel_fd);
	bf->kernel_fd = -1;
	if (bf->initrd_fd >= 0)
		close(bf->initrd_fd);
	bf->initrd_fd = -1;
}
