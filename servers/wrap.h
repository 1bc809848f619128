/*
 * wrap.h - what the echo servers and the load generator share.
 *
 * The convention is Stevens' (UNIX Network Programming, lib/wrapsock.c): a
 * Capitalised wrapper never returns on error (it prints and exits 1), its
 * lowercase twin returns -1 with errno set. Capitalised wrappers belong to
 * start-up, blocking accept loops and fork children; inside threads and event
 * loops use the returning twins, so one client's error closes that client only.
 *
 * Only what two or more programs use lives here: error reporting, option
 * parsing, tcp_listen, the readiness line, signal set-up, writen/readn, the
 * blocking echo loop, the bounded echo buffer of the non-blocking models and
 * the event trace. The calls that make up a model (select, poll, epoll_ctl,
 * fork, the pool's queue) stay in that model's file: they are the lesson.
 */
#ifndef WRAP_H
#define WRAP_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SUITE_VERSION "0.1.0"
#define DEFAULT_PORT  "9877"
#define DEFAULT_BIND  "127.0.0.1"

/* Bytes one connection may hold between reading and echoing. It bounds the
 * memory a client that sends and never reads can cost a non-blocking server,
 * and it is the read size of the blocking echo loop. */
#define ECHO_BUF_BYTES 16384

/* ---- error reporting: err_* print "prog: message[: strerror]" ---------- */

extern const char *prog_name;

