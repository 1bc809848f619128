/*
 * uring.c - one thread, io_uring: the kernel does the I/O and reports it done.
 *
 * epoll says "fd 7 is readable: go and read it"; io_uring is asked once to
 * "receive on fd 7" and later says "received 64 bytes on fd 7: they are in
 * buffer 12". Requests go into a submission queue and results come back in a
 * completion queue, two rings in memory shared with the kernel, so one
 * io_uring_enter hands over every send queued since the last call and waits
 * for the next batch of completions. A multishot accept and one multishot
 * recv per connection stay armed and complete again and again; the recv
 * takes its buffers from one pool the kernel picks from (provided buffers),
 * so an idle connection holds no buffer at all. A client that sends faster
 * than it reads has its recv cancelled at ECHO_BUF_BYTES owed (backpressure)
 * and is then served like in the fallback until it catches up: one recv at
 * a time into a buffer of the connection's own, as in epoll-lt. That
 * fallback serves everyone where the kernel has no multishot operations or
 * provided buffers (before 6.0), or with --single-shot.
 *
 * Wins:  no read or write call per message and several completions per
 *        system call; buffer memory follows the bytes in flight, not the
 *        number of connections.
 * Costs: Linux only (all of it: 6.0); while an operation is in flight the
 *        kernel holds its buffer and its connection, so nothing may be freed
 *        before its last completion; one buffer pool for everyone to share.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/uring.c
 * Run:          bin/echo-uring -p 9877 -v
 */
#include "wrap.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "uring",
	.summary = "Single-threaded echo server on io_uring: multishot accept and recv, "
	           "provided buffers.",
	.features = FEATURE_MAX_CONNS | FEATURE_SINGLE_SHOT,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Submission queue entries: the sends and recvs queued in one turn of the
 * loop. When it is full it goes to the kernel early (get_sqe). */
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
 * A connection costs this struct (80 bytes) and nothing else while its
 * client reads what it sends: what it received and has not yet echoed sits
 * in pool buffers. A client that floods it costs an ECHO_BUF_BYTES buffer
 * of its own until it catches up; in the fallback, every connection has one.
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
	/* A buffer of its own (fallback, or a flooding client), or NULL;
	 * [start, end) is owed. Never in use at the same time as the pool. */
	char *data;
	uint32_t start, end;
	struct conn *prev, *next;                 /* the open list or the closing list */
	struct conn *starved_prev, *starved_next; /* the starved list */
};

static struct io_uring ring;
static int listenfd;
static long max_conns;
static struct conn *open_list;    /* every open connection, to close them at stop */
static struct conn *closing_list; /* closed, the kernel still holding an operation */
static long open_conns;

/* What the kernel can do, found out at run time: a kernel without multishot
 * accept or recv fails the first one with EINVAL, and one without provided
 * buffer rings fails io_uring_register_buf_ring. Then the fallback serves. */
static bool use_multishot_accept, multishot_accept_seen;
static bool use_multishot_recv, multishot_recv_seen;
static enum op listener_op; /* the listener's operation in the kernel, or OP_NONE */

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

/* A free submission queue entry. When the queue is full, what is in it goes
 * to the kernel now instead of with the next wait. */
static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe;

	while ((sqe = io_uring_get_sqe(&ring)) == NULL) {
		int rc = io_uring_submit(&ring);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			errno = -rc;
			err_sys("io_uring_submit");
		}
	}
	return sqe;
}

/* Asks the kernel to cancel the operation whose user_data is data. The
 * cancel's own completion is tagged OP_NONE: it names no connection, so it
 * may come after that connection is freed. */
static void submit_cancel(uint64_t data)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_cancel64(sqe, data, 0);
	io_uring_sqe_set_data64(sqe, OP_NONE);
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
 * the ring's memory is ours, page aligned (mmap), like the pool's. Returns
 * false where the kernel has no provided buffer rings (before 5.19). */
static bool pool_init(void)
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
	if (io_uring_register_buf_ring(&ring, &reg, 0) < 0) {
		munmap(pool_ring, ring_bytes);
		munmap(pool_mem, (size_t)POOL_BUFS * BUF_BYTES);
		pool_ring = NULL;
		pool_mem = NULL;
		return false;
	}
	for (unsigned bid = 0; bid < POOL_BUFS; bid++)
		io_uring_buf_ring_add(pool_ring, pool_buf(bid), BUF_BYTES, (unsigned short)bid,
		                      io_uring_buf_ring_mask(POOL_BUFS), (int)bid);
	io_uring_buf_ring_advance(pool_ring, POOL_BUFS);
	return true;
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
		submit_cancel(op_data(c, OP_RECV));
	if (c->send_busy)
		submit_cancel(op_data(c, OP_SEND));
}

