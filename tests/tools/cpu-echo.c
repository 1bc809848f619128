/*
 * cpu-echo.c - an echo server that burns a known CPU time per message, for
 * testing loadgen --server-pid.
 *
 * For every --message-bytes bytes it echoes (one message of loadgen -s), it
 * first spins until its thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) has
 * advanced by --burn-us: CPU time, not wall-clock time, so a busy machine
 * makes a burn slower but not larger. Besides the burns, it spends only
 * what any blocking echo server spends: accept, read, write, close.
 *
 *   (default)  one thread per connection, blocking I/O
 *   --fork     the parent accepts and forks a child per connection, which
 *              echoes its one client and exits; the parent reaps it
 *              (waitpid in a SIGCHLD handler) and burns nothing, so server
 *              CPU time near the burns can only come from children that
 *              exited and were reaped
 *
 * Usage: cpu-echo [-p PORT] --burn-us N [--message-bytes B] [--fork]
 * Prints "listening on 127.0.0.1:PORT (cpu-echo)" when ready, like the
 * servers; exits 0 on SIGTERM or SIGINT, 2 on an unknown option, 1 on a
 * bad value (a test tool: the message names the value either way).
 */
#include "wrap.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_BURN_US 1000000

struct cpu_echo_options {
	const char *port;
	int64_t burn_ns;
	long message_bytes;
	bool fork;
};

static struct cpu_echo_options opts = { .port = "0", .message_bytes = 64 };

static int64_t thread_cpu_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Spins until this thread has used burn_ns more CPU time. */
static void burn(void)
{
	int64_t until_ns = thread_cpu_ns() + opts.burn_ns;

	while (thread_cpu_ns() < until_ns)
		;
}

/* Echoes fd until EOF, burning once per message_bytes before echoing the
 * byte that completes a message, so its echo comes after its burn. */
static void echo_burning(int fd)
{
	char buf[ECHO_BUF_BYTES];
	uint64_t echoed_bytes = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) != 0) {
		uint64_t messages;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		messages = (echoed_bytes + (uint64_t)n) / (uint64_t)opts.message_bytes -
		           echoed_bytes / (uint64_t)opts.message_bytes;
		while (messages-- > 0)
			burn();
		if (writen(fd, buf, (size_t)n) < 0)
			return;
		echoed_bytes += (uint64_t)n;
	}
}

static void *conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;

	echo_burning(fd);
	close(fd);
	return NULL;
}

/* Reaps every child that has exited: waitpid puts its CPU time into our
 * cutime/cstime (a child the kernel reaped itself would not be counted). */
static void on_sigchld(int signo)
{
	int saved_errno = errno;

	(void)signo;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved_errno;
}

static void child_serve(int listenfd, int connfd, pid_t parent)
{
	signals_watch_listener(-1);
	close(listenfd);
	/* SIGTERM when the parent dies, so a stopped test leaves no child. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	signals_watch_conn(connfd);
	echo_burning(connfd);
	close(connfd);
	_exit(0);
}

static void on_accept(int listenfd, int connfd)
{
	pid_t parent = getpid(), child;
	pthread_t tid;

	if (!opts.fork) {
		if (thread_start(&tid, conn_thread, (void *)(intptr_t)connfd, THREAD_STACK_BYTES,
		                 true) != 0)
			close(connfd);
		return;
	}
	child = fork();
	if (child == 0)
		child_serve(listenfd, connfd, parent);
	close(connfd);
}

static void parse_options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "burn-us", required_argument, NULL, 'b' },
		{ "message-bytes", required_argument, NULL, 'm' },
		{ "fork", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	long value;
	int c;

	err_init(argv[0]);
	while ((c = getopt_long(argc, argv, "p:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts.port = optarg;
			break;
		case 'b':
			if (!parse_long(optarg, 0, MAX_BURN_US, &value))
				err_quit("--burn-us: '%s' is not 0 to %d", optarg, MAX_BURN_US);
			opts.burn_ns = value * 1000;
			break;
		case 'm':
			if (!parse_long(optarg, 1, ECHO_BUF_BYTES, &opts.message_bytes))
				err_quit("--message-bytes: '%s' is not 1 to %d", optarg,
				         ECHO_BUF_BYTES);
			break;
		case 'f':
			opts.fork = true;
			break;
		default:
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction reap = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof addr;
	char where[INET6_ADDRSTRLEN + 16];
	int gai_error, listenfd, connfd;

	parse_options(argc, argv);
	signals_init();
	sigemptyset(&reap.sa_mask);
	if (sigaction(SIGCHLD, &reap, NULL) < 0)
		err_sys("sigaction SIGCHLD");
	listenfd = tcp_listen(DEFAULT_BIND, opts.port, &gai_error);
	if (listenfd < 0)
		err_sys("cannot listen on port %s", opts.port);
	signals_watch_listener(listenfd);
	getsockname(listenfd, (struct sockaddr *)&addr, &addr_len);
	format_sockaddr((struct sockaddr *)&addr, where, sizeof where);
	printf("listening on %s (cpu-echo)\n", where);
	fflush(stdout);
	while ((connfd = accept_until_stop(listenfd)) >= 0)
		on_accept(listenfd, connfd);
	close(listenfd);
	return 0;
}