void err_init(const char *argv0);
void err_ret(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void err_quit(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- Capitalised wrappers (exit 1 on error) and returning helpers ------ */

int Socket(int family, int type, int protocol);
void Close(int fd);
int Fcntl(int fd, int cmd, int arg);
void *Malloc(size_t size_bytes);
void *Calloc(size_t count, size_t size_bytes);
void Pthread_mutex_lock(pthread_mutex_t *mutex);
void Pthread_mutex_unlock(pthread_mutex_t *mutex);

int set_nonblocking(int fd);
void Set_nonblocking(int fd);

/* Write/read exactly n bytes, retrying short transfers and EINTR. They return
 * n, or -1 on error; readn returns fewer than n only at EOF. */
ssize_t writen(int fd, const void *buf, size_t n);
ssize_t readn(int fd, void *buf, size_t n);
ssize_t Writen(int fd, const void *buf, size_t n);

/* Raise the soft descriptor limit to the hard one; returns the new soft limit. */
long raise_fd_limit(void);

/* Strict number parsing for options: the whole text must be a number. */
bool parse_long(const char *text, long min, long max, long *out);

/* "127.0.0.1:9877" or "[::1]:9877" for a socket address. */
void format_sockaddr(const struct sockaddr *sa, char *out, size_t out_bytes);

/* ---- server options ------------------------------------------------------ */

enum server_feature {
	FEATURE_WORKERS = 1 << 0,   /* -w/--workers */
	FEATURE_MAX_CONNS = 1 << 1, /* -m/--max-conns */
};

struct server_model {
	const char *name;           /* "epoll-et": readiness line and binary suffix */
	const char *summary;        /* one line for --help */
	unsigned features;          /* enum server_feature bits */
	long default_workers;       /* used when FEATURE_WORKERS; 0: one per core */
	const char *workers_help;   /* what a worker is ("worker threads") */
	long default_max_conns;     /* 0 means no cap but the descriptor limit */
	const char *max_conns_help; /* what -m means for this model */
	const char *flag_option;    /* a long option of this model only, or NULL */
	const char *flag_help;      /* its line in --help */
};

struct server_options {
	const char *bind_addr;
	const char *port;
	long workers;
	long max_conns;
	bool verbose;
	bool flag; /* the model's flag_option was given */
};

/* The CPUs this process may run on (sched_getaffinity): under taskset -c 0
 * that is 1, whatever the machine has. The default for -w where a model
 * has one worker per core. */
long usable_cores(void);

/* Parses argv with getopt_long. -h and -V print and exit 0; a usage error
 * prints a message and the usage to stderr and exits 2 (stdout stays empty). */
void server_parse_options(int argc, char **argv, const struct server_model *model,
                          struct server_options *opts);

/* Everything a server does before its loop: raise the fd limit, install the
 * signal handlers, listen, reserve the spare descriptor used to shed
 * connections on EMFILE, and print the readiness line. Returns the listener,
 * which is blocking; exits 1 naming the address if it cannot listen. */
int server_listen(const struct server_model *model, const struct server_options *opts);

/* ---- listening and accepting ------------------------------------------- */

/* Backlog for listen(2). The kernel caps it at net.core.somaxconn (4096 on
 * current Linux); the textbook 128 overflows under a connection burst. */
#define LISTEN_BACKLOG 4096

/* Returns a listening socket bound to host:port (SO_REUSEADDR), or -1 with
 * errno set; *gai_error gets a getaddrinfo error when resolution failed. */
int tcp_listen(const char *host, const char *port, int *gai_error);

/* Like server_listen, but count listeners on one port, each with
 * SO_REUSEPORT: the kernel gives every new connection to one of them by a
 * hash of its addresses, so each listener has its own accept queue. Fills
 * fds[0..count-1]. Before it binds the group it checks that nothing holds
 * the port, so a second server on the same port still fails (exit 1, address
 * in use) instead of quietly sharing its clients. */
void server_listen_group(const struct server_model *model, const struct server_options *opts,
                         int *fds, int count);

/* Accepts one connection and returns its fd, or -1 with errno set (EAGAIN on
 * an empty non-blocking listener, EINTR, EINVAL once the listener is shut
 * down). Traced as "accept" with the peer's address. Out of descriptors
 * (EMFILE/ENFILE), it accepts the pending connection on a spare descriptor
 * and closes it at once: the connection is shed, and a level-triggered
 * listener does not stay readable and spin. Out of descriptors with no
 * connection waiting, it does nothing and fails with EAGAIN. */
int accept_conn(int listenfd);

/* What every accepted connection gets: TCP_NODELAY, and the "accept" trace
 * line with the peer's address (asked for with getpeername when peer is
 * NULL: a server whose accept the kernel ran, as io_uring's). accept_conn
 * calls it. */
void conn_accepted(int fd, const struct sockaddr *peer);

/* For the blocking accept loops: waits for the next connection, retrying
 * EINTR and shed connections (out of descriptors, it sleeps in poll until a
 * client comes). Returns its fd, or -1 once a stop is requested or the
 * listener is shut down. */
int accept_until_stop(int listenfd);

/* How many connections an event loop accepts each time the listener is
 * readable: a burst of connections must not starve the clients already in. */
#define ACCEPT_BATCH 64

/* For the event loops: accepts up to ACCEPT_BATCH connections from the
 * non-blocking listener, sheds each one past max_conns (0: no cap) counting
 * *open_conns, makes the others non-blocking and hands them to conn_open. */
void accept_batch(int listenfd, const long *open_conns, long max_conns, void (*conn_open)(int fd));

/* Closes a connection the server will not serve (a cap, FD_SETSIZE, a failed
 * fork or thread). Traced as "shed". */
void shed_conn(int fd, const char *reason);

/* ---- signals --------------------------------------------------------------
 * SIGPIPE is ignored: a write to a closed client returns EPIPE instead.
 * SIGINT and SIGTERM set stop_requested, without SA_RESTART, and shut down
 * the watched listener and connection, so a blocking accept or read returns
 * at once; a second one exits at once with 128+signal. SIGUSR1 does nothing
 * but interrupt system calls (EINTR): tests use it to prove every call
 * retries. */

extern volatile sig_atomic_t stop_requested;

void signals_init(void);
void signals_watch_listener(int fd);
void signals_watch_conn(int fd);

/* Blocks SIGINT and SIGTERM in the caller and returns the previous mask in
 * *old: event loops unblock them only inside pselect/ppoll/epoll_pwait, so a
 * stop can never slip in between the check and the wait. */
void signals_block_stop(sigset_t *old);

/* Stack of every server thread. The echo loop needs its 16 KiB buffer and a
 * few small frames; the default (8 MiB) would reserve 80 GiB of address space
 * for 10000 clients. Sanitizer builds need more and override it. */
#ifndef THREAD_STACK_BYTES
#define THREAD_STACK_BYTES (64 * 1024)
#endif

/* Starts a thread with the stop signals blocked (the main thread handles
 * them) and a stack of stack_bytes. Returns 0 or an errno value. */
int thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, size_t stack_bytes, bool detached);

/* How a model with several workers found its connections spread over them,
 * on stderr at a clean stop: "connections WHAT (HOW): 12 9 (total 21)".
 * counts[i] is worker i's. */
void report_spread(const char *what, const char *how, const long *counts, long n);

/* ---- the blocking echo loop (blocking, fork, thread, pool) -------------- */

/* Echoes fd until the client's EOF or an error. Does not close fd. */
void echo_blocking(int fd);

/* ---- live connections of the threaded models ----------------------------
 * A fixed-size set of the fds being served, so that a stop can shut them all
 * down (a blocked read returns 0) and wait for every thread to finish. */
struct conn_registry {
	pthread_mutex_t lock;
	pthread_cond_t emptied;
	int *fds; /* -1 marks a free slot */
	size_t capacity;
	size_t count;
	bool stopping;
};

void registry_init(struct conn_registry *reg, size_t capacity);
/* Returns the slot for fd, or -1 when the set is full or stopping. */
long registry_add(struct conn_registry *reg, int fd);
void registry_remove(struct conn_registry *reg, long slot);
size_t registry_count(struct conn_registry *reg);
/* Refuses new fds, shuts down every registered one, waits until all left. */
void registry_stop(struct conn_registry *reg);
void registry_destroy(struct conn_registry *reg);

/* ---- the bounded echo buffer (select, poll, epoll-lt, epoll-et) --------- */

struct echo_buf {
	size_t start;  /* first byte read but not yet echoed */
	size_t end;    /* one past the last byte read */
	bool peer_eof; /* the client shut down its write side */
	char data[ECHO_BUF_BYTES];
};

enum echo_status {
	ECHO_KEEP,  /* still open */
	ECHO_AGAIN, /* the read found nothing to read (EAGAIN) */
	ECHO_CLOSE, /* finished or failed: close the connection */
};

void echo_buf_init(struct echo_buf *buf);
/* Backpressure: read only while there is room and the client may send. */
bool echo_wants_read(const struct echo_buf *buf);
/* Ask for writability only while output is pending. */
bool echo_wants_write(const struct echo_buf *buf);
/* One read into the free room, then as much echo as the socket takes. */
enum echo_status echo_read_step(int fd, struct echo_buf *buf);
/* Echo pending bytes until done or EAGAIN; after EOF, done means close. */
enum echo_status echo_write_step(int fd, struct echo_buf *buf);

/* ---- the event trace (-v) ------------------------------------------------
 * One line per event on stderr, the same format in every model:
 *   "  0.012345  41234 read      fd=5    bytes=64"
 * seconds since start, thread id, event, fd, details. Each line is a single
 * write(2), so lines from threads and processes never interleave. */

extern bool trace_enabled;

void trace_init(bool enabled);
void trace(const char *event, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
