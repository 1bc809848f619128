/*
 * select.c - one thread, select(2), non-blocking sockets.
 *
 * Every turn of the loop builds two fd sets from scratch (who may be read,
 * who has output pending), hands them to select, and then scans every fd up
 * to the highest to see which are ready. Each connection has a bounded
 * buffer: while it is full the client is not read (backpressure), and it is
 * watched for writability only while output is pending.
 *
 * Wins:  one thread serves every client; no locks; portable to any Unix.
 * Costs: each call copies and scans all watched fds, idle or not: the cost of
 *        a message grows with the number of connections. fds >= FD_SETSIZE
 *        (1024) cannot be watched at all.
 *
 * Compare with: diff -u servers/select.c servers/poll.c
 * Run:          bin/echo-select -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "select",
	.summary = "Single-threaded echo server multiplexing with select(2).",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "FD_SETSIZE: fds >= 1024 are always refused)",
};

struct conn {
	int fd;
	struct echo_buf buf;
};

/* Indexed by fd: select speaks in fd numbers, so the table does too. */
static struct conn *conns[FD_SETSIZE];
static int conns_high_fd = -1; /* highest fd ever in conns[] */
static long open_conns;

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c;

	/* fds >= FD_SETSIZE cannot be watched by select: refuse them.
	 * FD_SET on one would write past the end of the fd_set. */
	if (fd >= FD_SETSIZE) {
		shed_conn(fd, "fd>=FD_SETSIZE");
		return;
	}
	c = malloc(sizeof *c);
	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	echo_buf_init(&c->buf);
	conns[fd] = c;
	if (fd > conns_high_fd)
		conns_high_fd = fd;
	open_conns++;
}

static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	conns[c->fd] = NULL;
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
	return true;
}

/* Rebuilds the sets select needs: this is its cost, on every call. Returns
 * the highest fd set, for select's first argument. */
static int fill_fd_sets(int listenfd, fd_set *readable, fd_set *writable)
{
	int high_fd = listenfd;

	FD_ZERO(readable);
	FD_ZERO(writable);
	FD_SET(listenfd, readable);
	for (int fd = 0; fd <= conns_high_fd; fd++) {
		struct conn *c = conns[fd];

		if (c == NULL)
			continue;
		if (echo_wants_read(&c->buf))
			FD_SET(fd, readable);
		if (echo_wants_write(&c->buf))
			FD_SET(fd, writable);
		high_fd = fd > high_fd ? fd : high_fd;
	}
	return high_fd;
}

/* Scans every fd up to high_fd: select says how many are ready, not which. */
static void dispatch(int high_fd, const fd_set *readable, const fd_set *writable)
{
	trace("scan", -1, "call=select examined=%d", high_fd + 1);
	for (int fd = 0; fd <= high_fd; fd++) {
		struct conn *c = conns[fd];

		if (c == NULL) /* the listener, or a free fd */
			continue;
		if (FD_ISSET(fd, writable) && !on_writable(c))
			continue;
		if (FD_ISSET(fd, readable))
			on_readable(c);
	}
}

static void close_all(void)
{
	for (int fd = 0; fd <= conns_high_fd; fd++)
		if (conns[fd] != NULL)
			conn_close(conns[fd], "stop");
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t wait_mask;
	int listenfd;

	server_parse_options(argc, argv, &model, &opts);
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	signals_block_stop(&wait_mask); /* stop signals arrive only in pselect */

	while (!stop_requested) {
		fd_set readable, writable;
		int high_fd = fill_fd_sets(listenfd, &readable, &writable);
		int ready = pselect(high_fd + 1, &readable, &writable, NULL, NULL, &wait_mask);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("select");
		trace("wait", -1, "call=select ready=%d watched=%ld", ready, open_conns + 1);
		dispatch(high_fd, &readable, &writable);
		if (FD_ISSET(listenfd, &readable))
			on_accept(listenfd, opts.max_conns);
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	close_all();
	Close(listenfd);
	return 0;
}
