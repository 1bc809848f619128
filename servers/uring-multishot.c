/*
 * uring-multishot.c - one thread, io_uring as production servers use it.
 *
 * uring.c asks for one recv at a time into each connection's own buffer.
 * Here requests stay armed: one multishot accept completes for every new
 * connection, and one multishot recv per connection completes for every
 * piece of data that comes, each time into a buffer the kernel takes from
 * one shared pool (a provided-buffer ring), so an idle connection holds no
 * buffer at all and a message costs no request. The echo of several
 * buffers goes out in one sendmsg. Backpressure: a multishot recv cannot be
 * told where to stop, so once a connection holds ECHO_BUF_BYTES of pool
 * buffers not yet echoed its recv is cancelled; that client, which sends
 * faster than it reads, then gets a buffer of its own and one recv at a
 * time, as in uring.c, until it has caught up. It needs Linux 6.0; on an
 * older kernel it says so and exits (uring.c runs from 5.6).
 *
 * Wins:  no request per message, several completions per system call;
 *        buffer memory follows the bytes in flight, not the connections.
 * Costs: one pool for everyone to share (a connection may find it empty
 *        and wait); much more state per connection than uring.c.
 *
 * Compare with: diff -u servers/uring.c servers/uring-multishot.c
 * Run:          bin/echo-uring-multishot -p 9877 -v
 */
#include "wrap.h"
#include "lib/ring.h"

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "uring-multishot",
	.summary = "Single-threaded echo server on io_uring: multishot accept and recv, "
	           "provided buffers.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Submission queue entries: the sends and recvs queued in one turn of the
 * loop. When it is full it goes to the kernel early (ring_sqe). */
#define SQ_ENTRIES 1024
/* Completion queue entries. Multishot operations post many completions per
 * submission, so the completion queue is the bigger one. */
#define CQ_ENTRIES 8192

/* The pool of provided buffers: POOL_BUFS buffers of BUF_BYTES, 4 MiB in
 * all, whatever the number of connections. A buffer is held from the
 * completion that fills it until its bytes are echoed, usually one turn of
 * the loop, so the pool covers a message from each of 2048 connections at
 * once. 2 KiB holds a small message; a stream comes in several pieces. */
#define POOL_BUFS  2048 /* a power of two, at most 32768 */
#define BUF_BYTES  2048
#define POOL_GROUP 0 /* the buffer group id the recvs name */
#define NO_BUF     0xffff
/* Backpressure: a connection may hold this many pool buffers of echo not yet
 * sent (ECHO_BUF_BYTES at most, the bound of the other event loops). */
#define CONN_MAX_BUFS (ECHO_BUF_BYTES / BUF_BYTES)
/* Buffers one sendmsg sends at most: what a connection holds at the bound. */
#define SEND_IOVS CONN_MAX_BUFS

/* What a completion is for: the low bits of its user_data. Connections come
 * from malloc, so their addresses leave those bits free for the tag. */
enum op {
	OP_NONE,        /* a cancel's own completion: nothing to do */
	OP_ACCEPT,      /* the listener's accept */
	OP_LISTEN_POLL, /* out of descriptors: waiting for a connection to shed */
	OP_RECV,
	OP_SEND,
};
#define OP_MASK 7u

/*
 * A connection costs this struct and nothing else while its client reads
 * what it sends: what it received and has not yet echoed sits in pool
 * buffers. A client that floods it costs an ECHO_BUF_BYTES buffer of its
 * own until it catches up.
 */
struct conn {
	int fd;
	bool recv_busy;       /* a recv is in the kernel (multishot: until a
	                         completion without IORING_CQE_F_MORE) */
	bool recv_multishot;  /* that recv is a multishot one */
	bool recv_cancelling; /* a cancel of it is on its way (backpressure) */
	bool flooding;        /* the client sent faster than it read */
	bool send_busy;       /* a send is in the kernel: one at a time, in order */
	bool peer_eof;        /* the client shut down its write side */
	bool closing;         /* closed: freed once the kernel gives back its operations */
	bool starved;         /* on the starved list, waiting for a free pool buffer */
	/* The pool buffers holding the echo owed, oldest first, chained
	 * through pool_next. */
	uint16_t head, tail;
	uint32_t head_sent; /* bytes of the first buffer already sent */
	uint32_t held_bufs;
	uint32_t held_bytes;
	/* A buffer of its own (a flooding client), or NULL;
	 * [start, end) is owed. Never in use at the same time as the pool. */
	char *data;
	uint32_t start, end;
	struct conn *prev, *next;                 /* the open list or the closing list */
	struct conn *starved_prev, *starved_next; /* the starved list */
};

