/*
 * uring.c - one thread, io_uring: the kernel does the I/O and reports it done.
 *
 * epoll says "fd 7 is readable: go and read it"; io_uring is asked once to
 * "receive on fd 7 into this buffer" and later says "received 64 bytes on
 * fd 7". Requests go into a submission queue and results come back in a
 * completion queue, two rings in memory shared with the kernel, so one
 * io_uring_enter hands over every request queued since the last call and
 * waits for the next completions. This is the plain form, the loop of
 * epoll-lt.c turned from readiness into completion: one accept at a time,
 * and for each connection at most one recv, into the free room of its
 * bounded buffer (none while it is full: backpressure), and one send of
 * what it owes. A recv holds its buffer until bytes come, so the read side
 * waits with a poll first, and the recv follows once bytes are there: a
 * connection that owes nothing holds no buffer (lib/echo.h's pool), and an
 * idle one costs a few dozen bytes, not 16 KiB. uring-multishot.c is the
 * production form.
 *
 * Wins:  no read or write call: the I/O of many connections goes to the
 *        kernel in one system call, and their results come back in one.
 * Costs: Linux only (5.6); while a request is in flight the kernel holds its
 *        buffer, so a connection is freed only after its last completion;
 *        three requests per message (poll, recv, send) to hold no buffer
 *        while idle.
 *
 * Compare with: diff -u servers/epoll-lt.c servers/uring.c
 * Run:          bin/echo-uring -p 9877 -v
 */
#include "wrap.h"
#include "lib/ring.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "uring",
	.summary = "Single-threaded echo server on io_uring: one recv and one send at a time.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 0,
	.max_conns_help = "open connections at most; more are shed (default: no cap but\n"
	                  "the descriptor limit)",
};

/* Requests queued in one turn of the loop; a full queue goes to the kernel
 * early (ring_sqe). Each connection has two requests at most. */
#define SQ_ENTRIES 1024
#define CQ_ENTRIES 4096

/* What a completion is for: the low bits of its user_data. Connections come
 * from malloc, so their addresses leave those bits free for the tag. */
enum op {
	OP_NONE,        /* a cancel's own completion: nothing to do */
	OP_ACCEPT,      /* the listener's accept */
	OP_LISTEN_POLL, /* out of descriptors: waiting for a connection to shed */
	OP_POLL,        /* waiting for bytes, before a recv */
	OP_RECV,
	OP_SEND,
};
#define OP_MASK 7u

struct conn {
	int fd;
	bool poll_busy;           /* a poll is in the kernel */
	bool recv_busy;           /* a recv is in the kernel */
	bool send_busy;           /* a send is in the kernel */
	bool closing;             /* closed: freed once the kernel gives back its requests */
	struct conn *prev, *next; /* every connection not yet freed */
	struct echo_buf buf;
};

static struct io_uring ring;
static struct ring_listener listener = { .ring = &ring,
	                                 .accept_data = OP_ACCEPT,
	                                 .poll_data = OP_LISTEN_POLL };
/* Every connection not yet freed: the open ones, and the closed ones whose
 * requests the kernel still holds. */
static struct conn *all_conns;
static long open_conns;
static long max_conns;

static uint64_t op_data(const struct conn *c, enum op op)
{
	return (uint64_t)(uintptr_t)c | op;
}

/* Waits for bytes with a poll, unless a poll or recv is in the kernel
 * already or there is no room (backpressure) or nothing more comes. The
 * kernel holds nothing of ours meanwhile. */
static void poll_submit(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->poll_busy || c->recv_busy || !echo_wants_read(&c->buf))
		return;
	sqe = ring_sqe(&ring);
	io_uring_prep_poll_add(sqe, c->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, op_data(c, OP_POLL));
	c->poll_busy = true;
}

/* The poll said bytes are there: a recv into the free room of c's buffer
 * (held from its poll's completion on). */
static void recv_submit(struct conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&ring);

	io_uring_prep_recv(sqe, c->fd, c->buf.data + c->buf.end, ECHO_BUF_BYTES - c->buf.end, 0);
	io_uring_sqe_set_data64(sqe, op_data(c, OP_RECV));
	c->recv_busy = true;
}

/* Asks for a send of what c owes, unless one is in the kernel already: one
 * at a time keeps the echo in order. */
static void send_submit(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (c->send_busy || !echo_wants_write(&c->buf))
		return;
	sqe = ring_sqe(&ring);
	io_uring_prep_send(sqe, c->fd, c->buf.data + c->buf.start, c->buf.end - c->buf.start,
	                   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, op_data(c, OP_SEND));
	c->send_busy = true;
}

static void conn_open(int fd)
{
	struct conn *c = malloc(sizeof *c);

	if (c == NULL) {
		shed_conn(fd, "out-of-memory");
		return;
	}
	c->fd = fd;
	c->poll_busy = c->recv_busy = c->send_busy = c->closing = false;
	echo_buf_init(&c->buf);
	c->prev = NULL;
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	open_conns++;
	poll_submit(c);
}

