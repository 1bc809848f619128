/*
 * echo-probe - the test client tests/servers.bats drives the echo servers with.
 *
 * It connects to HOST:PORT (or, with -u, to a Unix-domain socket) and plays
 * one of ten client roles, checking every
 * byte that comes back and giving every wait a deadline:
 *
 *   stream  CLIENTS clients at once each send SIZE bytes (seeded random data,
 *           or the 256 byte values in a cycle) in random chunk sizes while
 *           reading the echo concurrently (poll), check it byte for byte, then
 *           half-close and expect EOF once every byte is back. SIZE 0 is a
 *           half-close with no data. --read when-blocked reads only when a
 *           write finds no room (so the server's writes come out short);
 *           --read after-send reads only after the half-close.
 *   ping    one client sends SIZE bytes and waits for their echo. --silent-ms
 *           first requires that no echo comes for that long (the client is
 *           not served yet); --hold then keeps the served connection idle
 *           until SIGUSR1, pings again (still served?), and half-closes.
 *           --data FILE sends the bytes of FILE instead (protocol garbage).
 *   hog     sends up to SIZE bytes and never reads; reports when the server
 *           stops taking them (no room for --stall-ms) and holds the
 *           connection until SIGUSR1.
 *   shed    connects, sends a little and expects the server to close or reset
 *           the connection without echoing anything.
 *   reset   connects, sends SIZE bytes without reading and resets (RST).
 *           CLIENTS connections at once, --repeat rounds one after another;
 *           --fill keeps sending until the server has taken nothing for
 *           --stall-ms, so the reset hits a server that holds output.
 *   crowd   opens CLIENTS connections, each sending one SIZE-byte ping, and
 *           counts how many were served (echo back), shed (closed or reset
 *           before any echo) or left waiting (nothing for --settle-ms);
 *           with --hold, on SIGUSR1 pings every served one again.
 *   stall   CLIENTS clients each send checked data without reading until the
 *           server stops taking it (no room for --stall-ms) or SIZE is sent,
 *           then hold until SIGUSR1; then they read, checking every byte,
 *           send the rest, half-close and expect EOF, like stream.
 *   quit    sends SIZE bytes and closes without reading anything: the
 *           server's echo hits a closed socket (EPIPE or a reset). CLIENTS at
 *           once, --repeat rounds.
 *   churn   connects and closes at once, no data, --repeat times in a row.
 *   bulk    hands all SIZE bytes to one write(2) on a blocking socket (a
 *           second thread, so the echo is read and checked meanwhile), then
 *           half-closes and expects every byte back, then EOF.
 *
 * For example:
 *   echo-probe -p 9877 -c 20 -n 4MiB stream
 *   echo-probe -p 9877 --silent-ms 300 --hold ping   (then kill -USR1 it)
 *   echo-probe -H ::1 -p 9877 --pattern bytes -n 256 --max-chunk 1 stream
 *
 * Milestones go to stdout, one flushed line each, so a script can wait for
 * them: connected, silent, served, served-again, stalled/sent, closed, ok,
 * crowd, reset, quit, churn, echoed (stream --say-after).
 * Exit status: 0 the role went as expected; 1 a mismatch, an error or a
 * missed deadline (the reason on stderr); 2 a usage error.
 *
 * It deliberately uses no threads: one poll loop keeps the reads and writes
 * of every stream client going at once, so a server that only echoes after
 * reading everything, or loses bytes on a short write, is caught. bulk is
 * the one exception: a single write(2) of SIZE bytes cannot return until the
 * server has echoed most of them, so the echo is read by the main thread
 * while a second one sits in that write.
 */
#include "wrap.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHUNK_BYTES 65536
#define MAX_CLIENTS     5000
#define MAX_DATA_BYTES  (1024 * 1024)
#define EXIT_USAGE      2

enum probe_mode {
	MODE_STREAM,
	MODE_PING,
	MODE_HOG,
	MODE_SHED,
	MODE_RESET,
	MODE_CROWD,
	MODE_STALL,
	MODE_QUIT,
	MODE_CHURN,
	MODE_BULK
};
enum data_pattern { PATTERN_RANDOM, PATTERN_BYTES };
/* When a stream client reads: always (concurrently with writing); only when
 * its writes would block, so the server's socket buffers fill up and its
 * writes come out short; or only after it has sent everything. */
enum read_policy { READ_ALWAYS, READ_WHEN_BLOCKED, READ_AFTER_SEND };

struct probe_options {
	const char *host;
	const char *port;
	const char *unix_path; /* -u: a Unix-domain socket instead of host:port */
	enum probe_mode mode;
	long clients;
	long long size_bytes; /* -1: the mode's default */
	uint64_t seed;
	long max_chunk_bytes;
	enum data_pattern pattern;
	long silent_ms;
	bool hold;
	enum read_policy read_policy;
	long stall_ms;
	long settle_ms;
	long timeout_ms;
	long repeat;               /* reset, quit, churn: rounds one after another */
	bool fill;                 /* reset: send until the server takes no more */
	long read_pause_ms;        /* stream, stall: a slow reader waits this long between reads */
	long long say_after_bytes; /* stream: say "echoed" once this much came back */
	const char *data_path;     /* ping: send this file's bytes */
};

/* ---- time and signals ------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Milliseconds left until deadline_ms, never negative: a poll timeout. */
static int ms_until(int64_t deadline_ms)
{
	int64_t left_ms = deadline_ms - now_ms();

	return left_ms > 0 ? (int)left_ms : 0;
}

static volatile sig_atomic_t release_requested;

static void on_release(int signo)
{
	(void)signo;
	release_requested = 1;
}

/* SIGUSR1 releases a held connection. It stays blocked except inside
 * ppoll, so it can neither be lost nor interrupt anything else. */
static void release_signal_init(sigset_t *unblocked)
{
	struct sigaction sa = { .sa_handler = on_release };
	sigset_t usr1;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGPIPE, &(struct sigaction){ .sa_handler = SIG_IGN }, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, unblocked);
	sigdelset(unblocked, SIGUSR1);
}

/* ---- the bytes sent: reproducible, so the echo can be checked -------------- */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

struct byte_source {
	enum data_pattern pattern;
	uint64_t state;
	uint64_t word;
	int word_bytes_left;
	uint64_t offset;
};

static void source_init(struct byte_source *src, enum data_pattern pattern, uint64_t seed,
                        long client)
{
	*src = (struct byte_source){ .pattern = pattern,
		                     .state = seed ^ ((uint64_t)client * 0xd1b54a32d192ed03u) };
}

