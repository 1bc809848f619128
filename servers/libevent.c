/*
 * libevent.c - one thread, libevent 2.1 bufferevents on one event_base.
 *
 * The library owns the loop and the buffers. Each connection is a
 * bufferevent: libevent reads the socket into its input evbuffer and calls
 * on_readable, which moves the bytes to the output evbuffer (the buffer's
 * chunks change hands, nothing is copied); libevent writes them once the
 * socket is writable, and watches for writability only while output is
 * pending. The backend is chosen by libevent: epoll on Linux, level-
 * triggered (kqueue on the BSDs, poll or select elsewhere: the same
 * program). Backpressure is a pair of watermarks: reading stops while
 * ECHO_BUF_BYTES or more wait to be echoed, and starts again when the
 * output has drained to half of that.
 *
 * An idle connection holds no bufferevent (about 1 KiB: the struct, two
 * evbuffers and two events), only a plain read event: the bufferevent is
 * made when bytes arrive, and freed again once the connection has read
 * nothing for IDLE_RELEASE_S seconds and owes nothing (the bufferevent's
 * read timeout says when), as other event loops return their echo buffer
 * to the pool when drained.
 *
 * Wins:  no buffer code and no interest bookkeeping in the server; portable
 *        across backends; timers, signals, rate limits and TLS come with it.
 * Costs: the echo leaves one turn of the loop later than it came: each
 *        message costs an epoll_ctl to watch EPOLLOUT, a wait to be told the
 *        socket is writable and an epoll_ctl to stop watching, where
 *        epoll-lt writes at once (7 system calls a message against 3); an
 *        ioctl(FIONREAD) before each read, reads of 4 KiB at most (16 KiB in
 *        epoll-lt), and a buffer chunk allocated and freed per message.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/libevent.c
 *               The diff is large: most of epoll-lt is what libevent does
 *               for you. Read side by side instead: on_first_bytes (a
 *               bufferevent replaces struct echo_buf and update_events;
 *               conn_open and conn_go_idle keep one only for an active
 *               connection, as the buffer pool does), on_readable (one
 *               evbuffer_add_buffer replaces echo_read_step), on_writable
 *               (the backpressure) and main (one event_base_loop call
 *               replaces the epoll_pwait loop and dispatch).
 * Run:          bin/echo-libevent -p 9877 -v
 */
#include "wrap.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "libevent",
	.summary = "Single-threaded echo server on libevent 2.1 bufferevents.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Reading resumes once the output has drained to this (the write low
 * watermark): half the buffer, so a slow reader is not switched on and off
 * for every few bytes it takes. */
#define RESUME_BELOW_BYTES (ECHO_BUF_BYTES / 2)

/* A connection that read nothing for this long and owes nothing gives its
 * bufferevent back. Not at once when drained, as the other event loops give
 * back their buffer: a bufferevent is made in one turn of the loop and reads
 * in the next, so an active connection would pay a turn, a malloc and a free
 * per message. */
#define IDLE_RELEASE_S 1

struct conn {
	struct bufferevent *bev; /* NULL while idle: idle_ev waits instead */
	struct event *idle_ev;   /* a read event on fd, added while bev is NULL */
	int fd;
	bool peer_eof;            /* the client shut down its write side */
	struct conn *prev, *next; /* every open connection, to free them at stop */
};

static struct event_base *base;
static struct conn *all_conns;
static long open_conns;
/* IDLE_RELEASE_S as a common timeout: libevent keeps every bufferevent's
 * read timeout of this one length in a list, so moving one back when it
 * reads costs O(1), not a heap update. */
static const struct timeval *idle_release_after;

/* Frees the bufferevent, safe inside its own callbacks: libevent finishes
 * the free (and BEV_OPT_CLOSE_ON_FREE's close of the fd) later in this turn
 * of the loop, once no callback of it runs; at stop, event_base_free does.
 * An idle connection has no bufferevent: its fd is closed here. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	event_free(c->idle_ev);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else
		Close(c->fd);
	free(c);
	open_conns--;
}

/* Gives the bufferevent back and waits with the plain read event again.
 * setfd(-1) deletes the bufferevent's events now, not when libevent runs
 * the deferred free (by then idle_ev waits on the same fd), and leaves the
 * fd open when that free runs. */
