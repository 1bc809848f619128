/*
 * epoll-procs.c - nginx's design: worker processes, each an epoll loop on
 * the one shared listener.
 *
 * The master listens, forks -w workers (one per core by default) and then
 * only watches them, as prefork's parent does: a worker that dies is
 * replaced, and a stop stops them all (lib/procs.c). Each worker runs the
 * level-triggered loop of epoll-lt.c on its own epoll instance and its own
 * connections. The listener they all inherited is in every worker's epoll
 * set with EPOLLEXCLUSIVE: a new connection wakes one of the workers waiting
 * on it, not all of them (the thundering herd that accept_mutex and then
 * EPOLLEXCLUSIVE, Linux 4.5, took out of nginx). A connection stays with the
 * worker that accepted it for its whole life. The cap (-m) is over all
 * workers: a count per worker in memory shared with the others. A worker
 * whose descriptors are nearly all in use stops watching the listener while
 * another has room, so the kernel wakes the others for new connections
 * rather than this one shedding them (nginx's accept_disabled), and watches
 * it again once it has room; when all are full, they shed. At a clean
 * stop the master prints how many connections each worker accepted.
 *
 * Wins:  the epoll loop's economy on every core, in isolated processes: a
 *        worker that crashes takes only its own clients with it.
 * Costs: who accepts is whoever the kernel woke, not the least busy; a
 *        process's memory per worker.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/epoll-procs.c
 *               diff -u servers/reactors.c servers/epoll-procs.c
 * Run:          bin/echo-epoll-procs -p 9877 -w 2 -v
 */
#include "wrap.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "epoll-procs",
	.summary = "Echo server with worker processes, each an epoll loop on one shared listener.",
	.features = FEATURE_WORKERS | FEATURE_MAX_CONNS,
	.default_workers = 0, /* one per usable core */
	.workers_help = "worker processes, each an epoll loop",
	.default_max_conns = 0,
	.max_conns_help = "open connections at most, over all workers; more are shed\n"
	                  "(default: no cap but the descriptor limit)",
};

/* Events handed back by one epoll_wait. */
#define MAX_EVENTS 256

struct conn {
	int fd;
	uint32_t events;          /* what the kernel watches for it now */
	struct conn *prev, *next; /* every open connection, to close them at stop */
	struct echo_buf buf;
};

static int listenfd;
static long max_conns;
static long worker_count;

/* In memory shared by the master and every worker: the connections each
 * worker has open (open_conns[slot]) and their total, for -m; and how many
 * each worker accepted (accepted[slot]), the kernel's spread. */
static atomic_long *open_conns;
static atomic_long *total_open;
static long *accepted;

/* The worker's own: its slot, its epoll instance, its connections. */
static long my_slot;
static int epfd;
static struct conn *all_conns;

/* Descriptors a worker keeps free beside its connections: one wake-up's
 * batch of accepts, the spare kept to shed with, stdio and its own. */
#define ROOM_FDS (ACCEPT_BATCH + 16)

static long accept_limit; /* open connections at which this worker stops accepting */
static bool accepting;    /* the listener is in this worker's epoll set */

/* Puts the shared listener in this worker's epoll set, or takes it out. */
static void listener_watch(bool on)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };

	if (on == accepting)
		return;
	if (epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listenfd, &ev) < 0)
		err_sys("epoll_ctl listener");
	accepting = on;
}

/* Whether another worker has room for what this one would have to shed.
 * (Each stores its count before it looks at the others', so of two that
 * fill up at once, at least one sees the other full and keeps accepting.) */
static bool another_has_room(void)
{
	for (long i = 0; i < worker_count; i++)
		if (i != my_slot && atomic_load(&open_conns[i]) < accept_limit)
			return true;
	return false;
}

/* How many connections the worker's descriptor limit leaves room for. */
static long connections_room(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY)
		return LONG_MAX;
	return (long)limit.rlim_cur > 2 * ROOM_FDS ? (long)limit.rlim_cur - ROOM_FDS : ROOM_FDS;
}

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

/* The cap is over all workers: a connection takes a place in total_open
 * first and gives it back when it closes or could not open. */
