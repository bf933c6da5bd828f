/* SPDX-License-Identifier: MIT */
/*
 * The byte pattern that test back-ends put in shared memory and that guest
 * programs check, so both sides agree without exchanging data. Byte i of a
 * buffer filled with @seed depends on the seed and on i's position within
 * and across pages, so a page mapped at the wrong offset is detected.
 */
#ifndef SHMEM_PATTERN_H
#define SHMEM_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline uint8_t shmem_pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + (i >> 12) * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return (uint8_t)(x + i * 7);
}

static inline void shmem_pattern_fill(volatile uint8_t *p, uint64_t len,
				      uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		p[i] = shmem_pattern_byte(seed, i);
}

/* Number of bytes that differ from the pattern. */
static inline uint64_t shmem_pattern_check(const volatile uint8_t *p,
					   uint64_t len, uint64_t seed)
{
	uint64_t bad = 0;

	for (uint64_t i = 0; i < len; i++)
		bad += p[i] != shmem_pattern_byte(seed, i);
	return bad;
}

#endif
