/*
 * echo.h - the echo itself: the blocking loop (blocking, fork, thread,
 * pool, prefork; coroutine with calls of its own) and the bounded buffer
 * every event loop echoes through (select, poll, epoll-lt, epoll-et,
 * reactors).
 */
#ifndef LIB_ECHO_H
#define LIB_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "wrappers.h"

/* Bytes one connection may hold between reading and echoing. It bounds the
 * memory a client that sends and never reads can cost a non-blocking server,
 * and it is the read size of the blocking echo loop. */
#define ECHO_BUF_BYTES 16384

/* Free buffers each thread keeps for the next connection with bytes to
 * echo; past that, a drained buffer goes back to malloc. */
#define ECHO_POOL_KEEP 64

/* Echoes fd with blocking read and write until the client's EOF or an
 * error. Does not close fd. */
void echo_blocking(int fd);

/* The same loop with other calls in place of read(2) and write(2), with
 * their meaning (coroutine.c's park the coroutine instead of blocking). */
typedef ssize_t echo_read_fn(int fd, void *buf, size_t n);
void echo_with(int fd, echo_read_fn *read_fn, write_call_fn *write_fn);

/* A connection's echo state. Its ECHO_BUF_BYTES of data come from a pool of
 * the calling thread only while it holds bytes: the read steps take one
 * before reading and give it back once everything read has been echoed. So
 * an idle connection costs this struct, not 16 KiB: the C1M question. */
struct echo_buf {
	size_t start;  /* first byte read but not yet echoed */
	size_t end;    /* one past the last byte read */
	bool peer_eof; /* the client shut down its write side */
	char *data;    /* ECHO_BUF_BYTES, or NULL while nothing is held */
};

enum echo_status {
	ECHO_KEEP,  /* still open */
	ECHO_AGAIN, /* the read found nothing to read (EAGAIN) */
	ECHO_CLOSE, /* finished or failed: close the connection */
};

/* An empty buffer that takes its data from the pool when bytes arrive. */
void echo_buf_init(struct echo_buf *buf);
/* Data to read into, from the pool if none is held; false when out of
 * memory (traced as fd's read error). The read step calls it; uring.c
 * calls it before its recv. */
bool echo_buf_hold(int fd, struct echo_buf *buf);
/* Gives the data back to the pool: when everything read has been echoed,
 * and before the connection is freed. */
void echo_buf_release(struct echo_buf *buf);
/* Backpressure: read only while there is room and the client may send. */
bool echo_wants_read(const struct echo_buf *buf);
/* Ask for writability only while output is pending. */
bool echo_wants_write(const struct echo_buf *buf);
/* One read into the free room, then as much echo as the socket takes. */
enum echo_status echo_read_step(int fd, struct echo_buf *buf);
/* Echo pending bytes until done or EAGAIN; after EOF, done means close. */
enum echo_status echo_write_step(int fd, struct echo_buf *buf);

#endif