static struct io_uring ring;
static struct ring_listener listener = {
	.ring = &ring, .multishot = true, .accept_data = OP_ACCEPT, .poll_data = OP_LISTEN_POLL
};
static long max_conns;
static struct conn *open_list;    /* every open connection, to close them at stop */
static struct conn *closing_list; /* closed, the kernel still holding an operation */
static long open_conns;

/* The provided buffers: the ring the kernel takes free buffers from, and the
 * memory they point into. pool_next and pool_len describe the buffers the
 * connections hold; pool_held counts them. */
static struct io_uring_buf_ring *pool_ring;
static char *pool_mem;
static uint16_t pool_next[POOL_BUFS];
static uint32_t pool_len[POOL_BUFS];
static unsigned pool_held;
/* Connections that found the pool empty, re-armed as buffers come back. */
static struct conn *starved_head, *starved_tail;

/* The msghdr and iovec of a sendmsg, one per submission queue slot (184
 * KiB, touched only as used). The kernel copies them when it takes the entry
 * (IORING_FEAT_SUBMIT_STABLE), and a slot is handed out again only after. */
static struct send_scratch {
	struct msghdr msg;
	struct iovec iov[SEND_IOVS];
} send_scratch[SQ_ENTRIES];

static uint64_t op_data(const struct conn *c, enum op op)
{
	return (uint64_t)(uintptr_t)c | op;
}

/* ---- the buffer pool ------------------------------------------------------ */

static char *pool_buf(unsigned bid)
{
	return pool_mem + (size_t)bid * BUF_BYTES;
}

/* Puts buffer bid back in the ring: two stores, no system call. */
static void pool_recycle(unsigned bid)
{
	io_uring_buf_ring_add(pool_ring, pool_buf(bid), BUF_BYTES, (unsigned short)bid,
	                      io_uring_buf_ring_mask(POOL_BUFS), 0);
	io_uring_buf_ring_advance(pool_ring, 1);
	pool_held--;
}

/* Registers the buffer ring. liburing 2.3 has no io_uring_setup_buf_ring:
 * the ring's memory is ours, page aligned (mmap), like the pool's. */
static void pool_init(void)
{
	size_t ring_bytes = POOL_BUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = { 0 };

	pool_ring =
	    mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* MAP_POPULATE: the kernel takes the buffers in ring order, so all of
	 * them are touched soon anyway; touched now, the memory stays flat. */
	pool_mem = mmap(NULL, (size_t)POOL_BUFS * BUF_BYTES, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pool_ring == MAP_FAILED || pool_mem == MAP_FAILED)
		err_sys("mmap");
	io_uring_buf_ring_init(pool_ring);
	reg.ring_addr = (uint64_t)(uintptr_t)pool_ring;
	reg.ring_entries = POOL_BUFS;
	reg.bgid = POOL_GROUP;
	if (io_uring_register_buf_ring(&ring, &reg, 0) < 0)
		err_quit("io_uring is unavailable here: no provided buffer rings (a kernel "
		         "older than 5.19?)");
	for (unsigned bid = 0; bid < POOL_BUFS; bid++)
		io_uring_buf_ring_add(pool_ring, pool_buf(bid), BUF_BYTES, (unsigned short)bid,
		                      io_uring_buf_ring_mask(POOL_BUFS), (int)bid);
	io_uring_buf_ring_advance(pool_ring, POOL_BUFS);
}

static void pool_destroy(void)
{
	if (pool_ring == NULL)
		return;
	io_uring_unregister_buf_ring(&ring, POOL_GROUP);
	munmap(pool_ring, POOL_BUFS * sizeof(struct io_uring_buf));
	munmap(pool_mem, (size_t)POOL_BUFS * BUF_BYTES);
	pool_ring = NULL;
}

