/*
 * blocking.c - the iterative echo server: one client at a time.
 *
 * The main loop accepts a connection and echoes it with blocking read and
 * write until the client closes; only then does it accept the next one.
 * Clients that connect meanwhile are completed by the kernel and wait in the
 * listen backlog, unserved.
 *
 * Wins:  the simplest correct server; no concurrency, no shared state.
 * Costs: one slow or idle client stops everybody else. Throughput with many
 *        clients is that of one.
 *
 * Compare with: diff -u servers/blocking.c servers/fork.c
 * Run:          bin/echo-blocking -p 9877 -v   (then: nc 127.0.0.1 9877)
 */
#include "wrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "blocking",
	.summary = "Iterative echo server: serves one client at a time.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 1,
	/* Every server takes -m; here any cap >= 1 changes nothing. */
	.max_conns_help = "accepted for uniformity: this model serves exactly one\n"
	                  "connection at a time whatever N is",
};

/* Serves one client to the end: nobody else is served meanwhile. */
static void on_accept(int connfd)
{
	signals_watch_conn(connfd);
	echo_blocking(connfd);
	signals_watch_conn(-1);
	trace("close", connfd, "reason=done");
	Close(connfd);
}

int main(int argc, char **argv)
{
	struct server_options opts;
	int listenfd, connfd;

	server_parse_options(argc, argv, &model, &opts);
	listenfd = server_listen(&model, &opts);

	while ((connfd = accept_until_stop(listenfd)) >= 0)
		on_accept(connfd);

	trace("stop", listenfd, "reason=signal");
	Close(listenfd);
	return 0;
}
