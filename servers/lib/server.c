/*
 * server.c - options, listening, the readiness line (see server.h).
 */
#include "server.h"

#include "accept.h"
#include "error.h"
#include "signals.h"
#include "trace.h"
#include "unixsock.h"
#include "wrappers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for "unix:" and the longest socket path, or an address and port. */
#define WHERE_BYTES (UNIX_PATH_MAX_BYTES + 9)

/* Where every option's help text starts in --help: the width of the
 * longest option name ("  -m, --max-conns N   ") in one place. */
#define HELP_COLUMN 22

/* One option's line of --help: its name, then its help text, each further
 * line of which is indented to HELP_COLUMN. */
static void print_option(FILE *out, const char *name, const char *help)
{
	fprintf(out, "  %-*s", HELP_COLUMN - 2, name);
	for (const char *p = help; *p != '\0'; p++) {
		fputc(*p, out);
		if (*p == '\n')
			fprintf(out, "%*s", HELP_COLUMN, "");
	}
	fputc('\n', out);
}

static void print_workers_option(FILE *out, const struct server_model *model)
{
	char help[256];

	if (model->default_workers == 0)
		snprintf(help, sizeof help, "%s\n(default: one per usable core, %ld here)",
		         model->workers_help, usable_cores());
	else
		snprintf(help, sizeof help, "%s (default %ld)", model->workers_help,
		         model->default_workers);
	print_option(out, "-w, --workers N", help);
}

static void print_usage(FILE *out, const struct server_model *model)
{
	fprintf(out, "Usage: %s [options]\n%s\n\n", prog_name, model->summary);
	print_option(out, "-p, --port N",
	             model->datagram ? "UDP port (default " DEFAULT_PORT "; 0 picks a free port)"
	                             : "TCP port (default " DEFAULT_PORT "; 0 picks a free port)");
	print_option(out, "-b, --bind ADDR",
	             "address to listen on (default " DEFAULT_BIND "; IPv6 literals work)");
	if (!model->datagram)
		print_option(out, "-u, --unix PATH",
		             "listen on a Unix-domain stream socket at PATH instead of TCP\n"
		             "(-p and -b unused); removed again at a clean stop");
	if (model->features & FEATURE_BATCH)
		print_option(out, "    --batch N",
		             "up to N datagrams per system call (recvmmsg/sendmmsg)\n"
		             "instead of one recvfrom and one sendto each (default 1)");
	if (model->features & FEATURE_WORKERS)
		print_workers_option(out, model);
	if (model->features & FEATURE_MAX_CONNS)
		print_option(out, "-m, --max-conns N", model->max_conns_help);
	if (model->features & FEATURE_REUSEPORT)
		print_option(out, "    --reuseport",
		             "one SO_REUSEPORT listener per worker instead of one shared");
	print_option(out, "-v, --verbose", "trace every event to stderr");
	print_option(out, "-h, --help", "show this help and exit");
	print_option(out, "-V, --version", "show the version and exit");
	fprintf(out,
	        "\nPrints 'listening on ADDR:PORT (%s)'%s when ready. Stops cleanly on\n"
	        "SIGINT or SIGTERM (exit 0); exit 1 on a runtime failure, 2 on a usage error.\n",
	        model->name, model->datagram ? "" : " (with -u: 'listening on unix:PATH (...)')");
}

static void usage_error(const struct server_model *model, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void usage_error(const struct server_model *model, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vmsg(fmt, ap);
	va_end(ap);
	print_usage(stderr, model);
	exit(2);
}

static const char *parse_port(const struct server_model *model, const char *text)
{
	long port;

	if (!parse_long(text, 0, 65535, &port))
		usage_error(model, "-p/--port: '%s' is not a port number (0-65535)", text);
	return text;
}

static long parse_count(const struct server_model *model, const char *option, const char *text)
{
	long value;

	if (!parse_long(text, 1, 1000000, &value))
		usage_error(model, "%s: '%s' is not a whole number from 1 to 1000000", option,
		            text);
	return value;
}

static const char *parse_unix_path(const struct server_model *model, const char *text)
{
	if (*text == '\0')
		usage_error(model, "-u/--unix: the path is empty");
	if (!unix_path_fits(text))
		usage_error(model,
		            "-u/--unix: '%s' is longer than a socket path may be (%zu bytes)", text,
		            UNIX_PATH_MAX_BYTES);
	return text;
}

/* A bind address must resolve without DNS: a numeric address or a name in
 * /etc/hosts such as localhost. */
static void check_bind_addr(const struct server_model *model, const char *addr)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		                  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc = getaddrinfo(addr, DEFAULT_PORT, &hints, &res);

	if (rc != 0)
		usage_error(model, "-b/--bind: '%s' is not an address: %s", addr, gai_strerror(rc));
	freeaddrinfo(res);
}