/* ---- lists ---------------------------------------------------------------- */

static void list_push(struct conn **list, struct conn *c)
{
	c->prev = NULL;
	c->next = *list;
	if (*list != NULL)
		(*list)->prev = c;
	*list = c;
}

static void list_remove(struct conn **list, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		*list = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

static void starved_push(struct conn *c)
{
	c->starved = true;
	c->starved_next = NULL;
	c->starved_prev = starved_tail;
	if (starved_tail != NULL)
		starved_tail->starved_next = c;
	else
		starved_head = c;
	starved_tail = c;
}

static void starved_remove(struct conn *c)
{
	if (!c->starved)
		return;
	c->starved = false;
	if (c->starved_prev != NULL)
		c->starved_prev->starved_next = c->starved_next;
	else
		starved_head = c->starved_next;
	if (c->starved_next != NULL)
		c->starved_next->starved_prev = c->starved_prev;
	else
		starved_tail = c->starved_prev;
}

/* ---- connections ---------------------------------------------------------- */

/* Bytes received from c and not yet echoed. */
static size_t conn_owed(const struct conn *c)
{
	return c->data != NULL ? c->end - c->start : c->held_bytes;
}

static bool conn_busy(const struct conn *c)
{
	return c->recv_busy || c->send_busy;
}

/* Pops c's oldest pool buffer and gives it back to the kernel. */
static void conn_drop_head(struct conn *c)
{
	uint16_t next = pool_next[c->head];

	pool_recycle(c->head);
	c->head = next;
	c->head_sent = 0;
	if (--c->held_bufs == 0)
		c->tail = NO_BUF;
}

/* Frees c: the kernel holds none of its operations any more, so its pool
 * buffers go back to the ring only now, never under a send in flight. */
static void conn_free(struct conn *c)
{
	while (c->held_bufs > 0)
		conn_drop_head(c);
	close(c->fd);
	free(c->data);
	free(c);
}

/* Called after each completion of a closed connection: the last one frees it. */
static void conn_release_if_idle(struct conn *c)
{
	if (conn_busy(c))
		return;
	list_remove(&closing_list, c);
	conn_free(c);
}

/* Closing cannot free c while the kernel holds one of its operations: that
 * operation may still write into c's buffers or report on c. So c moves to
 * the closing list, shutdown wakes its operations (a recv returns 0, a send
 * fails), the cancels make sure, and the last completion frees it. The fd
 * stays open until then, so its number cannot be reused meanwhile. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	c->closing = true;
	list_remove(&open_list, c);
	starved_remove(c);
	open_conns--;
	if (!conn_busy(c)) {
		conn_free(c);
		return;
	}
	list_push(&closing_list, c);
	shutdown(c->fd, SHUT_RDWR);
	if (c->recv_busy && !c->recv_cancelling)
		ring_cancel(&ring, op_data(c, OP_RECV));
	if (c->send_busy)
		ring_cancel(&ring, op_data(c, OP_SEND));
}

static void recv_arm(struct conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring);

	if (c->data != NULL) {
		io_uring_prep_recv(sqe, c->fd, c->data + c->end, ECHO_BUF_BYTES - c->end, 0);
	} else {
		/* No buffer named: for every piece it receives, the kernel
		 * takes one from the pool, for as long as the recv is armed. */
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = POOL_GROUP;
	}
	io_uring_sqe_set_data64(sqe, op_data(c, OP_RECV));
	c->recv_busy = true;
	c->recv_multishot = c->data == NULL;
}

/* Receiving into a buffer of c's own: whenever it has room. But a flooding
 * client that has caught up (its last recv left the socket empty) goes back
 * to the pool once its echo is out. Returns false when c did that. */
