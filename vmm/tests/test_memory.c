// SPDX-License-Identifier: MIT
/*
 * Guest RAM backing: private anonymous memory on a 2 MiB boundary (so the
 * kernel can back the guest with huge pages) unless a vhost-user back-end
 * needs a memfd it can map.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/memory.h"

/* The VmFlags line of /proc/self/smaps for the mapping that holds @p. */
#define LINE_MAX_LEN 512

static void vm_flags_of(const void *p, char flags[LINE_MAX_LEN])
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[LINE_MAX_LEN];
	int in = 0;

	cr_assert_not_null(f);
	flags[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			memcpy(flags, line + 8, strlen(line + 8) + 1);
			break;
		}
	}
	fclose(f);
}

Test(memory, private_ram_is_anonymous_aligned_and_advised_for_huge_pages)
{
	const uint64_t size = 64ULL << 20;
	struct guest_ram ram;
	char flags[LINE_MAX_LEN];

	cr_assert_eq(ram_create(&ram, size, false), 0);
	cr_expect_eq(ram.memfd, -1, "private RAM has no fd to share");
	cr_expect_eq((uintptr_t)ram.base & ((2u << 20) - 1), 0,
		     "base %p is not on a 2 MiB boundary", (void *)ram.base);
	cr_expect_eq(ram.size, size);
	cr_expect_eq(ram.regions[0].hva, ram.base);
	ram.base[0] = 1;
	ram.base[size - 1] = 2;
	cr_expect_eq(ram.base[0] + ram.base[size - 1], 3);
	vm_flags_of(ram.base, flags);
	cr_expect(strstr(flags, " hg"), "no MADV_HUGEPAGE on guest RAM: VmFlags%s", flags);
	ram_destroy(&ram);
	cr_expect_null(ram.base);
}

Test(memory, shared_ram_is_a_memfd_of_the_whole_size)
{
	const uint64_t size = 16ULL << 20;
	struct guest_ram ram;
	char c = 0;

	cr_assert_eq(ram_create(&ram, size, true), 0);
	cr_assert_geq(ram.memfd, 0, "shared RAM needs an fd for back-ends");
	cr_expect_eq(lseek(ram.memfd, 0, SEEK_END), (off_t)size);
	ram.base[4096] = 42;
	cr_expect_eq(pread(ram.memfd, &c, 1, 4096), 1);
	cr_expect_eq(c, 42, "the fd and the mapping are the same memory");
	ram_destroy(&ram);
	cr_expect_eq(ram.memfd, -1);
}

Test(memory, shared_ram_is_sealed_against_shrink_and_grow)
{
	const uint64_t size = 16ULL << 20;
	struct guest_ram ram;
	char why[160] = "";
	int seals;

	cr_assert_eq(ram_create(&ram, size, true), 0);
	seals = fcntl(ram.memfd, F_GET_SEALS);
	cr_assert_geq(seals, 0, "the memfd allows no seals at all");
	cr_expect(seals & F_SEAL_SHRINK, "a back-end could truncate guest RAM");
	cr_expect(seals & F_SEAL_GROW, "a back-end could grow guest RAM");
	cr_expect(seals & F_SEAL_SEAL, "a back-end could change the seals");
	cr_expect_eq(ftruncate(ram.memfd, (off_t)(size / 2)), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(ftruncate(ram.memfd, (off_t)(size * 2)), -1);
	cr_expect_eq(lseek(ram.memfd, 0, SEEK_END), (off_t)size);
	cr_expect_eq(ram_check(&ram, why, sizeof(why)), 0, "%s", why);
	/* Still guest RAM to share: writes through the fd work. */
	cr_expect_eq(pwrite(ram.memfd, "x", 1, 8192), 1);
	cr_expect_eq(ram.base[8192], 'x');
	ram_destroy(&ram);
}

Test(memory, a_ram_loss_is_told_apart)
{
	struct guest_ram ram = { .memfd = -1, .size = 1 << 20 };
	char why[160] = "";

	/* What an unsealed memfd truncated by a back-end looked like. */
	ram.memfd = memfd_create("lost", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(ram.memfd, 4096), 0);
	cr_expect_eq(ram_check(&ram, why, sizeof(why)), -EFAULT);
	cr_expect_str_eq(why, "its memory file is 4096 bytes long, the guest has 1048576");
	close(ram.memfd);
	ram.memfd = -1;
	cr_expect_eq(ram_check(&ram, why, sizeof(why)), 0, "private RAM");
}
