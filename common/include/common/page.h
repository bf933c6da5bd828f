/* SPDX-License-Identifier: MIT */
/* Page sizes: the host's, and the guest's fixed x86 sizes. */
#ifndef COMMON_PAGE_H
#define COMMON_PAGE_H

#include <stdint.h>
#include <unistd.h>

#define PAGE_SIZE_4K	0x1000ULL
#define PAGE_SIZE_2M	0x200000ULL

/* The host's page size (what mmap() aligns to). */
static inline uint64_t host_page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

#endif /* COMMON_PAGE_H */