static bool recv_own_buffer(struct conn *c)
{
	/* Nothing owed and nothing in the kernel: use the whole buffer again. */
	if (!conn_busy(c) && c->start == c->end)
		c->start = c->end = 0;
	if (c->flooding) {
		if (!c->recv_busy && c->end < ECHO_BUF_BYTES)
			recv_arm(c);
		return true;
	}
	if (conn_busy(c) || c->start != c->end)
		return true;
	free(c->data);
	c->data = NULL;
	return false;
}

/*
 * Backpressure. A multishot recv cannot be told where to stop: once c holds
 * CONN_MAX_BUFS pool buffers it is cancelled, and what the kernel received
 * before the cancel landed is echoed with the rest (docs/models.md says how
 * much that can be). The client has shown it sends faster than it reads, so
 * once that is all echoed, it gets a buffer of its own and one recv at a
 * time into the room left, which can never go past ECHO_BUF_BYTES and keeps
 * the shared pool for the clients that keep up.
 */
static void recv_next(struct conn *c)
{
	if (c->closing || c->peer_eof)
		return;
	if (c->data != NULL && recv_own_buffer(c))
		return;
	if (c->recv_busy) {
		if (c->recv_multishot && c->held_bufs >= CONN_MAX_BUFS && !c->recv_cancelling) {
			ring_cancel(&ring, op_data(c, OP_RECV));
			c->recv_cancelling = true;
			c->flooding = true;
		}
		return;
	}
	if (c->held_bufs > 0 || c->starved)
		return; /* armed again once all is echoed */
	if (c->flooding) {
		c->data = malloc(ECHO_BUF_BYTES);
		c->start = c->end = 0;
		if (c->data != NULL)
			recv_arm(c);
		else
			conn_close(c, "out-of-memory");
		return;
	}
	/* Armed with the pool empty, the recv would end at once with
	 * ENOBUFS as soon as data came: wait for a buffer instead. */
	if (pool_held >= POOL_BUFS) {
		starved_push(c);
		return;
	}
	recv_arm(c);
}

/* One send at a time, of the oldest bytes owed, so the echo stays in order;
 * what a short send leaves is sent by the next. Several pool buffers go in
 * one sendmsg. */
static void send_next(struct conn *c)
{
	struct io_uring_sqe *sqe;
	struct send_scratch *s;
	unsigned iovs = 0;

	if (c->closing || c->send_busy || conn_owed(c) == 0)
		return;
	sqe = ring_sqe(&ring);
	if (c->data != NULL) {
		io_uring_prep_send(sqe, c->fd, c->data + c->start, c->end - c->start, MSG_NOSIGNAL);
	} else if (c->held_bufs == 1) {
		io_uring_prep_send(sqe, c->fd, pool_buf(c->head) + c->head_sent,
		                   pool_len[c->head] - c->head_sent, MSG_NOSIGNAL);
	} else {
		s = &send_scratch[sqe - ring.sq.sqes];
		for (uint16_t bid = c->head; bid != NO_BUF && iovs < SEND_IOVS;
		     bid = pool_next[bid]) {
			uint32_t skip = bid == c->head ? c->head_sent : 0;

			s->iov[iovs].iov_base = pool_buf(bid) + skip;
			s->iov[iovs++].iov_len = pool_len[bid] - skip;
		}
		s->msg = (struct msghdr){ .msg_iov = s->iov, .msg_iovlen = iovs };
		io_uring_prep_sendmsg(sqe, c->fd, &s->msg, MSG_NOSIGNAL);
	}
	io_uring_sqe_set_data64(sqe, op_data(c, OP_SEND));
	c->send_busy = true;
}

/* After every completion of an open connection: finish, send, receive. */
static void conn_update(struct conn *c)
{
	if (c->peer_eof && conn_owed(c) == 0 && !c->send_busy) {
		conn_close(c, "done");
		return;
	}
	send_next(c);
	recv_next(c);
}

static void conn_open(int fd)
{
	struct conn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->head = c->tail = NO_BUF;
	list_push(&open_list, c);
	open_conns++;
	recv_next(c);
}

/* The cap, then the connection. */
static void conn_admit(int fd)
{
	if (max_conns > 0 && open_conns >= max_conns)
		shed_conn(fd, "max-conns");
	else
		conn_open(fd);
}

/* ---- the connections' completions ------------------------------------------ */

