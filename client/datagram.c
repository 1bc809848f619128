/*
 * datagram.c - the datagrams of loadgen --udp (see datagram.h).
 */
#include "datagram.h"

#include "payload.h"
#include "wrap.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

enum slot_state { SLOT_UNUSED, SLOT_IN_FLIGHT, SLOT_ECHOED, SLOT_LOST };

struct datagram_slot {
	uint64_t seq;
	int64_t due_ns;  /* its latency is timed from here */
	int64_t sent_ns; /* its loss timeout from here */
	enum slot_state state;
};

void datagram_build(uint64_t seed, uint64_t conn_id, uint64_t seq, unsigned char *out,
                    size_t size_bytes)
{
	uint64_t header[2] = { htole64(conn_id), htole64(seq) };

	payload_fill(payload_key(seed, conn_id, seq), 0, out, size_bytes);
	memcpy(out, header, DATAGRAM_HEADER_BYTES);
}

bool datagram_header(const unsigned char *data, size_t len_bytes, uint64_t *conn_id, uint64_t *seq)
{
	uint64_t header[2];

	if (len_bytes < DATAGRAM_HEADER_BYTES)
		return false;
	memcpy(header, data, DATAGRAM_HEADER_BYTES);
	*conn_id = le64toh(header[0]);
	*seq = le64toh(header[1]);
	return true;
}

bool datagram_intact(uint64_t seed, uint64_t conn_id, uint64_t seq, const unsigned char *data,
                     size_t len_bytes, size_t size_bytes)
{
	return len_bytes == size_bytes &&
	       payload_check(payload_key(seed, conn_id, seq), DATAGRAM_HEADER_BYTES,
	                     data + DATAGRAM_HEADER_BYTES, size_bytes - DATAGRAM_HEADER_BYTES);
}

void datagram_window_init(struct datagram_window *win, uint64_t max_in_flight)
{
	*win = (struct datagram_window){ .size = 2 * (max_in_flight > 0 ? max_in_flight : 1) };
	win->slots = Calloc(win->size, sizeof *win->slots); /* SLOT_UNUSED */
	/* No slot holds a sequence number yet: seq 0's slot must not match. */
	for (uint64_t i = 0; i < win->size; i++)
		win->slots[i].seq = UINT64_MAX;
}

void datagram_window_free(struct datagram_window *win)
{
	free(win->slots);
	win->slots = NULL;
}

static struct datagram_slot *slot_of(const struct datagram_window *win, uint64_t seq)
{
	return &win->slots[seq % win->size];
}

bool datagram_window_has_room(const struct datagram_window *win)
{
	return win->in_flight < win->size / 2 && slot_of(win, win->next)->state != SLOT_IN_FLIGHT;
}

uint64_t datagram_window_send(struct datagram_window *win, int64_t due_ns, int64_t sent_ns)
{
	*slot_of(win, win->next) = (struct datagram_slot){
		.seq = win->next, .due_ns = due_ns, .sent_ns = sent_ns, .state = SLOT_IN_FLIGHT
	};
	win->in_flight++;
	return win->next++;
}

/* Moves oldest past every resolved datagram. */
static void advance_oldest(struct datagram_window *win)
{
	while (win->oldest < win->next && slot_of(win, win->oldest)->state != SLOT_IN_FLIGHT)
		win->oldest++;
}

enum echo_kind datagram_window_echo(struct datagram_window *win, uint64_t seq, int64_t *due_ns,
                                    bool *reordered)
{
	struct datagram_slot *slot = slot_of(win, seq);

	if (seq >= win->next || slot->seq != seq)
		return ECHO_UNKNOWN;
	if (slot->state == SLOT_ECHOED)
		return ECHO_DUPLICATE;
	if (slot->state == SLOT_LOST)
		return ECHO_LATE;
	slot->state = SLOT_ECHOED;
	win->in_flight--;
	*due_ns = slot->due_ns;
	*reordered = seq + 1 < win->highest_echoed;
	if (seq + 1 > win->highest_echoed)
		win->highest_echoed = seq + 1;
	advance_oldest(win);
	return ECHO_NEW;
}

/* Datagrams are sent in sequence order, so the scan stops at the first in
 * flight that was sent at or after the cutoff. */
uint64_t datagram_window_expire(struct datagram_window *win, int64_t cutoff_ns)
{
	uint64_t lost = 0;

	for (uint64_t seq = win->oldest; seq < win->next; seq++) {
		struct datagram_slot *slot = slot_of(win, seq);

		if (slot->state != SLOT_IN_FLIGHT)
			continue;
		if (slot->sent_ns >= cutoff_ns)
			break;
		slot->state = SLOT_LOST;
		win->in_flight--;
		lost++;
	}
	advance_oldest(win);
	return lost;
}

int64_t datagram_window_oldest_sent(const struct datagram_window *win)
{
	return win->oldest < win->next ? slot_of(win, win->oldest)->sent_ns : INT64_MAX;
}
