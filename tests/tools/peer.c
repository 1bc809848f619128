/*
 * peer.c - a misbehaving echo server, for testing the load generator.
 *
 * One thread, one level-triggered epoll loop, every socket non-blocking.
 * The mode says how it misbehaves:
 *
 *   echo     a plain echo
 *   delay    echoes each chunk it reads --delay-ms after it arrived
 *   corrupt  echoes, but flips the last byte of every --every bytes
 *   pause    echoes, but at the end of every --period-ms it stops for
 *            --pause-ms: reads nothing, writes nothing
 *   close    echoes --after bytes on each connection, then closes it
 *   reset    echoes --after bytes on each connection, then resets it (RST)
 *   capped   echoes at most --bytes-per-s bytes a second over all its
 *            connections together (a token bucket holding 20 ms of them):
 *            below that rate it keeps up, above it the backlog, and so
 *            the latency, grows without bound
 *   hang     accepts connections and never reads or writes
 *   refuse   binds a port but never listens: every connect is refused
 *
 * Usage: peer -p PORT --mode MODE [--delay-ms N] [--every N]
 *             [--pause-ms N --period-ms N] [--after N] [--bytes-per-s N]
 * Prints "listening on 127.0.0.1:PORT (peer MODE)" when ready, like the
 * servers. On SIGTERM or SIGINT it prints "peer: accepted N peak M" (the
 * connections accepted, and the most open at once) to stderr, exits 0.
 */
#include "wrap.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define PEER_BUF_BYTES 65536
#define MAX_CHUNKS     1024
#define MAX_EVENTS     64
/* The loop wakes at least this often to notice a stop signal. */
#define MAX_WAIT_NS 50000000ll

enum peer_mode {
	MODE_ECHO,
	MODE_DELAY,
	MODE_CORRUPT,
	MODE_PAUSE,
	MODE_CLOSE,
	MODE_RESET,
	MODE_CAPPED,
	MODE_HANG,
	MODE_REFUSE,
	MODE_COUNT,
};

static const char *const mode_names[MODE_COUNT] = { "echo",  "delay",  "corrupt", "pause", "close",
	                                            "reset", "capped", "hang",    "refuse" };

struct peer_options {
	const char *port;
	enum peer_mode mode;
	int64_t delay_ns, pause_ns, period_ns;
	long every_bytes, after_bytes;
	long bytes_per_s; /* capped */
};

/* capped: the bucket holds this much time's worth of bytes at most. The
 * credit that accrues while the peer is not running past this depth is
 * lost, so it must outlast the late wake-ups of a busy or virtual machine
 * (several milliseconds), or the peer echoes less than its cap. */
#define CAPPED_BURST_NS 20000000ll

/* A chunk of bytes read at one time, owed once due_ns has come. */
struct chunk {
	size_t end; /* offset in data one past the chunk */
	int64_t due_ns;
};

struct peer_conn {
	int fd;
	size_t start; /* data[start, released) may be written now */
	size_t released;
	size_t end; /* data[released, end) waits in chunks */
	struct chunk chunks[MAX_CHUNKS];
	size_t first_chunk, chunk_count;
	uint64_t read_bytes, written_bytes; /* over the connection's life */
	uint32_t watched;                   /* the epoll events registered */
	struct peer_conn *next;
	unsigned char data[PEER_BUF_BYTES];
};

static struct peer_options opts = { .port = "0", .mode = MODE_ECHO };
static struct peer_conn *conns;
static int epfd;
static double credit_bytes;      /* capped: what may be echoed now */
static int64_t credit_filled_ns; /* ... as of then */
static long accepted, open_now, open_peak;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A close the client sees as one, every time: the FIN goes first, then
 * whatever the client still sends is read and dropped until its own close
 * (or a second), so close(2) finds nothing unread: unread bytes would turn
 * it into a reset, and the client could not tell the two apart. */
static void close_orderly(int fd)
{
	char sink[4096];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	shutdown(fd, SHUT_WR);
	while (poll(&pfd, 1, 1000) == 1) {
		ssize_t n = read(fd, sink, sizeof sink);

		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;
	}
	close(fd);
}

static void conn_close(struct peer_conn *c, bool reset)
{
	struct peer_conn **link = &conns;

	if (reset) {
		struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
		close(c->fd);
	} else {
		close_orderly(c->fd);
	}
	while (*link != c)
		link = &(*link)->next;
	*link = c->next;
	free(c);
	open_now--;
}

/* Reads while there is room; writes are watched only while they block. */
static void conn_watch(struct peer_conn *c, bool write_blocked)
{
	bool room = c->end < PEER_BUF_BYTES && c->chunk_count < MAX_CHUNKS;
	struct epoll_event ev = { .events = (room ? EPOLLIN : 0u) | (write_blocked ? EPOLLOUT : 0u),
		                  .data.ptr = c };

	if (ev.events != c->watched)
		epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->watched = ev.events;
}