/* Pool buffer bid now holds len bytes received for c: queue them. */
static void conn_hold(struct conn *c, uint16_t bid, uint32_t len)
{
	pool_len[bid] = len;
	pool_next[bid] = NO_BUF;
	if (c->held_bufs == 0)
		c->head = bid;
	else
		pool_next[c->tail] = bid;
	c->tail = bid;
	c->held_bufs++;
	c->held_bytes += len;
}

/* The oldest sent bytes of c went out. */
static void conn_sent(struct conn *c, uint32_t sent)
{
	if (c->data != NULL) {
		c->start += sent;
		return;
	}
	c->held_bytes -= sent;
	while (sent > 0) {
		uint32_t take = pool_len[c->head] - c->head_sent;

		if (take > sent)
			take = sent;
		c->head_sent += take;
		sent -= take;
		if (c->head_sent == pool_len[c->head])
			conn_drop_head(c);
	}
}

/* A recv completed: res bytes, 0 at EOF, or -errno. A multishot recv stays
 * armed while IORING_CQE_F_MORE is set; its data is in the pool buffer the
 * flags name. */
static void on_recv(struct conn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE)) {
		c->recv_busy = false;
		c->recv_cancelling = false;
	}
	if (flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);

		pool_held++;
		if (res > 0 && !c->closing)
			conn_hold(c, bid, (uint32_t)res);
		else
			pool_recycle(bid);
	} else if (res > 0 && c->data != NULL) {
		c->end += (uint32_t)res;
	}
	if (c->closing) {
		conn_release_if_idle(c);
		return;
	}
	if (res > 0) {
		/* A recv into c's own buffer that emptied the socket and took
		 * less than a pool buffer: the client no longer sends faster
		 * than it is echoed, nor large messages, which in the pool would
		 * fill c's buffers to the bound, be cancelled and come back here
		 * every time. */
		if (c->data != NULL && !(flags & IORING_CQE_F_SOCK_NONEMPTY) && res < BUF_BYTES)
			c->flooding = false;
		trace("read", c->fd, "bytes=%d", res);
	} else if (res == 0) {
		/* Half-close: the client sends no more, but is still owed its echo. */
		c->peer_eof = true;
		trace("eof", c->fd, "pending=%zu", conn_owed(c));
	} else if (res != -ENOBUFS && res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
		/* ENOBUFS: the pool was empty, recv_next waits for a buffer;
		 * ECANCELED: our backpressure. Anything else is the client's
		 * error (a reset), which closes that client only. */
		trace("error", c->fd, "op=read errno=%s", strerror(-res));
		conn_close(c, "error");
		return;
	}
	/* The recv is still armed and more is in the socket: its next
	 * completion follows, so the echo waits for it and both go out in one
	 * sendmsg. The bound is checked all the same. */
	if (res > 0 && (flags & IORING_CQE_F_MORE) && (flags & IORING_CQE_F_SOCK_NONEMPTY)) {
		recv_next(c);
		return;
	}
	conn_update(c);
}

/* A send completed: res bytes went out, maybe fewer than asked. */
static void on_send(struct conn *c, int res)
{
	c->send_busy = false;
	if (c->closing) {
		conn_release_if_idle(c);
		return;
	}
	if (res == 0 || (res < 0 && res != -EINTR && res != -EAGAIN)) {
		/* EPIPE or ECONNRESET: the client is gone (SIGPIPE is ignored). */
		trace("error", c->fd, "op=write errno=%s", strerror(res < 0 ? -res : EPIPE));
		conn_close(c, "error");
		return;
	}
	if (res > 0) {
		trace("write", c->fd, "bytes=%d", res);
		conn_sent(c, (uint32_t)res);
	}
	conn_update(c);
}

/* ---- the loop --------------------------------------------------------------- */

/* Connections that found the pool empty get a recv again, one per buffer
 * that has come back. */
static void feed_starved(void)
{
	for (unsigned room = POOL_BUFS - pool_held; room > 0 && starved_head != NULL; room--) {
		struct conn *c = starved_head;

		starved_remove(c);
		recv_next(c);
	}
}

