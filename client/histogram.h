/*
 * histogram.h - a log-linear latency histogram, one per worker thread,
 * merged at the end of the run.
 *
 * Values are nanoseconds. Every value from 1 us to 60 s is kept to 3
 * significant digits (a relative error below 1/1024); under 2048 ns each
 * nanosecond has its own counter. A value above 60 s is counted at 60 s.
 * The exact minimum, maximum and sum are kept beside the counters, so min,
 * max and mean are exact; only percentiles are rounded, and always upwards:
 * a reported p99 is never below the true one, and at most 0.1% above it.
 * The same idea as HdrHistogram (Gil Tene) and wrk's stats.c, written from
 * their description, not their code.
 *
 * What a recorded latency means (worker.c takes the times):
 *
 * - It ends when the last byte of the echo has been read and checked, and
 *   starts when the message became due: in the closed loop (default), when
 *   it might be sent (the run began, or the echo -P messages before it came
 *   back); in the open loop (-r), at its intended time on a fixed schedule;
 *   with --churn, the connect is inside it (the close is not). Connect
 *   latency, recorded apart: connect() to the socket reporting writable.
 * - Corrected for coordinated omission: in the open loop only. A message is
 *   timed from its intended send time even when the connection could not
 *   send it then, so a 1 s stall of the server shows as a second's worth of
 *   slow messages. Nothing is invented afterwards (no HdrHistogram-style
 *   back-filling of "missing" samples).
 * - Not corrected in the closed loop: while the server stalls the client
 *   sends nothing, so a stall is one slow sample per message in flight, and
 *   the percentiles describe the messages that were sent, not those a
 *   steady stream of users would have sent. Use -r to see stalls.
 * - Included: the client's own delay in noticing an echo (its epoll wake-up,
 *   other connections handled first), a message's wait for room in a full
 *   socket, and after a failed connection the reconnect and the resend.
 * - Left out: wrong echoes (errors, not latencies); messages completed in
 *   the warm-up or after the measured time; messages never echoed (counted
 *   as timeouts). Every echo completed by one read(2) shares that read's
 *   time: the clock (CLOCK_MONOTONIC) is read once per read.
 */
#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>

/* 2048 counters for the first 2048 ns, then 1024 for every power of two
 * above: the 10 bits after a value's leading 1 are kept (3 decimal digits). */
#define HISTOGRAM_SUB_BITS   11
#define HISTOGRAM_SUB_COUNT  (1u << HISTOGRAM_SUB_BITS)
#define HISTOGRAM_HALF_COUNT (HISTOGRAM_SUB_COUNT / 2)
#define HISTOGRAM_MAX_NS     60000000000ull /* 60 s, below 2^36 ns */
#define HISTOGRAM_TOP_BITS   36
#define HISTOGRAM_COUNTERS                                                                         \
	(HISTOGRAM_SUB_COUNT + (HISTOGRAM_TOP_BITS - HISTOGRAM_SUB_BITS) * HISTOGRAM_HALF_COUNT)

struct histogram {
	uint64_t count;  /* values recorded */
	uint64_t min_ns; /* exact; UINT64_MAX while empty */
	uint64_t max_ns; /* exact, even above 60 s */
	double sum_ns;   /* for the mean: a double keeps 15 digits of any run's sum */
	uint64_t counts[HISTOGRAM_COUNTERS];
};

/* About 220 KiB each: allocate them, never put one on a thread's stack. */
struct histogram *histogram_new(void);
void histogram_free(struct histogram *h);
/* Empties h, as new. */
void histogram_reset(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t value_ns);
/* Adds every value recorded in src to dst. */
void histogram_merge(struct histogram *dst, const struct histogram *src);
/* The value below or at which percent% of the recorded values lie, rounded
 * up to the top of its counter's range and capped at the maximum. 0 when
 * the histogram is empty. */
uint64_t histogram_percentile_ns(const struct histogram *h, double percent);
/* 0 when the histogram is empty. */
double histogram_mean_ns(const struct histogram *h);
/* Adds n to the counter value_ns lands in, and nothing else: for reading a
 * histogram back from its counters (merge.c), whose count, extremes and
 * sum are then set from the same report. */
void histogram_add_to_counter(struct histogram *h, uint64_t value_ns, uint64_t n);
/* The largest value that lands in counter index (0..HISTOGRAM_COUNTERS-1):
 * what a counter stands for when the histogram is written out. */
uint64_t histogram_upper_ns(unsigned index);

#endif
