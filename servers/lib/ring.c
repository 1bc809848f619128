/*
 * ring.c - io_uring set-up and the calls both io_uring models make (see
 * ring.h).
 */
#include "ring.h"

#include "accept.h"
#include "error.h"
#include "signals.h"
#include "trace.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

/* The set-up flags, best first; EINVAL means the kernel does not know one.
 * The work that completes a request after its socket woke up (task work)
 * runs in this thread: COOP_TASKRUN (5.19) lets it wait for the thread's
 * next system call instead of interrupting it, and SINGLE_ISSUER |
 * DEFER_TASKRUN (6.1) until the thread waits for completions, when it runs
 * as one batch (docs/models.md, uring, has what each saves). */
static const unsigned setup_flags[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_COOP_TASKRUN,
	0,
};

static void check_opcodes(struct io_uring *ring, const int *needed_ops, size_t needed_count)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);

	for (size_t i = 0; i < needed_count; i++)
		if (probe == NULL || !io_uring_opcode_supported(probe, needed_ops[i]))
			err_quit("io_uring is unavailable here: it cannot do all of accept, "
			         "recv, send, poll and cancel (a kernel older than 5.6?)");
	io_uring_free_probe(probe);
}

void ring_init(struct io_uring *ring, unsigned sq_entries, unsigned cq_entries,
               const int *needed_ops, size_t needed_count)
{
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof setup_flags / sizeof setup_flags[0] && rc == -EINVAL; i++) {
		struct io_uring_params params = { .flags = setup_flags[i] | IORING_SETUP_CQSIZE,
			                          .cq_entries = cq_entries };

		rc = io_uring_queue_init_params(sq_entries, ring, &params);
	}
	if (rc < 0)
		err_quit("io_uring is unavailable here: %s (kernel.io_uring_disabled set? a "
		         "seccomp filter? a kernel older than 5.6?)",
		         strerror(-rc));
	check_opcodes(ring, needed_ops, needed_count);
}

struct io_uring_sqe *ring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(ring)) == NULL) {
		int rc = io_uring_submit(ring);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			errno = -rc;
			err_sys("io_uring_submit");
		}
	}
	return sqe;
}

void ring_cancel(struct io_uring *ring, uint64_t data)
{
	struct io_uring_sqe *sqe = ring_sqe(ring);

	io_uring_prep_cancel64(sqe, data, 0);
	io_uring_sqe_set_data64(sqe, 0);
}

/* What ring_wait waits for "forever": a day. */
#define WAIT_FOREVER_S (24 * 3600)

int ring_wait(struct io_uring *ring, const sigset_t *mask, long timeout_ms)
{
	/* Always a timeout, even for "forever": when a signal cuts short an
	 * io_uring_enter that submitted something, it returns the count
	 * submitted, not EINTR, and liburing, given no timeout, goes back to
	 * wait in a second call, its signal already handled: a stop would
	 * then wait for the next completion, which over a Unix socket may
	 * never come (its listener's shutdown completes no accept). With a
	 * timeout it makes one call and returns. */
	struct __kernel_timespec timeout = { .tv_sec = timeout_ms / 1000,
		                             .tv_nsec = timeout_ms % 1000 * 1000000 };
	struct io_uring_cqe *cqe;
	int rc;

	if (timeout_ms < 0)
		timeout = (struct __kernel_timespec){ .tv_sec = WAIT_FOREVER_S };
	rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &timeout, (sigset_t *)mask);

	if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY || rc == -ETIME)
		return 0;
	return rc < 0 ? rc : 0;
}

static void listener_submit_accept(struct ring_listener *l)
{
	struct io_uring_sqe *sqe = ring_sqe(l->ring);

	if (l->multishot)
		io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, l->accept_data);
	l->busy = true;
}

static void listener_submit_poll(struct ring_listener *l)
{
	struct io_uring_sqe *sqe = ring_sqe(l->ring);

	io_uring_prep_poll_add(sqe, l->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, l->poll_data);
	l->busy = true;
}

/* Accepts what is waiting with accept_conn, which sheds each connection
 * while descriptors are out. Returns true if it shed one: still out. */
static bool listener_accept_waiting(struct ring_listener *l)
{
	bool shed = false;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_conn(l->fd);

		if (fd >= 0)
			l->admit(fd);
		else if (errno == EMFILE || errno == ENFILE)
			shed = true;
		else if (errno != ECONNABORTED && errno != EINTR)
			break; /* EAGAIN: none left */
	}
	return shed;
}

void ring_listener_start(struct ring_listener *l)
{
	listener_submit_accept(l);
}

void ring_listener_on_accept(struct ring_listener *l, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		l->busy = false; /* that accept is over: a new one is needed */
	if (res >= 0 && stop_requested) {
		shed_conn(res, "stopping");
		return;
	}
	if (stop_requested)
		return;
	if (res >= 0) {
		conn_accepted(res, NULL); /* TCP_NODELAY and the trace, as accept_conn */
		l->admit(res);
	} else if (res == -EMFILE || res == -ENFILE) {
		listener_accept_waiting(l);
		if (!l->busy)
			listener_submit_poll(l);
		return;
	} else if (res != -ECONNABORTED && res != -EINTR) {
		trace("error", l->fd, "op=accept errno=%s", strerror(-res));
	}
	if (!l->busy)
		listener_submit_accept(l);
}

void ring_listener_on_poll(struct ring_listener *l)
{
	l->busy = false;
	if (stop_requested)
		return;
	if (listener_accept_waiting(l))
		listener_submit_poll(l);
	else
		listener_submit_accept(l);
}

void ring_listener_stop(struct ring_listener *l)
{
	if (l->busy) {
		ring_cancel(l->ring, l->accept_data);
		ring_cancel(l->ring, l->poll_data);
	}
}
