/*
 * reactors.c - one epoll loop per core, each with its own listener.
 *
 * The design of nginx with reuseport (netty's and memcached's worker groups
 * feed their loops from one acceptor instead): -w threads (one per core by
 * default), each running the level-triggered loop of epoll-lt.c on its own
 * epoll instance, its own connections and its own listening socket. The
 * listeners share one port with SO_REUSEPORT, and the kernel hands each new
 * connection to one of them by a hash of the client's address and port. A connection stays on
 * the reactor that accepted it for its whole life: no locks, no hand-offs,
 * nothing shared but the cap count (-m). At a clean stop the server prints
 * how many connections each reactor accepted.
 *
 * Why SO_REUSEPORT and not one acceptor handing fds round-robin: the
 * acceptor is one thread every new connection must pass through (churn
 * scales with reactors here, not with one core), and a hand-off costs a
 * queue, a lock and a wake-up per connection. The price: the hash spreads
 * connections evenly only on average (a few connections can all land on
 * one reactor), and a busy reactor's clients cannot move to an idle one.
 *
 * Wins:  the epoll loop's economy on every core, with nothing shared.
 * Costs: the spread is the kernel's hash, not load; N loops to stop.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/reactors.c
 * Run:          bin/echo-reactors -p 9877 -w 2 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "reactors",
	.summary = "Echo server with one epoll loop per core, each with an SO_REUSEPORT listener.",
	.features = FEATURE_WORKERS | FEATURE_MAX_CONNS,
	.default_workers = 0, /* one per usable core */
	.workers_help = "reactor threads, each an epoll loop with its own listener",
	.default_max_conns = 0,
	.max_conns_help = "open connections at most, over all reactors; more are shed\n"
	                  "(default: no cap but the descriptor limit)",
};

/* Events handed back by one epoll_wait. */
#define MAX_EVENTS 256

struct conn {
	int fd;
	uint32_t events;          /* what the kernel watches for it now */
	struct reactor *owner;    /* the loop that accepted it, for its whole life */
	struct conn *prev, *next; /* every open connection, to close them at stop */
	struct echo_buf buf;
};

/* One loop and everything it owns; only its own thread touches it. */
struct reactor {
	long index;
	pthread_t tid;
	int listenfd;
	int epfd;
	struct conn *all_conns;
	long open_conns;
	long accepted; /* how the kernel spread the connections */
};

static struct reactor *reactors;
static long reactor_count;
static long max_conns;
static atomic_long total_open; /* over all reactors, for -m */

/* Written once by main, then readable by every loop: a stop makes it
 * readable for good (level-triggered), so every reactor sees it. */
static int stop_fd;

/* Epoll user data for the two fds that are not connections. */
static char listener_tag, stop_tag;

static bool update_events(struct conn *c)
{
	uint32_t want =
	    (echo_wants_read(&c->buf) ? EPOLLIN : 0) | (echo_wants_write(&c->buf) ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.ptr = c };

	if (want == c->events)
		return true;
	c->events = want;
	return epoll_ctl(c->owner->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* The cap is over all reactors: a connection takes a place in total_open
 * first and gives it back when it closes or could not open. */
static bool take_place(void)
{
	if (max_conns > 0 && atomic_fetch_add(&total_open, 1) >= max_conns) {
		atomic_fetch_sub(&total_open, 1);
		return false;
	}
	return true;
}

static void give_place_back(void)
{
	if (max_conns > 0)
		atomic_fetch_sub(&total_open, 1);
}

/* Returns the new connection, registered with this reactor's epoll, or NULL
 * when it had to be shed. */
static struct conn *conn_new(struct reactor *r, int fd)
{
	struct conn *c = malloc(sizeof *c);
	struct epoll_event ev = { .events = EPOLLIN };

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return NULL;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	c->owner = r;
	echo_buf_init(&c->buf);
	ev.data.ptr = c;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		shed_conn(fd, "epoll_ctl-failed");
		return NULL;
	}
	return c;
}

/* ctx: the reactor whose listener accepted fd (accept_batch passes it). */
static void conn_open(int fd, void *ctx)
{
	struct reactor *r = ctx;
	struct conn *c;

	if (!take_place()) {
		shed_conn(fd, "max-conns");
		return;
	}
	c = conn_new(r, fd);
	if (c == NULL) {
		give_place_back();
		return;
	}
	c->prev = NULL;
	c->next = r->all_conns;
	if (r->all_conns != NULL)
		r->all_conns->prev = c;
	r->all_conns = c;
	r->open_conns++;
	r->accepted++;
}

static void conn_close(struct conn *c, const char *reason)
{
	struct reactor *r = c->owner;

	trace("close", c->fd, "reason=%s reactor=%ld", reason, r->index);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd);
	echo_buf_release(&c->buf);
	free(c);
	r->open_conns--;
	give_place_back();
}