static unsigned char source_next(struct byte_source *src)
{
	unsigned char byte;

	if (src->pattern == PATTERN_BYTES) {
		byte = (unsigned char)(src->offset % 256);
	} else {
		if (src->word_bytes_left == 0) {
			src->word = splitmix64(&src->state);
			src->word_bytes_left = 8;
		}
		byte = (unsigned char)src->word;
		src->word >>= 8;
		src->word_bytes_left--;
	}
	src->offset++;
	return byte;
}

static void source_fill(struct byte_source *src, unsigned char *buf, size_t len_bytes)
{
	for (size_t i = 0; i < len_bytes; i++)
		buf[i] = source_next(src);
}

/* Checks received bytes against the source; on a mismatch reports the
 * stream offset of the first wrong byte. */
static bool source_check(struct byte_source *src, const unsigned char *buf, size_t len_bytes,
                         long client)
{
	for (size_t i = 0; i < len_bytes; i++) {
		uint64_t offset = src->offset;
		unsigned char expected = source_next(src);

		if (buf[i] != expected) {
			err_msg("client %ld: mismatch at offset %" PRIu64
			        ": expected 0x%02x, got 0x%02x",
			        client, offset, expected, buf[i]);
			return false;
		}
	}
	return true;
}

/* Chunk sizes spread over every scale from 1 byte to max_bytes. */
static size_t random_chunk_bytes(uint64_t *state, long max_bytes)
{
	uint64_t r = splitmix64(state);
	uint64_t scale = (uint64_t)1 << (r % 17);
	uint64_t bytes = 1 + (r >> 8) % scale;

	return (size_t)(bytes < (uint64_t)max_bytes ? bytes : (uint64_t)max_bytes);
}

/* ---- connecting --------------------------------------------------------------- */

static int connect_nonblocking(const struct addrinfo *ai, int64_t deadline_ms)
{
	struct pollfd pfd;
	int fd, soerr = 0;
	socklen_t len = sizeof soerr;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -1;
	/* A Unix-domain connect to a full listen queue fails with EAGAIN where
	 * TCP's would wait: try again until the deadline. */
	for (;;) {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
		if (errno != EAGAIN || ai->ai_family != AF_UNIX)
			break;
		if (ms_until(deadline_ms) == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		poll(NULL, 0, 1);
	}
	if (errno != EINPROGRESS)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	while (poll(&pfd, 1, ms_until(deadline_ms)) < 0)
		if (errno != EINTR)
			goto fail;
	if (pfd.revents == 0) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr == 0)
		return fd;
	errno = soerr;
fail:
	soerr = errno; /* close must not hide why it failed */
	close(fd);
	errno = soerr;
	return -1;
}

/* The same, to the Unix-domain socket at path. */
static int probe_connect_unix(const char *path, int64_t deadline_ms)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct addrinfo ai = { .ai_family = AF_UNIX,
		               .ai_socktype = SOCK_STREAM,
		               .ai_addr = (struct sockaddr *)&un,
		               .ai_addrlen = sizeof un };
	int fd;

	snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
	fd = connect_nonblocking(&ai, deadline_ms);
	if (fd < 0)
		err_ret("connect to unix:%s", path);
	return fd;
}

/* Returns a connected non-blocking socket, or -1 after saying why. */
static int probe_connect(const struct probe_options *o)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		                  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc, fd;

	if (o->unix_path != NULL)
		return probe_connect_unix(o->unix_path, now_ms() + o->timeout_ms);
	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc != 0) {
		err_msg("%s port %s: %s", o->host, o->port, gai_strerror(rc));
		return -1;
	}
	fd = connect_nonblocking(res, now_ms() + o->timeout_ms);
	if (fd < 0)
		err_ret("connect to %s port %s", o->host, o->port);
	freeaddrinfo(res);
	return fd;
}

/* ---- waits on one connection ---------------------------------------------------- */

/* Polls fd for events until deadline_ms. Returns revents, 0 on timeout. */
static short wait_for(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int rc;

	do {
		rc = poll(&pfd, 1, ms_until(deadline_ms));
	} while (rc < 0 && errno == EINTR);
	return rc > 0 ? pfd.revents : 0;
}

static bool send_all(int fd, const unsigned char *buf, size_t len_bytes, long timeout_ms)
{
	int64_t deadline_ms = now_ms() + timeout_ms;
	size_t sent_bytes = 0;

	while (sent_bytes < len_bytes) {
		ssize_t n = write(fd, buf + sent_bytes, len_bytes - sent_bytes);

		if (n >= 0) {
			sent_bytes += (size_t)n;
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			err_ret("write after %zu of %zu bytes", sent_bytes, len_bytes);
			return false;
		}
		if (wait_for(fd, POLLOUT, deadline_ms) == 0) {
			err_msg("could not send %zu bytes within %ld ms", len_bytes, timeout_ms);
			return false;
		}
	}
	return true;
}

/* Reads exactly len_bytes into buf by deadline_ms. The messages count the
 * bytes as done_bytes + got of total_bytes: the caller may read in pieces. */
static bool read_exactly(int fd, unsigned char *buf, size_t len_bytes, int64_t deadline_ms,
                         size_t done_bytes, size_t total_bytes)
{
	size_t got_bytes = 0;

	while (got_bytes < len_bytes) {
		ssize_t n = read(fd, buf + got_bytes, len_bytes - got_bytes);

		if (n > 0) {
			got_bytes += (size_t)n;
		} else if (n == 0) {
			err_msg("the server closed the connection after %zu of %zu echoed bytes",
			        done_bytes + got_bytes, total_bytes);
			return false;
		} else if (errno != EAGAIN && errno != EINTR) {
			err_ret("read after %zu of %zu echoed bytes", done_bytes + got_bytes,
			        total_bytes);
			return false;
		} else if (wait_for(fd, POLLIN, deadline_ms) == 0) {
			err_msg("got %zu of %zu echoed bytes before the deadline",
			        done_bytes + got_bytes, total_bytes);
			return false;
		}
	}
	return true;
}

/* Reads len_bytes of echo and checks them against check. */
static bool expect_echo(int fd, struct byte_source *check, size_t len_bytes, long timeout_ms)
{
	int64_t deadline_ms = now_ms() + timeout_ms;
	unsigned char buf[MAX_CHUNK_BYTES];

	for (size_t got_bytes = 0; got_bytes < len_bytes;) {
		size_t want =
		    len_bytes - got_bytes < sizeof buf ? len_bytes - got_bytes : sizeof buf;

		if (!read_exactly(fd, buf, want, deadline_ms, got_bytes, len_bytes) ||
		    !source_check(check, buf, want, 0))
			return false;
		got_bytes += want;
	}
	return true;
}

/* Reads exactly len_bytes into buf within timeout_ms. */
static bool readn_until(int fd, unsigned char *buf, size_t len_bytes, long timeout_ms)
{
	return read_exactly(fd, buf, len_bytes, now_ms() + timeout_ms, 0, len_bytes);
}

