/*
 * leader-follower.c - threads take turns as the one leader waiting in epoll.
 *
 * The Leader/Followers pattern (Schmidt et al., Pattern-Oriented Software
 * Architecture, vol. 2): -w threads (one per core by default) share one
 * epoll instance. One of them, the leader, waits in epoll_wait for one
 * event; the others, the followers, wait for their turn to lead. The
 * leader that got an event hands the leadership on at once and then
 * handles the event itself: the thread that saw a connection become ready
 * is the one that reads and writes it, with no queue and no hand-off of the
 * connection to another thread. Every fd is registered EPOLLONESHOT: once
 * it has reported an event it stays quiet until its handler asks again
 * (update_events), so no two threads ever handle one connection at once,
 * and a connection needs no lock.
 *
 * Wins:  several cores on one event loop, without pool's queue or
 *        reactors' fixed assignment of a connection to a thread.
 * Costs: an epoll_ctl per event to re-arm the one-shot fd; one leader at a
 *        time, so waking the next thread is on every event's path.
 *
 * Compare with: diff -u servers/pool.c servers/leader-follower.c
 *               diff -u servers/reactors.c servers/leader-follower.c
 * Run:          bin/echo-leader-follower -p 9877 -w 2 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "leader-follower",
	.summary = "Echo server whose threads take turns as the one leader waiting in epoll.",
	.features = FEATURE_WORKERS | FEATURE_MAX_CONNS,
	.default_workers = 0, /* one per usable core */
	.workers_help = "threads that take turns as the leader",
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed\n"
	                  "(default: no cap but the descriptor limit)",
};

struct conn {
	int fd;
	uint32_t events;          /* what it waits for when re-armed */
	atomic_int rearming;      /* threads inside update_events' epoll_ctl */
	struct conn *prev, *next; /* every open connection, to close them at stop */
	struct echo_buf buf;
};

static int epfd;
static int listenfd;
static long max_conns;
static atomic_long open_conns;

/* The leadership: the thread holding it is the one that waits in epoll. */
static pthread_mutex_t leadership = PTHREAD_MUTEX_INITIALIZER;

/* Every open connection, added and removed by whichever thread handles it. */
static pthread_mutex_t all_conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *all_conns;

/* Written once by main, then readable by every leader: a stop makes it
 * readable for good (level-triggered, not one-shot), so each thread that
 * leads after it sees it and leaves, handing the leadership on. */
static int stop_fd;

/* Epoll user data for the two fds that are not connections. */
static char listener_tag, stop_tag;

/* Re-arms c for what it waits for now: reading while there is room, writing
 * while output is pending. Returns false if epoll_ctl failed. */
static bool update_events(struct conn *c)
{
	uint32_t want =
	    (echo_wants_read(&c->buf) ? EPOLLIN : 0) | (echo_wants_write(&c->buf) ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want | EPOLLONESHOT, .data.ptr = c };
	int fd = c->fd;

	bool rearmed;

	c->events = want;
	/* From the re-arm on, another thread may get c (see on_event). This
	 * thread touches nothing of c but the count after it, and the thread
	 * that closes c waits for the count to drop (conn_close). */
	atomic_fetch_add_explicit(&c->rearming, 1, memory_order_release);
	rearmed = epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0;
	atomic_fetch_sub_explicit(&c->rearming, 1, memory_order_release);
	return rearmed;
}

/* The cap is over all threads: a connection takes a place in open_conns
 * first and gives it back when it closes or could not open. */
static bool take_place(void)
{
	if (max_conns > 0 && atomic_fetch_add(&open_conns, 1) >= max_conns) {
		atomic_fetch_sub(&open_conns, 1);
		return false;
	}
	if (max_conns == 0)
		atomic_fetch_add(&open_conns, 1);
	return true;
}

/* close(2) also takes the fd out of the epoll set; one-shot, it had no
 * event left to report to another thread. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	Pthread_mutex_lock(&all_conns_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	Pthread_mutex_unlock(&all_conns_lock);
	/* The thread whose re-arm gave us c may not have left epoll_ctl yet. */
	while (atomic_load_explicit(&c->rearming, memory_order_acquire) > 0)
		continue;
	close(c->fd);
	echo_buf_release(&c->buf);
	free(c);
	atomic_fetch_sub(&open_conns, 1);
}

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };

	if (!take_place()) {
		shed_conn(fd, "max-conns");
		return;
	}
	c = malloc(sizeof *c);
	if (c == NULL) {
		atomic_fetch_sub(&open_conns, 1);
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	atomic_init(&c->rearming, 0);
	echo_buf_init(&c->buf);
	Pthread_mutex_lock(&all_conns_lock);
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	Pthread_mutex_unlock(&all_conns_lock);
	/* Registered last: from here on another leader may get its events. */
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		conn_close(c, "epoll_ctl-failed");
}

