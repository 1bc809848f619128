/*
 * echo.c - the blocking echo loop and the bounded echo buffer (see echo.h).
 */
#include "echo.h"

#include "error.h"
#include "trace.h"
#include "wrappers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the blocking echo loop ------------------------------------------------ */

void echo_with(int fd, echo_read_fn *read_fn, write_call_fn *write_fn)
{
	char buf[ECHO_BUF_BYTES];

	for (;;) {
		ssize_t n = read_fn(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			trace("error", fd, "op=read errno=%s", strerror(errno));
			return;
		}
		if (n == 0) {
			trace("eof", fd, "pending=0");
			return;
		}
		trace("read", fd, "bytes=%zd", n);
		if (writen_with(fd, buf, (size_t)n, write_fn) < 0) {
			trace("error", fd, "op=write errno=%s", strerror(errno));
			return;
		}
		trace("write", fd, "bytes=%zd", n);
	}
}

void echo_blocking(int fd)
{
	echo_with(fd, read, write);
}

/* ---- the pool of echo buffers ---------------------------------------------- */

/* A free buffer's first bytes link it to the next free one. */
struct free_buf {
	struct free_buf *next;
};

/* Per thread, so that taking and giving need no lock: reactors' loops and
 * leader-follower's threads each keep their own. A buffer may be taken by
 * one thread and given back by another (leader-follower): it just changes
 * lists. */
static _Thread_local struct free_buf *pool_free;
static _Thread_local int pool_free_count;
static _Thread_local bool pool_key_set;

/* Frees a thread's free list when the thread ends; the key is set only to
 * have that destructor called. */
static pthread_key_t pool_key;
static pthread_once_t pool_key_once = PTHREAD_ONCE_INIT;

static void pool_drain(void *unused __attribute__((unused)))
{
	while (pool_free != NULL) {
		struct free_buf *b = pool_free;

		pool_free = b->next;
		free(b);
	}
	pool_free_count = 0;
}

static void pool_key_create(void)
{
	if (pthread_key_create(&pool_key, pool_drain) != 0)
		err_quit("pthread_key_create failed");
}

static char *pool_take(void)
{
	struct free_buf *b = pool_free;

	if (b == NULL)
		return malloc(ECHO_BUF_BYTES);
	pool_free = b->next;
	pool_free_count--;
	return (char *)b;
}

static void pool_give(char *data)
{
	struct free_buf *b = (struct free_buf *)(void *)data;

	if (pool_free_count >= ECHO_POOL_KEEP) {
		free(data);
		return;
	}
	if (!pool_key_set) {
		pthread_once(&pool_key_once, pool_key_create);
		pthread_setspecific(pool_key, &pool_free);
		pool_key_set = true;
	}
	b->next = pool_free;
	pool_free = b;
	pool_free_count++;
}

/* ---- the bounded echo buffer ------------------------------------------------ */

void echo_buf_init(struct echo_buf *buf)
{
	buf->start = 0;
	buf->end = 0;
	buf->peer_eof = false;
	buf->data = NULL;
}

void echo_buf_release(struct echo_buf *buf)
{
	if (buf->data != NULL) {
		pool_give(buf->data);
		buf->data = NULL;
	}
}

bool echo_buf_hold(int fd, struct echo_buf *buf)
{
	if (buf->data == NULL)
		buf->data = pool_take();
	if (buf->data == NULL)
		trace("error", fd, "op=read errno=%s", strerror(ENOMEM));
	return buf->data != NULL;
}

bool echo_wants_read(const struct echo_buf *buf)
{
	return !buf->peer_eof && buf->end < ECHO_BUF_BYTES;
}

bool echo_wants_write(const struct echo_buf *buf)
{
	return buf->end > buf->start;
}

enum echo_status echo_write_step(int fd, struct echo_buf *buf)
{
	while (buf->start < buf->end) {
		ssize_t n = write(fd, buf->data + buf->start, buf->end - buf->start);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return ECHO_KEEP;
		if (n < 0) {
			trace("error", fd, "op=write errno=%s", strerror(errno));
			return ECHO_CLOSE;
		}
		trace("write", fd, "bytes=%zd", n);
		buf->start += (size_t)n;
	}
	/* All echoed: the whole buffer is free again, and goes back to the
	 * pool until the next bytes arrive. */
	buf->start = buf->end = 0;
	echo_buf_release(buf);
	return buf->peer_eof ? ECHO_CLOSE : ECHO_KEEP;
}

enum echo_status echo_read_step(int fd, struct echo_buf *buf)
{
	ssize_t n;

	if (!echo_wants_read(buf))
		return ECHO_KEEP; /* a read into no room would look like EOF */
	if (!echo_buf_hold(fd, buf))
		return ECHO_CLOSE;
	do {
		n = read(fd, buf->data + buf->end, ECHO_BUF_BYTES - buf->end);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (!echo_wants_write(buf))
			echo_buf_release(buf); /* nothing came: still idle */
		return ECHO_AGAIN;
	}
	if (n < 0) {
		trace("error", fd, "op=read errno=%s", strerror(errno));
		return ECHO_CLOSE;
	}
	if (n == 0) {
		/* Half-close: the client sends no more, but is still owed its echo. */
		buf->peer_eof = true;
		trace("eof", fd, "pending=%zu", buf->end - buf->start);
		return echo_write_step(fd, buf);
	}
	trace("read", fd, "bytes=%zd", n);
	buf->end += (size_t)n;
	return echo_write_step(fd, buf);
}