/* Says what is waiting on a readable fd that should have stayed quiet. */
static void report_unexpected_input(int fd, const char *when)
{
	char byte;
	ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0)
		err_msg("bytes came back %s", when);
	else if (n == 0)
		err_msg("the server closed the connection %s", when);
	else
		err_ret("the connection failed %s", when);
}

/* Requires that nothing arrives for silent_ms: the client is not served. */
static bool expect_silence(int fd, long silent_ms)
{
	char when[96];

	if (wait_for(fd, POLLIN, now_ms() + silent_ms) == 0)
		return true;
	snprintf(when, sizeof when, "within %ld ms, but this client should not be served yet",
	         silent_ms);
	report_unexpected_input(fd, when);
	return false;
}

/* Keeps the connection idle until SIGUSR1. Watching fd for input tells a
 * server that drops an idle client from one that keeps it. With watch_fd
 * false (a hog, whose echo piles up unread) only the signal counts. */
static bool hold_until_released(int fd, bool watch_fd, long timeout_ms, const sigset_t *unblocked)
{
	int64_t deadline_ms = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (!release_requested) {
		int left_ms = ms_until(deadline_ms);
		struct timespec ts = { .tv_sec = left_ms / 1000,
			               .tv_nsec = left_ms % 1000 * 1000000L };
		int rc = ppoll(&pfd, watch_fd ? 1 : 0, &ts, unblocked);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			err_ret("ppoll");
			return false;
		}
		if (rc > 0) {
			report_unexpected_input(fd, "while the client was idle");
			return false;
		}
		if (ms_until(deadline_ms) == 0) {
			err_msg("held %ld ms and was never released (SIGUSR1)", timeout_ms);
			return false;
		}
	}
	return true;
}

/* Shuts down the write side and expects EOF, and no more bytes, in time. */
static bool half_close_expect_eof(int fd, long timeout_ms)
{
	int64_t deadline_ms = now_ms() + timeout_ms;
	char byte;

	if (shutdown(fd, SHUT_WR) < 0) {
		err_ret("shutdown");
		return false;
	}
	for (;;) {
		ssize_t n = read(fd, &byte, 1);

		if (n == 0)
			return true;
		if (n > 0) {
			err_msg("bytes came back after the whole echo");
			return false;
		}
		if (errno != EAGAIN && errno != EINTR) {
			err_ret("waiting for EOF after the half-close");
			return false;
		}
		if (wait_for(fd, POLLIN, deadline_ms) == 0) {
			err_msg("no EOF within %ld ms of the half-close", timeout_ms);
			return false;
		}
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One milestone line on stdout, flushed at once: scripts wait for these. */
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* ---- stream: many clients, concurrent reads and writes ---------------------------- */

struct stream_client {
	long index;
	int fd;
	struct byte_source to_send;
	struct byte_source to_check;
	uint64_t chunk_state;
	unsigned char out[MAX_CHUNK_BYTES];
	size_t out_len_bytes;
	size_t out_done_bytes;
	uint64_t sent_bytes;
	uint64_t received_bytes;
	int64_t next_read_ms; /* --read-pause-ms: no read before this time */
	bool write_shut;
	bool done;
};

/* Echoed bytes over every stream client, for --say-after. */
static long long stream_echoed_bytes;

static bool stream_on_writable(struct stream_client *c, const struct probe_options *o)
{
	uint64_t size_bytes = (uint64_t)o->size_bytes;

	if (c->out_done_bytes == c->out_len_bytes && c->sent_bytes < size_bytes) {
		size_t chunk = random_chunk_bytes(&c->chunk_state, o->max_chunk_bytes);

		if (chunk > size_bytes - c->sent_bytes)
			chunk = (size_t)(size_bytes - c->sent_bytes);
		source_fill(&c->to_send, c->out, chunk);
		c->out_len_bytes = chunk;
		c->out_done_bytes = 0;
	}
	if (c->out_done_bytes < c->out_len_bytes) {
		ssize_t n =
		    write(c->fd, c->out + c->out_done_bytes, c->out_len_bytes - c->out_done_bytes);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			err_ret("client %ld: write after %" PRIu64 " bytes", c->index,
			        c->sent_bytes);
			return false;
		}
		if (n > 0) {
			c->out_done_bytes += (size_t)n;
			c->sent_bytes += (uint64_t)n;
		}
	}
	if (c->sent_bytes == size_bytes && !c->write_shut) {
		/* Everything sent: half-close, the echo must still come back. */
		if (shutdown(c->fd, SHUT_WR) < 0) {
			err_ret("client %ld: shutdown", c->index);
			return false;
		}
		c->write_shut = true;
	}
	return true;
}

static bool stream_on_readable(struct stream_client *c, const struct probe_options *o)
{
	static unsigned char buf[MAX_CHUNK_BYTES];
	size_t want = random_chunk_bytes(&c->chunk_state, MAX_CHUNK_BYTES);
	ssize_t n = read(c->fd, buf, want);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return true;
		err_ret("client %ld: read after %" PRIu64 " of %lld echoed bytes", c->index,
		        c->received_bytes, o->size_bytes);
		return false;
	}
	if (n == 0) {
		if (c->received_bytes < (uint64_t)o->size_bytes || !c->write_shut) {
			err_msg("client %ld: EOF after %" PRIu64 " of %lld echoed bytes", c->index,
			        c->received_bytes, o->size_bytes);
			return false;
		}
		c->done = true;
		close(c->fd);
		return true;
	}
	if (c->received_bytes + (uint64_t)n > (uint64_t)o->size_bytes) {
		err_msg("client %ld: more bytes came back than were sent (%lld)", c->index,
		        o->size_bytes);
		return false;
	}
	if (!source_check(&c->to_check, buf, (size_t)n, c->index))
		return false;
	c->received_bytes += (uint64_t)n;
	if (o->read_pause_ms > 0)
		c->next_read_ms = now_ms() + o->read_pause_ms;
	if (o->say_after_bytes > 0 && stream_echoed_bytes < o->say_after_bytes &&
	    stream_echoed_bytes + n >= o->say_after_bytes)
		say("echoed bytes=%lld", stream_echoed_bytes + n);
	stream_echoed_bytes += n;
	return true;
}

static void stream_report_unfinished(const struct stream_client *clients, long count,
                                     const struct probe_options *o)
{
	for (long i = 0; i < count; i++)
		if (!clients[i].done)
			err_msg("client %ld: not finished within %ld ms: sent %" PRIu64
			        ", echoed %" PRIu64 " of %lld bytes%s",
			        i, o->timeout_ms, clients[i].sent_bytes, clients[i].received_bytes,
			        o->size_bytes,
			        clients[i].write_shut ? ", half-closed, no EOF yet" : "");
}

