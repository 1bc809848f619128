/*
 * fork.c - one process per connection.
 *
 * The parent only accepts: for each connection it forks a child, closes its
 * own copy of the socket and goes back to accept. The child closes the
 * listener, echoes its one client with blocking I/O and exits. A SIGCHLD
 * handler reaps children as they exit, so none is left a zombie.
 *
 * Wins:  clients are isolated (a crash takes down one child); the per-client
 *        code is the plain blocking loop; several cores are used for free.
 * Costs: a fork per connection (page tables, a new process to schedule), a
 *        process's memory per client, and a cap (-m) past which connections
 *        are shed, because processes are a limited resource.
 *
 * Compare with: diff -u servers/fork.c servers/thread.c
 * Run:          bin/echo-fork -p 9877 -m 64 -v
 */
#include "wrap.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "fork",
	.summary = "Echo server that forks one process per connection.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 1024,
	.max_conns_help = "live child processes at most; more connections are shed "
	                  "(default 1024)",
};

/* Written by the main loop (+1 per fork) and by the SIGCHLD handler (-1 per
 * child reaped). A lock-free atomic is safe in a signal handler and loses no
 * update; a plain int could lose one between a load and a store. */
static atomic_int live_children;

/* Reaps every child that has exited. Only async-signal-safe calls here;
 * errno is saved because the interrupted code may be about to read it. */
static void on_sigchld(int signo)
{
	int saved_errno = errno;

	(void)signo;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		atomic_fetch_sub(&live_children, 1);
	errno = saved_errno;
}

static void reap_children_on_sigchld(void)
{
	struct sigaction sa = { .sa_handler = on_sigchld };

	sigemptyset(&sa.sa_mask);
	/* Restart accept: the handler has done its work, nothing to check. */
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		err_sys("sigaction SIGCHLD");
}

/* The child: serve one client, then exit. Never returns. */
static void child_serve(int listenfd, int connfd, pid_t parent)
{
	signals_watch_listener(-1);
	Close(listenfd);
	/* Ask the kernel for SIGTERM when the parent dies, even by SIGKILL, so a
	 * stopped server leaves no orphans serving clients. If the parent died
	 * before the request, it is already too late: leave at once. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(1);
	signals_watch_conn(connfd);
	echo_blocking(connfd);
	trace("close", connfd, "reason=done");
	Close(connfd);
	_exit(0); /* not exit(): the parent's atexit handlers are not ours */
}

/* The parent: hand the connection to a new child and forget it. */
static void on_accept(int listenfd, int connfd, long max_children)
{
	pid_t parent = getpid(), child;

	if (atomic_load(&live_children) >= max_children) {
		shed_conn(connfd, "max-conns");
		return;
	}
	atomic_fetch_add(&live_children, 1);
	child = fork();
	if (child < 0) {
		atomic_fetch_sub(&live_children, 1);
		shed_conn(connfd, "fork-failed");
		return;
	}
	if (child == 0)
		child_serve(listenfd, connfd, parent);
	trace("fork", connfd, "child=%d live=%d", child, atomic_load(&live_children));
	Close(connfd); /* the child has its own copy */
}

int main(int argc, char **argv)
{
	struct server_options opts;
	int listenfd, connfd;

	server_parse_options(argc, argv, &model, &opts);
	reap_children_on_sigchld();
	listenfd = server_listen(&model, &opts);

	while ((connfd = accept_until_stop(listenfd)) >= 0)
		on_accept(listenfd, connfd, opts.max_conns);

	/* Children get SIGTERM from the kernel when we exit (PR_SET_PDEATHSIG). */
	trace("stop", listenfd, "reason=signal children=%d", atomic_load(&live_children));
	Close(listenfd);
	return 0;
}
