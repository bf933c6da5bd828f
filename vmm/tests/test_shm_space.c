// SPDX-License-Identifier: MIT
/* Guest-physical placement of shared memory regions and the fault lookup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmem/shmem.h>

#include "common/x86.h"

#include "core/shm_space.h"

#define G (1ULL << 30)
#define M (1ULL << 20)

Test(shm_space, regions_go_above_4g_even_with_little_ram)
{
	struct shm_space s;
	uint64_t gpa;

	shm_space_init(&s, 256 * M, 40);
	cr_assert_eq(shm_space_alloc(&s, 64 * M, &gpa), 0);
	cr_assert_eq(gpa, 4 * G);
}

Test(shm_space, regions_start_above_ram_naturally_aligned)
{
	struct shm_space s;
	uint64_t a, b, c;

	/* RAM reaches 5 GiB + 4 KiB: the next 1 GiB boundary is 6 GiB. */
	shm_space_init(&s, 5 * G + 4096, 40);
	cr_assert_eq(shm_space_alloc(&s, 1 * G, &a), 0);
	cr_assert_eq(a, 6 * G);
	cr_assert_eq(shm_space_alloc(&s, 2 * M, &b), 0);
	cr_assert_eq(b, 7 * G, "right after the first, 2 MiB aligned");
	/* 3 MiB rounds up to 4 MiB alignment. */
	cr_assert_eq(shm_space_alloc(&s, 3 * M, &c), 0);
	cr_assert_eq(c % (4 * M), 0);
	cr_assert_geq(c, b + 2 * M);
}

Test(shm_space, stays_below_the_guest_physical_limit)
{
	struct shm_space s;
	uint64_t gpa;

	shm_space_init(&s, 4 * G, 36);	/* 64 GiB of physical space */
	cr_assert_eq(shm_space_alloc(&s, 32 * G, &gpa), 0);
	cr_assert_eq(gpa, 32 * G);
	cr_assert_eq(shm_space_alloc(&s, 32 * G, &gpa), -ENOSPC);
	cr_assert_eq(shm_space_alloc(&s, 16 * G, &gpa), -ENOSPC,
		     "64 GiB is the end of a 36-bit space");
	cr_assert_eq(shm_space_alloc(&s, 4096, &gpa), -ENOSPC);
}

Test(shm_space, stays_below_what_4_level_paging_maps)
{
	struct shm_space s;
	uint64_t gpa;

	/* 52 physical bits, but a 4-level guest maps only below 2^46. */
	shm_space_init(&s, (1ULL << 46) - 2 * G, 52);
	cr_assert_eq(shm_space_alloc(&s, 1 * G, &gpa), 0);
	cr_assert_eq(gpa, (1ULL << 46) - 2 * G);
	cr_assert_eq(shm_space_alloc(&s, 1 * G, &gpa), 0);
	cr_assert_eq(shm_space_alloc(&s, 2 * M, &gpa), -ENOSPC,
		     "the region would start at 2^46");
}

Test(shm_space, refuses_bad_sizes)
{
	struct shm_space s;
	uint64_t gpa;

	shm_space_init(&s, 0, 48);
	cr_assert_eq(shm_space_alloc(&s, 0, &gpa), -EINVAL);
	cr_assert_eq(shm_space_alloc(&s, 4095, &gpa), -EINVAL);
	cr_assert_eq(shm_space_alloc(&s, (1ULL << 63) + 4096, &gpa), -ENOSPC);
}

/* A CPUID table as KVM fills it: allocated, like the real one. */
static unsigned int phys_bits(uint32_t eax)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));
	unsigned int bits;

	cr_assert_not_null(c);
	c->nent = 2;
	c->entries[0].function = 1;
	c->entries[1].function = 0x80000008;
	c->entries[1].eax = eax;
	bits = x86_cpuid_phys_bits(c);
	free(c);
	return bits;
}

Test(shm_space, phys_bits_from_cpuid_clamped)
{
	cr_assert_eq(phys_bits(0x3028), 40);
	cr_assert_eq(phys_bits(0), 36);
	cr_assert_eq(phys_bits(0xff), 52);
	cr_assert_eq(x86_cpuid_phys_bits(NULL), 36, "no CPUID: the minimum");
}