/* The listener is one-shot too: one thread accepts at a time, then re-arms it. */
static void on_accept(void)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = &listener_tag };

	/* The cap is checked in conn_open, over all threads: none here. */
	accept_batch(listenfd, NULL, 0, conn_open, NULL);
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, listenfd, &ev) < 0)
		err_sys("epoll_ctl listener");
}

/* One event of c, by the thread that got it: echo, then re-arm or close. */
static void on_event(struct conn *c, uint32_t what)
{
	enum echo_status status = ECHO_KEEP;

	/* The connection may come from another thread's last event. The
	 * kernel orders that thread's re-arm before this event, but the C11
	 * memory model (and ThreadSanitizer) sees no order in a system call:
	 * the hand-off is also an atomic release (update_events) and acquire
	 * (here). */
	atomic_load_explicit(&c->rearming, memory_order_acquire);
	trace(what & EPOLLOUT ? "writable" : "readable", c->fd, "pending=%zu",
	      c->buf.end - c->buf.start);
	/* An error or hang-up is found out by the next read or write. */
	if (what & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		status = echo_write_step(c->fd, &c->buf);
	if (status != ECHO_CLOSE && (what & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		status = echo_read_step(c->fd, &c->buf);
	if (status == ECHO_CLOSE || !update_events(c))
		conn_close(c, "done");
}

/* A thread's life: wait to lead, wait for one event as the leader, hand the
 * leadership on, handle the event; again, until the stop fd fires. */
static void *worker_main(void *arg __attribute__((unused)))
{
	for (;;) {
		struct epoll_event ev;
		int ready;

		Pthread_mutex_lock(&leadership); /* a follower until it gets it */
		do
			ready = epoll_wait(epfd, &ev, 1, -1);
		while (ready < 0 && errno == EINTR);
		Pthread_mutex_unlock(&leadership); /* the next follower leads */
		if (ready < 0)
			err_sys("epoll_wait");
		trace("wait", -1, "call=epoll_wait ready=%d open=%ld", ready,
		      atomic_load(&open_conns));
		if (ev.data.ptr == &stop_tag)
			return NULL;
		if (ev.data.ptr == &listener_tag)
			on_accept();
		else
			on_event(ev.data.ptr, ev.events);
	}
}

static void watch(int fd, void *tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		err_sys("epoll_ctl");
}

static void close_all(void)
{
	while (all_conns != NULL)
		conn_close(all_conns, "stop");
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t wait_mask;
	pthread_t *threads;

	server_parse_options(argc, argv, &model, &opts);
	max_conns = opts.max_conns;
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	/* A stop signal must not shut the listener down under a running
	 * thread: the threads stop through stop_fd, then main closes it. */
	signals_watch_listener(-1);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (epfd < 0 || stop_fd < 0)
		err_sys("epoll_create1, eventfd");
	watch(listenfd, &listener_tag, EPOLLIN | EPOLLONESHOT);
	watch(stop_fd, &stop_tag, EPOLLIN);
	threads = Calloc((size_t)opts.workers, sizeof *threads);
	for (long i = 0; i < opts.workers; i++) {
		int rc = thread_start(&threads[i], worker_main, NULL, THREAD_STACK_BYTES, false);

		if (rc != 0) {
			errno = rc;
			err_sys("cannot start thread %ld of %ld", i + 1, opts.workers);
		}
	}

	/* The main thread only waits for a stop signal; the threads serve. */
	signals_block_stop(&wait_mask);
	while (!stop_requested)
		sigsuspend(&wait_mask);
	/* A second stop signal may now end a slow stop (exit 128+signal). */
	pthread_sigmask(SIG_SETMASK, &wait_mask, NULL);
	trace("stop", listenfd, "reason=signal open=%ld", atomic_load(&open_conns));
	if (eventfd_write(stop_fd, 1) < 0)
		err_sys("eventfd_write");
	for (long i = 0; i < opts.workers; i++)
		pthread_join(threads[i], NULL);
	close_all();
	free(threads);
	Close(stop_fd);
	Close(epfd);
	Close(listenfd);
	return 0;
}
