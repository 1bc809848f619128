/*
 * poll.c - one thread, poll(2), non-blocking sockets.
 *
 * The loop keeps an array of struct pollfd, one per connection plus the
 * listener, with the events each one waits for; poll fills in what happened.
 * Each connection has a bounded buffer: while it is full the client is not
 * read (backpressure), and POLLOUT is asked for only while output is pending.
 *
 * Wins:  no FD_SETSIZE limit; the interest lives in the array and is not
 *        rebuilt every call; one thread, no locks.
 * Costs: the kernel still copies and checks the whole array on every call,
 *        and the loop still scans it: idle connections cost every message.
 *
 * Compare with: diff -u servers/poll.c servers/epoll-lt.c
 * Run:          bin/echo-poll -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "poll",
	.summary = "Single-threaded echo server multiplexing with poll(2).",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

struct conn {
	int fd;
	size_t index; /* of its entry in pfds[] */
	struct echo_buf buf;
};

/* pfds[0] is the listener; pfds[i] belongs to conns[i] for i >= 1. */
static struct pollfd *pfds;
static struct conn **conns;
static size_t nfds, capacity;
static long open_conns;

/* Doubles both arrays when full. Returns false when out of memory. */
static bool grow_arrays(void)
{
	size_t new_capacity = capacity ? capacity * 2 : 64;
	struct pollfd *new_pfds = realloc(pfds, new_capacity * sizeof *pfds);
	struct conn **new_conns;

	if (new_pfds == NULL)
		return false;
	pfds = new_pfds;
	new_conns = realloc(conns, new_capacity * sizeof *conns);
	if (new_conns == NULL)
		return false;
	conns = new_conns;
	capacity = new_capacity;
	return true;
}

/* Waits for reading while there is room, for writing while output is pending. */
static void update_events(struct conn *c)
{
	pfds[c->index].events = (short)((echo_wants_read(&c->buf) ? POLLIN : 0) |
	                                (echo_wants_write(&c->buf) ? POLLOUT : 0));
}

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c;

	if (nfds == capacity && !grow_arrays()) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c = malloc(sizeof *c);
	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->index = nfds++;
	echo_buf_init(&c->buf);
	conns[c->index] = c;
	pfds[c->index] = (struct pollfd){ .fd = fd, .events = POLLIN };
	open_conns++;
}

/* Moves the last entry into the freed slot, so the array stays dense. */
static void conn_close(struct conn *c, const char *reason)
{
	size_t last = nfds - 1;

	trace("close", c->fd, "reason=%s", reason);
	pfds[c->index] = pfds[last];
	conns[c->index] = conns[last];
	conns[c->index]->index = c->index;
	nfds--;
	close(c->fd);
	echo_buf_release(&c->buf);
	free(c);
	open_conns--;
}

static void on_accept(int listenfd, long max_conns)
{
	accept_batch(listenfd, &open_conns, max_conns, conn_open, NULL);
}

/* Returns false when the connection was closed. */
static bool on_readable(struct conn *c)
{
	trace("readable", c->fd, "pending=%zu", c->buf.end - c->buf.start);
	if (echo_read_step(c->fd, &c->buf) == ECHO_CLOSE) {
		conn_close(c, "done");
		return false;
	}
	update_events(c);
	return true;
}

/* Returns false when the connection was closed. */
static bool on_writable(struct conn *c)
{
	trace("writable", c->fd, "pending=%zu", c->buf.end - c->buf.start);
	if (echo_write_step(c->fd, &c->buf) == ECHO_CLOSE) {
		conn_close(c, "done");
		return false;
	}
	update_events(c);
	return true;
}

/* Scans the whole array: poll says how many are ready, not which. Walks it
 * backwards so that conn_close, which moves the last entry into the freed
 * slot, only ever moves an entry already handled. */
static void dispatch(void)
{
	trace("scan", -1, "call=poll examined=%zu", nfds);
	for (size_t i = nfds - 1; i >= 1; i--) {
		short revents = pfds[i].revents;
		struct conn *c = conns[i];

		pfds[i].revents = 0;
		/* An error or hang-up is found out by the next read or write. */
		if ((revents & (POLLOUT | POLLERR | POLLHUP)) && !on_writable(c))
			continue;
		if (revents & (POLLIN | POLLERR | POLLHUP))
			on_readable(c);
	}
}

static void close_all(void)
{
	while (nfds > 1)
		conn_close(conns[nfds - 1], "stop");
	free(pfds);
	free(conns);
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t wait_mask;
	int listenfd;

	server_parse_options(argc, argv, &model, &opts);
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	if (!grow_arrays())
		err_sys("malloc");
	pfds[0] = (struct pollfd){ .fd = listenfd, .events = POLLIN };
	nfds = 1;
	signals_block_stop(&wait_mask); /* stop signals arrive only in ppoll */

	while (!stop_requested) {
		int ready = ppoll(pfds, nfds, NULL, &wait_mask);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("poll");
		trace("wait", -1, "call=poll ready=%d watched=%zu", ready, nfds);
		dispatch();
		if (pfds[0].revents & POLLIN)
			on_accept(listenfd, opts.max_conns);
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	close_all();
	Close(listenfd);
	return 0;
}