/* Whether the kernel still holds a request of c's. */
static bool conn_busy(const struct conn *c)
{
	return c->poll_busy || c->recv_busy || c->send_busy;
}

static void conn_free(struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd);
	echo_buf_release(&c->buf);
	free(c);
}

/* The kernel may still write into c's buffer or report on c while one of
 * its requests is in flight, so a busy c is not freed here: shutdown wakes
 * its requests (a poll reports, a recv returns 0, a send fails), the cancels
 * make sure, and its last completion frees it. The fd stays open until
 * then, so its number cannot be reused meanwhile. */
static void conn_close(struct conn *c, const char *reason)
{
	trace("close", c->fd, "reason=%s", reason);
	c->closing = true;
	open_conns--;
	if (!conn_busy(c)) {
		conn_free(c);
		return;
	}
	shutdown(c->fd, SHUT_RDWR);
	if (c->poll_busy)
		ring_cancel(&ring, op_data(c, OP_POLL));
	if (c->recv_busy)
		ring_cancel(&ring, op_data(c, OP_RECV));
	if (c->send_busy)
		ring_cancel(&ring, op_data(c, OP_SEND));
}

/* After each completion of a closed connection: the last one frees it. */
static void conn_release_if_idle(struct conn *c)
{
	if (!conn_busy(c))
		conn_free(c);
}

/* After each completion of an open connection: finish, or ask for what is
 * next. Once everything read is echoed and the kernel holds none of the
 * buffer, it goes back to the pool. */
static void conn_update(struct conn *c)
{
	if (!echo_wants_write(&c->buf) && !c->recv_busy) {
		c->buf.start = c->buf.end = 0;
		echo_buf_release(&c->buf);
	}
	if (c->buf.peer_eof && !echo_wants_write(&c->buf) && !c->send_busy) {
		conn_close(c, "done");
		return;
	}
	send_submit(c);
	poll_submit(c);
}

/* A poll completed: bytes (or EOF, or an error) are there for a recv,
 * which needs a buffer now. */
static void on_poll(struct conn *c, int res)
{
	c->poll_busy = false;
	if (c->closing) {
		conn_release_if_idle(c);
		return;
	}
	/* A completion, not a readiness event of epoll's: "polled". */
	trace("polled", c->fd, "pending=%zu", c->buf.end - c->buf.start);
	if (res < 0 && res != -EINTR) {
		trace("error", c->fd, "op=poll errno=%s", strerror(-res));
		conn_close(c, "error");
		return;
	}
	if (!echo_buf_hold(c->fd, &c->buf)) {
		conn_close(c, "error");
		return;
	}
	recv_submit(c);
}

/* A recv completed: res bytes now sit after the buffer's end, 0 is EOF. */
static void on_recv(struct conn *c, int res)
{
	c->recv_busy = false;
	if (c->closing) {
		conn_release_if_idle(c);
		return;
	}
	if (res > 0) {
		trace("read", c->fd, "bytes=%d", res);
		c->buf.end += (size_t)res;
	} else if (res == 0) {
		/* Half-close: the client sends no more, but is still owed its echo. */
		c->buf.peer_eof = true;
		trace("eof", c->fd, "pending=%zu", c->buf.end - c->buf.start);
	} else if (res != -EINTR && res != -EAGAIN) {
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
		c->buf.start += (size_t)res;
	}
	conn_update(c);
}

/* The cap, then the connection. */
static void conn_admit(int fd)
{
	if (max_conns > 0 && open_conns >= max_conns)
		shed_conn(fd, "max-conns");
	else
		conn_open(fd);
}

/* Each completion names its request; nothing to scan. */
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
	case OP_POLL:
		on_poll(c, cqe->res);
		break;
	case OP_RECV:
		on_recv(c, cqe->res);
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
}

/* Closes every connection, then waits (2 s at most) for the kernel to give
 * back the requests it still holds, so that nothing is freed under it. */
static void close_all(const sigset_t *wait_mask)
{
	ring_listener_stop(&listener);
	for (struct conn *c = all_conns, *next; c != NULL; c = next) {
		next = c->next; /* c may be freed */
		if (!c->closing)
			conn_close(c, "stop");
	}
	for (int tick = 0; tick < 20 && (all_conns != NULL || listener.busy); tick++) {
		ring_wait(&ring, wait_mask, 100);
		handle_completions();
	}
	io_uring_queue_exit(&ring); /* cancels whatever is left */
	while (all_conns != NULL)
		conn_free(all_conns);
}

int main(int argc, char **argv)
{
	static const int needed_ops[] = { IORING_OP_ACCEPT, IORING_OP_RECV, IORING_OP_SEND,
		                          IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL };
	struct server_options opts;
	sigset_t wait_mask;

	server_parse_options(argc, argv, &model, &opts);
	ring_init(&ring, SQ_ENTRIES, CQ_ENTRIES, needed_ops,
	          sizeof needed_ops / sizeof needed_ops[0]);
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