/* The cap is checked in conn_open, over all reactors: none here. */
static void on_accept(struct reactor *r)
{
	accept_batch(r->listenfd, &r->open_conns, 0, conn_open, r);
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

/* Returns false once the stop fd has fired. */
static bool dispatch(struct reactor *r, const struct epoll_event *events, int ready)
{
	for (int i = 0; i < ready; i++) {
		struct conn *c = events[i].data.ptr;
		uint32_t what = events[i].events;

		if (events[i].data.ptr == &stop_tag)
			return false;
		if (events[i].data.ptr == &listener_tag) {
			on_accept(r);
			continue;
		}
		/* An error or hang-up is found out by the next read or write. */
		if ((what & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !on_writable(c))
			continue;
		if (what & (EPOLLIN | EPOLLERR | EPOLLHUP))
			on_readable(c);
	}
	return true;
}

static void watch(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		err_sys("epoll_ctl");
}

/* One reactor's thread: the epoll-lt loop on its own epoll instance. Stop
 * signals are blocked here (thread_start): the main thread takes them and
 * fires stop_fd. */
static void *reactor_main(void *arg)
{
	struct reactor *r = arg;
	struct epoll_event events[MAX_EVENTS];
	bool running = true;

	while (running) {
		int ready = epoll_wait(r->epfd, events, MAX_EVENTS, -1);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("epoll_wait");
		trace("wait", -1, "call=epoll_wait ready=%d reactor=%ld watched=%ld", ready,
		      r->index, r->open_conns + 2);
		running = dispatch(r, events, ready);
	}
	trace("stop", r->listenfd, "reason=signal reactor=%ld open=%ld", r->index, r->open_conns);
	while (r->all_conns != NULL)
		conn_close(r->all_conns, "stop");
	return NULL;
}

static void reactors_start(const struct server_options *opts)
{
	int *fds = Calloc((size_t)reactor_count, sizeof *fds);

	server_listen_group(&model, opts, fds, (int)reactor_count);
	/* A stop signal must not shut a listener down under a running loop:
	 * the loops stop through stop_fd, then main closes the listeners. */
	signals_watch_listener(-1);
	for (long i = 0; i < reactor_count; i++) {
		struct reactor *r = &reactors[i];
		int rc;

		r->index = i;
		r->listenfd = fds[i];
		Set_nonblocking(r->listenfd);
		r->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (r->epfd < 0)
			err_sys("epoll_create1");
		watch(r->epfd, r->listenfd, &listener_tag);
		watch(r->epfd, stop_fd, &stop_tag);
		rc = thread_start(&r->tid, reactor_main, r, THREAD_STACK_BYTES, false);
		if (rc != 0) {
			errno = rc;
			err_sys("cannot start reactor %ld of %ld", i + 1, reactor_count);
		}
	}
	free(fds);
}

/* How the kernel's hash spread the connections. */
static void report_spread_of_reactors(void)
{
	long *accepted = Calloc((size_t)reactor_count, sizeof *accepted);

	for (long i = 0; i < reactor_count; i++)
		accepted[i] = reactors[i].accepted;
	report_spread("accepted per reactor", "one SO_REUSEPORT listener each", accepted,
	              reactor_count);
	free(accepted);
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t wait_mask;

	server_parse_options(argc, argv, &model, &opts);
	reactor_count = opts.workers;
	max_conns = opts.max_conns;
	reactors = Calloc((size_t)reactor_count, sizeof *reactors);
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (stop_fd < 0)
		err_sys("eventfd");
	reactors_start(&opts);

	/* The main thread only waits for a stop signal; the reactors serve. */
	signals_block_stop(&wait_mask);
	while (!stop_requested)
		sigsuspend(&wait_mask);
	/* A second stop signal may now end a slow stop (exit 128+signal). */
	pthread_sigmask(SIG_SETMASK, &wait_mask, NULL);
	if (eventfd_write(stop_fd, 1) < 0)
		err_sys("eventfd_write");
	for (long i = 0; i < reactor_count; i++) {
		pthread_join(reactors[i].tid, NULL);
		Close(reactors[i].epfd);
		Close(reactors[i].listenfd);
	}
	report_spread_of_reactors();
	Close(stop_fd);
	free(reactors);
	return 0;
}