static bool take_place(void)
{
	if (max_conns > 0 && atomic_fetch_add(total_open, 1) >= max_conns) {
		atomic_fetch_sub(total_open, 1);
		return false;
	}
	if (max_conns == 0)
		atomic_fetch_add(total_open, 1);
	atomic_fetch_add(&open_conns[my_slot], 1);
	return true;
}

static void give_place_back(void)
{
	atomic_fetch_sub(total_open, 1);
	atomic_fetch_sub(&open_conns[my_slot], 1);
}

static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c;
	struct epoll_event ev = { .events = EPOLLIN };

	if (!take_place()) {
		shed_conn(fd, "max-conns");
		return;
	}
	c = malloc(sizeof *c);
	if (c == NULL) {
		give_place_back();
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->events = EPOLLIN;
	echo_buf_init(&c->buf);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		give_place_back();
		shed_conn(fd, "epoll_ctl-failed");
		return;
	}
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	accepted[my_slot]++;
}

/* close(2) also takes the fd out of the epoll set: no EPOLL_CTL_DEL needed. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s worker=%ld", reason, my_slot);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd);
	echo_buf_release(&c->buf);
	free(c);
	give_place_back();
	/* A batch below the limit, so that the listener does not flap. */
	if (!accepting && atomic_load(&open_conns[my_slot]) < accept_limit - ACCEPT_BATCH)
		listener_watch(true);
}

/* The cap is checked in conn_open, over all workers: none here. */
static void on_accept(void)
{
	accept_batch(listenfd, NULL, 0, conn_open, NULL);
	/* When every worker is full, this one keeps accepting, and sheds. */
	if (atomic_load(&open_conns[my_slot]) >= accept_limit && another_has_room())
		listener_watch(false);
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
static void dispatch(const struct epoll_event *events, int ready)
{
	for (int i = 0; i < ready; i++) {
		struct conn *c = events[i].data.ptr;
		uint32_t what = events[i].events;

		if (c == NULL) {
			on_accept();
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

/* A worker process: epoll-lt's loop, until the master's SIGTERM. A worker
 * that replaces a dead one first gives back the places its connections
 * held: the kernel closed them when it died. */
static void worker_main(long slot)
{
	struct epoll_event events[MAX_EVENTS];
	sigset_t wait_mask;

	my_slot = slot;
	atomic_fetch_sub(total_open, atomic_exchange(&open_conns[slot], 0));
	accept_limit = connections_room();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		err_sys("epoll_create1");
	listener_watch(true);
	signals_block_stop(&wait_mask); /* stop signals arrive only in epoll_pwait */

	while (!stop_requested) {
		int ready = epoll_pwait(epfd, events, MAX_EVENTS, -1, &wait_mask);

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			err_sys("epoll_wait");
		trace("wait", -1, "call=epoll_wait ready=%d worker=%ld open=%ld", ready, slot,
		      atomic_load(&open_conns[slot]));
		dispatch(events, ready);
	}

	trace("stop", listenfd, "reason=signal worker=%ld open=%ld", slot,
	      atomic_load(&open_conns[slot]));
	close_all();
	close(epfd);
}

int main(int argc, char **argv)
{
	struct server_options opts;
	size_t shared_bytes;

	server_parse_options(argc, argv, &model, &opts);
	worker_count = opts.workers;
	max_conns = opts.max_conns;
	shared_bytes =
	    (size_t)(worker_count + 1) * sizeof(atomic_long) + (size_t)worker_count * sizeof(long);
	open_conns =
	    mmap(NULL, shared_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (open_conns == MAP_FAILED)
		err_sys("mmap");
	total_open = &open_conns[worker_count];
	accepted = (long *)&open_conns[worker_count + 1];
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	/* A stop signal must not shut down the listener every worker shares:
	 * the workers stop on their own SIGTERM, then the master closes it. */
	signals_watch_listener(-1);
	procs_start(worker_count, worker_main);
	procs_watch();

	trace("stop", listenfd, "reason=signal workers=%ld", worker_count);
	procs_stop(NULL);
	report_spread("accepted per worker", "one shared listener, EPOLLEXCLUSIVE", accepted,
	              worker_count);
	munmap(open_conns, shared_bytes);
	Close(listenfd);
	return 0;
}
