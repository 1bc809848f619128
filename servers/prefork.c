/*
 * prefork.c - worker processes forked once, at start, each blocking in accept.
 *
 * Stevens' "TCP preforked server, no locking around accept" (UNP, ch. 30),
 * the design of Apache's prefork MPM. The parent listens, forks -w workers
 * and then only watches them: a worker that dies is replaced. Every worker
 * loops on accept(2) on the one listening socket they all inherited and
 * echoes its client with blocking I/O until the client leaves.
 *
 * Who gets the next connection? The kernel, not us: each worker sleeping in
 * accept waits on the listener's queue as an exclusive waiter, and a new
 * connection wakes only the first of them (no thundering herd since Linux
 * 2.2). A worker goes back to the end of that queue when it calls accept
 * again, so idle workers take turns (though a worker that comes back while
 * a connection is already queued takes it without sleeping, so under fast
 * churn one worker may serve several in a row). With --reuseport each worker gets its
 * own listener instead (SO_REUSEPORT): the kernel picks the listener by a hash
 * of the client's address and port, whether that worker is free or not, so a
 * client can wait behind a busy worker while another sits idle. At a clean
 * stop the parent prints how many connections each worker served.
 *
 * Wins:  no fork per connection (the cost is paid once, at start); workers
 *        are isolated processes and use every core; the per-client code is
 *        the plain blocking loop.
 * Costs: at most -w clients are served at once (the next ones wait in the
 *        listen backlog, however idle the busy ones are), and a process's
 *        memory per worker, idle or not.
 *
 * Compare with: diff -u servers/fork.c servers/prefork.c
 * Run:          bin/echo-prefork -p 9877 -w 4 -v
 */
#include "wrap.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "prefork",
	.summary = "Echo server with worker processes forked at start, each blocking in accept.",
	.features = FEATURE_WORKERS | FEATURE_MAX_CONNS | FEATURE_REUSEPORT,
	.default_workers = 0, /* one per usable core */
	.workers_help = "worker processes, each serving one client at a time",
	.default_max_conns = 0,
	.max_conns_help = "accepted for uniformity; the cap is -w: -w clients at once,\n"
	                  "the next ones wait in the listen backlog",
};

/* Per worker slot: its process, its listener, and what it served. The
 * counts live in a shared anonymous mapping, so the parent can read what
 * each worker process wrote into its own slot. */
struct worker {
	pid_t pid;
	int listenfd;
};

static struct worker *workers;
static long worker_count;
static long *served; /* served[slot], in memory shared with the workers */
static bool reuseport;
static pid_t parent_pid;
static sigset_t parent_mask; /* the mask before main blocked stop signals */

/* The child's side: echo one client at a time until told to stop. */
static void __attribute__((noreturn)) worker_main(long slot)
{
	int listenfd = workers[slot].listenfd, connfd;

	sigprocmask(SIG_SETMASK, &parent_mask, NULL);
	/* A stop must not shut down the listener the other workers share: this
	 * worker leaves accept by EINTR, or when the parent shuts it down. */
	signals_watch_listener(-1);
	/* SIGTERM when the parent dies, even by SIGKILL: no orphan workers. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent_pid)
		_exit(1);
	for (long i = 0; i < worker_count; i++)
		if (workers[i].listenfd != listenfd)
			close(workers[i].listenfd); /* --reuseport: the others' queues */
	while ((connfd = accept_until_stop(listenfd)) >= 0) {
		served[slot]++;
		trace("serve", connfd, "worker=%ld served=%ld", slot, served[slot]);
		signals_watch_conn(connfd);
		echo_blocking(connfd);
		signals_watch_conn(-1);
		trace("close", connfd, "reason=done");
		close(connfd);
	}
	_exit(0); /* not exit(): the parent's atexit handlers are not ours */
}

/* Forks the worker for slot; returns false if fork failed. */
static bool worker_start(long slot)
{
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
		worker_main(slot);
	workers[slot].pid = pid;
	trace("fork", -1, "worker=%ld pid=%d", slot, (int)pid);
	return true;
}

static long slot_of(pid_t pid)
{
	for (long i = 0; i < worker_count; i++)
		if (workers[i].pid == pid)
			return i;
	return -1;
}

