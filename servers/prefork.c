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

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
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

/* Per worker slot: its listener (with --reuseport its own, otherwise the
 * one they share) and what it served. The counts live in a shared anonymous
 * mapping, so the parent can read what each worker process wrote into its
 * own slot. Starting, replacing and stopping the workers: lib/procs.c. */
static int *listenfds;
static long worker_count;
static long *served; /* served[slot], in memory shared with the workers */
static bool reuseport;

/* A worker process: echo one client at a time until told to stop. */
static void worker_main(long slot)
{
	int listenfd = listenfds[slot], connfd;

	/* A stop must not shut down the listener the other workers share: this
	 * worker leaves accept by EINTR, or when the parent shuts it down. */
	signals_watch_listener(-1);
	for (long i = 0; i < worker_count; i++)
		if (listenfds[i] != listenfd)
			close(listenfds[i]); /* --reuseport: the others' queues */
	while ((connfd = accept_until_stop(listenfd)) >= 0) {
		served[slot]++;
		trace("serve", connfd, "worker=%ld served=%ld", slot, served[slot]);
		signals_watch_conn(connfd);
		echo_blocking(connfd);
		signals_watch_conn(-1);
		trace("close", connfd, "reason=done");
		close(connfd);
	}
}

static void open_listeners(const struct server_options *opts)
{
	listenfds = Calloc((size_t)worker_count, sizeof *listenfds);
	if (reuseport) {
		server_listen_group(&model, opts, listenfds, (int)worker_count);
	} else {
		listenfds[0] = server_listen(&model, opts);
		for (long i = 1; i < worker_count; i++)
			listenfds[i] = listenfds[0];
	}
	/* The parent's stop signal must not shut the listeners down before the
	 * workers are told to stop: shut_listeners does it, after. */
	signals_watch_listener(-1);
}

/* After the workers got SIGTERM: wakes a worker whose signal came just
 * before it entered accept (a busy one shuts its client down and leaves). */
static void shut_listeners(void)
{
	for (long i = 0; i < worker_count; i++)
		shutdown(listenfds[i], SHUT_RDWR);
}

int main(int argc, char **argv)
{
	struct server_options opts;

	server_parse_options(argc, argv, &model, &opts);
	worker_count = opts.workers;
	reuseport = opts.reuseport;
	served = mmap(NULL, (size_t)worker_count * sizeof *served, PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (served == MAP_FAILED)
		err_sys("mmap");
	open_listeners(&opts);
	procs_start(worker_count, worker_main);
	procs_watch();

	trace("stop", listenfds[0], "reason=signal workers=%ld", worker_count);
	procs_stop(shut_listeners);
	report_spread("served per worker",
	              reuseport ? "one SO_REUSEPORT listener each" : "one shared listener", served,
	              worker_count);
	for (long i = 0; i < worker_count; i++)
		if (reuseport || i == 0)
			Close(listenfds[i]);
	munmap(served, (size_t)worker_count * sizeof *served);
	free(listenfds);
	return 0;
}
