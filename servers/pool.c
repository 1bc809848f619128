/*
 * pool.c - a fixed pool of worker threads fed by a bounded queue.
 *
 * -w worker threads are started once. The main thread accepts connections
 * and puts their fds in a bounded ring buffer (one mutex, two condition
 * variables); each worker takes one fd, echoes that client with blocking I/O
 * until it closes, then takes the next. When the queue is full the main
 * thread stops accepting: new clients wait in the kernel's listen backlog,
 * connected but unserved, until a worker frees up. Nothing is shed.
 *
 * Wins:  no thread creation per connection; the number of threads, and so
 *        the memory and the scheduling load, is fixed whatever the clients do.
 * Costs: at most -w clients are served at once; the next ones wait, however
 *        idle the busy ones are (a blocking worker is held by its client).
 *
 * Compare with: diff -u servers/thread.c servers/pool.c
 * Run:          bin/echo-pool -p 9877 -w 4 -m 16 -v
 */
#include "wrap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct server_model model = {
	.name = "pool",
	.summary = "Echo server with a fixed pool of worker threads fed by a bounded queue.",
	.features = FEATURE_WORKERS | FEATURE_MAX_CONNS,
	.default_workers = 16,
	.workers_help = "worker threads",
	.default_max_conns = 1024,
	.max_conns_help = "accepted connections waiting for a worker at most (default 1024);\n"
	                  "when full, new clients wait in the listen backlog",
};

/* How often the acceptor, waiting for room in a full queue, checks for a
 * stop: a condition variable cannot be woken from a signal handler. */
#define STOP_CHECK_MS 100

/* The bounded queue between the acceptor and the workers: a ring of fds. */
struct fd_queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty; /* workers wait here */
	pthread_cond_t not_full;  /* the acceptor waits here */
	int *fds;
	size_t capacity;
	size_t head;  /* index of the oldest fd */
	size_t count; /* fds in the queue */
	bool closed;  /* no more pushes: workers leave once it is empty */
};

static struct fd_queue queue;
static struct conn_registry busy_conns; /* the fds workers are serving now */

static void queue_init(size_t capacity)
{
	pthread_mutex_init(&queue.lock, NULL);
	pthread_cond_init(&queue.not_empty, NULL);
	pthread_cond_init(&queue.not_full, NULL);
	queue.fds = Malloc(capacity * sizeof *queue.fds);
	queue.capacity = capacity;
	queue.head = queue.count = 0;
	queue.closed = false;
}

/* The acceptor waits here before accept(2), so that a full queue leaves new
 * clients in the listen backlog. Returns false when a stop was requested. */
static bool queue_wait_for_room(void)
{
	Pthread_mutex_lock(&queue.lock);
	while (queue.count == queue.capacity && !stop_requested) {
		struct timespec deadline;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += STOP_CHECK_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&queue.not_full, &queue.lock, &deadline);
	}
	Pthread_mutex_unlock(&queue.lock);
	return !stop_requested;
}

/* Only the acceptor pushes, after queue_wait_for_room: there is room.
 * Returns how many fds are queued now (for the trace). */
static size_t queue_push(int fd)
{
	size_t queued;

	Pthread_mutex_lock(&queue.lock);
	queue.fds[(queue.head + queue.count) % queue.capacity] = fd;
	queued = ++queue.count;
	pthread_cond_signal(&queue.not_empty);
	Pthread_mutex_unlock(&queue.lock);
	return queued;
}

/* Returns the oldest fd, waiting for one; -1 once closed and empty.
 * *queued gets how many are left behind it. */
static int queue_pop(size_t *queued)
{
	int fd = -1;

	Pthread_mutex_lock(&queue.lock);
	while (queue.count == 0 && !queue.closed)
		pthread_cond_wait(&queue.not_empty, &queue.lock);
	if (queue.count > 0) {
		fd = queue.fds[queue.head];
		queue.head = (queue.head + 1) % queue.capacity;
		queue.count--;
		pthread_cond_signal(&queue.not_full);
	}
	*queued = queue.count;
	Pthread_mutex_unlock(&queue.lock);
	return fd;
}

static void queue_close(void)
{
	Pthread_mutex_lock(&queue.lock);
	queue.closed = true;
	pthread_cond_broadcast(&queue.not_empty);
	Pthread_mutex_unlock(&queue.lock);
}

static void queue_destroy(void)
{
	free(queue.fds);
	pthread_cond_destroy(&queue.not_full);
	pthread_cond_destroy(&queue.not_empty);
	pthread_mutex_destroy(&queue.lock);
}

/* A worker serves one client at a time, for as long as that client stays. */
static void *worker_main(void *arg)
{
	size_t queued;
	int fd;

	(void)arg;
	while ((fd = queue_pop(&queued)) >= 0) {
		long slot = registry_add(&busy_conns, fd);

		if (slot < 0) { /* stopping: this queued client is never served */
			trace("close", fd, "reason=stopped");
			close(fd);
			continue;
		}
		trace("serve", fd, "queued=%zu", queued);
		echo_blocking(fd);
		trace("close", fd, "reason=done");
		close(fd);
		registry_remove(&busy_conns, slot);
	}
	return NULL;
}

static pthread_t *workers_start(long count)
{
	pthread_t *tids = Calloc((size_t)count, sizeof *tids);

	for (long i = 0; i < count; i++) {
		int rc = thread_start(&tids[i], worker_main, NULL, THREAD_STACK_BYTES, false);

		if (rc != 0) {
			errno = rc;
			err_sys("cannot start worker %ld of %ld", i + 1, count);
		}
	}
	return tids;
}

static void workers_join(pthread_t *tids, long count)
{
	for (long i = 0; i < count; i++)
		pthread_join(tids[i], NULL);
	free(tids);
}

static void on_accept(int connfd)
{
	size_t queued = queue_push(connfd);

	trace("queue", connfd, "queued=%zu", queued);
}

int main(int argc, char **argv)
{
	struct server_options opts;
	pthread_t *workers;
	int listenfd, connfd;

	server_parse_options(argc, argv, &model, &opts);
	queue_init((size_t)opts.max_conns);
	registry_init(&busy_conns, (size_t)opts.workers);
	listenfd = server_listen(&model, &opts);
	workers = workers_start(opts.workers);

	/* Room first, then accept: a full queue leaves clients in the backlog. */
	while (queue_wait_for_room() && (connfd = accept_until_stop(listenfd)) >= 0)
		on_accept(connfd);

	trace("stop", listenfd, "reason=signal busy=%zu", registry_count(&busy_conns));
	queue_close();              /* idle workers leave; queued clients are closed */
	registry_stop(&busy_conns); /* busy clients are shut down */
	workers_join(workers, opts.workers);
	registry_destroy(&busy_conns);
	queue_destroy();
	Close(listenfd);
	return 0;
}