Test(shm_space, lookup_finds_only_addresses_inside_a_region)
{
	struct shm_space s;

	shm_space_init(&s, 0, 40);
	cr_assert_eq(shm_space_add(&s, "fs0", 0, 4 * G, 2 * M, NULL), 0);
	cr_assert_eq(shm_space_add(&s, "ex", 1, 8 * G, 4096, NULL), 0);
	cr_assert_null(shm_space_find(&s, 4 * G - 1));
	cr_assert_eq(shm_space_find(&s, 4 * G)->shmid, 0);
	cr_assert_eq(shm_space_find(&s, 4 * G + 2 * M - 1)->shmid, 0);
	cr_assert_null(shm_space_find(&s, 4 * G + 2 * M));
	cr_assert_str_eq(shm_space_find(&s, 8 * G + 4095)->dev, "ex");
	shm_space_remove(&s, 4 * G);
	cr_assert_null(shm_space_find(&s, 4 * G));
	cr_assert_not_null(shm_space_find(&s, 8 * G));
}

Test(shm_space, description_names_every_region_and_is_cut_safely)
{
	struct shm_space s;
	char buf[200], small[20];

	shm_space_init(&s, 0, 40);
	shm_space_add(&s, "fs0", 0, 4 * G, 2 * M, NULL);
	shm_space_add(&s, "ex", 3, 8 * G, 4096, NULL);
	shm_space_describe(&s, buf, sizeof(buf));
	cr_assert_str_eq(buf, "fs0 shm0 0x100000000+0x200000 0 mappings; "
			      "ex shm3 0x200000000+0x1000 0 mappings");
	cr_assert_eq(shm_space_describe(&s, small, sizeof(small)), 19);
	cr_assert_eq(strlen(small), 19);
}

Test(shm_space, host_reservation_agrees_with_the_guest_modulo_2m)
{
	struct shm_space s;
	uint64_t gpa;

	shm_space_init(&s, 1ULL << 30, 40);
	cr_assert_eq(shm_space_alloc(&s, 6ULL << 20, &gpa), 0);
	cr_expect_eq(gpa % (2ULL << 20), 0, "guest address 0x%llx",
		     (unsigned long long)gpa);
	cr_expect_eq(shm_space_host_align(6ULL << 20), 2ULL << 20,
		     "a region of 2 MiB or more is reserved on a 2 MiB boundary");
	cr_expect_eq(shm_space_host_align(2ULL << 20), 2ULL << 20);
	cr_expect_eq(shm_space_host_align(1ULL << 20), 0,
		     "a small region needs no more than page alignment");
	cr_expect_eq(shm_space_host_align(4096), 0);
}

static int slot_add(void *hv, uint64_t gpa, void *hva, uint64_t size,
		    uint32_t *slot)
{
	(void)hv; (void)gpa; (void)hva; (void)size;
	*slot = 7;
	return 0;
}

static int slot_remove(void *hv, uint32_t slot)
{
	(void)hv; (void)slot;
	return 0;
}

static const struct shmem_hv_ops fake_hv = { slot_add, slot_remove };

Test(shm_space, a_file_truncated_under_a_mapping_is_named)
{
	struct shmem_region_config rc = { .size = 8 * M, .gpa = 4 * G,
		.name = "fs0", .hv_ops = &fake_hv };
	char path[] = "/tmp/vmm-shm-space-XXXXXX", buf[512];
	struct shmem_region *r;
	struct shm_space s;
	uint64_t gpa;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(ftruncate(fd, 2 * M), 0);
	shm_space_init(&s, 256 * M, 40);
	cr_assert_eq(shm_space_alloc(&s, 8 * M, &gpa), 0);
	cr_assert_eq(shmem_region_create(&rc, &r, NULL, 0), 0);
	cr_assert_eq(shm_space_add(&s, "fs0", 0, gpa, 8 * M, r), 0);
	cr_assert_eq(shmem_map(r, &(struct shmem_map_req){ .shm_offset = 2 * M,
		.len = 2 * M, .fd = fd, .flags = SHMEM_MAP_RW }, NULL, 0), 0);
	shm_space_describe(&s, buf, sizeof(buf));
	cr_assert_str_eq(buf, "fs0 shm0 0x100000000+0x800000 1 mapping");
	/* The host truncates the file to 5 pages and a bit. */
	cr_assert_eq(ftruncate(fd, 5 * 4096 + 100), 0);
	shm_space_describe(&s, buf, sizeof(buf));
	cr_assert(strstr(buf, "offset 0x206000 unreadable"), "%s", buf);
	cr_assert(strstr(buf, "mapping 0x200000+0x200000"), "%s", buf);
	/* Cut short, still a string. */
	cr_assert_leq(shm_space_describe(&s, buf, 30), 29);
	cr_assert_eq(strlen(buf), 29);
	shmem_region_destroy(r);
	close(fd);
}
