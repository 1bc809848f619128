/*
 * wrap.c - the helpers every echo server and the load generator share.
 * See wrap.h for the conventions; each section below matches one there.
 */
#include "wrap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char *prog_name = "echo";

/* ---- error reporting ------------------------------------------------------ */

void err_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	prog_name = slash ? slash + 1 : argv0;
}

/* Formats "prog: message[: strerror(errnum)]\n" and writes it in one call. */
static void err_print(int errnum, const char *fmt, va_list ap)
{
	char line[512];
	int len = snprintf(line, sizeof line, "%s: ", prog_name);

	len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
	if (len < (int)sizeof line && errnum != 0)
		len += snprintf(line + len, sizeof line - (size_t)len, ": %s", strerror(errnum));
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	fflush(stdout);
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

void err_ret(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	err_print(saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_print(0, fmt, ap);
	va_end(ap);
}

void err_sys(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	err_print(saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void err_quit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_print(0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* ---- wrappers ----------------------------------------------------------- */

int Socket(int family, int type, int protocol)
{
	int fd = socket(family, type, protocol);

	if (fd < 0)
		err_sys("socket");
	return fd;
}

void Close(int fd)
{
	/* Linux always releases the fd, even when close reports EINTR: never retry. */
	if (close(fd) < 0 && errno != EINTR)
		err_sys("close fd %d", fd);
}

int Fcntl(int fd, int cmd, int arg)
{
	int r = fcntl(fd, cmd, arg);

	if (r < 0)
		err_sys("fcntl fd %d", fd);
	return r;
}

void *Malloc(size_t size_bytes)
{
	void *p = malloc(size_bytes);

	if (p == NULL)
		err_sys("malloc %zu bytes", size_bytes);
	return p;
}

void *Calloc(size_t count, size_t size_bytes)
{
	void *p = calloc(count, size_bytes);

	if (p == NULL)
		err_sys("calloc %zu x %zu bytes", count, size_bytes);
	return p;
}

void Pthread_mutex_lock(pthread_mutex_t *mutex)
{
	int rc = pthread_mutex_lock(mutex);

	if (rc != 0) {
		errno = rc;
		err_sys("pthread_mutex_lock");
	}
}

void Pthread_mutex_unlock(pthread_mutex_t *mutex)
{
	int rc = pthread_mutex_unlock(mutex);

	if (rc != 0) {
		errno = rc;
		err_sys("pthread_mutex_unlock");
	}
}

int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL, 0);

	if (flags < 0)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void Set_nonblocking(int fd)
{
	if (set_nonblocking(fd) < 0)
		err_sys("set_nonblocking fd %d", fd);
}

ssize_t writen(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t left = n;

	while (left > 0) {
		ssize_t w = write(fd, p, left);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	return (ssize_t)n;
}

ssize_t readn(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t left = n;

	while (left > 0) {
		ssize_t r = read(fd, p, left);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		p += r;
		left -= (size_t)r;
	}
	return (ssize_t)(n - left);
}

ssize_t Writen(int fd, const void *buf, size_t n)
{
	if (writen(fd, buf, n) < 0)
		err_sys("write fd %d", fd);
	return (ssize_t)n;
}

long raise_fd_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return -1;
	if (lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
			return -1;
	}
	return lim.rlim_cur > LONG_MAX ? LONG_MAX : (long)lim.rlim_cur;
}

bool parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	if (text == NULL || *text == '\0')
		return false;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return false;
	*out = value;
	return true;
}

void format_sockaddr(const struct sockaddr *sa, char *out, size_t out_bytes)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
		port = ntohs(in4->sin_port);
		snprintf(out, out_bytes, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, out_bytes, "[%s]:%u", host, port);
	} else {
		snprintf(out, out_bytes, "(family %d)", sa->sa_family);
	}
}

long usable_cores(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof set, &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

/* ---- server options --------------------------------------------------- */

static void print_usage(FILE *out, const struct server_model *model)
{
	fprintf(out,
	        "Usage: %s [options]\n"
	        "%s\n\n"
	        "  -p, --port N        TCP port (default %s; 0 picks a free port)\n"
	        "  -b, --bind ADDR     address to listen on (default %s; IPv6 literals work)\n",
	        prog_name, model->summary, DEFAULT_PORT, DEFAULT_BIND);
	if ((model->features & FEATURE_WORKERS) && model->default_workers == 0)
		fprintf(out,
		        "  -w, --workers N     %s\n"
		        "                      (default: one per usable core, %ld here)\n",
		        model->workers_help, usable_cores());
	else if (model->features & FEATURE_WORKERS)
		fprintf(out, "  -w, --workers N     %s (default %ld)\n", model->workers_help,
		        model->default_workers);
	if (model->features & FEATURE_MAX_CONNS)
		fprintf(out, "  -m, --max-conns N   %s\n", model->max_conns_help);
	if (model->flag_option != NULL)
		fprintf(out, "      --%-14s%s\n", model->flag_option, model->flag_help);
	fprintf(out,
	        "  -v, --verbose       trace every event to stderr\n"
	        "  -h, --help          show this help and exit\n"
	        "  -V, --version       show the version and exit\n\n"
	        "Prints 'listening on ADDR:PORT (%s)' when ready. Stops cleanly on\n"
	        "SIGINT or SIGTERM (exit 0); exit 1 on a runtime failure, 2 on a usage error.\n",
	        model->name);
}

static void usage_error(const struct server_model *model, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void usage_error(const struct server_model *model, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_print(0, fmt, ap);
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
	struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "workers", required_argument, NULL, 'w' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ model->flag_option, no_argument, NULL, 'F' }, /* ends the list if NULL */
		{ NULL, 0, NULL, 0 },
	};
	int c;

	err_init(argv[0]);
	*opts = (struct server_options){ .bind_addr = DEFAULT_BIND,
		                         .port = DEFAULT_PORT,
		                         .workers = model->default_workers,
		                         .max_conns = model->default_max_conns };
	if ((model->features & FEATURE_WORKERS) && model->default_workers == 0)
		opts->workers = usable_cores();
	opterr = 0; /* we print our own messages, then the usage */
	while ((c = getopt_long(argc, argv, ":p:b:w:m:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts->port = parse_port(model, optarg);
			break;
		case 'b':
			opts->bind_addr = optarg;
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
		case 'F':
			opts->flag = true;
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
	check_bind_addr(model, opts->bind_addr);
	trace_init(opts->verbose);
}

/* ---- listening and accepting ---------------------------------------------- */

/* Held open so that, out of descriptors, there is one to accept with. The
 * lock is for models whose threads accept at once (reactors): every accept
 * holds it for reading, and freeing the spare to shed holds it for writing,
 * so no other thread's accept can take the slot the spare frees (it would
 * be the spare lost for good, and no more shedding: a level-triggered
 * listener then spins with its clients left in the backlog). A blocking
 * accept would hold the read lock while it sleeps: only one thread of a
 * process may block in accept (true of every model). */
static int spare_fd = -1;
static pthread_rwlock_t spare_lock = PTHREAD_RWLOCK_INITIALIZER;

static void reserve_spare_fd(void)
{
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Binds and listens on the first address host:port resolves to that
 * works; with reuseport, the socket joins the port's SO_REUSEPORT group. */
static int listen_on(const char *host, const char *port, bool reuseport, int *gai_error)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		                  .ai_socktype = SOCK_STREAM };
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
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
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
	return listen_on(host, port, false, gai_error);
}

static bool is_wildcard(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

/* Listens or exits 1 naming the address and the reason. */
static int Listen_on(const struct server_options *opts, const char *port, bool reuseport)
{
	int gai_error, fd = listen_on(opts->bind_addr, port, reuseport, &gai_error);

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

/* Start-up after the listeners: the spare descriptor and the readiness line. */
static void server_ready(const struct server_model *model, int listenfd, const char *where)
{
	reserve_spare_fd();
	signals_watch_listener(listenfd);
	trace("listen", listenfd, "addr=%s model=%s", where, model->name);
	/* Scripts wait for this line: print it once and flush. A closed stdout
	 * must not stop the server, so the result is ignored. */
	printf("listening on %s (%s)\n", where, model->name);
	fflush(stdout);
}

int server_listen(const struct server_model *model, const struct server_options *opts)
{
	char where[INET6_ADDRSTRLEN + 16], port[8];
	int listenfd;

	server_prepare();
	listenfd = Listen_on(opts, opts->port, false);
	listener_address(listenfd, where, sizeof where, port, sizeof port);
	server_ready(model, listenfd, where);
	return listenfd;
}

void server_listen_group(const struct server_model *model, const struct server_options *opts,
                         int *fds, int count)
{
	char where[INET6_ADDRSTRLEN + 16], port[8];

	server_prepare();
	/* Any process of the same user may join an SO_REUSEPORT group. A plain
	 * listener cannot bind where anything listens: if it can, the port is
	 * free. Port 0 asks the kernel for a free port anyway. */
	if (strcmp(opts->port, "0") != 0)
		close(Listen_on(opts, opts->port, false));
	fds[0] = Listen_on(opts, opts->port, true);
	listener_address(fds[0], where, sizeof where, port, sizeof port);
	for (int i = 1; i < count; i++)
		fds[i] = Listen_on(opts, port, true);
	for (int i = 1; i < count; i++)
		trace("listen", fds[i], "addr=%s reuseport=%d/%d", where, i + 1, count);
	server_ready(model, fds[0], where);
}

/* True when a connection is waiting to be accepted: poll needs no new fd. */
static bool connection_waiting(int listenfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = listenfd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

/* An echo must leave at once. With Nagle's algorithm a reply's short tail
 * waits for the ACK of what went before it, and the client delays that ACK
 * by up to 40 ms: any message larger than one write would stall. */
static void set_nodelay(int fd)
{
	int on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void conn_accepted(int fd, const struct sockaddr *peer)
{
	set_nodelay(fd);
	if (trace_enabled) {
		struct sockaddr_storage asked;
		socklen_t asked_len = sizeof asked;
		char peer_text[INET6_ADDRSTRLEN + 16] = "?";

		if (peer == NULL && getpeername(fd, (struct sockaddr *)&asked, &asked_len) == 0)
			peer = (struct sockaddr *)&asked;
		if (peer != NULL)
			format_sockaddr(peer, peer_text, sizeof peer_text);
		trace("accept", fd, "peer=%s", peer_text);
	}
}

int accept_conn(int listenfd)
{
	struct sockaddr_storage peer;
	socklen_t peer_len = sizeof peer;
	int fd, saved_errno;

	pthread_rwlock_rdlock(&spare_lock);
	fd = accept4(listenfd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
	saved_errno = errno;
	pthread_rwlock_unlock(&spare_lock);
	errno = saved_errno;

	if (fd >= 0)
		conn_accepted(fd, (struct sockaddr *)&peer);
	if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
		return fd;
	/* Out of descriptors. accept(2) says so before it looks for a
	 * connection: with none waiting there is nothing to shed, and a blocking
	 * accept on the spare's slot would hold it until the next client came
	 * (and then shed that one, even with descriptors free again). */
	if (!connection_waiting(listenfd, 0)) {
		errno = EAGAIN;
		return -1;
	}
	/* Free the spare, take the pending connection with it, close that at
	 * once, and take the spare back. */
	pthread_rwlock_wrlock(&spare_lock);
	if (spare_fd >= 0) {
		close(spare_fd);
		fd = accept(listenfd, NULL, NULL);
		if (fd >= 0)
			shed_conn(fd, "out-of-descriptors");
		reserve_spare_fd();
	}
	pthread_rwlock_unlock(&spare_lock);
	errno = EMFILE;
	return -1;
}

int accept_until_stop(int listenfd)
{
	while (!stop_requested) {
		int fd = accept_conn(listenfd);

		if (fd >= 0)
			return fd;
		/* Out of descriptors, no client waiting: sleep until one comes
		 * (a signal or a stop ends the wait too), then try again. */
		if (errno == EAGAIN) {
			connection_waiting(listenfd, -1);
			continue;
		}
		/* EINVAL: the listener was shut down, so nothing more can come
		 * (prefork's parent does that to a worker at stop). */
		if (errno == EINVAL)
			return -1;
		/* EINTR: a signal; EMFILE: shed; ECONNABORTED: the client gave up. */
		if (errno != EINTR && errno != EMFILE && errno != ECONNABORTED && !stop_requested)
			err_ret("accept");
	}
	return -1;
}

void accept_batch(int listenfd, const long *open_conns, long max_conns, void (*conn_open)(int fd))
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_conn(listenfd);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ECONNABORTED))
			continue; /* that one was shed or gave up: take the next */
		if (fd < 0)
			return; /* EAGAIN: none left for now */
		if (max_conns > 0 && *open_conns >= max_conns)
			shed_conn(fd, "max-conns");
		else if (set_nonblocking(fd) < 0)
			shed_conn(fd, "fcntl-failed");
		else
			conn_open(fd);
	}
}

void shed_conn(int fd, const char *reason)
{
	trace("shed", fd, "reason=%s", reason);
	close(fd);
}

/* ---- signals ------------------------------------------------------------ */

volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t watched_listener = -1;
static volatile sig_atomic_t watched_conn = -1;

/* Only async-signal-safe calls here: shutdown(2) and _exit(2). */
static void on_stop_signal(int signo)
{
	int saved_errno = errno;

	if (stop_requested)
		_exit(128 + signo);
	stop_requested = 1;
	if (watched_listener >= 0)
		shutdown(watched_listener, SHUT_RDWR);
	if (watched_conn >= 0)
		shutdown(watched_conn, SHUT_RDWR);
	errno = saved_errno;
}

static void on_interrupt_only(int signo)
{
	(void)signo;
}

static void install_handler(int signo, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	if (sigaction(signo, &sa, NULL) < 0)
		err_sys("sigaction %d", signo);
}

void signals_init(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN };

	sigemptyset(&ignore.sa_mask);
	if (sigaction(SIGPIPE, &ignore, NULL) < 0)
		err_sys("sigaction SIGPIPE");
	install_handler(SIGINT, on_stop_signal);
	install_handler(SIGTERM, on_stop_signal);
	install_handler(SIGUSR1, on_interrupt_only);
}

void signals_watch_listener(int fd)
{
	watched_listener = fd;
}

void signals_watch_conn(int fd)
{
	watched_conn = fd;
	/* A stop that came before the fd was watched must still reach it. */
	if (fd >= 0 && stop_requested)
		shutdown(fd, SHUT_RDWR);
}

void signals_block_stop(sigset_t *old)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &stop, old) < 0)
		err_sys("sigprocmask");
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

int thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, size_t stack_bytes, bool detached)
{
	pthread_attr_t attr;
	sigset_t stop, old;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack_bytes);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* A new thread inherits the creator's mask: block the stop signals just
	 * long enough to create it, so only the main thread ever handles them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	rc = pthread_create(tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* ---- the blocking echo loop ------------------------------------------------ */

void echo_blocking(int fd)
{
	char buf[ECHO_BUF_BYTES];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

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
		if (writen(fd, buf, (size_t)n) < 0) {
			trace("error", fd, "op=write errno=%s", strerror(errno));
			return;
		}
		trace("write", fd, "bytes=%zd", n);
	}
}

