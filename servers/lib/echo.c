/*
 * echo.c - the blocking echo loop and the bounded echo buffer (see echo.h).
 */
#include "echo.h"

#include "trace.h"
#include "wrappers.h"

#include <errno.h>
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

/* ---- the bounded echo buffer ------------------------------------------------ */

void echo_buf_init(struct echo_buf *buf)
{
	/* data[] is left untouched: its pages cost memory only once used. */
	buf->start = 0;
	buf->end = 0;
	buf->peer_eof = false;
}

bool echo_wants_read(const struct echo_buf *buf)
{
	return !buf->peer_eof && buf->end < sizeof buf->data;
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
	/* All echoed: the whole buffer is free again. */
	buf->start = buf->end = 0;
	return buf->peer_eof ? ECHO_CLOSE : ECHO_KEEP;
}

enum echo_status echo_read_step(int fd, struct echo_buf *buf)
{
	ssize_t n;

	if (!echo_wants_read(buf))
		return ECHO_KEEP; /* a read into no room would look like EOF */
	do {
		n = read(fd, buf->data + buf->end, sizeof buf->data - buf->end);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return ECHO_AGAIN;
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
