// SPDX-License-Identifier: MIT
/*
 * The vmm command line: every bad value gives exit status 1 and exactly one
 * stderr line that names the option (run as the real program), and the
 * parser's accepted forms.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "parse.h"

#ifndef VMM_BIN
#error "VMM_BIN must name the vmm program"
#endif

struct result {
	int status;
	char out[8192];
	char err[8192];
	int err_lines;
};

static void slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
}

/* Run vmm with @argv (NULL-terminated, without argv[0]). */
static void run_vmm(const char *const *args, struct result *res)
{
	int out[2], err[2], st;
	const char *argv[32] = { VMM_BIN };
	pid_t pid;
	int i;
	char *p;

	for (i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(VMM_BIN, (char **)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	slurp(out[0], res->out, sizeof(res->out));
	slurp(err[0], res->err, sizeof(res->err));
	close(out[0]);
	close(err[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "vmm died of a signal");
	res->status = WEXITSTATUS(st);
	res->err_lines = 0;
	for (p = res->err; *p; p++)
		res->err_lines += *p == '\n';
}

static void expect_usage_error(const char *const *args, const char *names)
{
	struct result r;

	run_vmm(args, &r);
	cr_assert_eq(r.status, 1, "status %d for %s; stderr: %s", r.status,
		     names, r.err);
	cr_assert_eq(r.err_lines, 1, "one line, got: %s", r.err);
	cr_assert_eq(strncmp(r.err, "vmm: ", 5), 0, "prefix: %s", r.err);
	cr_assert(strstr(r.err, names), "'%s' not named in: %s", names, r.err);
	cr_assert_str_empty(r.out);
}

#define K "--kernel", "/nonexistent/bzImage"

Test(cli, bad_memory_values)
{
	const char *const cases[][5] = {
		{ "run", K, "--memory", "0" },
		{ "run", K, "--memory", "12X" },
		{ "run", K, "--memory", "-1G" },
		{ "run", K, "--memory", "1M" },
		{ "run", K, "--memory", "2T" },
		{ "run", K, "--memory", "99999999999999999999G" },
		{ "run", K, "--memory", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[6] = { cases[i][0], cases[i][1], cases[i][2],
					cases[i][3], cases[i][4], NULL };
		expect_usage_error(args, "--memory");
	}
}

Test(cli, bad_cpus_values)
{
	const char *const vals[] = { "0", "-1", "65", "two", "1.5", "" };
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		const char *args[] = { "run", K, "--cpus", vals[i], NULL };
		expect_usage_error(args, "--cpus");
	}
}

Test(cli, bad_console_and_log_level)
{
	const char *a1[] = { "run", K, "--console", "serial", NULL };
	const char *a2[] = { "run", K, "--log-level", "verbose", NULL };
	const char *a3[] = { "run", K, "--log-level=", NULL };

	expect_usage_error(a1, "--console");
	expect_usage_error(a2, "--log-level");
	expect_usage_error(a3, "--log-level");
}

Test(cli, missing_values_unknown_options_and_commands)
{
	const char *a1[] = { "run", K, "--memory", NULL };
	const char *a2[] = { "run", K, "--frobnicate", NULL };
	const char *a3[] = { "run", NULL };
	const char *a4[] = { "start", K, NULL };
	const char *a5[] = { NULL };
	const char *a6[] = { "run", "--kernel", "", NULL };

	expect_usage_error(a1, "--memory");
	expect_usage_error(a2, "--frobnicate");
	expect_usage_error(a3, "--kernel");
	expect_usage_error(a4, "start");
	expect_usage_error(a5, "command");
	expect_usage_error(a6, "--kernel");
}

Test(cli, missing_or_invalid_kernel_and_initrd)
{
	const char *a1[] = { "run", K, NULL };
	char path[] = "/tmp/vmm-cli-XXXXXX";
	const char *a2[] = { "run", "--kernel", path, NULL };
	const char *a3[] = { "run", "--kernel", path, "--initrd",
			     "/nonexistent/initrd", NULL };
	int fd = mkstemp(path);

	expect_usage_error(a1, "/nonexistent/bzImage");
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a kernel\n", 13), 13);
	close(fd);
	expect_usage_error(a2, path);
	expect_usage_error(a3, path);	/* the kernel fails first */
	unlink(path);
}

/*
 * A small vmlinux: one segment at @paddr of 4 KiB and a PVH note, or the
 * same with @class ELFCLASS32, without the note, or cut at @cut bytes.
 */
static void write_elf(const char *path, unsigned char class, uint64_t paddr,
		      bool note, size_t cut)
{
	uint8_t f[0x3000] = { 0 };
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64,
			  .e_version = EV_CURRENT, .e_phoff = sizeof(eh),
			  .e_ehsize = sizeof(eh),
			  .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = paddr,
		  .p_filesz = 0x1000, .p_memsz = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = 0x2000, .p_filesz = 24 },
	};
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 8, .n_type = 18 };
	uint64_t entry = paddr + 0x10;
	FILE *out;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = class;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	memcpy(f, &eh, sizeof(eh));
	memcpy(f + sizeof(eh), ph, sizeof(ph));
	memcpy(f + 0x2000, &nh, sizeof(nh));
	memcpy(f + 0x200c, "Xen", 4);
	memcpy(f + 0x2010, &entry, 8);
	if (!note)
		f[0x2008] = 6;		/* XEN_ELFNOTE_GUEST_OS instead */
	out = fopen(path, "wb");
	cr_assert_not_null(out);
	cr_assert_eq(fwrite(f, 1, cut, out), cut);
	fclose(out);
}

