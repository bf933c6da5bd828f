// SPDX-License-Identifier: MIT
/*
 * Loading the guest: the kernel and initrd files are read and checked
 * (boot/bzimage.c knows the format), then placed in guest RAM with the
 * command line, the e820 map, the boot page tables and the reset-vector
 * stub (boot/lowmem.c).
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
#include "boot/lowmem.h"
#include "core/vm.h"

#define DEFAULT_CMDLINE		"console=ttyS0"
#define KERNEL_MAX_SIZE		(256ULL << 20)
#define E820_MAX		8

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

static int read_full(int fd, void *buf, uint64_t len)
{
	uint8_t *p = buf;
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done, (off_t)done);

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

static int read_kernel(const char *path, struct boot_files *bf,
		       struct vmm_error *err)
{
	int fd, ret;

	fd = open_input("kernel", path, &bf->image_len, err);
	if (fd < 0)
		return fd;
	if (bf->image_len > KERNEL_MAX_SIZE) {
		ret = vm_fail(err, VMM_ERROR_INPUT, -EFBIG,
			      "kernel %s: larger than 256 MiB", path);
		goto out;
	}
	bf->image = malloc(bf->image_len ? bf->image_len : 1);
	if (!bf->image) {
		ret = vm_fail(err, VMM_ERROR_HOST, -ENOMEM, "out of memory");
		goto out;
	}
	ret = read_full(fd, bf->image, bf->image_len);
	if (ret)
		vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s", path,
			strerror(-ret));
out:
	close(fd);
	return ret;
}

int vm_boot_files_read(const struct vmm_config *cfg, struct boot_files *bf,
		       struct vmm_error *err)
{
	char why[160];
	int ret;

	memset(bf, 0, sizeof(*bf));
	bf->initrd_fd = -1;
	ret = read_kernel(cfg->kernel_path, bf, err);
	if (ret)
		return ret;
	ret = bzimage_parse(bf->image, bf->image_len, &bf->info, why,
			    sizeof(why));
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "kernel %s: %s",
			       cfg->kernel_path, why);
	if (!cfg->initrd_path)
		return 0;
	ret = open_input("initrd", cfg->initrd_path, &bf->initrd_size, err);
	if (ret < 0)
		return ret;
	bf->initrd_fd = ret;
	return 0;
}

static int place_initrd(struct vmm *vm, const struct vmm_config *cfg,
			const struct boot_files *bf, struct boot_input *in,
			struct vmm_error *err)
{
	uint64_t low_end = vm->ram.layout.low_size;
	int ret;

	ret = bzimage_initrd_addr(&bf->info, low_end, bf->initrd_size,
				  &in->initrd_addr);
	if (ret)
		return vm_fail(err, VMM_ERROR_CONFIG, ret,
			       "initrd %s (%llu bytes) does not fit in guest memory below %llu MiB; give the guest more memory",
			       cfg->initrd_path,
			       (unsigned long long)bf->initrd_size,
			       (unsigned long long)(low_end >> 20));
	in->initrd_size = bf->initrd_size;
	ret = read_full(bf->initrd_fd, vm->ram.base + in->initrd_addr,
			bf->initrd_size);
	if (ret)
		return vm_fail(err, VMM_ERROR_INPUT, ret, "initrd %s: %s",
			       cfg->initrd_path, strerror(-ret));
	return 0;
}

int vm_boot_files_load(struct vmm *vm, const struct vmm_config *cfg,
		       const struct boot_files *bf, uint64_t *entry,
		       struct vmm_error *err)
{
	struct e820_entry e820[E820_MAX];
	struct boot_input in = {
		.image = bf->image,
		.info = &bf->info,
		.rsdp_addr = ACPI_TABLES_ADDR,
	};
	uint64_t low_end = vm->ram.layout.low_size;
	char why[160], *cmdline;
	int ret;

	if (bf->initrd_fd >= 0) {
		ret = place_initrd(vm, cfg, bf, &in, err);
		if (ret)
			return ret;
	}
	ret = e820_build(&vm->ram.layout, e820, E820_MAX);
	if (ret < 0)
		return vm_fail(err, VMM_ERROR_HOST, ret, "e820 map");
	in.e820 = e820;
	in.e820_entries = ret;
	cmdline = cmdline_build(cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE);
	if (!cmdline)
		return vm_fail(err, VMM_ERROR_HOST, -ENOMEM,
			       "kernel command line: out of memory");
	log_debug(&vm->log, "kernel command line: %s", cmdline);
	in.cmdline = cmdline;
	ret = bzimage_load(&in, vm->ram.base, low_end, why, sizeof(why));
	free(cmdline);
	if (ret)
		return vm_fail(err, VMM_ERROR_CONFIG, ret, "%s", why);
	lowmem_write_page_tables(vm->ram.base);
	lowmem_write_reset_vector(vm->ram.base);
	*entry = bf->info.pref_address + 0x200;	/* the 64-bit entry */
	return 0;
}

void vm_boot_files_release(struct boot_files *bf)
{
	free(bf->image);
	bf->image = NULL;
	if (bf->initrd_fd >= 0)
		close(bf->initrd_fd);
	bf->initrd_fd = -1;
}
