/*
 * worker.c - one client thread: its connections, its epoll loop, its clocks.
 *
 * Connection i belongs to worker i % threads; each worker has its own epoll
 * instance, buffers, counters and histograms, so no lock is taken while
 * traffic flows. Sockets are registered once, edge-triggered, for input and
 * output, and never modified: a read drains what has arrived, a write goes
 * on until everything due is sent or the socket is full (then the edge that
 * reports free space resumes it).
 *
 * The life of a connection:
 *
 *   QUEUED --connect()--> CONNECTING --writable--> OPEN
 *      ^                      |                     |
 *      +---- after 100 ms ----+---- any failure ----+
 *
 * Connects leave the queue at a bounded rate (CONNECTS_PER_S), and each has
 * a deadline (--connect-timeout). A failure - refused, timed out, reset,
 * closed, a wrong byte beyond what was sent - counts one error and queues
 * the connection again; the messages it had in flight are sent again on the
 * new connection, and keep their original due time. With --churn a
 * connection is closed (OPEN -> CLOSED) after each echo, and connects again
 * for the next message.
 *
 * Three timelines drive the sending:
 * - closed loop: a connection may have -P messages in flight; each echo
 *   makes the next message due at once.
 * - open loop: message n of connection i is due at start + (n*C + i)/R,
 *   whatever has come back. A connection that cannot keep up keeps its due
 *   messages as a backlog (a counter), sends them when it can, and they are
 *   timed from their due time. Nothing is skipped.
 * - churn: as either of the above, one message per connection.
 *
 * With --udp a connection is a connected UDP socket (the connect is
 * immediate) and each message one datagram (datagram.h): an echo is matched
 * by its sequence number, not by its place in a stream, and a datagram in
 * flight longer than --loss-timeout is counted lost, which in the closed
 * loop frees its place for the next.
 *
 * Where each time is taken - and so what a latency includes - is described
 * in histogram.h.
 */
#include "worker.h"

#include "datagram.h"
#include "payload.h"
#include "wrap.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#define IO_BUF_BYTES 65536
#define MAX_EVENTS   256
/* Connects per second, all workers together, and how many may go back to
 * back: a burst of thousands of SYNs overflows the server's listen backlog,
 * and a dropped SYN costs a 1 s retransmission - in the connect latency. */
#define CONNECTS_PER_S 10000
#define CONNECT_BURST  8
/* A refused or broken connection waits this long before its next connect,
 * so a dead server costs ten connects per connection per second, not a
 * spinning CPU. */
#define RECONNECT_DELAY_NS 100000000ll
/* A Unix-domain connect to a full listen queue fails at once (EAGAIN) where
 * TCP's would wait: it is tried again this much later, until the connect
 * timeout, as TCP retries its SYN. */
#define BACKLOG_RETRY_NS   1000000ll
#define WORKER_STACK_BYTES (256 * 1024)
/* --udp, open loop: a connection's window holds at most this many. */
#define MAX_DATAGRAMS_IN_FLIGHT 1000000

enum conn_state {
	CONN_CLOSED,     /* no socket: churn between messages, or the run is over */
	CONN_QUEUED,     /* waiting for its turn to connect */
	CONN_CONNECTING, /* non-blocking connect in progress */
	CONN_OPEN,
};

struct conn {
	int fd;
	enum conn_state state;
	bool broken;                   /* failed, and not reopened since */
	bool tried;                    /* has made its first connect attempt */
	bool bad_echo;                 /* the message being received has a wrong byte */
	bool flush_queued;             /* on the worker's flush list */
	uint64_t id;                   /* 0..C-1 active, C.. idle: part of every message's bytes */
	uint64_t send_limit;           /* messages 0..send_limit-1 are due */
	uint64_t send_seq;             /* next message to send */
	uint64_t send_off_bytes;       /* bytes of it already sent */
	uint64_t send_key;             /* payload key of send_seq */
	uint64_t recv_seq;             /* next message to be echoed */
	uint64_t recv_off_bytes;       /* bytes of its echo already checked */
	uint64_t recv_key;             /* payload key of recv_seq */
	int64_t *due_ns;               /* closed loop: due time of message seq at [seq % P] */
	struct datagram_window window; /* --udp: the datagrams in flight */
	int64_t connect_start_ns;
	bool backlog_full;        /* Unix: the last connect found the listen queue full */
	int64_t not_before_ns;    /* QUEUED: earliest time to connect */
	struct conn *prev, *next; /* in the connect queue or the connecting list */
};

/* A FIFO: both lists are kept in time order by appending only. */
struct conn_list {
	struct conn *head, *tail;
};

