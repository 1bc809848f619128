/*
 * udp-peer.c - a UDP echo that misbehaves by rule, for testing loadgen --udp.
 *
 * It counts the datagrams it receives, 1, 2, 3, ..., and the n-th:
 *
 *   --drop-every N     n % N == 0: not echoed (lost)
 *   --dup-every N      n % N == 0: echoed twice
 *   --swap-every N     n % N == 0: held back, and echoed right after the
 *                      next datagram that is echoed (so it comes back
 *                      after a later one: reordered); one still held
 *                      after 50 ms is echoed then (not reordered)
 *   --corrupt-every N  n % N == 0: echoed with its last byte flipped
 *
 * the first rule that matches, in that order. With none it is a plain echo.
 * Prints "listening on 127.0.0.1:PORT (udp-peer)" when ready; on SIGTERM or
 * SIGINT prints to stderr what it did, and exits 0:
 *   udp-peer: received R dropped D duplicated U reordered S released T corrupted C
 * (reordered: held back and echoed after a later one; released: held back
 * and echoed by the timer, in order).
 */
#include "wrap.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DATAGRAM_BYTES 65536
/* How long a held datagram waits for a next one before it goes anyway. */
#define HOLD_MS 50

struct rules {
	long drop, dup, swap, corrupt; /* every N-th; 0: never */
};

struct datagram {
	unsigned char bytes[DATAGRAM_BYTES];
	size_t len;
	struct sockaddr_storage from;
	socklen_t from_len;
};

static struct {
	long received, dropped, duplicated, reordered, released, corrupted;
} counts;

static bool every(long n, long rule)
{
	return rule > 0 && n % rule == 0;
}

static void echo(int fd, const struct datagram *d)
{
	if (sendto(fd, d->bytes, d->len, 0, (const struct sockaddr *)&d->from, d->from_len) < 0)
		err_ret("sendto");
}

/* Receives one datagram into d; false on EINTR (a stop, or not). */
static bool receive(int fd, struct datagram *d)
{
	ssize_t n;

	d->from_len = sizeof d->from;
	n = recvfrom(fd, d->bytes, sizeof d->bytes, 0, (struct sockaddr *)&d->from, &d->from_len);
	if (n < 0 && errno != EINTR)
		err_sys("recvfrom");
	d->len = n < 0 ? 0 : (size_t)n;
	return n >= 0;
}

/* What the rules do with the n-th datagram d; *held is the one held back. */
static void misbehave(int fd, const struct rules *r, struct datagram *d, struct datagram *held,
                      bool *holding)
{
	long n = ++counts.received;

	if (every(n, r->drop)) {
		counts.dropped++;
		return;
	}
	if (every(n, r->swap) && !*holding) {
		*held = *d;
		*holding = true;
		return;
	}
	if (every(n, r->corrupt) && d->len > 0) {
		d->bytes[d->len - 1] ^= 0xff;
		counts.corrupted++;
	}
	echo(fd, d);
	if (every(n, r->dup)) {
		echo(fd, d);
		counts.duplicated++;
	}
	if (*holding) {
		echo(fd, held);
		counts.reordered++;
		*holding = false;
	}
}

static void serve(int fd, const struct rules *r)
{
	static struct datagram d, held;
	bool holding = false;

	while (!stop_requested) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, holding ? HOLD_MS : -1) == 0) {
			echo(fd, &held);
			counts.released++;
			holding = false;
			continue;
		}
		if ((pfd.revents & POLLIN) && receive(fd, &d))
			misbehave(fd, r, &d, &held, &holding);
	}
}

static long parse_every(const char *option, const char *text)
{
	long n;

	if (!parse_long(text, 1, 1000000, &n))
		err_quit("%s: '%s' is not a whole number from 1 to 1000000", option, text);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "drop-every", required_argument, NULL, 'D' },
		{ "dup-every", required_argument, NULL, 'U' },
		{ "swap-every", required_argument, NULL, 'S' },
		{ "corrupt-every", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in addr = { .sin_family = AF_INET,
		                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t addr_len = sizeof addr;
	struct rules rules = { 0 };
	char where[INET6_ADDRSTRLEN + 16];
	long port = 0;
	int c, fd;

	err_init(argv[0]);
	while ((c = getopt_long(argc, argv, "p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_long(optarg, 0, 65535, &port))
				err_quit("-p: '%s' is not a port", optarg);
			break;
		case 'D':
			rules.drop = parse_every("--drop-every", optarg);
			break;
		case 'U':
			rules.dup = parse_every("--dup-every", optarg);
			break;
		case 'S':
			rules.swap = parse_every("--swap-every", optarg);
			break;
		case 'C':
			rules.corrupt = parse_every("--corrupt-every", optarg);
			break;
		default:
			err_quit("usage: udp-peer [-p PORT] [--drop-every N] [--dup-every N] "
			         "[--swap-every N] [--corrupt-every N]");
		}
	}
	signals_init();
	fd = Socket(AF_INET, SOCK_DGRAM, 0);
	addr.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		err_sys("bind");
	getsockname(fd, (struct sockaddr *)&addr, &addr_len);
	format_sockaddr((struct sockaddr *)&addr, where, sizeof where);
	printf("listening on %s (udp-peer)\n", where);
	fflush(stdout);
	serve(fd, &rules);
	fprintf(stderr,
	        "udp-peer: received %ld dropped %ld duplicated %ld reordered %ld released %ld "
	        "corrupted %ld\n",
	        counts.received, counts.dropped, counts.duplicated, counts.reordered,
	        counts.released, counts.corrupted);
	Close(fd);
	return 0;
}