/* Whether client c reads, under the --read policy; can_write is whether
 * poll found room to write. */
static bool stream_may_read(const struct stream_client *c, const struct probe_options *o,
                            bool can_write)
{
	if (c->next_read_ms > now_ms())
		return false; /* a slow reader, pausing */
	switch (o->read_policy) {
	case READ_AFTER_SEND:
		return c->write_shut;
	case READ_WHEN_BLOCKED:
		return c->write_shut || !can_write;
	default:
		return true;
	}
}

/* How long poll may sleep: until the deadline, or until the first pausing
 * slow reader may read again. */
static int stream_poll_timeout_ms(const struct stream_client *clients, long count,
                                  int64_t deadline_ms)
{
	int64_t wake_ms = deadline_ms, now = now_ms();

	for (long i = 0; i < count; i++)
		if (!clients[i].done && clients[i].next_read_ms > now &&
		    clients[i].next_read_ms < wake_ms)
			wake_ms = clients[i].next_read_ms;
	return ms_until(wake_ms);
}

/* The poll loop: every unfinished client reads, and writes until it has
 * sent everything, all at once. */
static bool stream_run(struct stream_client *clients, long count, const struct probe_options *o)
{
	int64_t deadline_ms = now_ms() + o->timeout_ms;
	struct pollfd *pfds = Calloc((size_t)count, sizeof *pfds);
	long live = count;
	bool ok = true;

	while (ok && live > 0) {
		for (long i = 0; i < count; i++) {
			pfds[i].fd = clients[i].done ? -1 : clients[i].fd;
			pfds[i].events =
			    (short)((stream_may_read(&clients[i], o, false) ? POLLIN : 0) |
			            (clients[i].write_shut ? 0 : POLLOUT));
			pfds[i].revents = 0;
		}
		int ready =
		    poll(pfds, (nfds_t)count, stream_poll_timeout_ms(clients, count, deadline_ms));

		if (ready < 0 && errno != EINTR) {
			err_ret("poll");
			ok = false;
		} else if (ready == 0 && ms_until(deadline_ms) == 0) {
			stream_report_unfinished(clients, count, o);
			ok = false;
		}
		for (long i = 0; ok && i < count; i++) {
			struct stream_client *c = &clients[i];

			bool can_write = pfds[i].revents & POLLOUT;

			if (pfds[i].revents & (POLLOUT | POLLERR))
				ok = c->write_shut || stream_on_writable(c, o);
			if (ok && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    stream_may_read(c, o, can_write))
				ok = stream_on_readable(c, o);
			if (c->done && pfds[i].fd >= 0)
				live--; /* finished in this round */
		}
	}
	free(pfds);
	return ok;
}

/* Connects every stream client. Returns false after saying why. */
static bool stream_connect_all(struct stream_client *clients, const struct probe_options *o)
{
	for (long i = 0; i < o->clients; i++) {
		struct stream_client *c = &clients[i];

		c->index = i;
		source_init(&c->to_send, o->pattern, o->seed, i);
		source_init(&c->to_check, o->pattern, o->seed, i);
		c->chunk_state = o->seed + 0x5bd1e995u * (uint64_t)(i + 1);
		c->fd = probe_connect(o);
		if (c->fd < 0)
			return false;
	}
	return true;
}

static int run_stream(const struct probe_options *o)
{
	struct stream_client *clients = Calloc((size_t)o->clients, sizeof *clients);
	bool ok = stream_connect_all(clients, o);

	if (ok) {
		say("connected clients=%ld", o->clients);
		/* SIZE 0: half-close at once, before any poll. */
		for (long i = 0; ok && i < o->clients; i++)
			ok = stream_on_writable(&clients[i], o);
	}
	ok = ok && stream_run(clients, o->clients, o);
	if (ok)
		say("ok clients=%ld bytes_each=%lld", o->clients, o->size_bytes);
	free(clients);
	return ok ? 0 : 1;
}

/* Sends as a stream client without reading until SIZE is sent or the server
 * has taken nothing for stall_ms. Returns false on an error or the deadline. */
static bool stall_fill(struct stream_client *c, const struct probe_options *o)
{
	int64_t deadline_ms = now_ms() + o->timeout_ms;

	while (!c->write_shut) {
		if (ms_until(deadline_ms) == 0) {
			err_msg("client %ld: still sending after %ld ms", c->index, o->timeout_ms);
			return false;
		}
		if (wait_for(c->fd, POLLOUT, now_ms() + o->stall_ms) == 0)
			return true; /* no room for stall_ms: the server stopped taking it */
		if (!stream_on_writable(c, o))
			return false;
	}
	return true;
}

static int run_stall(const struct probe_options *o, const sigset_t *unblocked)
{
	struct stream_client *clients = Calloc((size_t)o->clients, sizeof *clients);
	long long sent_bytes = 0;
	long stalled = 0;
	bool ok = stream_connect_all(clients, o);

	if (ok)
		say("connected clients=%ld", o->clients);
	for (long i = 0; ok && i < o->clients; i++) {
		ok = stall_fill(&clients[i], o);
		sent_bytes += (long long)clients[i].sent_bytes;
		stalled += !clients[i].write_shut;
	}
	if (ok)
		say("%s clients=%ld stalled=%ld sent_bytes=%lld", stalled > 0 ? "stalled" : "sent",
		    o->clients, stalled, sent_bytes);
	/* Only the signal counts: the echo piles up unread meanwhile. */
	ok = ok && hold_until_released(-1, false, o->timeout_ms, unblocked);
	ok = ok && stream_run(clients, o->clients, o);
	if (ok)
		say("ok clients=%ld bytes_each=%lld", o->clients, o->size_bytes);
	free(clients);
	return ok ? 0 : 1;
}

/* ---- ping, hog, shed, reset, quit, churn ------------------------------------------- */

/* Sends size_bytes and checks their echo. */
static bool ping_once(int fd, const struct probe_options *o, struct byte_source *to_send,
                      struct byte_source *to_check, long silent_ms)
{
	size_t len_bytes = (size_t)o->size_bytes;
	unsigned char *msg = Malloc(len_bytes ? len_bytes : 1);
	bool ok;

	source_fill(to_send, msg, len_bytes);
	ok = send_all(fd, msg, len_bytes, o->timeout_ms);
	free(msg);
	if (ok && silent_ms > 0) {
		ok = expect_silence(fd, silent_ms);
		if (ok)
			say("silent ms=%ld", silent_ms);
	}
	return ok && expect_echo(fd, to_check, len_bytes, o->timeout_ms);
}

