/*
 * datagram.h - loadgen --udp: what each datagram carries, and the record of
 * one connection's datagrams in flight that tells an echo that is new from
 * a duplicate, a late one (already counted lost) or one that was never sent.
 *
 * A datagram of message seq of connection conn_id is its message bytes
 * (payload.h) with the first DATAGRAM_HEADER_BYTES replaced by conn_id and
 * seq, little-endian. UDP may lose, duplicate and reorder datagrams; each
 * is counted apart from a corrupted one (a wrong byte, a wrong length, an
 * id or sequence number that was never sent), which is a mismatch.
 */
#ifndef DATAGRAM_H
#define DATAGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATAGRAM_HEADER_BYTES 16
/* The largest UDP payload over IPv4. */
#define DATAGRAM_MAX_BYTES 65507

/* Writes message seq of conn_id, size_bytes long, into out. */
void datagram_build(uint64_t seed, uint64_t conn_id, uint64_t seq, unsigned char *out,
                    size_t size_bytes);

/* Reads the header of a datagram of len_bytes; false if it is too short. */
bool datagram_header(const unsigned char *data, size_t len_bytes, uint64_t *conn_id, uint64_t *seq);

/* True when data is exactly message seq of conn_id, size_bytes long. */
bool datagram_intact(uint64_t seed, uint64_t conn_id, uint64_t seq, const unsigned char *data,
                     size_t len_bytes, size_t size_bytes);

/* What an echo of a sequence number was. */
enum echo_kind {
	ECHO_NEW,       /* the first echo of a datagram in flight */
	ECHO_DUPLICATE, /* a second echo of one already back */
	ECHO_LATE,      /* the echo of one already counted lost */
	ECHO_UNKNOWN,   /* never sent, or too old to tell */
};

/* One connection's datagrams: a ring of slots, slot seq % size holding
 * the latest seq that used it. Sequence numbers are sent in order; a
 * datagram is in flight until its echo comes or it is counted lost. The
 * ring is twice the most that may be in flight, so an echo of any of the
 * last size/2 datagrams resolved is still recognised. */
struct datagram_window {
	struct datagram_slot *slots;
	uint64_t size;
	uint64_t oldest;         /* every seq below it is resolved */
	uint64_t next;           /* the next seq to send */
	uint64_t in_flight;      /* sent, not back, not lost */
	uint64_t highest_echoed; /* + 1: 0 before the first echo */
};

/* A window for up to max_in_flight datagrams at once. */
void datagram_window_init(struct datagram_window *win, uint64_t max_in_flight);
void datagram_window_free(struct datagram_window *win);

/* Whether another datagram may be sent without overwriting one in flight. */
bool datagram_window_has_room(const struct datagram_window *win);

/* Records that message win->next, due at due_ns, was sent at sent_ns;
 * returns its seq. */
uint64_t datagram_window_send(struct datagram_window *win, int64_t due_ns, int64_t sent_ns);

/* Records an echo of seq: its kind; for ECHO_NEW, *due_ns (when it was
 * due, for its latency) and *reordered (a later one came back first). */
enum echo_kind datagram_window_echo(struct datagram_window *win, uint64_t seq, int64_t *due_ns,
                                    bool *reordered);

/* Counts lost every datagram in flight that was sent before cutoff_ns, and
 * returns how many. */
uint64_t datagram_window_expire(struct datagram_window *win, int64_t cutoff_ns);

/* When the oldest datagram in flight was sent; INT64_MAX with none. */
int64_t datagram_window_oldest_sent(const struct datagram_window *win);

#endif
