/*
 * udp.c - the UDP echo server: one socket, one loop.
 *
 * UDP has no connections: one socket receives every client's datagrams,
 * each with the address it came from, and the reply goes back to that
 * address. There is nothing to accept, no per-client state and no stream to
 * reassemble, so the concurrency models of the other files (a task, a
 * buffer or an event registration per connection) have nothing to divide
 * up: the whole server is a loop of recvfrom and sendto. A datagram is
 * echoed whole or not at all; one that does not fit in the socket's receive
 * buffer is dropped by the kernel, and the client counts it lost.
 *
 * With --batch N, each recvmmsg takes up to N datagrams that are waiting
 * (it blocks for the first only) and one sendmmsg echoes them all: two
 * system calls for up to N datagrams instead of two each.
 *
 * Wins:  no connection set-up, no per-client memory, one socket for all.
 * Costs: no delivery, order or flow control: what a stream server gets
 *        from TCP, a UDP client must do itself (loadgen --udp counts loss,
 *        duplicates and reordering).
 *
 * Compare with: diff -u servers/blocking.c servers/udp.c
 * Run:          bin/echo-udp -p 9877 -v   (then: nc -u 127.0.0.1 9877)
 */
#include "wrap.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The largest UDP payload (65507 bytes over IPv4, 65527 over IPv6) fits. */
#define DATAGRAM_BYTES 65536

static const struct server_model model = {
	.name = "udp",
	.summary = "UDP echo server: one socket, a loop of recvfrom and sendto.",
	.features = FEATURE_BATCH | FEATURE_MAX_CONNS,
	/* Every server takes -m; UDP has no connections to cap. */
	.max_conns_help = "accepted for uniformity: UDP has no connections,\n"
	                  "so there is nothing to cap",
	.datagram = true,
};

/* The datagrams of one recvmmsg, with their buffers and senders. */
struct batch {
	long size;
	struct mmsghdr *msgs;
	struct iovec *iovs;
	struct sockaddr_storage *peers;
	unsigned char *bufs;
};

/* "peer=127.0.0.1:40000" for the trace, when it is on. */
static void trace_datagram(const char *event, int fd, size_t bytes, const struct sockaddr *peer)
{
	char where[INET6_ADDRSTRLEN + 16];

	if (!trace_enabled)
		return;
	format_sockaddr(peer, where, sizeof where);
	trace(event, fd, "bytes=%zu peer=%s", bytes, where);
}

/* One datagram in, the same one out, until a stop signal. A stop interrupts
 * recvfrom (EINTR) or, if it came just before, shuts the socket down so
 * that recvfrom returns at once. */
static void echo_each(int fd)
{
	static unsigned char buf[DATAGRAM_BYTES];

	while (!stop_requested) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof peer;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);

		if (stop_requested)
			break;
		if (n < 0) {
			if (errno != EINTR)
				trace("error", fd, "op=recvfrom errno=%s", strerror(errno));
			continue;
		}
		trace_datagram("read", fd, (size_t)n, (struct sockaddr *)&peer);
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len) < 0)
			trace("error", fd, "op=sendto errno=%s", strerror(errno));
		else
			trace_datagram("write", fd, (size_t)n, (struct sockaddr *)&peer);
	}
}

static void batch_init(struct batch *b, long size)
{
	b->size = size;
	b->msgs = Calloc((size_t)size, sizeof *b->msgs);
	b->iovs = Calloc((size_t)size, sizeof *b->iovs);
	b->peers = Calloc((size_t)size, sizeof *b->peers);
	b->bufs = Malloc((size_t)size * DATAGRAM_BYTES);
	for (long i = 0; i < size; i++) {
		b->iovs[i].iov_base = b->bufs + i * DATAGRAM_BYTES;
		b->msgs[i].msg_hdr.msg_iov = &b->iovs[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
		b->msgs[i].msg_hdr.msg_name = &b->peers[i];
	}
}

static void batch_free(struct batch *b)
{
	free(b->msgs);
	free(b->iovs);
	free(b->peers);
	free(b->bufs);
}

/* Sends msgs[0..count-1]; a datagram that cannot be sent is skipped (UDP
 * makes no promise), after a trace line. */
static void send_batch(int fd, struct mmsghdr *msgs, int count)
{
	int sent = 0;

	while (sent < count) {
		int n = sendmmsg(fd, msgs + sent, (unsigned)(count - sent), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			trace("error", fd, "op=sendmmsg errno=%s", strerror(errno));
			n = 1;
		}
		for (int i = sent; i < sent + n; i++)
			trace_datagram("write", fd, msgs[i].msg_len, msgs[i].msg_hdr.msg_name);
		sent += n;
	}
}

/* As echo_each, up to b->size datagrams per call each way. */
static void echo_batched(int fd, struct batch *b)
{
	while (!stop_requested) {
		int got;

		/* recvmmsg writes back each datagram's length and sender size. */
		for (long i = 0; i < b->size; i++) {
			b->iovs[i].iov_len = DATAGRAM_BYTES;
			b->msgs[i].msg_hdr.msg_namelen = sizeof b->peers[i];
		}
		/* MSG_WAITFORONE: block for the first datagram, then take only
		 * what is already there. */
		got = recvmmsg(fd, b->msgs, (unsigned)b->size, MSG_WAITFORONE, NULL);
		if (stop_requested)
			break;
		if (got < 0) {
			if (errno != EINTR)
				trace("error", fd, "op=recvmmsg errno=%s", strerror(errno));
			continue;
		}
		trace("wait", -1, "call=recvmmsg ready=%d batch=%ld", got, b->size);
		for (int i = 0; i < got; i++) {
			b->iovs[i].iov_len = b->msgs[i].msg_len; /* echo what came */
			trace_datagram("read", fd, b->msgs[i].msg_len, b->msgs[i].msg_hdr.msg_name);
		}
		send_batch(fd, b->msgs, got);
	}
}

int main(int argc, char **argv)
{
	struct server_options opts;
	struct batch batch;
	int fd;

	server_parse_options(argc, argv, &model, &opts);
	fd = server_bind_udp(&model, &opts);

	if (opts.batch > 1) {
		batch_init(&batch, opts.batch);
		echo_batched(fd, &batch);
		batch_free(&batch);
	} else {
		echo_each(fd);
	}

	trace("stop", fd, "reason=signal");
	Close(fd);
	return 0;
}
