/*
 * thread.c - one detached thread per connection.
 *
 * The main thread only accepts: for each connection it starts a detached
 * thread that echoes that one client with blocking I/O and then ends. A
 * registry of live connections enforces the cap (-m) and lets a stop shut
 * every connection down and wait for its thread.
 *
 * Wins:  the per-client code is the plain blocking loop; a thread is much
 *        cheaper to start than a process; several cores are used.
 * Costs: a stack and a kernel task per client (bounded here to 64 KiB of
 *        stack), a context switch per message under load, and a cap past
 *        which connections are shed.
 *
 * Compare with: diff -u servers/thread.c servers/pool.c
 * Run:          bin/echo-thread -p 9877 -m 1000 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "thread",
	.summary = "Echo server that starts one detached thread per connection.",
	.features = FEATURE_MAX_CONNS,
	.default_max_conns = 10000,
	.max_conns_help = "live connection threads at most; more connections are shed "
	                  "(default 10000)",
};

struct conn {
	int fd;
	long slot; /* in live_conns */
};

static struct conn_registry live_conns;

static void conn_close(struct conn *c, const char *reason)
{
	long slot = c->slot;

	trace("close", c->fd, "reason=%s", reason);
	close(c->fd);
	free(c);
	/* Last: once the registry is empty, a stopping main thread may exit. */
	registry_remove(&live_conns, slot);
}

/* A connection's thread: the blocking echo loop, then clean up and end. */
static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	echo_blocking(c->fd);
	conn_close(c, "done");
	return NULL;
}

/* Returns the new connection, or NULL when it must be shed. */
static struct conn *conn_open(int connfd)
{
	struct conn *c;
	long slot = registry_add(&live_conns, connfd);

	if (slot < 0) {
		shed_conn(connfd, "max-conns");
		return NULL;
	}
	c = malloc(sizeof *c);
	if (c == NULL) {
		registry_remove(&live_conns, slot);
		shed_conn(connfd, "out-of-memory");
		return NULL;
	}
	c->fd = connfd;
	c->slot = slot;
	return c;
}

static void on_accept(int connfd)
{
	struct conn *c = conn_open(connfd);
	pthread_t tid;
	int rc;

	if (c == NULL)
		return;
	rc = thread_start(&tid, conn_thread, c, THREAD_STACK_BYTES, true);
	if (rc != 0) {
		/* Out of threads (EAGAIN) or memory: this client only is refused. */
		trace("shed", connfd, "reason=thread-failed errno=%s", strerror(rc));
		conn_close(c, "shed");
		return;
	}
	trace("thread", connfd, "live=%zu", registry_count(&live_conns));
}

int main(int argc, char **argv)
{
	struct server_options opts;
	int listenfd, connfd;

	server_parse_options(argc, argv, &model, &opts);
	registry_init(&live_conns, (size_t)opts.max_conns);
	listenfd = server_listen(&model, &opts);

	while ((connfd = accept_until_stop(listenfd)) >= 0)
		on_accept(connfd);

	trace("stop", listenfd, "reason=signal live=%zu", registry_count(&live_conns));
	registry_stop(&live_conns); /* shuts every client down, waits for its thread */
	registry_destroy(&live_conns);
	Close(listenfd);
	return 0;
}
