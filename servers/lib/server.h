/*
 * server.h - what every server does before its own loop: parse the common
 * options, listen, print the readiness line; and what some print at the end.
 */
#ifndef LIB_SERVER_H
#define LIB_SERVER_H

#include <stdbool.h>

#define SUITE_VERSION "0.1.0"
#define DEFAULT_PORT  "9877"
#define DEFAULT_BIND  "127.0.0.1"

/* Backlog for listen(2). The kernel caps it at net.core.somaxconn (4096 on
 * current Linux); the textbook 128 overflows under a connection burst. */
#define LISTEN_BACKLOG 4096

/* The options a model may take besides the ones every server takes. */
enum server_feature {
	FEATURE_WORKERS = 1 << 0,   /* -w/--workers */
	FEATURE_MAX_CONNS = 1 << 1, /* -m/--max-conns */
	FEATURE_REUSEPORT = 1 << 2, /* --reuseport: one listener per worker */
	FEATURE_BATCH = 1 << 3,     /* --batch N: datagrams per system call (udp) */
};

/* The most datagrams --batch may ask for in one call. */
#define MAX_BATCH 1024

/* A model describes itself once; --help, the option checks and the
 * readiness line are made from it. A help text may span lines ("\n"): the
 * usage indents each to the column of the first. */
struct server_model {
	const char *name;           /* "epoll-et": readiness line and binary suffix */
	const char *summary;        /* one line for --help */
	unsigned features;          /* enum server_feature bits */
	long default_workers;       /* used when FEATURE_WORKERS; 0: one per core */
	const char *workers_help;   /* what a worker is ("worker threads") */
	long default_max_conns;     /* 0 means no cap but the descriptor limit */
	const char *max_conns_help; /* what -m means for this model */
	bool datagram;              /* UDP: no connections, no -u (server_bind_udp) */
};

struct server_options {
	const char *bind_addr;
	const char *port;
	const char *unix_path; /* -u/--unix: listen there instead of TCP; NULL: TCP */
	long workers;
	long max_conns;
	bool verbose;
	bool reuseport;
	long batch; /* --batch: datagrams per call; 1 without the option */
};

/* Parses argv with getopt_long. -h and -V print and exit 0; a usage error
 * prints a message and the usage to stderr and exits 2 (stdout stays empty). */
void server_parse_options(int argc, char **argv, const struct server_model *model,
                          struct server_options *opts);

/* Everything a server does before its loop: raise the fd limit, install the
 * signal handlers, listen, reserve the spare descriptor used to shed
 * connections on EMFILE, and print the readiness line. Returns the listener,
 * which is blocking; exits 1 naming the address if it cannot listen. */
int server_listen(const struct server_model *model, const struct server_options *opts);

/* For a datagram model: everything server_listen does, with a UDP socket
 * bound to the address instead of a listener (no spare descriptor: there
 * are no connections to shed). Returns the socket, blocking. */
int server_bind_udp(const struct server_model *model, const struct server_options *opts);

/* Like server_listen, but count listeners on one port, each with
 * SO_REUSEPORT: the kernel gives every new connection to one of them by a
 * hash of its addresses, so each listener has its own accept queue. Fills
 * fds[0..count-1]. Before it binds the group it checks that nothing holds
 * the port, so a second server on the same port still fails (exit 1, address
 * in use) instead of quietly sharing its clients. A Unix-domain socket has
 * no SO_REUSEPORT: with -u, the fds are count descriptors of one listener,
 * one accept queue that every worker takes from. */
void server_listen_group(const struct server_model *model, const struct server_options *opts,
                         int *fds, int count);

/* Returns a listening socket bound to host:port (SO_REUSEADDR), or -1 with
 * errno set; *gai_error gets a getaddrinfo error when resolution failed. */
int tcp_listen(const char *host, const char *port, int *gai_error);

/* How a model with several workers found its connections spread over them,
 * on stderr at a clean stop: "connections WHAT (HOW): 12 9 (total 21)".
 * counts[i] is worker i's. */
void report_spread(const char *what, const char *how, const long *counts, long n);

#endif