/* Reads all of path (MAX_DATA_BYTES at most) into a new buffer. Returns
 * NULL after saying why. */
static unsigned char *read_data_file(const char *path, size_t *len_bytes)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = Malloc(MAX_DATA_BYTES + 1);

	if (f == NULL) {
		err_ret("--data %s", path);
		free(data);
		return NULL;
	}
	*len_bytes = fread(data, 1, MAX_DATA_BYTES + 1, f);
	fclose(f);
	if (*len_bytes == 0 || *len_bytes > MAX_DATA_BYTES) {
		err_msg("--data %s: give 1 byte to %d bytes", path, MAX_DATA_BYTES);
		free(data);
		return NULL;
	}
	return data;
}

/* ping --data: the file's bytes go out in one piece and must come back
 * verbatim; then a half-close and EOF. */
static int run_ping_data(const struct probe_options *o)
{
	size_t len_bytes;
	unsigned char *data = read_data_file(o->data_path, &len_bytes);
	unsigned char *echo;
	int fd;
	bool ok;

	if (data == NULL)
		return 1;
	fd = probe_connect(o);
	if (fd < 0) {
		free(data);
		return 1;
	}
	say("connected");
	echo = Malloc(len_bytes);
	ok = send_all(fd, data, len_bytes, o->timeout_ms) &&
	     readn_until(fd, echo, len_bytes, o->timeout_ms);
	if (ok && memcmp(echo, data, len_bytes) != 0) {
		for (size_t i = 0; i < len_bytes; i++)
			if (echo[i] != data[i]) {
				err_msg("--data: byte %zu came back 0x%02x, sent 0x%02x", i,
				        echo[i], data[i]);
				break;
			}
		ok = false;
	}
	if (ok)
		say("served bytes=%zu", len_bytes);
	ok = ok && half_close_expect_eof(fd, o->timeout_ms);
	if (ok)
		say("closed");
	close(fd);
	free(echo);
	free(data);
	return ok ? 0 : 1;
}

static int run_ping(const struct probe_options *o, const sigset_t *unblocked)
{
	struct byte_source to_send, to_check;
	int fd;

	if (o->data_path != NULL)
		return run_ping_data(o);
	fd = probe_connect(o);
	if (fd < 0)
		return 1;
	say("connected");
	source_init(&to_send, o->pattern, o->seed, 0);
	source_init(&to_check, o->pattern, o->seed, 0);
	if (!ping_once(fd, o, &to_send, &to_check, o->silent_ms))
		return 1;
	say("served");
	if (o->hold) {
		if (!hold_until_released(fd, true, o->timeout_ms, unblocked))
			return 1;
		if (!ping_once(fd, o, &to_send, &to_check, 0))
			return 1;
		say("served-again");
	}
	if (!half_close_expect_eof(fd, o->timeout_ms))
		return 1;
	say("closed");
	close(fd);
	return 0;
}

/* Writes until size_bytes are sent or no room comes for stall_ms. Returns
 * the bytes sent, or -1 on an error or past the deadline. */
static long long hog_send(int fd, const struct probe_options *o)
{
	int64_t deadline_ms = now_ms() + o->timeout_ms;
	static unsigned char chunk[MAX_CHUNK_BYTES];
	long long sent_bytes = 0;

	memset(chunk, 'h', sizeof chunk);
	while (sent_bytes < o->size_bytes) {
		long long left = o->size_bytes - sent_bytes;
		ssize_t n =
		    write(fd, chunk, left < (long long)sizeof chunk ? (size_t)left : sizeof chunk);

		if (n > 0) {
			sent_bytes += n;
		} else if (errno != EAGAIN && errno != EINTR) {
			err_ret("hog: write after %lld bytes", sent_bytes);
			return -1;
		} else if (ms_until(deadline_ms) == 0) {
			err_msg("hog: still sending after %ld ms", o->timeout_ms);
			return -1;
		} else if (wait_for(fd, POLLOUT, now_ms() + o->stall_ms) == 0) {
			say("stalled sent_bytes=%lld", sent_bytes);
			return sent_bytes;
		}
	}
	say("sent sent_bytes=%lld", sent_bytes);
	return sent_bytes;
}

static int run_hog(const struct probe_options *o, const sigset_t *unblocked)
{
	int fd = probe_connect(o);

	if (fd < 0)
		return 1;
	say("connected");
	if (hog_send(fd, o) < 0 || !hold_until_released(fd, false, o->timeout_ms, unblocked))
		return 1;
	close(fd);
	return 0;
}

static int run_shed(const struct probe_options *o)
{
	int64_t start_ms = now_ms();
	int fd = probe_connect(o);
	char buf[64];
	ssize_t n;

	if (fd < 0)
		return 1;
	say("connected");
	/* The server may have closed already: a failed write is fine too. */
	(void)!write(fd, "shed?", 5);
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
		if (wait_for(fd, POLLIN, start_ms + o->timeout_ms) == 0) {
			err_msg("shed: the connection is still open after %ld ms", o->timeout_ms);
			return 1;
		}
	}
	if (n > 0) {
		err_msg("shed: the server echoed, so the connection was served, not shed");
		return 1;
	}
	if (n < 0 && errno != ECONNRESET) {
		err_ret("shed: read");
		return 1;
	}
	say("closed how=%s ms=%" PRId64, n == 0 ? "eof" : "reset", now_ms() - start_ms);
	close(fd);
	return 0;
}

/* Sends up to size_bytes of filler. When the socket has no room it waits up
 * to wait_ms for some (0: stops at once); a connection the server has
 * already dropped stops it too. Returns the bytes sent. */
static long long send_filler(int fd, long long size_bytes, long wait_ms)
{
	static unsigned char chunk[MAX_CHUNK_BYTES];
	long long sent_bytes = 0;

	memset(chunk, 'r', sizeof chunk);
	while (sent_bytes < size_bytes) {
		long long left = size_bytes - sent_bytes;
		ssize_t n =
		    write(fd, chunk, left < (long long)sizeof chunk ? (size_t)left : sizeof chunk);

		if (n > 0)
			sent_bytes += n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n == 0 || errno != EAGAIN || wait_ms == 0 ||
		         wait_for(fd, POLLOUT, now_ms() + wait_ms) == 0)
			break; /* full or gone: stop with what went out */
	}
	return sent_bytes;
}

/* Opens o->clients connections at once; -1 in fds[] past a failure. */
static bool connect_many(int *fds, const struct probe_options *o)
{
	for (long i = 0; i < o->clients; i++)
		fds[i] = -1;
	for (long i = 0; i < o->clients; i++) {
		fds[i] = probe_connect(o);
		if (fds[i] < 0)
			return false;
	}
	return true;
}

