/*
 * options.h - the load generator's command line, parsed and checked.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "search.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* --source: at most this many local addresses. */
#define MAX_SOURCES 4096

/* The highest -r, and the highest rate a --search tries. */
#define MAX_RATE_PER_S 1e9

enum output_format {
	FORMAT_HUMAN,
	FORMAT_CSV,
	FORMAT_JSON,
};

/* How the load generator reaches the server. */
enum transport {
	TRANSPORT_TCP,
	TRANSPORT_UNIX, /* --unix PATH: a Unix-domain stream socket */
	TRANSPORT_UDP,  /* --udp: datagrams (datagram.h) */
};

struct options {
	const char *host;
	const char *port;
	const char *unix_path; /* --unix, or NULL */
	enum transport transport;
	struct sockaddr_storage addr; /* host:port or the Unix path, resolved once */
	socklen_t addr_len;
	/* --source: the local addresses connections are spread over (connection
	 * i binds sources[i % source_count] before it connects); NULL = any. */
	struct sockaddr_storage *sources;
	size_t source_count;
	long connections;     /* active connections (churn: connection slots) */
	long idle;            /* extra connections held open, never used */
	long threads;         /* at most connections */
	long pipeline;        /* closed loop: messages in flight per connection */
	long max_in_flight;   /* open loop: at most this many per connection; 0 = no limit */
	uint64_t size_bytes;  /* message size */
	double rate_per_s;    /* open loop total rate; 0 = closed loop */
	bool churn;           /* a new connection for every message */
	uint64_t duration_ns; /* measured time */
	uint64_t warmup_ns;   /* unmeasured time before it; may be 0 */
	uint64_t connect_timeout_ns;
	uint64_t loss_timeout_ns; /* --udp: a datagram not echoed within it is lost */
	uint64_t seed;
	enum output_format format;
	bool quiet;           /* no progress line, no notes on stderr */
	pid_t server_pid;     /* --server-pid: the server to sample; 0 = none */
	const char *hdr_path; /* --hdr: where the latency histogram goes, or NULL */
	bool search;          /* --search: find the capacity at a latency target */
	struct search_target search_target;
	double search_resolution; /* a fraction: 0.02 for 2% */
	long search_steps;
	uint64_t search_time_ns;
	int64_t start_at_ns;       /* --start-at: CLOCK_REALTIME to start at; 0 = at once */
	uint64_t interval_ns;      /* --interval: 0 = no interval lines */
	const char *interval_path; /* --interval-file, or NULL for stderr */
	bool threads_clamped;      /* -t was lowered to -c */
};

/* Parses argv into opts. -h and -V print to stdout and exit 0; a usage error
 * prints a message naming the option, then the usage, to stderr and exits 2. */
void options_parse(int argc, char **argv, struct options *opts);

/* "closed", "open" or "churn", as in the JSON "mode" key. */
const char *options_mode(const struct options *opts);

/* The format named text ("human", "csv", "json") into *format; false if
 * there is none of that name. */
bool options_format_named(const char *text, enum output_format *format);

/* "tcp", "unix" or "udp", as in the JSON "transport" key. */
const char *options_transport(const struct options *opts);

#endif
