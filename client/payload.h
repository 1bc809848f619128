/*
 * payload.h - the bytes of every message, and checking their echo.
 *
 * Message number seq of connection conn_id has its own 64-bit key, derived
 * from the run's seed, conn_id and seq; byte i of the message is byte i % 8
 * of mix(key + i / 8). Any byte of any message can be computed on its own,
 * so the sender never stores what it sent: it regenerates it to send the
 * rest of a message or to check an echo that arrives in pieces. A byte that
 * is changed, lost, duplicated, swapped with another message's or another
 * connection's shows as a mismatch.
 */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t payload_key(uint64_t seed, uint64_t conn_id, uint64_t seq);
/* Writes bytes [offset_bytes, offset_bytes + len_bytes) of a message. */
void payload_fill(uint64_t key, uint64_t offset_bytes, unsigned char *out, size_t len_bytes);
/* True when data holds exactly bytes [offset_bytes, offset_bytes + len_bytes). */
bool payload_check(uint64_t key, uint64_t offset_bytes, const unsigned char *data,
                   size_t len_bytes);

#endif
