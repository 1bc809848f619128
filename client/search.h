/*
 * search.h - loadgen --search 'p99<=1ms': the highest open-loop rate at
 * which a latency percentile stays at or under a target.
 *
 * This module is the plan and the judge, and runs nothing itself: main.c
 * asks it for the next rate, runs one open-loop step at that rate (-W then
 * -d, fresh connections), and tells it what the step measured.
 *
 * The plan: the first step at the start rate (-r, or SEARCH_START_RATE);
 * while every step meets the target, the rate doubles; after the first
 * that fails, bisection between the highest rate that met it and the
 * lowest that did not, until they are within the resolution of each other.
 * A step meets the target when it completed with no error of any kind, its
 * achieved rate is within 1% of the offered one, and its percentile is at
 * or under the target. Bounded: at most max_steps steps, none begun that
 * would end past max_time_ns, no rate above the load generator's ceiling.
 */
#ifndef SEARCH_H
#define SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEARCH_START_RATE         1000.0
#define SEARCH_DEFAULT_RESOLUTION 0.02 /* hi/lo - 1 at which bisection stops */
#define SEARCH_DEFAULT_STEPS      30
#define SEARCH_DEFAULT_TIME       "10m"
#define SEARCH_MAX_STEPS          200
/* A step's achieved rate may fall this far below the offered one. */
#define SEARCH_RATE_SLACK 0.01

/* What the target is: "p99<=1ms" is percent 99, target 1000000 ns. */
struct search_target {
	char metric[8]; /* p50, p90, p99, p999 or p9999, as written */
	double percent;
	uint64_t target_ns;
};

/* Why the search ended. */
enum search_end {
	SEARCH_RUNNING,
	SEARCH_RESOLVED,    /* met and missed within the resolution */
	SEARCH_NONE_MET,    /* the first (lowest) step missed the target */
	SEARCH_STEP_BOUND,  /* max_steps reached */
	SEARCH_TIME_BOUND,  /* another step would end past max_time_ns */
	SEARCH_RATE_BOUND,  /* doubling would pass the highest rate loadgen offers */
	SEARCH_INTERRUPTED, /* a stop signal */
};

/* One step as measured, and the verdict on it. */
struct search_step {
	double offered;    /* msgs/s asked for */
	double achieved;   /* msgs/s echoed in the measured time */
	uint64_t value_ns; /* the target's percentile; 0 when nothing was measured */
	bool measured;     /* at least one message was timed */
	uint64_t errors;   /* of every kind */
	bool complete;     /* not cut short, nothing never echoed */
	bool met;
};

struct search {
	struct search_target target;
	double start_rate, max_rate, resolution;
	long max_steps;
	uint64_t max_time_ns;
	struct search_step steps[SEARCH_MAX_STEPS];
	long count;
	long best;     /* the step at the highest rate that met the target, or -1 */
	double missed; /* the lowest rate that missed it; 0 while none has */
	enum search_end end;
};

/* Sets target's metric and percent from name ("p99"); false when name is
 * not one of p50, p90, p99, p999, p9999. (options.c parses the rest.) */
bool search_set_metric(struct search_target *target, const char *name);

void search_init(struct search *s, const struct search_target *target, double start_rate,
                 double max_rate, double resolution, long max_steps, uint64_t max_time_ns);

/* The rate of the next step, or 0 when the search has ended (s->end says
 * why). elapsed_ns: since the search began; step_ns: how long a step
 * takes, to keep within max_time_ns. */
double search_next_rate(struct search *s, uint64_t elapsed_ns, uint64_t step_ns);

/* Judges the step just run at the rate search_next_rate gave, and keeps it. */
void search_record(struct search *s, const struct search_step *step);

/* The search was stopped by a signal. */
void search_interrupt(struct search *s);

/* The rate found (the best step's offered rate), or 0 when none met it. */
double search_capacity(const struct search *s);

/* "resolution reached", "no rate met the target", ...: for the reports. */
const char *search_end_text(enum search_end end);
/* "resolved", "none-met", "steps", "time", "rate", "interrupted": for JSON. */
const char *search_end_name(enum search_end end);

#endif