static void close_many(int *fds, long count)
{
	for (long i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int run_reset(const struct probe_options *o)
{
	struct linger abort_on_close = { .l_onoff = 1, .l_linger = 0 };
	int *fds = Calloc((size_t)o->clients, sizeof *fds);
	long long sent_bytes = 0;
	bool ok = true;

	for (long round = 0; ok && round < o->repeat; round++) {
		ok = connect_many(fds, o);
		for (long i = 0; ok && i < o->clients; i++)
			sent_bytes += send_filler(fds[i], o->size_bytes, o->fill ? o->stall_ms : 0);
		/* SO_LINGER with a zero timeout: close sends RST instead of FIN. */
		for (long i = 0; i < o->clients; i++)
			if (fds[i] >= 0)
				setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &abort_on_close,
				           sizeof abort_on_close);
		close_many(fds, o->clients);
	}
	free(fds);
	if (ok)
		say("reset sent_bytes=%lld connections=%ld", sent_bytes, o->clients * o->repeat);
	return ok ? 0 : 1;
}

/* Sends and closes without reading: whatever the server echoes after the
 * close hits a closed socket (a FIN, then EPIPE when it writes again; or a
 * reset when its echo was already waiting unread at the close). */
static int run_quit(const struct probe_options *o)
{
	int *fds = Calloc((size_t)o->clients, sizeof *fds);
	long long sent_bytes = 0;
	bool ok = true;

	for (long round = 0; ok && round < o->repeat; round++) {
		ok = connect_many(fds, o);
		for (long i = 0; ok && i < o->clients; i++)
			sent_bytes += send_filler(fds[i], o->size_bytes, o->stall_ms);
		close_many(fds, o->clients);
	}
	free(fds);
	if (ok)
		say("quit sent_bytes=%lld connections=%ld", sent_bytes, o->clients * o->repeat);
	return ok ? 0 : 1;
}

/* Connects and closes at once, with no data, again and again. */
static int run_churn(const struct probe_options *o)
{
	for (long round = 0; round < o->repeat; round++) {
		int fd = probe_connect(o);

		if (fd < 0) {
			err_msg("churn: connection %ld of %ld failed", round + 1, o->repeat);
			return 1;
		}
		close(fd);
	}
	say("churn connections=%ld", o->repeat);
	return 0;
}

/* ---- bulk: one write(2) of everything ------------------------------------------ */

struct bulk_writer {
	int fd;
	const unsigned char *data;
	size_t len_bytes;
	long write_calls; /* 1 unless a signal cut the write short */
	int error;        /* errno of a failed write or shutdown, else 0 */
};

static void *bulk_write_all(void *arg)
{
	struct bulk_writer *w = arg;
	size_t done_bytes = 0;

	while (done_bytes < w->len_bytes) {
		ssize_t n = write(w->fd, w->data + done_bytes, w->len_bytes - done_bytes);

		w->write_calls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->error = n < 0 ? errno : EIO;
			return NULL;
		}
		done_bytes += (size_t)n;
	}
	if (shutdown(w->fd, SHUT_WR) < 0)
		w->error = errno;
	return NULL;
}

/* Reads the echo of the bulk write and checks every byte, then EOF. */
static bool bulk_read_all(int fd, struct byte_source *check, long long size_bytes,
                          int64_t deadline_ms)
{
	static unsigned char buf[MAX_CHUNK_BYTES];
	long long got_bytes = 0;

	for (;;) {
		ssize_t n;

		if (wait_for(fd, POLLIN, deadline_ms) == 0) {
			err_msg("bulk: got %lld of %lld echoed bytes before the deadline",
			        got_bytes, size_bytes);
			return false;
		}
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_ret("bulk: read after %lld of %lld echoed bytes", got_bytes,
			        size_bytes);
			return false;
		}
		if (n == 0)
			break;
		if (got_bytes + n > size_bytes) {
			err_msg("bulk: more bytes came back than were sent");
			return false;
		}
		if (!source_check(check, buf, (size_t)n, 0))
			return false;
		got_bytes += n;
	}
	if (got_bytes != size_bytes) {
		err_msg("bulk: EOF after %lld of %lld echoed bytes", got_bytes, size_bytes);
		return false;
	}
	return true;
}

static int run_bulk(const struct probe_options *o)
{
	struct timeval send_timeout = { .tv_sec = o->timeout_ms / 1000,
		                        .tv_usec = o->timeout_ms % 1000 * 1000 };
	struct bulk_writer w = { .len_bytes = (size_t)o->size_bytes };
	int64_t deadline_ms = now_ms() + o->timeout_ms;
	struct byte_source src, check;
	unsigned char *data = Malloc(w.len_bytes ? w.len_bytes : 1);
	pthread_t writer;
	int rc;
	bool ok;

	source_init(&src, o->pattern, o->seed, 0);
	source_init(&check, o->pattern, o->seed, 0);
	source_fill(&src, data, w.len_bytes);
	w.data = data;
	w.fd = probe_connect(o);
	if (w.fd < 0)
		return 1;
	/* Blocking, so the one write(2) takes all it can; bounded by the timeout. */
	if (fcntl(w.fd, F_SETFL, 0) < 0 ||
	    setsockopt(w.fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout) < 0) {
		err_ret("bulk: socket options");
		return 1;
	}
	say("connected");
	rc = pthread_create(&writer, NULL, bulk_write_all, &w);
	if (rc != 0) {
		errno = rc;
		err_ret("bulk: pthread_create");
		return 1;
	}
	ok = bulk_read_all(w.fd, &check, o->size_bytes, deadline_ms);
	if (!ok)
		return 1; /* the writer may still be blocked: exit ends it */
	pthread_join(writer, NULL);
	if (w.error != 0) {
		errno = w.error;
		err_ret("bulk: write of %zu bytes", w.len_bytes);
		return 1;
	}
	say("ok clients=1 bytes_each=%lld write_calls=%ld", o->size_bytes, w.write_calls);
	close(w.fd);
	free(data);
	return 0;
}

/* ---- crowd: many connections, each served, shed or left waiting ---------------- */

enum crowd_state { CROWD_WAITING, CROWD_SERVED, CROWD_SHED };

struct crowd_conn {
	int fd;
	enum crowd_state state;
	size_t echoed_bytes;
};

/* Reads what came back on a waiting connection: its echo (checked against
 * msg) makes it served, EOF or a reset before any echo makes it shed. */
