/*
 * epoll-et.c - one thread, epoll edge-triggered, non-blocking sockets.
 *
 * Like epoll-lt, but a socket is reported only when it becomes readable (an
 * edge), not for as long as it is. So the loop must read until EAGAIN, or
 * remember that data is left: nobody will say so again. Reading to EAGAIN in
 * one go would let one busy client starve the rest, so each connection gets
 * a budget of reads per turn; one that spends it goes on a ready list and is
 * served again after the others (the fix epoll(7) recommends). Backpressure
 * and EPOLLOUT-only-while-pending are as in the other event loops.
 *
 * Wins:  fewer wake-ups and no EPOLLIN changes: EPOLLIN is registered once.
 * Costs: easy to get wrong: a missed read hangs a client forever; the ready
 *        list is the bookkeeping that level-triggered mode does for you.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/epoll-et.c
 * Run:          bin/echo-epoll-et -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "epoll-et",
	.summary = "Single-threaded echo server on edge-triggered epoll with a fairness budget.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Events handed back by one epoll_wait. */
#define MAX_EVENTS 256

/* Reads one connection may do per turn before the others get theirs. */
#define READS_PER_TURN 8

struct conn {
	int fd;
	uint32_t events; /* what the kernel watches for it now */
	bool readable;   /* an edge came and EAGAIN has not been seen since */
	bool in_ready_list;
	struct conn *prev, *next;             /* every open connection, to close them at stop */
	struct conn *ready_prev, *ready_next; /* the ready list */
	struct echo_buf buf;
};

static int epfd;
static struct conn *all_conns;
static long open_conns;

/* Connections with data left to read and room to read it into. No new edge
 * will come for them, so the loop must come back to them by itself. */
static struct conn *ready_head, *ready_tail;
static size_t ready_count;

static void ready_push(struct conn *c)
{
	if (c->in_ready_list)
		return;
	c->in_ready_list = true;
	c->ready_next = NULL;
	c->ready_prev = ready_tail;
	if (ready_tail != NULL)
		ready_tail->ready_next = c;
	else
		ready_head = c;
	ready_tail = c;
	ready_count++;
}

static void ready_remove(struct conn *c)
{
	if (!c->in_ready_list)
		return;
	c->in_ready_list = false;
	if (c->ready_prev != NULL)
		c->ready_prev->ready_next = c->ready_next;
	else
		ready_head = c->ready_next;
	if (c->ready_next != NULL)
		c->ready_next->ready_prev = c->ready_prev;
	else
		ready_tail = c->ready_prev;
	ready_count--;
}

/* Tells the kernel what c waits for, if that changed: EPOLLIN always (an edge
 * costs nothing while we do not read), writing while output is pending.
 * Returns false if epoll_ctl failed. */
static bool update_events(struct conn *c)
{
	uint32_t want = EPOLLIN | EPOLLET | (echo_wants_write(&c->buf) ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want == c->events)
		return true;
	c->events = want;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c = malloc(sizeof *c);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN | EPOLLET;
	/* Data may have arrived before the registration: look once anyway. */
	c->readable = true;
	c->in_ready_list = false;
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
	ready_push(c);
}

/* close(2) also takes the fd out of the epoll set: no EPOLL_CTL_DEL needed. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	ready_remove(c);
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

/* Reads until EAGAIN, a full buffer or the budget, whichever comes first.
 * Returns false when the connection was closed. */
static bool on_readable(struct conn *c)
{
	for (int reads = 0; reads < READS_PER_TURN && echo_wants_read(&c->buf); reads++) {
		enum echo_status status = echo_read_step(c->fd, &c->buf);

		if (status == ECHO_CLOSE) {
			conn_close(c, "done");
			return false;
		}
		if (status == ECHO_AGAIN) {
			trace("again", c->fd, "reads=%d", reads);
			c->readable = false; /* drained: the next edge will tell */
			break;
		}
#ifdef ET_READ_ONCE
		/* The classic edge-triggered bug, built only on request for
		 * docs/experiments.md: one read per edge, then the socket is
		 * forgotten as if drained. What that read left behind waits for
		 * an edge that never comes, and its client hangs. */
		c->readable = false;
		break;
#endif
	}
	if (!update_events(c)) {
		conn_close(c, "epoll_ctl-failed");
		return false;
	}
	/* Budget spent with data left: go to the back of the ready list. With a
	 * full buffer, on_writable puts it back once the output drains. */
	if (c->readable && echo_wants_read(&c->buf)) {
		trace("budget", c->fd, "reads=%d pending=%zu", READS_PER_TURN,
		      c->buf.end - c->buf.start);
		ready_push(c);
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
	if (c->readable && echo_wants_read(&c->buf))
		ready_push(c); /* room again for what is still unread */
	return true;
}

/* Gives every connection queued so far one turn of reads; those that spend
 * their budget queue again behind the others, for the next round. */
static void run_ready_list(void)
{
	for (size_t turns = ready_count; turns > 0 && ready_head != NULL; turns--) {
		struct conn *c = ready_head;

		ready_remove(c);
		on_readable(c);
	}
}

/* Only the ready connections come back: nothing to scan. The listener is
 * the one registered with a NULL pointer; it stays level-triggered, so the
 * connections past one ACCEPT_BATCH are reported again. Reading is left to
 * run_ready_list, so that every readable connection gets the same budget. */
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
		if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
			trace("readable", c->fd, "pending=%zu", c->buf.end - c->buf.start);
			c->readable = true; /* an edge: read it in this round's turns */
			ready_push(c);
		}
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
		/* Work queued on the ready list: only look for news, do not sleep. */
		int timeout_ms = ready_head != NULL ? 0 : -1;
		int ready = epoll_pwait(epfd, events, MAX_EVENTS, timeout_ms, &wait_mask);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("epoll_wait");
		trace("wait", -1, "call=epoll_wait ready=%d watched=%ld", ready, open_conns + 1);
		dispatch(events, ready, listenfd, opts.max_conns);
		run_ready_list();
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	close_all();
	Close(epfd);
	Close(listenfd);
	return 0;
}
