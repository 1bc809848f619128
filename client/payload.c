/*
 * payload.c - message bytes from (seed, connection, sequence number).
 *
 * The mixer is SplitMix64's finaliser (Steele, Lea, Flood 2014): cheap, and
 * one changed input bit changes about half of the output bits, so the bytes
 * of neighbouring messages, or of a message and itself shifted by a byte,
 * share no visible structure. Whole 8-byte blocks are written and compared
 * a word at a time: a few nanoseconds per block, well below what the kernel
 * spends copying the same bytes through a socket.
 */
#include "payload.h"

#include <endian.h>
#include <string.h>

#define BLOCK_BYTES 8

static uint64_t payload_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t payload_key(uint64_t seed, uint64_t conn_id, uint64_t seq)
{
	return payload_mix(payload_mix(payload_mix(seed) ^ conn_id) ^ seq);
}

/* Block number block of a message, in little-endian byte order on every
 * machine, so the bytes on the wire do not depend on the client's CPU. */
static uint64_t payload_block(uint64_t key, uint64_t block)
{
	return htole64(payload_mix(key + block));
}

/* Bytes [offset_bytes, offset_bytes + len_bytes) lie in one block:
 * copies them out of it. */
static void payload_part(uint64_t key, uint64_t offset_bytes, unsigned char *out, size_t len_bytes)
{
	uint64_t bits = payload_block(key, offset_bytes / BLOCK_BYTES);

	memcpy(out, (const unsigned char *)&bits + offset_bytes % BLOCK_BYTES, len_bytes);
}

/* How much of a range lies before its first block boundary. */
static size_t payload_head_bytes(uint64_t offset_bytes, size_t len_bytes)
{
	size_t head_bytes = (BLOCK_BYTES - offset_bytes % BLOCK_BYTES) % BLOCK_BYTES;

	return head_bytes < len_bytes ? head_bytes : len_bytes;
}

/* A partial block at each end, whole blocks in between: those are single
 * 8-byte stores (or loads and compares) the compiler keeps in registers. */
void payload_fill(uint64_t key, uint64_t offset_bytes, unsigned char *out, size_t len_bytes)
{
	size_t head_bytes = payload_head_bytes(offset_bytes, len_bytes);
	uint64_t block;

	payload_part(key, offset_bytes, out, head_bytes);
	out += head_bytes;
	len_bytes -= head_bytes;
	block = (offset_bytes + head_bytes) / BLOCK_BYTES;
	for (; len_bytes >= BLOCK_BYTES; len_bytes -= BLOCK_BYTES, out += BLOCK_BYTES, block++) {
		uint64_t bits = payload_block(key, block);

		memcpy(out, &bits, BLOCK_BYTES);
	}
	payload_part(key, block * BLOCK_BYTES, out, len_bytes);
}

bool payload_check(uint64_t key, uint64_t offset_bytes, const unsigned char *data, size_t len_bytes)
{
	size_t head_bytes = payload_head_bytes(offset_bytes, len_bytes);
	unsigned char part[BLOCK_BYTES];
	uint64_t block;

	payload_part(key, offset_bytes, part, head_bytes);
	if (memcmp(data, part, head_bytes) != 0)
		return false;
	data += head_bytes;
	len_bytes -= head_bytes;
	block = (offset_bytes + head_bytes) / BLOCK_BYTES;
	for (; len_bytes >= BLOCK_BYTES; len_bytes -= BLOCK_BYTES, data += BLOCK_BYTES, block++) {
		uint64_t got;

		memcpy(&got, data, BLOCK_BYTES);
		if (got != payload_block(key, block))
			return false;
	}
	payload_part(key, block * BLOCK_BYTES, part, len_bytes);
	return memcmp(data, part, len_bytes) == 0;
}
