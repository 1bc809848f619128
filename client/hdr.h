/*
 * hdr.h - the latency histogram in HdrHistogram's percentile-distribution
 * text format (loadgen --hdr FILE), for its plotter and the tools that read
 * wrk2's --latency output.
 *
 * The format: a header line ("Value Percentile TotalCount
 * 1/(1-Percentile)") and a blank line, then one line per reporting level,
 * the levels as HdrHistogram's percentile iteration places them (five
 * ticks per half distance to 100%: 0, 10, ... 50, 55, ... 75, 77.5, ...),
 * then "#[Mean = ..., StdDeviation = ...]", "#[Max = ..., Total count = ...]"
 * and "#[Buckets = ..., SubBuckets = ...]". Values are in milliseconds (the
 * unit wrk2 prints) with six decimals, so no nanosecond is rounded away; a
 * level's value is the top of the counter the level falls in, capped at the
 * maximum, as histogram_percentile_ns gives it.
 */
#ifndef HDR_H
#define HDR_H

#include "histogram.h"

#include <stdio.h>

/* Writes h to out. Returns 0, or -1 with errno set when the write failed. */
int hdr_write(const struct histogram *h, FILE *out);

#endif