static void on_accept(int listenfd)
{
	int fd;

	while ((fd = accept4(listenfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct peer_conn *c = Calloc(1, sizeof *c);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		/* As the servers do (servers/lib/accept.c): without it, after a
		 * burst an echo waits for the client's next message to carry the
		 * ACK Nagle's algorithm waits for. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c->fd = fd;
		c->next = conns;
		conns = c;
		accepted++;
		if (++open_now > open_peak)
			open_peak = open_now;
		if (opts.mode == MODE_HANG)
			continue; /* held, never watched */
		c->watched = EPOLLIN;
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Reads what fits; returns false when the connection is gone. */
static bool conn_read(struct peer_conn *c)
{
	ssize_t n;

	if (c->end == PEER_BUF_BYTES || c->chunk_count == MAX_CHUNKS)
		return true; /* full: conn_watch stops reading until it drains */
	n = read(c->fd, c->data + c->end, PEER_BUF_BYTES - c->end);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		conn_close(c, false);
		return false;
	}
	if (opts.mode == MODE_CORRUPT)
		for (size_t i = 0; i < (size_t)n; i++)
			if ((c->read_bytes + i + 1) % (uint64_t)opts.every_bytes == 0)
				c->data[c->end + i] ^= 0xff;
	c->read_bytes += (uint64_t)n;
	c->end += (size_t)n;
	c->chunks[(c->first_chunk + c->chunk_count++) % MAX_CHUNKS] =
	    (struct chunk){ .end = c->end, .due_ns = now_ns() + opts.delay_ns };
	return true;
}

static double credit_cap(void)
{
	return (double)opts.bytes_per_s * (double)CAPPED_BURST_NS / 1e9;
}

/* capped: up to wanted bytes from the bucket, refilled for the time since. */
static size_t take_credit(size_t wanted, int64_t now)
{
	size_t granted;

	credit_bytes += (double)(now - credit_filled_ns) * (double)opts.bytes_per_s / 1e9;
	if (credit_bytes > credit_cap())
		credit_bytes = credit_cap();
	credit_filled_ns = now;
	granted = credit_bytes < (double)wanted ? (size_t)credit_bytes : wanted;
	credit_bytes -= (double)granted;
	return granted;
}

/* Releases the chunks that are due (capped: as far as the bucket allows)
 * and writes what is released. Returns false when the connection is gone. */
static bool conn_write(struct peer_conn *c, int64_t now)
{
	bool limited = opts.mode == MODE_CLOSE || opts.mode == MODE_RESET;

	while (c->chunk_count > 0 && c->chunks[c->first_chunk].due_ns <= now) {
		size_t end = c->chunks[c->first_chunk].end;

		if (opts.mode == MODE_CAPPED)
			c->released += take_credit(end - c->released, now);
		else
			c->released = end;
		if (c->released < end)
			break;
		c->first_chunk = (c->first_chunk + 1) % MAX_CHUNKS;
		c->chunk_count--;
	}
	while (c->start < c->released) {
		size_t len = c->released - c->start;
		ssize_t n;

		if (limited && len > (uint64_t)opts.after_bytes - c->written_bytes)
			len = (size_t)((uint64_t)opts.after_bytes - c->written_bytes);
		n = write(c->fd, c->data + c->start, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_watch(c, true);
			return true;
		}
		if (n < 0) {
			conn_close(c, false);
			return false;
		}
		c->start += (size_t)n;
		c->written_bytes += (uint64_t)n;
		if (limited && c->written_bytes >= (uint64_t)opts.after_bytes) {
			conn_close(c, opts.mode == MODE_RESET);
			return false;
		}
	}
	if (c->start == c->end) /* everything echoed: the buffer is empty again */
		c->start = c->released = c->end = 0;
	conn_watch(c, false);
	return true;
}

/* The pause mode serves for period - pause, then pauses; returns when the
 * current pause ends, or 0 when not in one. */
static int64_t pause_end_ns(int64_t start, int64_t now)
{
	int64_t phase = (now - start) % opts.period_ns;

	if (opts.mode != MODE_PAUSE || phase < opts.period_ns - opts.pause_ns)
		return 0;
	return now - phase + opts.period_ns;
}

/* capped: when the bucket will hold what c's first chunk still owes (or
 * the most it can hold). */
static int64_t credit_due_ns(const struct peer_conn *c, int64_t now)
{
	double owed = (double)(c->chunks[c->first_chunk].end - c->released);

	if (owed > credit_cap())
		owed = credit_cap();
	if (owed <= credit_bytes)
		return now;
	return now + (int64_t)((owed - credit_bytes) * 1e9 / (double)opts.bytes_per_s) + 1;
}

static int64_t next_wake_ns(int64_t now)
{
	int64_t wake = now + MAX_WAIT_NS, due;

	for (struct peer_conn *c = conns; c != NULL; c = c->next) {
		if (c->chunk_count == 0)
			continue;
		due = c->chunks[c->first_chunk].due_ns;
		if (opts.mode == MODE_CAPPED && due <= now)
			due = credit_due_ns(c, now);
		if (due < wake)
			wake = due;
	}
	return wake;
}

static void sleep_until(int64_t wake)
{
	int64_t wait = wake - now_ns();
	struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };

	if (wait > 0)
		nanosleep(&ts, NULL); /* a stop signal cuts it short (no SA_RESTART) */
}

static void serve(int listenfd)
{
	struct epoll_event events[MAX_EVENTS];
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int64_t start = now_ns();

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, listenfd, &ev) < 0)
		err_sys("epoll");
	while (!stop_requested) {
		int64_t now = now_ns(), pause_end = pause_end_ns(start, now), wait;
		struct timespec timeout;
		int n;

		if (pause_end != 0) {
			sleep_until(pause_end);
			continue;
		}
		for (struct peer_conn *c = conns, *next; c != NULL && opts.mode != MODE_HANG;
		     c = next) {
			next = c->next; /* conn_write may free c */
			conn_write(c, now);
		}
		wait = next_wake_ns(now) - now;
		if (wait < 0)
			wait = 0;
		timeout =
		    (struct timespec){ .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
		n = epoll_pwait2(epfd, events, MAX_EVENTS, &timeout, NULL);
		for (int i = 0; i < n; i++) {
			struct peer_conn *c = events[i].data.ptr;

			if (c == NULL)
				on_accept(listenfd);
			else if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				conn_read(c);
		}
	}
}

static int64_t parse_ms(const char *option, const char *text)
{
	long ms;

	if (!parse_long(text, 1, 3600000, &ms))
		err_quit("%s: '%s' is not a number of milliseconds", option, text);
	return ms * 1000000;
}

static long parse_bytes(const char *option, const char *text)
{
	long bytes;

	if (!parse_long(text, 1, 1L << 40, &bytes))
		err_quit("%s: '%s' is not a number of bytes", option, text);
	return bytes;
}

static enum peer_mode parse_mode(const char *text)
{
	for (int m = 0; m < MODE_COUNT; m++)
		if (strcmp(text, mode_names[m]) == 0)
			return (enum peer_mode)m;
	err_quit("--mode: unknown mode '%s'", text);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "every", required_argument, NULL, 'e' },
		{ "pause-ms", required_argument, NULL, 'P' },
		{ "period-ms", required_argument, NULL, 'T' },
		{ "after", required_argument, NULL, 'a' },
		{ "bytes-per-s", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	err_init(argv[0]);
	while ((c = getopt_long(argc, argv, "p:m:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts.port = optarg;
			break;
		case 'm':
			opts.mode = parse_mode(optarg);
			break;
		case 'd':
			opts.delay_ns = parse_ms("--delay-ms", optarg);
			break;
		case 'e':
			opts.every_bytes = parse_bytes("--every", optarg);
			break;
		case 'P':
			opts.pause_ns = parse_ms("--pause-ms", optarg);
			break;
		case 'T':
			opts.period_ns = parse_ms("--period-ms", optarg);
			break;
		case 'a':
			opts.after_bytes = parse_bytes("--after", optarg);
			break;
		case 'b':
			opts.bytes_per_s = parse_bytes("--bytes-per-s", optarg);
			break;
		default:
			exit(2);
		}
	}
	if ((opts.mode == MODE_DELAY && opts.delay_ns == 0) ||
	    (opts.mode == MODE_CORRUPT && opts.every_bytes == 0) ||
	    (opts.mode == MODE_PAUSE && (opts.pause_ns == 0 || opts.pause_ns >= opts.period_ns)) ||
	    ((opts.mode == MODE_CLOSE || opts.mode == MODE_RESET) && opts.after_bytes == 0) ||
	    (opts.mode == MODE_CAPPED && opts.bytes_per_s == 0))
		err_quit("mode %s is missing its option (see the top of peer.c)",
		         mode_names[opts.mode]);
}

/* A bound socket that never listens: connects to its port are refused. */
static int bind_only(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
		                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long port;
	int fd = Socket(AF_INET, SOCK_STREAM, 0);

	parse_long(opts.port, 0, 65535, &port);
	addr.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		err_sys("bind");
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof addr;
	char where[INET6_ADDRSTRLEN + 16];
	int gai_error, fd;

	parse_options(argc, argv);
	signals_init();
	if (opts.mode == MODE_REFUSE)
		fd = bind_only();
	else
		fd = tcp_listen(DEFAULT_BIND, opts.port, &gai_error);
	if (fd < 0)
		err_sys("cannot listen on port %s", opts.port);
	Set_nonblocking(fd);
	getsockname(fd, (struct sockaddr *)&addr, &addr_len);
	format_sockaddr((struct sockaddr *)&addr, where, sizeof where);
	printf("listening on %s (peer %s)\n", where, mode_names[opts.mode]);
	fflush(stdout);
	if (opts.mode == MODE_REFUSE)
		while (!stop_requested)
			pause();
	else
		serve(fd);
	fprintf(stderr, "peer: accepted %ld peak %ld\n", accepted, open_peak);
	while (conns != NULL)
		conn_close(conns, false);
	return 0;
}
