/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' reader of their input: bytes taken in order, zeros
 * once the input is used up, multi-byte values little-endian.
 */
#ifndef VHOST_FUZZ_INPUT_H
#define VHOST_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t take(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint64_t take_le(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)take(in) << (8 * i);
	return v;
}

static inline uint16_t take_u16(struct input *in)
{
	return (uint16_t)take_le(in, 2);
}

static inline uint32_t take_u32(struct input *in)
{
	return (uint32_t)take_le(in, 4);
}

static inline uint64_t take_u64(struct input *in)
{
	return take_le(in, 8);
}

#endif