static bool crowd_on_readable(struct crowd_conn *c, long index, const unsigned char *msg,
                              size_t msg_bytes)
{
	unsigned char buf[MAX_CHUNK_BYTES];
	size_t left_bytes = msg_bytes - c->echoed_bytes;
	ssize_t n = read(c->fd, buf, left_bytes < sizeof buf ? left_bytes : sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0 && c->echoed_bytes == 0 && (n == 0 || errno == ECONNRESET)) {
		c->state = CROWD_SHED;
		close(c->fd);
		return true;
	}
	if (n <= 0) {
		err_ret("connection %ld: closed after %zu of %zu echoed bytes", index,
		        c->echoed_bytes, msg_bytes);
		return false;
	}
	if (memcmp(buf, msg + c->echoed_bytes, (size_t)n) != 0) {
		err_msg("connection %ld: the echo differs from what was sent", index);
		return false;
	}
	c->echoed_bytes += (size_t)n;
	if (c->echoed_bytes == msg_bytes)
		c->state = CROWD_SERVED;
	return true;
}

/* Polls the waiting connections until none is left waiting, or nothing has
 * changed for settle_ms (the rest are left waiting), or the deadline. */
static bool crowd_settle(struct crowd_conn *conns, long count, const unsigned char *msg,
                         const struct probe_options *o)
{
	int64_t deadline_ms = now_ms() + o->timeout_ms;
	int64_t quiet_since_ms = now_ms();
	struct pollfd *pfds = Calloc((size_t)count, sizeof *pfds);
	bool ok = true;

	for (;;) {
		long waiting = 0;

		for (long i = 0; i < count; i++) {
			bool wait = conns[i].state == CROWD_WAITING;

			pfds[i] =
			    (struct pollfd){ .fd = wait ? conns[i].fd : -1, .events = POLLIN };
			waiting += wait;
		}
		if (waiting == 0 || now_ms() - quiet_since_ms >= o->settle_ms ||
		    ms_until(deadline_ms) == 0)
			break;
		if (poll(pfds, (nfds_t)count, 10) <= 0)
			continue;
		quiet_since_ms = now_ms();
		for (long i = 0; ok && i < count; i++)
			if (pfds[i].revents != 0)
				ok = crowd_on_readable(&conns[i], i, msg, (size_t)o->size_bytes);
		if (!ok)
			break;
	}
	free(pfds);
	return ok;
}

/* Pings every served connection again, then half-closes it and expects EOF. */
static bool crowd_reping_served(struct crowd_conn *conns, long count, const unsigned char *msg,
                                const struct probe_options *o)
{
	for (long i = 0; i < count; i++) {
		struct byte_source check;

		if (conns[i].state != CROWD_SERVED)
			continue;
		source_init(&check, o->pattern, o->seed, 0);
		if (!send_all(conns[i].fd, msg, (size_t)o->size_bytes, o->timeout_ms) ||
		    !expect_echo(conns[i].fd, &check, (size_t)o->size_bytes, o->timeout_ms) ||
		    !half_close_expect_eof(conns[i].fd, o->timeout_ms)) {
			err_msg("connection %ld: served at first, but not any more", i);
			return false;
		}
	}
	return true;
}

static int run_crowd(const struct probe_options *o, const sigset_t *unblocked)
{
	struct crowd_conn *conns = Calloc((size_t)o->clients, sizeof *conns);
	size_t msg_bytes = (size_t)o->size_bytes;
	unsigned char *msg = Malloc(msg_bytes);
	long counts[3] = { 0, 0, 0 };
	struct byte_source src;
	bool ok = true;

	source_init(&src, o->pattern, o->seed, 0);
	source_fill(&src, msg, msg_bytes);
	for (long i = 0; ok && i < o->clients; i++) {
		conns[i].fd = probe_connect(o);
		/* The server may shed it before the ping goes out: that is fine. */
		ok = conns[i].fd >= 0;
		if (ok)
			(void)!write(conns[i].fd, msg, msg_bytes);
	}
	if (ok)
		say("connected clients=%ld", o->clients);
	ok = ok && crowd_settle(conns, o->clients, msg, o);
	for (long i = 0; ok && i < o->clients; i++)
		counts[conns[i].state]++;
	if (ok)
		say("crowd served=%ld shed=%ld waiting=%ld", counts[CROWD_SERVED],
		    counts[CROWD_SHED], counts[CROWD_WAITING]);
	if (ok && o->hold)
		ok = hold_until_released(-1, false, o->timeout_ms, unblocked) &&
		     crowd_reping_served(conns, o->clients, msg, o);
	if (ok && o->hold)
		say("served-again");
	free(msg);
	free(conns);
	return ok ? 0 : 1;
}