static void conn_go_idle(struct conn *c)
{
	trace("idle", c->fd, "bufferevent=freed");
	if (event_add(c->idle_ev, NULL) < 0) {
		conn_close(c, "error");
		return;
	}
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	c->bev = NULL;
}

/* The bufferevent read some bytes into its input buffer (one read(2): this
 * is called after every read). */
static void on_readable(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t read_bytes = evbuffer_get_length(in);

	/* Moves the input's chunks to the end of the output: no copy. Adding
	 * to the output makes the bufferevent watch for writability. */
	evbuffer_add_buffer(out, in);
	trace("read", c->fd, "bytes=%zu pending=%zu", read_bytes, evbuffer_get_length(out));
	/* Backpressure. One read is 4 KiB at most (EVBUFFER_MAX_READ in
	 * libevent 2.1), so a connection holds at most ECHO_BUF_BYTES + 4 KiB;
	 * the input buffer is always empty here. */
	if (evbuffer_get_length(out) >= ECHO_BUF_BYTES)
		bufferevent_disable(bev, EV_READ);
}

/* The output has drained to the write low watermark (RESUME_BELOW_BYTES)
 * after a write. */
static void on_writable(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->peer_eof) {
		/* Half-closed: the client is owed its echo, then we close. */
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_close(c, "done");
		return;
	}
	if (!(bufferevent_get_enabled(bev) & EV_READ))
		bufferevent_enable(bev, EV_READ);
}

/* End of file, an error, or the read timeout (IDLE_RELEASE_S without a
 * byte: libevent has stopped reading). For errors libevent
 * has already retried EINTR and EAGAIN; what is left is this client's
 * alone (reset, EPIPE): close it, and only it. errno is still the failed
 * call's (libevent's documented way to learn it: EVUTIL_SOCKET_ERROR). */
static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	size_t pending = evbuffer_get_length(bufferevent_get_output(bev));

	if (what & BEV_EVENT_TIMEOUT) {
		if (pending == 0)
			conn_go_idle(c);
		else if (bufferevent_enable(bev, EV_READ) < 0) /* still owes: keep it */
			conn_close(c, "error");
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
		/* libevent has stopped reading; writing goes on. */
		trace("eof", c->fd, "pending=%zu", pending);
		c->peer_eof = true;
		if (pending == 0)
			conn_close(c, "done");
		return;
	}
	trace("error", c->fd, "op=%s errno=%s", (what & BEV_EVENT_READING) ? "read" : "write",
	      strerror(errno));
	conn_close(c, "error");
}

/* With -v only: the output buffer's callback sees every write drain it, with
 * the byte count of that write (the bufferevent calls on_writable only at
 * the low watermark). Its argument is the fd, not the conn: the buffer is
 * freed after the conn (see conn_close). */
static void trace_drained(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	if (info->n_deleted > 0)
		trace("write", (int)(intptr_t)arg, "bytes=%zu pending=%zu", info->n_deleted,
		      evbuffer_get_length(out));
}

/* Bytes have come to an idle connection: it gets a bufferevent, which
 * reads them in the next turn of the loop (the socket is still readable). */
static void on_first_bytes(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);

	(void)what;
	if (bev == NULL) {
		conn_close(c, "out-of-memory");
		return;
	}
	trace("readable", (int)fd, "bufferevent=new");
	c->bev = bev;
	bufferevent_setcb(bev, on_readable, on_writable, on_event, c);
	bufferevent_setwatermark(bev, EV_WRITE, RESUME_BELOW_BYTES, 0);
	bufferevent_set_timeouts(bev, idle_release_after, NULL);
	if (trace_enabled)
		evbuffer_add_cb(bufferevent_get_output(bev), trace_drained, (void *)(intptr_t)fd);
	/* Writing is enabled from the start; reading is not. The bufferevent
	 * waits to read before idle_ev stops, so the fd never leaves epoll's
	 * set: no epoll_ctl. */
	if (bufferevent_enable(bev, EV_READ) < 0) {
		conn_close(c, "error");
		return;
	}
	event_del(c->idle_ev);
}

