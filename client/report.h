/*
 * report.h - the result of a run, printed as a human summary, one JSON
 * object, or a CSV header and row. JSON and CSV are written from one list
 * of fields, so they always carry the same fields in the same order.
 */
#ifndef REPORT_H
#define REPORT_H

#include "options.h"
#include "search.h"
#include "server_sample.h"
#include "worker.h"

#include <stdbool.h>
#include <stdio.h>

struct report {
	const struct options *opts;
	const struct worker_stats *stats; /* merged over every worker */
	double started_s;    /* when the traffic began: seconds since 1970; 0 if never */
	double warmup_s;     /* warm-up actually run */
	double duration_s;   /* measured time actually run */
	double cpu_s;        /* client CPU time (user + system) in it */
	double cpu_window_s; /* the wall-clock time cpu_s was taken over */
	/* --server-pid: the server's figures over the measured time; NULL
	 * without the option. A figure not taken is marked invalid in it. */
	const struct server_figures *server;
	/* --search: the steps and the rate found; the rest of the report is
	 * the step at that rate (or the first step, when none met the target). */
	const struct search *search;
	bool complete;
	int signo;       /* the signal that cut the run short, or 0 */
	int merged_runs; /* loadgen merge: how many reports; 0 for a run */
};

void report_print(const struct report *r, FILE *out);
/* loadgen's exit status for the run: 128 + the signal that cut it short;
 * with --search 1 when no rate met the target, else 0; without, 1 with any
 * error or an incomplete run, else 0. */
int report_exit_status(const struct report *r);
/* The first error of each kind, one line each, for stderr (the human
 * summary shows them itself). */
void report_print_error_details(const struct report *r, FILE *out);

#endif