struct worker {
	struct run *run;
	const struct options *opts;
	long index;
	pthread_t tid;
	int epfd;
	bool open_loop;
	struct conn *conns;  /* the active ones first, then the idle ones */
	size_t active_count; /* conns[0..active_count-1] send */
	size_t conn_count;
	int64_t *due_ns; /* closed loop: -P entries per active connection */
	/* The timeline, copied from run once it has started. */
	int64_t start_ns, measure_start_ns, measure_end_ns;
	bool sending;                /* new messages become due (until the measured end) */
	bool reconnecting;           /* failed connections are queued again */
	size_t untried;              /* connections yet to make a first connect attempt */
	struct conn_list queue;      /* QUEUED */
	struct conn_list connecting; /* CONNECTING */
	int64_t next_connect_ns;     /* pacing of the queue */
	int64_t connect_interval_ns;
	/* Open loop: the next message due is message sched_round of
	 * conns[sched_index], at sched_next_ns. */
	double period_ns; /* between two messages of the whole client */
	uint64_t sched_round;
	size_t sched_index;
	int64_t sched_next_ns;
	struct conn **flush_list; /* OPEN connections with newly due messages */
	size_t flush_count;
	unsigned char *send_buf, *recv_buf;
	bool udp;               /* --udp: datagrams */
	int64_t next_expiry_ns; /* --udp: when a datagram may next be overdue */
	struct epoll_event events[MAX_EVENTS];
	struct worker_stats stats;
	struct interval_slot *interval; /* --interval: run->interval_slots[index], or NULL */
	uint64_t echoes;                /* every intact echo, warm-up and drain included */
	_Atomic uint64_t progress_echoes, progress_errors;
};

static void conn_connect(struct worker *w, struct conn *c, int64_t now_ns);

/* ---- small helpers ---------------------------------------------------- */

static bool worker_stopped(const struct worker *w)
{
	return atomic_load_explicit(&w->run->stop, memory_order_relaxed);
}

static bool in_measured_time(const struct worker *w, int64_t when_ns)
{
	return when_ns >= w->measure_start_ns && when_ns < w->measure_end_ns;
}

static void list_append(struct conn_list *list, struct conn *c)
{
	c->next = NULL;
	c->prev = list->tail;
	if (list->tail)
		list->tail->next = c;
	else
		list->head = c;
	list->tail = c;
}

static void list_remove(struct conn_list *list, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		list->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		list->tail = c->prev;
	c->prev = c->next = NULL;
}

static void worker_verror(struct worker *w, enum error_kind kind, uint64_t count, const char *fmt,
                          va_list ap) __attribute__((format(printf, 4, 0)));

/* Counts errors of one kind; the first one's description is kept. */
static void worker_verror(struct worker *w, enum error_kind kind, uint64_t count, const char *fmt,
                          va_list ap)
{
	if (w->stats.errors[kind] == 0)
		vsnprintf(w->stats.first_error[kind], ERROR_DETAIL_BYTES, fmt, ap);
	w->stats.errors[kind] += count;
	if (w->interval != NULL && in_measured_time(w, clock_now_ns()))
		interval_slot_error(w->interval, count);
}