/* Bad ELF kernels: status 1, one line naming the file and the reason. */
static void expect_bad_elf(const char *path, const char *mem,
			   const char *reason)
{
	const char *a[] = { "run", "--kernel", path, "--memory", mem, NULL };
	struct result r;

	run_vmm(a, &r);
	cr_assert_eq(r.status, 1, "status %d; stderr: %s", r.status, r.err);
	cr_assert_eq(r.err_lines, 1, "one line, got: %s", r.err);
	cr_assert(strstr(r.err, path), "file not named in: %s", r.err);
	cr_assert(strstr(r.err, reason), "'%s' not in: %s", reason, r.err);
}

Test(cli, bad_vmlinux_files)
{
	char path[] = "/tmp/vmm-cli-elf-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_elf(path, ELFCLASS32, 0x1000000, true, 0x3000);
	expect_bad_elf(path, "256M", "32-bit");
	write_elf(path, ELFCLASS64, 0x1000000, true, 0x1800);
	expect_bad_elf(path, "256M", "truncated");
	write_elf(path, ELFCLASS64, 0x1000000, false, 0x3000);
	expect_bad_elf(path, "256M", "no PVH entry point");
	write_elf(path, ELFCLASS64, 0xe0000, true, 0x3000);
	expect_bad_elf(path, "256M", "overlaps vmm's boot tables");
	write_elf(path, ELFCLASS64, 0xc0000000, true, 0x3000);
	expect_bad_elf(path, "4G", "outside guest RAM");
	write_elf(path, ELFCLASS64, 0x2000000, true, 0x3000);
	expect_bad_elf(path, "16M", "give the guest more");
	unlink(path);
}

Test(cli, help_and_version)
{
	const char *h[] = { "--help", NULL };
	const char *rh[] = { "run", "--help", NULL };
	const char *v[] = { "--version", NULL };
	struct result r;

	run_vmm(h, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "--kernel") && strstr(r.out, "--reboot-ok"));
	cr_assert(strstr(r.out, "Exit status"));
	run_vmm(rh, &r);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "Usage: vmm run"));
	run_vmm(v, &r);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "vmm " VMM_VERSION_STRING "\n");
}