/* ---- live connections of the threaded models --------------------------- */

void registry_init(struct conn_registry *reg, size_t capacity)
{
	pthread_mutex_init(&reg->lock, NULL);
	pthread_cond_init(&reg->emptied, NULL);
	reg->fds = Malloc(capacity * sizeof *reg->fds);
	for (size_t i = 0; i < capacity; i++)
		reg->fds[i] = -1;
	reg->capacity = capacity;
	reg->count = 0;
	reg->stopping = false;
}

long registry_add(struct conn_registry *reg, int fd)
{
	long slot = -1;

	Pthread_mutex_lock(&reg->lock);
	if (!reg->stopping && reg->count < reg->capacity) {
		for (size_t i = 0; i < reg->capacity; i++) {
			if (reg->fds[i] < 0) {
				reg->fds[i] = fd;
				reg->count++;
				slot = (long)i;
				break;
			}
		}
	}
	Pthread_mutex_unlock(&reg->lock);
	return slot;
}

void registry_remove(struct conn_registry *reg, long slot)
{
	Pthread_mutex_lock(&reg->lock);
	reg->fds[slot] = -1;
	reg->count--;
	if (reg->count == 0)
		pthread_cond_broadcast(&reg->emptied);
	Pthread_mutex_unlock(&reg->lock);
}

