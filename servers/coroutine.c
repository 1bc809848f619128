/*
 * coroutine.c - one thread, a coroutine per connection, epoll underneath.
 *
 * Each connection runs the plain blocking echo loop of thread.c, but as a
 * coroutine on a small stack of its own (64 KiB, a guard page below it)
 * instead of a thread. Its socket is non-blocking underneath: a read or
 * write that would block parks the coroutine (coro_yield) and returns to
 * the scheduler, an epoll loop, which resumes it once its fd is ready. The
 * per-connection code reads as blocking code; the waiting is the event
 * loop's. Go's goroutines and the coroutines of Python's asyncio and C++20
 * serve sockets this way.
 *
 * Wins:  blocking-style code per client without a kernel task per client:
 *        a switch between clients is a user-space swap of registers and
 *        stacks, not a trip through the kernel's scheduler.
 * Costs: one core; a stack per connection (memory as thread's); a client
 *        whose coroutine computes without waiting holds up every other.
 *
 * Compare with: diff -u servers/thread.c servers/coroutine.c
 * Run:          bin/echo-coroutine -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "coroutine",
	.summary = "Single-threaded echo server: a coroutine per connection, over epoll.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 10000,
	.max_conns_help = "live coroutines at most; more connections are shed "
	                  "(default 10000)",
};

/* Events handed back by one epoll_wait. */
#define MAX_EVENTS 256

struct conn {
	int fd;
	struct coro *co;
	uint32_t waiting_for;     /* EPOLLIN or EPOLLOUT while parked */
	struct conn *prev, *next; /* every live connection, to free them at stop */
};

static int epfd;
static struct conn *all_conns;
static struct conn *running; /* the connection whose coroutine runs now */
static long live_conns;

/* Called on the scheduler's stack: c's coroutine has ended, or never will. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd); /* also takes it out of the epoll set */
	coro_free(c->co);
	free(c);
	live_conns--;
}

/* Parks the running coroutine until its fd reports events; the scheduler
 * resumes it then, and the call that found nothing is made again. */
static void park(uint32_t events)
{
	running->waiting_for = events;
	trace("again", running->fd, "op=%s", events == EPOLLIN ? "read" : "write");
	coro_yield();
}

/* read(2) and write(2) as a coroutine sees them: they wait, without
 * blocking the thread. */
static ssize_t co_read(int fd, void *buf, size_t n)
{
	ssize_t r;

	while ((r = read(fd, buf, n)) < 0 && errno == EAGAIN)
		park(EPOLLIN);
	return r;
}

static ssize_t co_write(int fd, const void *buf, size_t n)
{
	ssize_t w;

	while ((w = write(fd, buf, n)) < 0 && errno == EAGAIN)
		park(EPOLLOUT);
	return w;
}

/* A connection's coroutine: the blocking echo loop, with calls that park. */
static void conn_coroutine(void *arg)
{
	struct conn *c = arg;

	echo_with(c->fd, co_read, co_write);
}

/* Runs c's coroutine until it parks again or ends. */
static void resume(struct conn *c)
{
	bool done;

	c->waiting_for = 0;
	running = c;
	done = coro_resume(c->co);
	running = NULL;
	if (done)
		conn_close(c, "done");
}

/* Registered once, edge-triggered, for both directions: a parked coroutine
 * is woken by the next change, and no epoll_ctl is needed per park. */
static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c = malloc(sizeof *c);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->co = coro_new(conn_coroutine, c, THREAD_STACK_BYTES);
	if (c->co == NULL) {
		/* No memory or no more mappings for a stack: this client only. */
		trace("shed", fd, "reason=no-stack errno=%s", strerror(errno));
		free(c);
		close(fd);
		return;
	}
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		coro_free(c->co);
		free(c);
		shed_conn(fd, "epoll_ctl-failed");
		return;
	}
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	live_conns++;
	trace("serve", fd, "live=%ld", live_conns);
	resume(c); /* it runs until its first read finds nothing */
}

/* A parked coroutine is resumed when what it waits for came, or an error
 * or hang-up (its call then returns it). */
static void dispatch(const struct epoll_event *events, int ready, int listenfd, long max_conns)
{
	for (int i = 0; i < ready; i++) {
		struct conn *c = events[i].data.ptr;
		uint32_t what = events[i].events;

		if (c == NULL) {
			accept_batch(listenfd, &live_conns, max_conns, conn_open, NULL);
			continue;
		}
		if (!(what & (c->waiting_for | EPOLLERR | EPOLLHUP)))
			continue;
		trace(c->waiting_for == EPOLLIN ? "readable" : "writable", c->fd, "op=resume");
		resume(c);
	}
}

/* The parked coroutines are never resumed: freeing their stacks ends them. */
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
		trace("wait", -1, "call=epoll_wait ready=%d live=%ld", ready, live_conns);
		dispatch(events, ready, listenfd, opts.max_conns);
	}

	trace("stop", listenfd, "reason=signal live=%ld", live_conns);
	close_all();
	Close(epfd);
	Close(listenfd);
	return 0;
}