static void worker_error(struct worker *w, enum error_kind kind, uint64_t count, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

static void worker_error(struct worker *w, enum error_kind kind, uint64_t count, const char *fmt,
                         ...)
{
	va_list ap;

	va_start(ap, fmt);
	worker_verror(w, kind, count, fmt, ap);
	va_end(ap);
}

/* When message seq of c became due: its latency is timed from here. */
static int64_t conn_due_ns(const struct worker *w, const struct conn *c, uint64_t seq)
{
	if (w->open_loop)
		return w->start_ns +
		       (int64_t)(((double)seq * (double)w->opts->connections + (double)c->id) *
		                 w->period_ns);
	return c->due_ns[seq % (uint64_t)w->opts->pipeline];
}

/* One past the last message c may send now: with --churn a connection
 * carries a single message, the one it was opened for; with
 * --max-in-flight N, N past the oldest not yet echoed (the rest wait, due:
 * their latency runs from their intended time all the same). */
static uint64_t conn_send_end(const struct worker *w, const struct conn *c)
{
	uint64_t limit = w->opts->churn ? 1 : (uint64_t)w->opts->max_in_flight;

	if (limit > 0 && c->send_limit > c->recv_seq + limit)
		return c->recv_seq + limit;
	return c->send_limit;
}

/* Messages sent, at least in part, whose echo is not complete (--udp:
 * nor counted lost). */
static uint64_t conn_in_flight(const struct worker *w, const struct conn *c)
{
	if (w->udp)
		return c->window.in_flight;
	return c->send_seq + (c->send_off_bytes > 0) - c->recv_seq;
}

/* ---- connection state changes ------------------------------------------ */

/* Closes the socket, if any, and takes c off the lists: CLOSED. */
static void conn_drop(struct worker *w, struct conn *c)
{
	if (c->state == CONN_CONNECTING)
		list_remove(&w->connecting, c);
	if (c->state == CONN_QUEUED)
		list_remove(&w->queue, c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_CLOSED;
}

static void conn_queue(struct worker *w, struct conn *c, int64_t not_before_ns)
{
	c->state = CONN_QUEUED;
	c->not_before_ns = not_before_ns;
	list_append(&w->queue, c);
}

/* Start-up waits until every connection has made one attempt. */
static void conn_mark_tried(struct worker *w, struct conn *c)
{
	if (!c->tried) {
		c->tried = true;
		w->untried--;
	}
}

static void conn_fail(struct worker *w, struct conn *c, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One error: the socket is closed, the messages in flight will be sent
 * again from the first one not echoed, and while the run goes on the
 * connection is queued to connect again. */
static void conn_fail(struct worker *w, struct conn *c, enum error_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	worker_verror(w, kind, 1, fmt, ap);
	va_end(ap);
	conn_drop(w, c);
	conn_mark_tried(w, c);
	c->broken = true;
	c->bad_echo = false;
	c->send_seq = c->recv_seq;
	c->send_off_bytes = c->recv_off_bytes = 0;
	c->send_key = c->recv_key;
	if (w->reconnecting)
		conn_queue(w, c, clock_now_ns() + RECONNECT_DELAY_NS);
}

/* ---- sending ------------------------------------------------------------- */

/* Fills send_buf with the due bytes from (send_seq, send_off_bytes): whole
 * messages while they fit, then the first part of one. Returns its length. */
static size_t conn_fill(struct worker *w, const struct conn *c)
{
	uint64_t size_bytes = w->opts->size_bytes, seq = c->send_seq, key = c->send_key;
	uint64_t off_bytes = c->send_off_bytes, end_seq = conn_send_end(w, c);
	size_t len_bytes = 0;

	while (len_bytes < IO_BUF_BYTES && seq < end_seq) {
		uint64_t take_bytes = size_bytes - off_bytes;

		if (take_bytes > IO_BUF_BYTES - len_bytes)
			take_bytes = IO_BUF_BYTES - len_bytes;
		payload_fill(key, off_bytes, w->send_buf + len_bytes, take_bytes);
		len_bytes += take_bytes;
		off_bytes += take_bytes;
		if (off_bytes == size_bytes) {
			off_bytes = 0;
			key = payload_key(w->opts->seed, c->id, ++seq);
		}
	}
	return len_bytes;
}

static void conn_advance_send(struct worker *w, struct conn *c, size_t sent_bytes)
{
	uint64_t size_bytes = w->opts->size_bytes;
	uint64_t off_bytes = c->send_off_bytes + sent_bytes;

	if (off_bytes >= size_bytes) {
		c->send_seq += off_bytes / size_bytes;
		c->send_key = payload_key(w->opts->seed, c->id, c->send_seq);
	}
	c->send_off_bytes = off_bytes % size_bytes;
}

/* --udp: sends every due message, one datagram each, while the window has
 * room, until done or the socket is full. A datagram the kernel refused
 * (ECONNREFUSED: an ICMP error came back for an earlier one, nobody
 * listens) counts as sent: it is then lost, as UDP loses it. */
static void conn_flush_datagrams(struct worker *w, struct conn *c)
{
	size_t size_bytes = (size_t)w->opts->size_bytes;

	while (c->send_seq < c->send_limit && datagram_window_has_room(&c->window)) {
		ssize_t n;

		datagram_build(w->opts->seed, c->id, c->send_seq, w->send_buf, size_bytes);
		n = send(c->fd, w->send_buf, size_bytes, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* full: the edge-triggered EPOLLOUT resumes us */
		if (n < 0)
			worker_error(w, ERROR_CONNECT, 1, "connection %" PRIu64 ": send: %s", c->id,
			             strerror(errno));
		datagram_window_send(&c->window, conn_due_ns(w, c, c->send_seq), clock_now_ns());
		c->send_seq++;
	}
}

/* Sends every due message, until done or the socket is full. */
static void conn_flush(struct worker *w, struct conn *c)
{
	if (w->udp && c->state == CONN_OPEN) {
		conn_flush_datagrams(w, c);
		return;
	}
	while (c->state == CONN_OPEN && c->send_seq < conn_send_end(w, c)) {
		size_t len_bytes = conn_fill(w, c);
		ssize_t n = send(c->fd, w->send_buf, len_bytes, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* full: the edge-triggered EPOLLOUT resumes us */
		if (n < 0) {
			conn_fail(w, c, ERROR_RESET, "connection %" PRIu64 ": send: %s", c->id,
			          strerror(errno));
			return;
		}
		conn_advance_send(w, c, (size_t)n);
	}
}

/* Remembers that c has newly due messages: a closed CONN in churn mode
 * connects for them, an open one is flushed by worker_flush_all. */
static void conn_kick(struct worker *w, struct conn *c, int64_t now_ns)
{
	if (c->state == CONN_OPEN && !c->flush_queued) {
		c->flush_queued = true;
		w->flush_list[w->flush_count++] = c;
	} else if (c->state == CONN_CLOSED && w->opts->churn) {
		conn_connect(w, c, now_ns);
	}
}

static void worker_flush_all(struct worker *w)
{
	for (size_t i = 0; i < w->flush_count; i++) {
		w->flush_list[i]->flush_queued = false;
		conn_flush(w, w->flush_list[i]);
	}
	w->flush_count = 0;
}

/* ---- receiving ------------------------------------------------------------ */

/* Closed loop: an echo (or, --udp, a loss) makes the next message due, now. */
static void conn_next_due(struct worker *w, struct conn *c, int64_t now_ns)
{
	if (w->sending && !w->open_loop) {
		c->due_ns[c->send_limit % (uint64_t)w->opts->pipeline] = now_ns;
		c->send_limit++;
	}
}

/* An echo of message recv_seq, intact: its latency, in the measured time. */
static void conn_record_echo(struct worker *w, int64_t due_ns, int64_t now_ns)
{
	w->echoes++;
	if (in_measured_time(w, now_ns)) {
		int64_t latency_ns = now_ns - due_ns;

		histogram_record(w->stats.latency, latency_ns > 0 ? (uint64_t)latency_ns : 0);
		w->stats.messages++;
		if (w->interval != NULL)
			interval_slot_record(w->interval,
			                     latency_ns > 0 ? (uint64_t)latency_ns : 0);
	}
}

/* The echo of message recv_seq is complete. Returns false when c's socket
 * was closed (churn: one message per connection). */
static bool conn_complete(struct worker *w, struct conn *c, int64_t now_ns)
{
	if (c->bad_echo) {
		/* A wrong echo is an error, not a latency. */
		worker_error(w, ERROR_MISMATCH, 1,
		             "connection %" PRIu64 " message %" PRIu64
		             ": the echo differs from what was sent",
		             c->id, c->recv_seq);
		c->bad_echo = false;
	} else {
		conn_record_echo(w, conn_due_ns(w, c, c->recv_seq), now_ns);
	}
	c->recv_seq++;
	c->recv_off_bytes = 0;
	c->recv_key = payload_key(w->opts->seed, c->id, c->recv_seq);
	conn_next_due(w, c, now_ns);
	if (!w->opts->churn)
		return true;
	conn_drop(w, c);
	if (c->send_limit > c->recv_seq)
		conn_connect(w, c, now_ns);
	return false;
}

/* Checks len_bytes echoed bytes against what was sent. Returns false when
 * c's socket was closed. */
static bool conn_consume(struct worker *w, struct conn *c, const unsigned char *data,
                         size_t len_bytes, int64_t now_ns)
{
	uint64_t size_bytes = w->opts->size_bytes;
	/* Unsigned arithmetic: correct whenever the true value is >= 0. */
	uint64_t owed_bytes =
	    (c->send_seq - c->recv_seq) * size_bytes + c->send_off_bytes - c->recv_off_bytes;

	if (len_bytes > owed_bytes) {
		conn_fail(w, c, ERROR_MISMATCH,
		          "connection %" PRIu64 ": %zu bytes came back, only %" PRIu64 " were owed",
		          c->id, len_bytes, owed_bytes);
		return false;
	}
	while (len_bytes > 0) {
		uint64_t take_bytes = size_bytes - c->recv_off_bytes;

		if (take_bytes > len_bytes)
			take_bytes = len_bytes;
		if (!payload_check(c->recv_key, c->recv_off_bytes, data, take_bytes))
			c->bad_echo = true;
		data += take_bytes;
		len_bytes -= take_bytes;
		c->recv_off_bytes += take_bytes;
		if (c->recv_off_bytes == size_bytes && !conn_complete(w, c, now_ns))
			return false;
	}
	return true;
}

/* --udp: one datagram that came back: matched by its sequence number. */
static void conn_on_datagram(struct worker *w, struct conn *c, const unsigned char *data,
                             size_t len_bytes, int64_t now_ns)
{
	struct datagram_counts *counts = &w->stats.datagrams;
	uint64_t conn_id, seq;
	int64_t due_ns;
	bool reordered;

	if (!datagram_header(data, len_bytes, &conn_id, &seq) || conn_id != c->id) {
		worker_error(w, ERROR_MISMATCH, 1,
		             "connection %" PRIu64
		             ": a datagram of %zu bytes that is none of its own",
		             c->id, len_bytes);
		return;
	}
	switch (datagram_window_echo(&c->window, seq, &due_ns, &reordered)) {
	case ECHO_UNKNOWN:
		worker_error(w, ERROR_MISMATCH, 1,
		             "connection %" PRIu64 ": an echo of message %" PRIu64
		             ", which was never sent (or long resolved)",
		             c->id, seq);
		return;
	case ECHO_DUPLICATE:
		counts->duplicated++;
		return;
	case ECHO_LATE:
		counts->late++;
		return;
	case ECHO_NEW:
		break;
	}
	counts->reordered += reordered;
	if (datagram_intact(w->opts->seed, conn_id, seq, data, len_bytes, w->opts->size_bytes))
		conn_record_echo(w, due_ns, now_ns);
	else
		worker_error(w, ERROR_MISMATCH, 1,
		             "connection %" PRIu64 " message %" PRIu64
		             ": the echo differs from what was sent (%zu bytes)",
		             c->id, seq, len_bytes);
	conn_next_due(w, c, now_ns);
}

/* --udp: reads every datagram that has come, then sends what is due. An
 * ICMP error for an earlier datagram (nobody listens) is a connect error,
 * and the socket stays. */
static void conn_read_datagrams(struct worker *w, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, w->recv_buf, IO_BUF_BYTES, 0);

		if (n >= 0)
			conn_on_datagram(w, c, w->recv_buf, (size_t)n, clock_now_ns());
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		else if (errno != EINTR)
			worker_error(w, ERROR_CONNECT, 1, "connection %" PRIu64 ": recv: %s", c->id,
			             strerror(errno));
	}
	conn_flush(w, c);
}

/* Reads until the socket is drained. A read shorter than the buffer means
 * it was, unless the event also reported the peer's close: then read on,
 * or the end of the stream would never be seen (no further edge comes). */
static void conn_on_readable(struct worker *w, struct conn *c, uint32_t events)
{
	if (w->udp) {
		conn_read_datagrams(w, c);
		return;
	}
	for (;;) {
		ssize_t n = recv(c->fd, w->recv_buf, IO_BUF_BYTES, 0);

		if (n > 0) {
			if (!conn_consume(w, c, w->recv_buf, (size_t)n, clock_now_ns()))
				return;
			if (n < IO_BUF_BYTES && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				break;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		} else {
			conn_fail(w, c, ERROR_RESET, "connection %" PRIu64 ": %s", c->id,
			          n == 0 ? "closed by the server" : strerror(errno));
			return;
		}
	}
	conn_flush(w, c);
}

/* ---- connecting --------------------------------------------------------- */

static void conn_established(struct worker *w, struct conn *c, int64_t now_ns)
{
	list_remove(&w->connecting, c);
	c->state = CONN_OPEN;
	c->broken = false;
	conn_mark_tried(w, c);
	if (in_measured_time(w, now_ns)) {
		histogram_record(w->stats.connect_latency,
		                 (uint64_t)(now_ns - c->connect_start_ns));
		w->stats.connects++;
	}
	if (w->opts->churn && c->send_limit == c->recv_seq) {
		conn_drop(w, c); /* the run ended while it connected */
		return;
	}
	conn_flush(w, c);
}

/* A Unix-domain connect found the listen queue full: tried again shortly,
 * or, past the connect timeout since the first try, failed. */
static void conn_backlog_full(struct worker *w, struct conn *c, int64_t now_ns)
{
	int64_t timeout_ns = (int64_t)w->opts->connect_timeout_ns;

	conn_drop(w, c);
	c->backlog_full = now_ns - c->connect_start_ns < timeout_ns;
	if (c->backlog_full)
		conn_queue(w, c, now_ns + BACKLOG_RETRY_NS);
	else
		conn_fail(w, c, ERROR_CONNECT,
		          "connection %" PRIu64 ": connect: the server's listen queue stayed "
		          "full for %.3f s",
		          c->id, (double)timeout_ns / 1e9);
}

/* --source: binds c's socket to its source address. The port is left to
 * connect (IP_BIND_ADDRESS_NO_PORT), which needs it unique only for that
 * one server address: every source has the whole local port range. */
static bool conn_bind_source(const struct conn *c, const struct options *opts)
{
	const struct sockaddr_storage *src = &opts->sources[c->id % opts->source_count];
	socklen_t len =
	    src->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1;

	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	return bind(c->fd, (const struct sockaddr *)src, len) == 0;
}

static void conn_connect(struct worker *w, struct conn *c, int64_t now_ns)
{
	const struct options *opts = w->opts;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		                  .data.ptr = c };
	int one = 1;

	/* A retry after a full queue is the same connect, timed from its first try. */
	if (!c->backlog_full)
		c->connect_start_ns = now_ns;
	c->backlog_full = false;
	c->fd = socket(opts->addr.ss_family,
	               (w->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(w, c, ERROR_CONNECT, "connection %" PRIu64 ": socket: %s", c->id,
		          strerror(errno));
		return;
	}
	/* Each message leaves at once instead of waiting, by Nagle's rule, for
	 * the ACK of the previous one: pipelined and open-loop messages
	 * would otherwise be held back. */
	if (opts->transport == TRANSPORT_TCP)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (opts->source_count > 0 && !conn_bind_source(c, opts)) {
		conn_fail(w, c, ERROR_CONNECT, "connection %" PRIu64 ": bind to its --source: %s",
		          c->id, strerror(errno));
		return;
	}
	c->state = CONN_CONNECTING;
	list_append(&w->connecting, c);
	if (connect(c->fd, (const struct sockaddr *)&opts->addr, opts->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		if (errno == EAGAIN && opts->transport == TRANSPORT_UNIX)
			conn_backlog_full(w, c, now_ns);
		else
			conn_fail(w, c, ERROR_CONNECT, "connection %" PRIu64 ": connect: %s", c->id,
			          strerror(errno));
		return;
	}
	/* Registered after connect(): if the handshake is already over, the
	 * ADD itself finds the socket writable and reports it. */
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		conn_fail(w, c, ERROR_CONNECT, "connection %" PRIu64 ": epoll_ctl: %s", c->id,
		          strerror(errno));
}

static void conn_on_connect_event(struct worker *w, struct conn *c, uint32_t events)
{
	int err = 0;
	socklen_t err_len = sizeof err;

	if (events & (EPOLLERR | EPOLLHUP)) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
			err = errno;
		conn_fail(w, c, ERROR_CONNECT, "connection %" PRIu64 ": connect: %s", c->id,
		          err ? strerror(err) : "closed during the handshake");
	} else if (events & EPOLLOUT) {
		conn_established(w, c, clock_now_ns());
	}
}

static void conn_on_event(struct worker *w, struct conn *c, uint32_t events)
{
	if (c->state == CONN_CONNECTING)
		conn_on_connect_event(w, c, events);
	else if (c->state != CONN_OPEN)
		return;
	else if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		conn_on_readable(w, c, events);
	else if (events & EPOLLOUT)
		conn_flush(w, c);
}

/* ---- timers: connect deadlines, the connect queue, the open-loop schedule */

static void worker_dispatch(struct worker *w, int64_t now_ns)
{
	while (w->sched_next_ns <= now_ns) {
		struct conn *c = &w->conns[w->sched_index];

		c->send_limit++;
		conn_kick(w, c, now_ns);
		if (++w->sched_index == w->active_count) {
			w->sched_index = 0;
			w->sched_round++;
		}
		w->sched_next_ns = conn_due_ns(w, &w->conns[w->sched_index], w->sched_round);
	}
	worker_flush_all(w);
}

/* --udp: counts lost every datagram in flight longer than --loss-timeout
 * (in the closed loop each frees its place for the next message), and
 * sets when to look again: when the oldest left would be overdue, or a
 * whole timeout from now for datagrams not yet sent. */
static void worker_expire_datagrams(struct worker *w, int64_t now_ns)
{
	int64_t timeout_ns = (int64_t)w->opts->loss_timeout_ns, oldest_ns = now_ns;

	for (size_t i = 0; i < w->active_count; i++) {
		struct conn *c = &w->conns[i];
		uint64_t lost = datagram_window_expire(&c->window, now_ns - timeout_ns);
		int64_t sent_ns = datagram_window_oldest_sent(&c->window);

		if (lost > 0) {
			w->stats.datagrams.lost += lost;
			worker_error(w, ERROR_TIMEOUT, lost,
			             "connection %" PRIu64 ": %" PRIu64
			             " datagram%s not echoed within %.3f s (lost)",
			             c->id, lost, lost == 1 ? "" : "s", (double)timeout_ns / 1e9);
			for (uint64_t k = 0; k < lost; k++)
				conn_next_due(w, c, now_ns);
			conn_kick(w, c, now_ns);
		}
		if (sent_ns < oldest_ns)
			oldest_ns = sent_ns;
	}
	w->next_expiry_ns = oldest_ns + timeout_ns;
	worker_flush_all(w);
}

static void worker_fire_timers(struct worker *w, int64_t now_ns)
{
	int64_t timeout_ns = (int64_t)w->opts->connect_timeout_ns;
	struct conn *c;

	while ((c = w->connecting.head) != NULL && now_ns - c->connect_start_ns >= timeout_ns)
		conn_fail(w, c, ERROR_CONNECT,
		          "connection %" PRIu64 ": connect timed out after %.3f s", c->id,
		          (double)timeout_ns / 1e9);
	while ((c = w->queue.head) != NULL && c->not_before_ns <= now_ns &&
	       w->next_connect_ns <= now_ns) {
		int64_t earliest_ns = now_ns - CONNECT_BURST * w->connect_interval_ns;

		if (w->next_connect_ns < earliest_ns)
			w->next_connect_ns = earliest_ns;
		w->next_connect_ns += w->connect_interval_ns;
		list_remove(&w->queue, c);
		c->state = CONN_CLOSED;
		conn_connect(w, c, now_ns);
	}
	if (w->udp && now_ns >= w->next_expiry_ns)
		worker_expire_datagrams(w, now_ns);
	if (w->sending && w->open_loop)
		worker_dispatch(w, now_ns);
}

static int64_t min_ns(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t worker_next_timer(const struct worker *w, int64_t deadline_ns)
{
	int64_t next_ns = deadline_ns;

	if (w->connecting.head)
		next_ns = min_ns(next_ns, w->connecting.head->connect_start_ns +
		                              (int64_t)w->opts->connect_timeout_ns);
	if (w->queue.head) {
		int64_t queue_ns = w->queue.head->not_before_ns;

		next_ns =
		    min_ns(next_ns, queue_ns > w->next_connect_ns ? queue_ns : w->next_connect_ns);
	}
	if (w->sending && w->open_loop)
		next_ns = min_ns(next_ns, w->sched_next_ns);
	if (w->udp)
		next_ns = min_ns(next_ns, w->next_expiry_ns);
	return next_ns;
}

static void worker_publish(struct worker *w)
{
	uint64_t errors = 0;

	for (int kind = 0; kind < ERROR_KINDS; kind++)
		errors += w->stats.errors[kind];
	atomic_store_explicit(&w->progress_echoes, w->echoes, memory_order_relaxed);
	atomic_store_explicit(&w->progress_errors, errors, memory_order_relaxed);
}

/* One turn of the loop: waits for events or the next timer, but not past
 * deadline_ns (INT64_MAX: no deadline), handles them, fires due timers. */
static void worker_poll(struct worker *w, int64_t deadline_ns)
{
	int64_t wake_ns = worker_next_timer(w, deadline_ns), wait_ns = wake_ns - clock_now_ns();
	struct timespec timeout = { .tv_sec = 0, .tv_nsec = 0 };
	int n;

	if (wait_ns > 0) {
		timeout.tv_sec = wait_ns / 1000000000;
		timeout.tv_nsec = wait_ns % 1000000000;
	}
	n = epoll_pwait2(w->epfd, w->events, MAX_EVENTS, wake_ns == INT64_MAX ? NULL : &timeout,
	                 NULL);
	if (n < 0 && errno != EINTR)
		err_sys("epoll_pwait2"); /* EBADF, EFAULT, EINVAL: a bug, stop loudly */
	for (int i = 0; i < n; i++)
		if (w->events[i].data.ptr != NULL) /* NULL: the stop eventfd */
			conn_on_event(w, w->events[i].data.ptr, w->events[i].events);
	worker_fire_timers(w, clock_now_ns());
	worker_publish(w);
}

/* ---- the run's phases -------------------------------------------------- */

/* Idle connections first, so they are open before any traffic. Churn
 * connections connect per message, not now: start-up does not wait for them. */
static void worker_open_connections(struct worker *w)
{
	for (size_t i = w->active_count; i < w->conn_count; i++)
		conn_queue(w, &w->conns[i], 0);
	for (size_t i = 0; i < w->active_count; i++) {
		if (w->opts->churn)
			w->conns[i].tried = true;
		else
			conn_queue(w, &w->conns[i], 0);
	}
	w->untried = w->opts->churn ? w->conn_count - w->active_count : w->conn_count;
}

static void worker_notify(struct worker *w, long *counter)
{
	uint64_t one = 1;

	Pthread_mutex_lock(&w->run->lock);
	(*counter)++;
	Pthread_mutex_unlock(&w->run->lock);
	(void)!write(w->run->notify_fd, &one, sizeof one);
}

/* Reports ready and waits for main to start the run. False if stopped. */
static bool worker_wait_start(struct worker *w)
{
	struct run *run = w->run;
	bool go;

	worker_notify(w, &run->ready_workers);
	Pthread_mutex_lock(&run->lock);
	while (!run->started && !worker_stopped(w))
		pthread_cond_wait(&run->started_cond, &run->lock);
	go = run->started && !worker_stopped(w);
	if (go) {
		w->start_ns = run->start_ns;
		w->measure_start_ns = run->measure_start_ns;
		w->measure_end_ns = run->measure_end_ns;
	}
	Pthread_mutex_unlock(&run->lock);
	return go;
}

/* Traffic starts: -P messages due on every connection (closed loop), or
 * the schedule starts (open loop). */
static void worker_begin(struct worker *w)
{
	w->sending = true;
	if (w->udp)
		w->next_expiry_ns = w->start_ns + (int64_t)w->opts->loss_timeout_ns;
	if (w->open_loop) {
		w->sched_next_ns = conn_due_ns(w, &w->conns[0], 0);
		return;
	}
	for (size_t i = 0; i < w->active_count; i++) {
		struct conn *c = &w->conns[i];

		for (long k = 0; k < w->opts->pipeline; k++)
			c->due_ns[k] = w->start_ns;
		c->send_limit = (uint64_t)w->opts->pipeline;
		conn_kick(w, c, w->start_ns);
	}
	worker_flush_all(w);
}

/* The measured time is over: nothing new becomes due, nothing is retried.
 * What the open loop had due but not sent is counted as unsent. */
static void worker_stop_sending(struct worker *w)
{
	w->sending = false;
	w->reconnecting = false;
	for (size_t i = 0; i < w->conn_count; i++) {
		struct conn *c = &w->conns[i];
		uint64_t sent =
		    c->state == CONN_OPEN ? c->send_seq + (c->send_off_bytes > 0) : c->recv_seq;

		if (w->open_loop && i < w->active_count)
			w->stats.unsent += c->send_limit - sent;
		if (i < w->active_count)
			c->send_limit = sent;
		if (c->state == CONN_QUEUED)
			conn_drop(w, c);
	}
}

static bool worker_drained(const struct worker *w)
{
	for (size_t i = 0; i < w->active_count; i++)
		if (w->conns[i].state == CONN_OPEN && conn_in_flight(w, &w->conns[i]) > 0)
			return false;
	return true;
}

/* Waits for the echoes still in flight, DRAIN_TIMEOUT_NS from now: from
 * when this worker stopped sending, which is later than the end of the
 * measured time when the thread was scheduled late. */
static void worker_drain(struct worker *w)
{
	int64_t drain_end_ns = clock_now_ns() + DRAIN_TIMEOUT_NS;

	while (!worker_stopped(w) && !worker_drained(w) && clock_now_ns() < drain_end_ns)
		worker_poll(w, drain_end_ns);
}

/* After the drain, the connections stay open until main has sampled the
 * end of the measured time (its CPU clock, and with --server-pid the
 * server's threads and memory), however late main wakes: a server is
 * measured as it was under load, not after its clients left. */
static void worker_wait_end_marked(struct worker *w)
{
	struct run *run = w->run;

	Pthread_mutex_lock(&run->lock);
	while (!run->end_marked && !worker_stopped(w))
		pthread_cond_wait(&run->end_marked_cond, &run->lock);
	Pthread_mutex_unlock(&run->lock);
}

/* Counts what never came back (unless interrupted: then nobody waited for
 * it) and the connections that are down, and closes everything. */
static void worker_finish(struct worker *w, bool interrupted)
{
	for (size_t i = 0; i < w->conn_count; i++) {
		struct conn *c = &w->conns[i];

		if (!interrupted && c->state == CONN_OPEN && w->udp)
			w->stats.datagrams.lost += conn_in_flight(w, c);
		if (!interrupted && c->state == CONN_OPEN && conn_in_flight(w, c) > 0)
			worker_error(w, ERROR_TIMEOUT, conn_in_flight(w, c),
			             "connection %" PRIu64 ": %" PRIu64
			             " message%s not echoed %.1f s after sending stopped",
			             c->id, conn_in_flight(w, c),
			             conn_in_flight(w, c) == 1 ? "" : "s",
			             (double)DRAIN_TIMEOUT_NS / 1e9);
		if (c->broken)
			w->stats.down++;
		conn_drop(w, c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	/* Timers fire within a microsecond rather than the default 50 us of
	 * slack: open-loop messages leave on time. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	worker_open_connections(w);
	while (w->untried > 0 && !worker_stopped(w))
		worker_poll(w, INT64_MAX);
	if (worker_wait_start(w)) {
		worker_begin(w);
		while (!worker_stopped(w) && clock_now_ns() < w->measure_end_ns)
			worker_poll(w, w->measure_end_ns);
		worker_stop_sending(w);
		worker_drain(w);
		worker_wait_end_marked(w);
	}
	worker_finish(w, worker_stopped(w));
	worker_publish(w);
	worker_notify(w, &w->run->done_workers);
	return NULL;
}

/* ---- creating and collecting workers ------------------------------------ */

/* --udp: the most datagrams one connection may have in flight: -P in the
 * closed loop; in the open loop what its share of the rate sends within
 * the loss timeout, and some, so that a window that is full means
 * datagrams are being lost, not that echoes are slow. */
static uint64_t datagrams_in_flight(const struct options *opts)
{
	double per_conn;

	if (opts->rate_per_s <= 0)
		return (uint64_t)opts->pipeline;
	per_conn =
	    opts->rate_per_s / (double)opts->connections * ((double)opts->loss_timeout_ns / 1e9);
	return (uint64_t)(per_conn < MAX_DATAGRAMS_IN_FLIGHT ? per_conn : MAX_DATAGRAMS_IN_FLIGHT) +
	       64;
}

/* How many of 0..total-1 are congruent to index modulo threads. */
static size_t share_of(long total, long index, long threads)
{
	return index < total ? (size_t)((total - index + threads - 1) / threads) : 0;
}

static void worker_init_conns(struct worker *w)
{
	const struct options *opts = w->opts;
	long threads = opts->threads;

	for (size_t i = 0; i < w->conn_count; i++) {
		struct conn *c = &w->conns[i];
		bool idle = i >= w->active_count;
		size_t k = idle ? i - w->active_count : i;

		c->fd = -1;
		c->id = (uint64_t)(idle ? opts->connections : 0) + (uint64_t)w->index +
		        k * (uint64_t)threads;
		c->send_key = c->recv_key = payload_key(opts->seed, c->id, 0);
		if (!idle && !w->open_loop)
			c->due_ns = w->due_ns + i * (size_t)opts->pipeline;
		if (w->udp)
			datagram_window_init(&c->window, datagrams_in_flight(opts));
	}
}

struct worker *worker_start(struct run *run, long index)
{
	const struct options *opts = run->opts;
	struct worker *w = Calloc(1, sizeof *w);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int rc;

	w->run = run;
	w->opts = opts;
	w->index = index;
	w->interval = run->interval_slots != NULL ? run->interval_slots[index] : NULL;
	w->open_loop = opts->rate_per_s > 0;
	w->udp = opts->transport == TRANSPORT_UDP;
	w->next_expiry_ns = INT64_MAX;
	w->period_ns = w->open_loop ? 1e9 / opts->rate_per_s : 0;
	w->active_count = share_of(opts->connections, index, opts->threads);
	w->conn_count = w->active_count + share_of(opts->idle, index, opts->threads);
	w->conns = Calloc(w->conn_count, sizeof *w->conns);
	if (!w->open_loop)
		w->due_ns = Calloc(w->active_count * (size_t)opts->pipeline, sizeof *w->due_ns);
	worker_init_conns(w);
	w->flush_list = Calloc(w->active_count, sizeof *w->flush_list);
	w->send_buf = Malloc(IO_BUF_BYTES);
	w->recv_buf = Malloc(IO_BUF_BYTES);
	w->connect_interval_ns = 1000000000ll * opts->threads / CONNECTS_PER_S;
	w->reconnecting = true;
	w->measure_start_ns = w->measure_end_ns = INT64_MAX; /* nothing is measured yet */
	stats_init(&w->stats);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		err_sys("epoll_create1");
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, run->stop_fd, &ev) < 0)
		err_sys("epoll_ctl stop eventfd");
	rc = thread_start(&w->tid, worker_main, w, WORKER_STACK_BYTES, false);
	if (rc != 0) {
		errno = rc;
		err_sys("cannot start worker thread %ld", index);
	}
	return w;
}

const struct worker_stats *worker_join(struct worker *w)
{
	pthread_join(w->tid, NULL);
	return &w->stats;
}

void worker_free(struct worker *w)
{
	close(w->epfd);
	stats_destroy(&w->stats);
	free(w->send_buf);
	free(w->recv_buf);
	free(w->flush_list);
	free(w->due_ns);
	for (size_t i = 0; w->udp && i < w->conn_count; i++)
		datagram_window_free(&w->conns[i].window);
	free(w->conns);
	free(w);
}

uint64_t worker_progress_echoes(const struct worker *w)
{
	return atomic_load_explicit(&w->progress_echoes, memory_order_relaxed);
}

uint64_t worker_progress_errors(const struct worker *w)
{
	return atomic_load_explicit(&w->progress_errors, memory_order_relaxed);
}

/* ---- statistics ---------------------------------------------------------- */

void stats_init(struct worker_stats *stats)
{
	*stats = (struct worker_stats){ 0 };
	stats->latency = histogram_new();
	stats->connect_latency = histogram_new();
}

void stats_merge(struct worker_stats *dst, const struct worker_stats *src)
{
	dst->messages += src->messages;
	dst->connects += src->connects;
	dst->unsent += src->unsent;
	dst->down += src->down;
	dst->datagrams.lost += src->datagrams.lost;
	dst->datagrams.duplicated += src->datagrams.duplicated;
	dst->datagrams.reordered += src->datagrams.reordered;
	dst->datagrams.late += src->datagrams.late;
	for (int kind = 0; kind < ERROR_KINDS; kind++) {
		if (dst->errors[kind] == 0)
			memcpy(dst->first_error[kind], src->first_error[kind], ERROR_DETAIL_BYTES);
		dst->errors[kind] += src->errors[kind];
	}
	histogram_merge(dst->latency, src->latency);
	histogram_merge(dst->connect_latency, src->connect_latency);
}

void stats_destroy(struct worker_stats *stats)
{
	histogram_free(stats->latency);
	histogram_free(stats->connect_latency);
}
