/*
 * ring.h - what the two io_uring models share: setting up the ring, taking
 * submission queue entries, cancelling, waiting, and the listener (its
 * accept, and shedding connections out of descriptors). Built apart from the rest of the library
 * (build/lib/ring.o): only the programs that link liburing link it.
 */
#ifndef LIB_RING_H
#define LIB_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets up ring with sq_entries and cq_entries, with the best task-run flags
 * the kernel knows, and checks that it knows every opcode in needed_ops.
 * Otherwise exits 1 with "io_uring is unavailable here: REASON": a server
 * calls it before its readiness line, since without io_uring there is no
 * server. */
void ring_init(struct io_uring *ring, unsigned sq_entries, unsigned cq_entries,
               const int *needed_ops, size_t needed_count);

/* A free submission queue entry. When the queue is full, what is in it goes
 * to the kernel now instead of with the next wait. */
struct io_uring_sqe *ring_sqe(struct io_uring *ring);

/* Asks the kernel to cancel the request whose user_data is data. The
 * cancel's own completion has user_data 0: it names no connection, so it may
 * come after that connection is freed. */
void ring_cancel(struct io_uring *ring, uint64_t data);

/* Submits what is queued and waits for a completion, timeout_ms at most (-1:
 * no limit), with the signal mask mask (stop signals arrive only here).
 * Returns 0, or a negative errno value for an error other than EINTR,
 * EAGAIN, EBUSY and ETIME. */
int ring_wait(struct io_uring *ring, const sigset_t *mask, long timeout_ms);

/*
 * The listener's request in the kernel: an accept (multishot: one that stays
 * armed and completes for every connection), or, out of descriptors, a poll.
 * An accept then fails at once, before it looks for a connection, so asking
 * again would spin; the poll completes only when a connection is waiting,
 * and ring_listener_on_poll sheds it on the spare descriptor (accept_conn,
 * lib/accept.h), or accepts it once descriptors are free again. The server
 * routes the completions whose user_data is accept_data or poll_data to
 * ring_listener_on_accept and ring_listener_on_poll.
 */
struct ring_listener {
	struct io_uring *ring;
	int fd;               /* non-blocking: accept_conn must not wait */
	bool multishot;       /* one accept request for every connection */
	uint64_t accept_data; /* the user_data of each request */
	uint64_t poll_data;
	void (*admit)(int fd); /* takes each connection accepted */
	bool busy;             /* a request of the listener is in the kernel */
};

void ring_listener_start(struct ring_listener *l);
/* res: the new connection's fd, or -errno; flags: the completion's. */
void ring_listener_on_accept(struct ring_listener *l, int res, unsigned flags);
void ring_listener_on_poll(struct ring_listener *l);
/* At stop: cancels the listener's request; its completion still comes. */
void ring_listener_stop(struct ring_listener *l);

#endif