/* A worker that died while the server runs is replaced, as Apache does:
 * the slot (and its listener, with --reuseport) must not stay unserved. */
static void replace_worker(pid_t pid, int status)
{
	long slot = slot_of(pid);

	if (slot < 0)
		return;
	workers[slot].pid = -1;
	if (WIFSIGNALED(status))
		err_msg("worker %ld (pid %d) killed by signal %d; starting another", slot, (int)pid,
		        WTERMSIG(status));
	else
		err_msg("worker %ld (pid %d) exited with %d; starting another", slot, (int)pid,
		        WEXITSTATUS(status));
	if (!worker_start(slot))
		err_ret("cannot replace worker %ld", slot);
}

static void reap_workers(void)
{
	pid_t pid;
	int status;

	while (!stop_requested && (pid = waitpid(-1, &status, WNOHANG)) > 0)
		replace_worker(pid, status);
}

/* SIGCHLD only has to end sigsuspend: reaping happens in the main loop. */
static void on_child(int signo)
{
	(void)signo;
}

static void watch_children(void)
{
	struct sigaction sa = { .sa_handler = on_child };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		err_sys("sigaction SIGCHLD");
}

static void open_listeners(const struct server_options *opts)
{
	int *fds = Calloc((size_t)worker_count, sizeof *fds);

	if (reuseport) {
		server_listen_group(&model, opts, fds, (int)worker_count);
	} else {
		fds[0] = server_listen(&model, opts);
		for (long i = 1; i < worker_count; i++)
			fds[i] = fds[0];
	}
	for (long i = 0; i < worker_count; i++)
		workers[i].listenfd = fds[i];
	free(fds);
	/* The parent's stop signal must not shut the listeners down before the
	 * workers are told to stop: stop_workers does it, in that order. */
	signals_watch_listener(-1);
}

/* Stop: SIGTERM to every worker (a busy one shuts its client down and
 * leaves), then shut the listeners down, which wakes a worker whose signal
 * came just before it entered accept. Then wait for all of them. */
static void stop_workers(void)
{
	pid_t pid;

	for (long i = 0; i < worker_count; i++)
		if (workers[i].pid > 0)
			kill(workers[i].pid, SIGTERM);
	for (long i = 0; i < worker_count; i++)
		shutdown(workers[i].listenfd, SHUT_RDWR);
	/* A second stop signal may now end the wait (exit 128+signal). */
	sigprocmask(SIG_SETMASK, &parent_mask, NULL);
	while ((pid = wait(NULL)) > 0 || errno == EINTR)
		continue;
}

int main(int argc, char **argv)
{
	struct server_options opts;
	sigset_t stop_and_child;

	server_parse_options(argc, argv, &model, &opts);
	worker_count = opts.workers;
	reuseport = opts.reuseport;
	parent_pid = getpid();
	workers = Calloc((size_t)worker_count, sizeof *workers);
	served = mmap(NULL, (size_t)worker_count * sizeof *served, PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (served == MAP_FAILED)
		err_sys("mmap");
	open_listeners(&opts);
	watch_children();

	/* Stop signals and SIGCHLD reach the parent only inside sigsuspend, so
	 * neither can slip in between the check and the wait. */
	sigemptyset(&stop_and_child);
	sigaddset(&stop_and_child, SIGINT);
	sigaddset(&stop_and_child, SIGTERM);
	sigaddset(&stop_and_child, SIGCHLD);
	sigprocmask(SIG_BLOCK, &stop_and_child, &parent_mask);
	for (long i = 0; i < worker_count; i++)
		if (!worker_start(i))
			err_sys("cannot start worker %ld of %ld", i + 1, worker_count);

	while (!stop_requested) {
		sigsuspend(&parent_mask);
		reap_workers();
	}

	trace("stop", workers[0].listenfd, "reason=signal workers=%ld", worker_count);
	stop_workers();
	report_spread("served per worker",
	              reuseport ? "one SO_REUSEPORT listener each" : "one shared listener", served,
	              worker_count);
	for (long i = 0; i < worker_count; i++)
		if (reuseport || i == 0)
			Close(workers[i].listenfd);
	munmap(served, (size_t)worker_count * sizeof *served);
	free(workers);
	return 0;
}