void server_parse_options(int argc, char **argv, const struct server_model *model,
                          struct server_options *opts)
{
	struct option longopts[16] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "unix", required_argument, NULL, 'u' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
	};
	size_t count = 8;
	int c;

	err_init(argv[0]);
	*opts = (struct server_options){ .bind_addr = DEFAULT_BIND,
		                         .port = DEFAULT_PORT,
		                         .batch = 1,
		                         .workers = model->default_workers,
		                         .max_conns = model->default_max_conns };
	if ((model->features & FEATURE_WORKERS) && model->default_workers == 0)
		opts->workers = usable_cores();
	/* A model's own options exist for that model only: unknown to the rest. */
	if (model->features & FEATURE_REUSEPORT)
		longopts[count++] = (struct option){ "reuseport", no_argument, NULL, 'R' };
	if (model->features & FEATURE_BATCH)
		longopts[count++] = (struct option){ "batch", required_argument, NULL, 'B' };
	opterr = 0; /* we print our own messages, then the usage */
	while ((c = getopt_long(argc, argv, ":p:b:u:w:m:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts->port = parse_port(model, optarg);
			break;
		case 'b':
			opts->bind_addr = optarg;
			break;
		case 'u':
			if (model->datagram)
				usage_error(model, "-u/--unix: the %s model serves UDP only",
				            model->name);
			opts->unix_path = parse_unix_path(model, optarg);
			break;
		case 'w':
			if (!(model->features & FEATURE_WORKERS))
				usage_error(model, "-w/--workers: the %s model has no workers",
				            model->name);
			opts->workers = parse_count(model, "-w/--workers", optarg);
			break;
		case 'm':
			if (!(model->features & FEATURE_MAX_CONNS))
				usage_error(model, "-m/--max-conns: the %s model has no cap",
				            model->name);
			opts->max_conns = parse_count(model, "-m/--max-conns", optarg);
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'R':
			opts->reuseport = true;
			break;
		case 'B':
			if (!parse_long(optarg, 1, MAX_BATCH, &opts->batch))
				usage_error(model,
				            "--batch: '%s' is not a whole number from 1 to %d",
				            optarg, MAX_BATCH);
			break;
		case 'h':
			print_usage(stdout, model);
			exit(0);
		case 'V':
			printf("%s %s (%s model)\n", prog_name, SUITE_VERSION, model->name);
			exit(0);
		case ':':
			usage_error(model, "option '%s' needs an argument", argv[optind - 1]);
		default:
			usage_error(model, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(model, "unexpected argument '%s'", argv[optind]);
	if (opts->reuseport && opts->unix_path != NULL)
		usage_error(model,
		            "--reuseport needs TCP: a Unix-domain socket has no SO_REUSEPORT");
	check_bind_addr(model, opts->bind_addr);
	trace_init(opts->verbose);
}

/* Binds and listens on the first address host:port resolves to that
 * works; with reuseport, the socket joins the port's SO_REUSEPORT group. A
 * SOCK_DGRAM socket is bound only, and without SO_REUSEADDR, which for UDP
 * would let a second server bind the same port. */
static int listen_on(const char *host, const char *port, int socktype, bool reuseport,
                     int *gai_error)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		                  .ai_socktype = socktype };
	struct addrinfo *res;
	int fd = -1, saved_errno = 0, on = 1;

	*gai_error = getaddrinfo(host, port, &hints, &res);
	if (*gai_error != 0)
		return -1;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved_errno = errno;
			continue;
		}
		/* Restart at once on the same port while old connections sit in TIME_WAIT. */
		if (socktype == SOCK_STREAM)
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (socktype == SOCK_DGRAM || listen(fd, LISTEN_BACKLOG) == 0))
			break;
		saved_errno = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	errno = saved_errno;
	return fd;
}

int tcp_listen(const char *host, const char *port, int *gai_error)
{
	return listen_on(host, port, SOCK_STREAM, false, gai_error);
}

static bool is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* Listens (binds, for SOCK_DGRAM) or exits 1 naming the address and the reason. */
static int Listen_on(const struct server_options *opts, const char *port, int socktype,
                     bool reuseport)
{
	int gai_error, fd = listen_on(opts->bind_addr, port, socktype, reuseport, &gai_error);

	if (fd < 0 && gai_error != 0)
		err_quit("cannot listen on %s port %s: %s", opts->bind_addr, port,
		         gai_strerror(gai_error));
	if (fd < 0)
		err_sys("cannot listen on %s port %s", opts->bind_addr, port);
	return fd;
}

