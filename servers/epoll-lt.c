/*
 * epoll-lt.c - one thread, epoll level-triggered, non-blocking sockets.
 *
 * The interest list lives in the kernel: a connection is added once with
 * epoll_ctl and changed only when what it waits for changes. epoll_wait
 * returns just the ready connections, so idle ones cost nothing per call.
 * Level-triggered: a socket is reported for as long as it is readable, so one
 * read per event is enough and nothing is ever missed. Each connection has a
 * bounded buffer: while it is full the client is not read (backpressure), and
 * EPOLLOUT is asked for only while output is pending.
 *
 * Wins:  the cost of a wait depends on the ready connections, not on all of
 *        them (the C10K answer); one thread, no locks.
 * Costs: Linux only; an epoll_ctl system call whenever interest changes.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/epoll-et.c
 * Run:          bin/echo-epoll-lt -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "epoll-lt",
	.summary = "Single-threaded echo server on level-triggered epoll.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Events handed back by one epoll_wait. */
#define MAX_EVENTS 256

struct conn {
	int fd;
	uint32_t events;          /* what the kernel watches for it now */
	struct conn *prev, *next; /* every open connection, to close them at stop */
	struct echo_buf buf;
};

static int epfd;
static struct conn *all_conns;
static long open_conns;

/* Tells the kernel what c waits for, if that changed: reading while there is
 * room, writing while output is pending. Returns false if epoll_ctl failed. */
static bool update_events(struct conn *c)
{
	uint32_t want =
	    (echo_wants_read(&c->buf) ? EPOLLIN : 0) | (echo_wants_write(&c->buf) ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want == c->events)
		return true;
	c->events = want;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c = malloc(sizeof *c);
	struct epoll_event ev = { .events = EPOLLIN };

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	echo_buf_init(&c->buf);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		shed_conn(fd, "epoll_ctl-failed");
		return;
	}
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	open_conns++;
}

/* close(2) also takes the fd out of the epoll set: no EPOLL_CTL_DEL needed. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
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
	if (echo_read_step(c->fd, &c->buf) == ECHO_CLOSE || !update_events(c)) {
		conn_close(c, "done");
		return false;
	}
	return true;
}

/* Returns false when the connection was closed. */
static bool on_writable(struct conn *c)
{
	trace("writable", c->fd, "pending=%zu", c->buf.end - c->buf.start);
	if (echo_write_step(c->fd, &c->buf) == ECHO_CLOSE || !update_events(c)) {
		conn_close(c, "done");
		return false;
	}
	return true;
}

/* Only the ready connections come back: nothing to scan. The listener is
 * the one registered with a NULL pointer. */
static void dispatch(const struct epoll_event *events, int ready, int listenfd, long max_conns)
{
	for (int i = 0; i < ready; i++) {
		struct conn *c = events[i].data.ptr;
		uint32_t what = events[i].events;

		if (c == NULL) {
			on_accept(listenfd, max_conns);
			continue;
		}
		/* An error or hang-up is found out by the next read or write. */
		if ((what & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !on_writable(c))
			continue;
		if (what & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_readable(c);
	}
}

static void close_all(void)
{
	while (all_conns != NULL)
		conn_close(all_conns, "stop");
}

int main(int argc, char **argv)
{
	struct server_options opts;
	struct epoll_event events[MAX_EVENTS];
	struct epoll_event listen_ev = { .events = EPOLLIN, .data.ptr = NULL };
	sigset_t wait_mask;
	int listenfd;

	server_parse_options(argc, argv, &model, &opts);
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listenfd, &listen_ev) < 0)
		err_sys("epoll");
	signals_block_stop(&wait_mask); /* stop signals arrive only in epoll_pwait */

	while (!stop_requested) {
		int ready = epoll_pwait(epfd, events, MAX_EVENTS, -1, &wait_mask);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("epoll_wait");
		trace("wait", -1, "call=epoll_wait ready=%d watched=%ld", ready, open_conns + 1);
		dispatch(events, ready, listenfd, opts.max_conns);
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	close_all();
	Close(epfd);
	Close(listenfd);
	return 0;
}