/* A new connection starts idle: a plain read event, no bufferevent yet. */
static void conn_open(int fd, void *ctx __attribute__((unused)))
{
	struct conn *c = malloc(sizeof *c);
	struct event *idle_ev = NULL;

	if (c != NULL)
		idle_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_first_bytes, c);
	if (idle_ev == NULL) {
		free(c);
		shed_conn(fd, "out-of-memory");
		return;
	}
	if (event_add(idle_ev, NULL) < 0) {
		event_free(idle_ev);
		free(c);
		shed_conn(fd, "epoll_ctl-failed");
		return;
	}
	c->bev = NULL;
	c->idle_ev = idle_ev;
	c->fd = fd;
	c->peer_eof = false;
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	open_conns++;
}

/* The listener is a plain event, not an evconnlistener: out of descriptors
 * evconnlistener reports EMFILE and stays readable, so the loop would spin
 * on it; it knows no cap either. accept_batch sheds the pending connection
 * on the spare descriptor, applies -m and takes at most ACCEPT_BATCH. */
static void on_accept(evutil_socket_t listenfd, short what, void *arg)
{
	const long *max_conns = arg;

	(void)what;
	accept_batch(listenfd, &open_conns, *max_conns, conn_open, NULL);
}

/* SIGINT or SIGTERM, delivered by libevent as an event: this runs in the
 * loop, not in a signal handler, so it may do anything. The loop ends after
 * this turn. A second stop signal exits at once with 128 + its number, as in
 * every model: both may arrive in the same turn (the server was stopped with
 * both pending), and this callback then runs for each of them. */
static void on_stop_signal(evutil_socket_t signo, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (stop_requested)
		_exit(128 + (int)signo);
	stop_requested = 1;
}

static void close_all(void)
{
	while (all_conns != NULL)
		conn_close(all_conns, "stop");
}

int main(int argc, char **argv)
{
	struct server_options opts;
	struct event *listen_ev, *sigint_ev, *sigterm_ev;
	int listenfd;

	server_parse_options(argc, argv, &model, &opts);
	listenfd = server_listen(&model, &opts);
	Set_nonblocking(listenfd);
	base = event_base_new();
	if (base == NULL)
		err_quit("event_base_new failed");
	idle_release_after =
	    event_base_init_common_timeout(base, &(struct timeval){ .tv_sec = IDLE_RELEASE_S });
	if (idle_release_after == NULL)
		err_quit("event_base_init_common_timeout failed");
	listen_ev = event_new(base, listenfd, EV_READ | EV_PERSIST, on_accept, &opts.max_conns);
	/* The stop signals become events. While they are added, libevent's
	 * own handler replaces lib/signals.c's (which comes back when they are
	 * freed):
	 * it notes the signal and writes a byte to a socketpair the loop
	 * watches, so on_stop_signal runs in the loop like any callback.
	 * lib/signals.c's handler alone is not enough: libevent swallows the EINTR of
	 * epoll_wait and waits again, and the flag would be noticed only through
	 * a side effect (its shutdown of the listener waking on_accept). A stop
	 * before this point was caught by lib/signals.c's handler: see the loop. */
	sigint_ev = evsignal_new(base, SIGINT, on_stop_signal, NULL);
	sigterm_ev = evsignal_new(base, SIGTERM, on_stop_signal, NULL);
	if (listen_ev == NULL || sigint_ev == NULL || sigterm_ev == NULL ||
	    event_add(listen_ev, NULL) < 0 || event_add(sigint_ev, NULL) < 0 ||
	    event_add(sigterm_ev, NULL) < 0)
		err_quit("cannot add the listener and signal events");
	trace("listen", listenfd, "backend=%s", event_base_get_method(base));

	/* One turn per call: a wait (epoll_wait inside), then every callback
	 * of the events it returned. event_base_dispatch would loop inside the
	 * library; one turn at a time lets the trace show the turns, and a stop
	 * is just the flag. The turn still runs all its callbacks, so of two
	 * stop signals that arrive together the second is seen (after an
	 * event_base_loopbreak it would not be). */
	while (!stop_requested) {
		trace("wait", -1, "call=event_base_loop open=%ld", open_conns);
		if (event_base_loop(base, EVLOOP_ONCE) < 0)
			err_quit("event_base_loop failed");
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	/* lib/signals.c's handlers come back, with stop_requested set: a second stop
	 * signal during the rest of the stop exits at once. */
	event_free(sigint_ev);
	event_free(sigterm_ev);
	close_all();
	event_free(listen_ev);
	/* Runs the frees close_all left to libevent, then frees the base. */
	event_base_free(base);
	libevent_global_shutdown();
	Close(listenfd);
	return 0;
}