/* The address a listener got ("127.0.0.1:40123"); its port in *port. */
static void listener_address(int fd, char *where, size_t where_bytes, char *port, size_t port_bytes)
{
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof addr;

	if (getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0)
		err_sys("getsockname");
	format_sockaddr((struct sockaddr *)&addr, where, where_bytes);
	snprintf(port, port_bytes, "%s", strrchr(where, ':') + 1);
	if (is_wildcard((struct sockaddr *)&addr))
		err_msg("warning: listening on %s accepts connections from every network "
		        "this machine is on",
		        where);
}

/* Start-up before any listener: more descriptors, the signal handlers. */
static void server_prepare(void)
{
	raise_fd_limit();
	signals_init();
}

/* The listen trace and the readiness line; a stop signal shuts fd down. */
static void server_announce(const struct server_model *model, int fd, const char *where)
{
	signals_watch_listener(fd);
	trace("listen", fd, "addr=%s model=%s", where, model->name);
	/* Scripts wait for this line: print it once and flush. A closed stdout
	 * must not stop the server, so the result is ignored. */
	printf("listening on %s (%s)\n", where, model->name);
	fflush(stdout);
}

/* Start-up after the listeners: the spare descriptor, then the above. */
static void server_ready(const struct server_model *model, const struct server_options *opts,
                         int listenfd, const char *where)
{
	accept_prepare(opts->unix_path == NULL);
	server_announce(model, listenfd, where);
}

int server_bind_udp(const struct server_model *model, const struct server_options *opts)
{
	char where[WHERE_BYTES], port[8];
	int fd;

	server_prepare();
	fd = Listen_on(opts, opts->port, SOCK_DGRAM, false);
	listener_address(fd, where, sizeof where, port, sizeof port);
	server_announce(model, fd, where);
	return fd;
}

/* Listens on opts->unix_path; its name for the readiness line in where. */
static int Listen_unix(const struct server_options *opts, char *where, size_t where_bytes)
{
	snprintf(where, where_bytes, "unix:%s", opts->unix_path);
	return unix_listen(opts->unix_path);
}

int server_listen(const struct server_model *model, const struct server_options *opts)
{
	char where[WHERE_BYTES], port[8];
	int listenfd;

	server_prepare();
	if (opts->unix_path != NULL) {
		listenfd = Listen_unix(opts, where, sizeof where);
	} else {
		listenfd = Listen_on(opts, opts->port, SOCK_STREAM, false);
		listener_address(listenfd, where, sizeof where, port, sizeof port);
	}
	server_ready(model, opts, listenfd, where);
	return listenfd;
}

void server_listen_group(const struct server_model *model, const struct server_options *opts,
                         int *fds, int count)
{
	char where[WHERE_BYTES], port[8];

	server_prepare();
	if (opts->unix_path != NULL) {
		fds[0] = Listen_unix(opts, where, sizeof where);
		for (int i = 1; i < count; i++) {
			fds[i] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
			if (fds[i] < 0)
				err_sys("dup of the listener");
			trace("listen", fds[i], "addr=%s shared=%d/%d", where, i + 1, count);
		}
		server_ready(model, opts, fds[0], where);
		return;
	}
	/* Any process of the same user may join an SO_REUSEPORT group. A plain
	 * listener cannot bind where anything listens: if it can, the port is
	 * free. Port 0 asks the kernel for a free port anyway. */
	if (strcmp(opts->port, "0") != 0)
		close(Listen_on(opts, opts->port, SOCK_STREAM, false));
	fds[0] = Listen_on(opts, opts->port, SOCK_STREAM, true);
	listener_address(fds[0], where, sizeof where, port, sizeof port);
	for (int i = 1; i < count; i++)
		fds[i] = Listen_on(opts, port, SOCK_STREAM, true);
	for (int i = 1; i < count; i++)
		trace("listen", fds[i], "addr=%s reuseport=%d/%d", where, i + 1, count);
	server_ready(model, opts, fds[0], where);
}

void report_spread(const char *what, const char *how, const long *counts, long n)
{
	char line[4096] = "";
	size_t used = 0;
	long total = 0;

	for (long i = 0; i < n; i++) {
		if (used < sizeof line - 24) /* a thousand workers fit; more are summed only */
			used +=
			    (size_t)snprintf(line + used, sizeof line - used, " %ld", counts[i]);
		total += counts[i];
	}
	err_msg("connections %s (%s):%s (total %ld)", what, how, line, total);
}