static void dispatch(const struct io_uring_cqe *cqe)
{
	struct conn *c = (struct conn *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);

	switch (cqe->user_data & OP_MASK) {
	case OP_ACCEPT:
		ring_listener_on_accept(&listener, cqe->res, cqe->flags);
		break;
	case OP_LISTEN_POLL:
		ring_listener_on_poll(&listener);
		break;
	case OP_RECV:
		on_recv(c, cqe->res, cqe->flags);
		break;
	case OP_SEND:
		on_send(c, cqe->res);
		break;
	default:
		break; /* a cancel's result */
	}
}

/* Handles every completion posted, then tells the kernel they are consumed:
 * one store to the ring's head, no system call. */
static void handle_completions(void)
{
	struct io_uring_cqe *cqe;
	unsigned head, count = 0;

	io_uring_for_each_cqe(&ring, head, cqe)
	{
		dispatch(cqe);
		count++;
	}
	io_uring_cq_advance(&ring, count);
	feed_starved();
}

/* ---- start and stop ------------------------------------------------------- */

/* Multishot accept came in Linux 5.19 and multishot recv in 6.0: on an older
 * kernel the first recv would fail with EINVAL, under load. */
static void check_kernel(void)
{
	struct utsname uts;
	int major = 0;

	if (uname(&uts) < 0 || sscanf(uts.release, "%d.", &major) != 1 || major < 6)
		err_quit("io_uring is unavailable here: multishot recv needs Linux 6.0 (this is "
		         "%s)",
		         uts.release);
}

static void ring_start(void)
{
	static const int needed_ops[] = { IORING_OP_ACCEPT,   IORING_OP_RECV,
		                          IORING_OP_SEND,     IORING_OP_SENDMSG,
		                          IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL };

	check_kernel();
	ring_init(&ring, SQ_ENTRIES, CQ_ENTRIES, needed_ops,
	          sizeof needed_ops / sizeof needed_ops[0]);
	if (ring.sq.ring_entries != SQ_ENTRIES) /* send_scratch has one slot per entry */
		err_quit("io_uring gave %u submission queue entries, not %d", ring.sq.ring_entries,
		         SQ_ENTRIES);
	pool_init();
}

/* Closes every connection, then waits (2 s at most) for the kernel to give
 * back the requests it still holds, so that nothing is freed under it;
 * io_uring_queue_exit cancels whatever is left. */
static void close_all(const sigset_t *wait_mask)
{
	ring_listener_stop(&listener);
	while (open_list != NULL)
		conn_close(open_list, "stop");
	for (int tick = 0; tick < 20 && (closing_list != NULL || listener.busy); tick++) {
		ring_wait(&ring, wait_mask, 100);
		handle_completions();
	}
	pool_destroy();
	io_uring_queue_exit(&ring);
	while (closing_list != NULL) {
		struct conn *c = closing_list;

		list_remove(&closing_list, c);
		c->held_bufs = 0; /* the pool is gone */
		conn_free(c);
	}
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t wait_mask;

	server_parse_options(argc, argv, &model, &opts);
	ring_start(); /* before the readiness line: without io_uring, no server */
	max_conns = opts.max_conns;
	listener.fd = server_listen(&model, &opts);
	listener.admit = conn_admit;
	/* For accept_conn, which sheds connections out of descriptors and must
	 * not block when none is waiting. io_uring's accept waits regardless. */
	Set_nonblocking(listener.fd);
	signals_block_stop(&wait_mask); /* stop signals arrive only in io_uring_enter */
	ring_listener_start(&listener);

	while (!stop_requested) {
		/* One system call: submit what was queued, wait for a completion. */
		int rc = ring_wait(&ring, &wait_mask, -1);

		if (rc < 0) {
			errno = -rc;
			err_sys("io_uring_enter");
		}
		trace("wait", -1, "call=io_uring_enter completions=%u open=%ld",
		      io_uring_cq_ready(&ring), open_conns);
		handle_completions();
	}

	trace("stop", listener.fd, "reason=signal open=%ld", open_conns);
	close_all(&wait_mask);
	Close(listener.fd);
	return 0;
}
