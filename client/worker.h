/*
 * worker.h - one client thread: its share of the connections, its epoll
 * loop, its counters and histograms. main.c starts the workers, gives them
 * the run's timeline, and merges what they measured.
 */
#ifndef WORKER_H
#define WORKER_H

#include "histogram.h"
#include "interval.h"
#include "options.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* After the measured time, messages still in flight get this long to come
 * back, counted from when their worker stopped sending (a worker scheduled
 * late still gives them all of it); those that do not are timeouts. */
#define DRAIN_TIMEOUT_NS 1000000000ll

/* What main and every worker share. The times are written by main before
 * it sets started (under lock) and only read after, so they need no lock. */
struct run {
	const struct options *opts;
	pthread_mutex_t lock;
	pthread_cond_t started_cond;
	pthread_cond_t end_marked_cond;
	long ready_workers; /* finished opening their connections */
	long done_workers;  /* finished the run */
	bool started;
	bool end_marked;          /* main has sampled the end of the measured time */
	int64_t start_ns;         /* CLOCK_MONOTONIC: warm-up begins, traffic starts */
	int64_t measure_start_ns; /* warm-up ends */
	int64_t measure_end_ns;   /* sending stops */
	atomic_bool stop;         /* interrupted: every worker finishes at once */
	int stop_fd;              /* eventfd, readable once stop is set: wakes every epoll */
	int notify_fd;            /* eventfd a worker writes when it is ready or done */
	struct interval_slot **interval_slots; /* --interval: one per worker; else NULL */
};

enum error_kind {
	ERROR_CONNECT,  /* a connect refused, failed or timed out */
	ERROR_MISMATCH, /* an echoed message differed from the one sent */
	ERROR_RESET,    /* a connection closed or reset by the server */
	ERROR_TIMEOUT,  /* a message not echoed within DRAIN_TIMEOUT_NS after the run */
	ERROR_KINDS,
};

#define ERROR_DETAIL_BYTES 160

/* --udp: what became of the datagrams, over the whole run. A lost one is
 * also a timeout error; the others are not errors (UDP may duplicate and
 * reorder), and a corrupted one is a mismatch. */
struct datagram_counts {
	uint64_t lost;       /* not echoed within --loss-timeout */
	uint64_t duplicated; /* a second echo of one already back */
	uint64_t reordered;  /* came back after a later one of its connection */
	uint64_t late;       /* came back after it was counted lost */
};

struct worker_stats {
	uint64_t messages;            /* echoed intact, completed in the measured time */
	uint64_t connects;            /* connections established in the measured time */
	uint64_t unsent;              /* open loop: due by the end but never sent */
	uint64_t down;                /* connections broken and not reopened at the end */
	uint64_t errors[ERROR_KINDS]; /* over the whole run, warm-up included */
	char first_error[ERROR_KINDS][ERROR_DETAIL_BYTES]; /* "" when none */
	struct datagram_counts datagrams;                  /* --udp */
	struct histogram *latency;                         /* message latency, measured time only */
	struct histogram *connect_latency;                 /* connect latency, measured time only */
};

/* Now on CLOCK_MONOTONIC, in nanoseconds: a vDSO call, no system call. */
static inline int64_t clock_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

struct worker;

/* Creates worker number index of opts->threads and starts its thread. */
struct worker *worker_start(struct run *run, long index);
/* Waits for the thread and returns what it measured (owned by the worker). */
const struct worker_stats *worker_join(struct worker *w);
void worker_free(struct worker *w);
/* For the live progress line: may be read while the worker runs. */
uint64_t worker_progress_echoes(const struct worker *w); /* intact, any phase */
uint64_t worker_progress_errors(const struct worker *w);

void stats_init(struct worker_stats *stats);
void stats_merge(struct worker_stats *dst, const struct worker_stats *src);
void stats_destroy(struct worker_stats *stats);

#endif