Test(cli, parser_accepts_sizes_and_both_option_forms)
{
	char *argv[] = { "vmm", "run", "--kernel=/k", "--initrd", "/i",
			 "--memory", "1G", "--cpus=4", "--console", "off",
			 "--log-level", "debug", "--cmdline", "a b",
			 "--reboot-ok", NULL };
	struct cli_options o;
	char err[256];
	uint64_t v;

	cr_assert_eq(cli_parse(15, argv, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(o.cfg.kernel_path, "/k");
	cr_assert_str_eq(o.cfg.initrd_path, "/i");
	cr_assert_eq(o.cfg.memory_size, 1ULL << 30);
	cr_assert_eq(o.cfg.cpus, 4);
	cr_assert_eq(o.cfg.console_in, -1);
	cr_assert_eq(o.cfg.console_out, -1);
	cr_assert_eq(o.cfg.log_level, VMM_LOG_DEBUG);
	cr_assert_str_eq(o.cfg.cmdline, "a b");
	cr_assert(o.reboot_ok);

	cr_assert_eq(parse_size("256M", &v), 0);
	cr_assert_eq(v, 256ULL << 20);
	cr_assert_eq(parse_size("65536k", &v), 0);
	cr_assert_eq(v, 64ULL << 20);
	cr_assert_eq(parse_size("2g", &v), 0);
	cr_assert_eq(v, 2ULL << 30);
	cr_assert_eq(parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(parse_size("1MB", &v), -EINVAL);
	cr_assert_eq(parse_size(" 1M", &v), -EINVAL);
	cr_assert_eq(parse_size("17179869184G", &v), -EINVAL, "overflow");
}

Test(cli, numbers_are_decimal_or_0x_hex)
{
	uint64_t v;

	cr_assert_eq(parse_size("0x200000", &v), 0);
	cr_assert_eq(v, 2ULL << 20);
	cr_assert_eq(parse_size("0x2M", &v), 0);
	cr_assert_eq(v, 2ULL << 20);
	cr_assert_eq(parse_size("010", &v), 0);
	cr_assert_eq(v, 10, "a leading zero is not octal");
	cr_assert_eq(parse_size("0x", &v), -EINVAL);
	cr_assert_eq(parse_size("-1", &v), -EINVAL);
	cr_assert_eq(parse_size("99999999999999999999", &v), -EINVAL);
	cr_assert_eq(parse_uint("64", 64, &v), 0);
	cr_assert_eq(v, 64);
	cr_assert_eq(parse_uint("65", 64, &v), -EINVAL);
	cr_assert_eq(parse_uint("1k", 1 << 20, &v), -EINVAL, "no suffix on plain numbers");
}

Test(cli, defaults)
{
	char *argv[] = { "vmm", "run", "--kernel", "/k", NULL };
	struct cli_options o;
	char err[256];

	cr_assert_eq(cli_parse(4, argv, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(o.cfg.memory_size, 256ULL << 20);
	cr_assert_eq(o.cfg.cpus, 1);
	cr_assert_eq(o.cfg.console_in, 0);
	cr_assert_eq(o.cfg.console_out, 1);
	cr_assert_eq(o.cfg.log_level, VMM_LOG_WARN);
	cr_assert_null(o.cfg.cmdline);
	cr_assert_not(o.reboot_ok);
}

Test(cli, guest_memory_is_shared_only_for_vhost_user_back_ends)
{
	char *plain[] = { "vmm", "run", "--kernel", "/k", NULL };
	char *vu[] = { "vmm", "run", "--kernel", "/k", "--vhost-user",
		       "socket=/tmp/x.sock,virtio-id=26", NULL };
	struct cli_options o;
	char err[256];

	cr_assert_eq(cli_parse(4, plain, &o, err, sizeof(err)), 0, "%s", err);
	cr_expect_not(o.cfg.memory_shared, "no back-end: private RAM (huge pages)");
	cr_assert_eq(cli_parse(6, vu, &o, err, sizeof(err)), 0, "%s", err);
	cr_expect(o.cfg.memory_shared, "a back-end must be able to map guest RAM");
}

Test(cli, exit_statuses)
{
	struct vmm_exit ex = { 0 };

	ex.reason = VMM_EXIT_POWEROFF;
	cr_assert_eq(cli_exit_status(&ex, false), 0);
	ex.reason = VMM_EXIT_REBOOT;
	cr_assert_eq(cli_exit_status(&ex, false), 3);
	cr_assert_eq(cli_exit_status(&ex, true), 0);
	ex.reason = VMM_EXIT_CRASH;
	cr_assert_eq(cli_exit_status(&ex, true), 4);
	ex.reason = VMM_EXIT_MEMORY_FAULT;
	cr_assert_eq(cli_exit_status(&ex, false), 5);
	ex.reason = VMM_EXIT_HOST_ERROR;
	cr_assert_eq(cli_exit_status(&ex, false), 2);
}