/* ---- options ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: echo-probe [options] stream|ping|hog|shed|reset|crowd|stall|quit|churn|bulk\n"
	    "  -H, --host ADDR       numeric address (default 127.0.0.1; ::1 works)\n"
	    "  -p, --port N          server port (required, unless -u)\n"
	    "  -u, --unix PATH       a Unix-domain stream socket instead of TCP\n"
	    "  -c, --clients N       stream, crowd, stall, reset, quit: clients at once\n"
	    "                        (default 1)\n"
	    "  -n, --size BYTES      bytes per client; KiB/MiB suffixes (stream, reset,\n"
	    "                        stall, bulk 1MiB; ping, crowd and quit 64; hog 64MiB)\n"
	    "  -s, --seed N          seed of the random data (default 1)\n"
	    "      --max-chunk BYTES largest write/read (default and most 64KiB)\n"
	    "      --pattern P       random (default) or bytes (0..255 cycling)\n"
	    "      --read WHEN       stream: always (default, while writing), when-blocked\n"
	    "                        (only when a write finds no room), after-send\n"
	    "      --read-pause-ms MS  stream, stall: wait MS ms after each read (a slow reader)\n"
	    "      --say-after BYTES stream: print 'echoed bytes=N' once BYTES came back\n"
	    "      --silent-ms MS    ping: no echo may come for MS ms first\n"
	    "      --data FILE       ping: send FILE's bytes (1MiB at most), expect them back\n"
	    "      --hold            ping, hog, crowd: hold the connections until SIGUSR1\n"
	    "      --stall-ms MS     hog, stall, reset --fill, quit: no room for MS ms means\n"
	    "                        stalled (default 300)\n"
	    "      --fill            reset: send until stalled (the server holds output)\n"
	    "      --repeat N        reset, quit, churn: N rounds in a row (default 1)\n"
	    "      --settle-ms MS    crowd: no change for MS ms ends the count (default 500)\n"
	    "  -t, --timeout-ms MS   the longest any wait may take (default 10000)\n"
	    "Exit: 0 as expected, 1 mismatch, error or deadline, 2 usage.\n");
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "echo-probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage(stderr);
	exit(EXIT_USAGE);
}

static long long parse_size_bytes(const char *text)
{
	static const struct {
		const char *suffix;
		long long factor;
	} units[] = { { "MiB", 1024 * 1024 }, { "KiB", 1024 }, { "", 1 } };
	size_t len = strlen(text);

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t suffix_len = strlen(units[i].suffix);
		char number[32];
		long value;

		if (len <= suffix_len || len - suffix_len >= sizeof number ||
		    strcmp(text + len - suffix_len, units[i].suffix) != 0)
			continue;
		memcpy(number, text, len - suffix_len);
		number[len - suffix_len] = '\0';
		if (parse_long(number, 0, 1L << 30, &value))
			return value * units[i].factor;
	}
	usage_error("'%s' is not a size (e.g. 64, 4KiB, 1MiB)", text);
}

static long parse_number(const char *text, long min, long max)
{
	long value;

	if (!parse_long(text, min, max, &value))
		usage_error("'%s' is not a number in range", text);
	return value;
}

static enum probe_mode parse_mode(const char *text)
{
	static const char *const names[] = { "stream", "ping",  "hog",  "shed",  "reset",
		                             "crowd",  "stall", "quit", "churn", "bulk" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i]) == 0)
			return (enum probe_mode)i;
	usage_error("unknown mode '%s'", text);
}

static enum read_policy parse_read_policy(const char *text)
{
	static const char *const names[] = { "always", "when-blocked", "after-send" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i]) == 0)
			return (enum read_policy)i;
	usage_error("unknown --read policy '%s'", text);
}

static long long default_size_bytes(enum probe_mode mode)
{
	switch (mode) {
	case MODE_PING:
	case MODE_CROWD:
	case MODE_QUIT:
		return 64;
	case MODE_HOG:
		return 64LL * 1024 * 1024;
	default:
		return 1024 * 1024;
	}
}

static void parse_options(int argc, char **argv, struct probe_options *o)
{
	enum {
		OPT_MAX_CHUNK = 256,
		OPT_PATTERN,
		OPT_SILENT,
		OPT_HOLD,
		OPT_STALL,
		OPT_READ,
		OPT_SETTLE,
		OPT_REPEAT,
		OPT_FILL,
		OPT_READ_PAUSE,
		OPT_SAY_AFTER,
		OPT_DATA
	};
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "unix", required_argument, NULL, 'u' },
		{ "clients", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "max-chunk", required_argument, NULL, OPT_MAX_CHUNK },
		{ "pattern", required_argument, NULL, OPT_PATTERN },
		{ "silent-ms", required_argument, NULL, OPT_SILENT },
		{ "hold", no_argument, NULL, OPT_HOLD },
		{ "stall-ms", required_argument, NULL, OPT_STALL },
		{ "settle-ms", required_argument, NULL, OPT_SETTLE },
		{ "read", required_argument, NULL, OPT_READ },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ "fill", no_argument, NULL, OPT_FILL },
		{ "read-pause-ms", required_argument, NULL, OPT_READ_PAUSE },
		{ "say-after", required_argument, NULL, OPT_SAY_AFTER },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct probe_options){ .host = "127.0.0.1",
		                     .clients = 1,
		                     .size_bytes = -1,
		                     .seed = 1,
		                     .max_chunk_bytes = MAX_CHUNK_BYTES,
		                     .stall_ms = 300,
		                     .settle_ms = 500,
		                     .timeout_ms = 10000,
		                     .repeat = 1 };
	while ((c = getopt_long(argc, argv, "H:p:u:c:n:s:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			o->host = optarg;
			break;
		case 'p':
			o->port = optarg;
			break;
		case 'u':
			o->unix_path = optarg;
			break;
		case 'c':
			o->clients = parse_number(optarg, 1, MAX_CLIENTS);
			break;
		case 'n':
			o->size_bytes = parse_size_bytes(optarg);
			break;
		case 's':
			o->seed = (uint64_t)parse_number(optarg, 0, 1L << 40);
			break;
		case 't':
			o->timeout_ms = parse_number(optarg, 1, 3600 * 1000);
			break;
		case OPT_MAX_CHUNK:
			o->max_chunk_bytes = (long)parse_size_bytes(optarg);
			if (o->max_chunk_bytes < 1 || o->max_chunk_bytes > MAX_CHUNK_BYTES)
				usage_error("--max-chunk %s: 1 to 64KiB", optarg);
			break;
		case OPT_PATTERN:
			if (strcmp(optarg, "random") != 0 && strcmp(optarg, "bytes") != 0)
				usage_error("unknown pattern '%s'", optarg);
			o->pattern = optarg[0] == 'b' ? PATTERN_BYTES : PATTERN_RANDOM;
			break;
		case OPT_SILENT:
			o->silent_ms = parse_number(optarg, 0, 3600 * 1000);
			break;
		case OPT_HOLD:
			o->hold = true;
			break;
		case OPT_READ:
			o->read_policy = parse_read_policy(optarg);
			break;
		case OPT_SETTLE:
			o->settle_ms = parse_number(optarg, 1, 3600 * 1000);
			break;
		case OPT_STALL:
			o->stall_ms = parse_number(optarg, 1, 3600 * 1000);
			break;
		case OPT_REPEAT:
			o->repeat = parse_number(optarg, 1, 1000000);
			break;
		case OPT_FILL:
			o->fill = true;
			break;
		case OPT_READ_PAUSE:
			o->read_pause_ms = parse_number(optarg, 0, 60 * 1000);
			break;
		case OPT_SAY_AFTER:
			o->say_after_bytes = parse_size_bytes(optarg);
			break;
		case OPT_DATA:
			o->data_path = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc - 1)
		usage_error("%s", "give exactly one mode");
	o->mode = parse_mode(argv[optind]);
	if (o->port == NULL && o->unix_path == NULL)
		usage_error("%s", "-p PORT or -u PATH is required");
	if (o->size_bytes < 0)
		o->size_bytes = default_size_bytes(o->mode);
}

int main(int argc, char **argv)
{
	struct probe_options o;
	sigset_t unblocked;

	err_init(argv[0]);
	parse_options(argc, argv, &o);
	raise_fd_limit(); /* a crowd may need more than the soft limit */
	release_signal_init(&unblocked);
	switch (o.mode) {
	case MODE_STREAM:
		return run_stream(&o);
	case MODE_PING:
		return run_ping(&o, &unblocked);
	case MODE_HOG:
		return run_hog(&o, &unblocked);
	case MODE_SHED:
		return run_shed(&o);
	case MODE_RESET:
		return run_reset(&o);
	case MODE_CROWD:
		return run_crowd(&o, &unblocked);
	case MODE_STALL:
		return run_stall(&o, &unblocked);
	case MODE_QUIT:
		return run_quit(&o);
	case MODE_CHURN:
		return run_churn(&o);
	case MODE_BULK:
		return run_bulk(&o);
	}
	return EXIT_USAGE;
}