size_t registry_count(struct conn_registry *reg)
{
	size_t count;

	Pthread_mutex_lock(&reg->lock);
	count = reg->count;
	Pthread_mutex_unlock(&reg->lock);
	return count;
}

void registry_stop(struct conn_registry *reg)
{
	Pthread_mutex_lock(&reg->lock);
	reg->stopping = true;
	/* SHUT_RDWR wakes a thread blocked in read (it returns 0) and one blocked
	 * writing to a client that never reads (EPIPE): a stop is bounded. */
	for (size_t i = 0; i < reg->capacity; i++)
		if (reg->fds[i] >= 0)
			shutdown(reg->fds[i], SHUT_RDWR);
	while (reg->count > 0)
		pthread_cond_wait(&reg->emptied, &reg->lock);
	Pthread_mutex_unlock(&reg->lock);
}

void registry_destroy(struct conn_registry *reg)
{
	free(reg->fds);
	pthread_cond_destroy(&reg->emptied);
	pthread_mutex_destroy(&reg->lock);
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

/* ---- the event trace ------------------------------------------------------- */

bool trace_enabled;
static struct timespec trace_start;

void trace_init(bool enabled)
{
	trace_enabled = enabled;
	clock_gettime(CLOCK_MONOTONIC, &trace_start);
}

void trace(const char *event, int fd, const char *fmt, ...)
{
	struct timespec now;
	char line[256];
	double elapsed_s;
	va_list ap;
	int len;

	if (!trace_enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_s = (double)(now.tv_sec - trace_start.tv_sec) +
	            (double)(now.tv_nsec - trace_start.tv_nsec) / 1e9;
	len =
	    snprintf(line, sizeof line, "%10.6f %7d %-8s fd=%-5d ", elapsed_s, gettid(), event, fd);
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)len);
}