static void recv_arm(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

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
	if (c->flooding || !use_multishot_recv) {
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
 * before the cancel landed is echoed with the rest (a lone client flooding
 * gets about a hundred buffers in at most on 6.18, which receives up to 32
 * times per wake-up and requeues). The client has shown it sends faster
 * than it reads, so once that is all echoed, it gets a buffer of its own and
 * one recv at a time into the room left, which can never go past
 * ECHO_BUF_BYTES and keeps the shared pool for the clients that keep up.
 */
static void recv_next(struct conn *c)
{
	if (c->closing || c->peer_eof)
		return;
	if (c->data != NULL && recv_own_buffer(c))
		return;
	if (c->recv_busy) {
		if (c->recv_multishot && c->held_bufs >= CONN_MAX_BUFS && !c->recv_cancelling) {
			submit_cancel(op_data(c, OP_RECV));
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
	sqe = get_sqe();
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

	if (c != NULL && !use_multishot_recv && (c->data = malloc(ECHO_BUF_BYTES)) == NULL) {
		free(c);
		c = NULL;
	}
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

/* ---- the listener ----------------------------------------------------------- */

static void listener_arm(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	if (use_multishot_accept)
		io_uring_prep_multishot_accept(sqe, listenfd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, listenfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, OP_ACCEPT);
	listener_op = OP_ACCEPT;
}

/* Out of descriptors an accept fails at once, before it looks for a
 * connection, so arming it again would spin: poll the listener instead,
 * which completes only when a connection is waiting. */
static void listener_poll(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_poll_add(sqe, listenfd, POLLIN);
	io_uring_sqe_set_data64(sqe, OP_LISTEN_POLL);
	listener_op = OP_LISTEN_POLL;
}

/* Accepts what is waiting with accept_conn (lib/accept.c), which out of
 * descriptors sheds each connection on its spare descriptor. Returns true
 * if it shed one: still out of descriptors. */
static bool listener_drain(void)
{
	bool shed = false;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_conn(listenfd);

		if (fd >= 0)
			conn_admit(fd);
		else if (errno == EMFILE || errno == ENFILE)
			shed = true;
		else if (errno != ECONNABORTED && errno != EINTR)
			break; /* EAGAIN: none left */
	}
	return shed;
}

/* An accept completed: res is the new fd, or -errno. A multishot accept
 * stays armed while IORING_CQE_F_MORE says so; any error ends it. */
static void on_accept(int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		listener_op = OP_NONE;
	if (res >= 0) {
		multishot_accept_seen |= use_multishot_accept;
		conn_accepted(res, NULL); /* TCP_NODELAY and the trace, as accept_conn */
		conn_admit(res);
	} else if (res == -EINVAL && use_multishot_accept && !multishot_accept_seen &&
	           !stop_requested) {
		use_multishot_accept = false; /* before 5.19: one accept per connection */
	} else if (res == -EMFILE || res == -ENFILE) {
		listener_drain();
		if (listener_op == OP_NONE && !stop_requested)
			listener_poll();
		return;
	} else if (res != -ECONNABORTED && res != -EINTR && !stop_requested) {
		trace("error", listenfd, "op=accept errno=%s", strerror(-res));
	}
	if (listener_op == OP_NONE && !stop_requested)
		listener_arm();
}

/* Out of descriptors, a connection is waiting: shed it, or accept it if
 * descriptors are free again, and then go back to accepting. */
static void on_listener_ready(void)
{
	listener_op = OP_NONE;
	if (stop_requested)
		return;
	if (listener_drain())
		listener_poll();
	else
		listener_arm();
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
		multishot_recv_seen |= c->recv_multishot;
		/* A recv into c's own buffer that emptied the socket: the
		 * client no longer sends faster than it is echoed. */
		if (c->data != NULL && !(flags & IORING_CQE_F_SOCK_NONEMPTY))
			c->flooding = false;
		trace("read", c->fd, "bytes=%d", res);
	} else if (res == 0) {
		/* Half-close: the client sends no more, but is still owed its echo. */
		c->peer_eof = true;
		trace("eof", c->fd, "pending=%zu", conn_owed(c));
	} else if (res == -EINVAL && c->recv_multishot && !multishot_recv_seen) {
		/* Before 6.0: no multishot recv. This connection and every
		 * later one get a buffer of their own. */
		use_multishot_recv = false;
		c->data = malloc(ECHO_BUF_BYTES);
		c->start = c->end = 0;
		if (c->data == NULL) {
			conn_close(c, "out-of-memory");
			return;
		}
	} else if (res != -ENOBUFS && res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
		/* ENOBUFS: the pool was empty, recv_next waits for a buffer;
		 * ECANCELED: our backpressure. Anything else is the client's
		 * error (a reset), which closes that client only. */
		trace("error", c->fd, "op=read errno=%s", strerror(-res));
		conn_close(c, "error");
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
		on_accept(cqe->res, cqe->flags);
		break;
	case OP_LISTEN_POLL:
		on_listener_ready();
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

/*
 * The setup flags, best first; EINVAL means the kernel does not know one.
 * The work that completes an operation after its socket woke up (task work:
 * the recv itself, once data came) runs in this thread. By default the
 * kernel interrupts the thread for it whenever a packet comes; COOP_TASKRUN
 * (5.19) lets it wait for the thread's next system call, and SINGLE_ISSUER
 * | DEFER_TASKRUN (6.1) until the thread waits for completions, when it runs
 * all of it as one batch. Measured at 64 to 1024 connections (64-byte
 * messages, closed loop): either flag saves up to a fifth of the server's
 * CPU per message over none, and the two are within noise of each other;
 * DEFER_TASKRUN is kept because it also bounds what a multishot recv takes
 * in before a cancel lands to what one wait runs.
 * (Registering the ring's fd, io_uring_register_ring_fd, made no measurable
 * difference, so it is left out.)
 */
static void ring_init(void)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	static const int needed_ops[] = { IORING_OP_ACCEPT,   IORING_OP_RECV,
		                          IORING_OP_SEND,     IORING_OP_SENDMSG,
		                          IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL };
	struct io_uring_probe *probe;
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0] && rc == -EINVAL; i++) {
		struct io_uring_params params = { .flags = flag_sets[i] | IORING_SETUP_CQSIZE,
			                          .cq_entries = CQ_ENTRIES };

		rc = io_uring_queue_init_params(SQ_ENTRIES, &ring, &params);
	}
	if (rc < 0)
		err_quit("io_uring is unavailable here: %s (kernel.io_uring_disabled set? a "
		         "seccomp filter? a kernel older than 5.6?)",
		         strerror(-rc));
	if (ring.sq.ring_entries != SQ_ENTRIES) /* send_scratch has one slot per entry */
		err_quit("io_uring gave %u submission queue entries, not %d", ring.sq.ring_entries,
		         SQ_ENTRIES);
	probe = io_uring_get_probe_ring(&ring);
	for (size_t i = 0; i < sizeof needed_ops / sizeof needed_ops[0]; i++)
		if (probe == NULL || !io_uring_opcode_supported(probe, needed_ops[i]))
			err_quit("io_uring is unavailable here: it cannot accept, send or receive "
			         "(a kernel older than 5.6?)");
	io_uring_free_probe(probe);
}

/* Closes every connection, then waits (2 s at most) for the kernel to give
 * back the operations it still holds, so that nothing is freed under it;
 * io_uring_queue_exit cancels whatever is left. */
static void stop_all(sigset_t *wait_mask)
{
	struct timespec now, deadline;

	if (listener_op != OP_NONE)
		submit_cancel(listener_op);
	while (open_list != NULL)
		conn_close(open_list, "stop");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 2;
	while (closing_list != NULL || listener_op != OP_NONE) {
		struct __kernel_timespec tick = { .tv_nsec = 100 * 1000 * 1000 };
		struct io_uring_cqe *cqe;

		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &tick, wait_mask);
		handle_completions();
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
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
	/* Before the readiness line: without io_uring there is no server. */
	ring_init();
	use_multishot_recv = !opts.single_shot && pool_init();
	use_multishot_accept = !opts.single_shot;
	max_conns = opts.max_conns;
	listenfd = server_listen(&model, &opts);
	/* For accept_conn, which sheds connections out of descriptors and must
	 * not block when none is waiting. io_uring's accept waits regardless. */
	Set_nonblocking(listenfd);
	signals_block_stop(&wait_mask); /* stop signals arrive only in io_uring_enter */
	listener_arm();

	while (!stop_requested) {
		struct io_uring_cqe *cqe;
		/* One system call: submit what was queued, wait for a completion. */
		int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, NULL, &wait_mask);

		if (rc == -EINTR)
			continue;
		if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -ETIME) {
			errno = -rc;
			err_sys("io_uring_enter");
		}
		trace("wait", -1, "call=io_uring_enter completions=%u open=%ld",
		      io_uring_cq_ready(&ring), open_conns);
		handle_completions();
	}

	trace("stop", listenfd, "reason=signal open=%ld", open_conns);
	stop_all(&wait_mask);
	Close(listenfd);
	return 0;
}
