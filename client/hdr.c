/*
 * hdr.c - HdrHistogram's percentile-distribution text (see hdr.h).
 *
 * The reporting levels are HdrHistogram's: from level L (percent) the next
 * is L + 100 / (5 * 2^(floor(log2(100 / (100 - L))) + 1)), so the steps
 * halve each time half of the remaining distance to 100% is covered. The
 * counters are walked in order; a counter whose cumulative count reaches a
 * level reports it (one line, the counter's value), and the last counter
 * reports one level and then 100%, as HdrHistogram's iterator does.
 */
#include "hdr.h"

#include <math.h>

#define TICKS_PER_HALF_DISTANCE 5
#define NS_PER_MS               1e6

static double next_level(double level)
{
	double halvings = floor(log2(100.0 / (100.0 - level)));

	return level + 100.0 / (TICKS_PER_HALF_DISTANCE * pow(2.0, halvings + 1.0));
}

/* What counter i stands for, in milliseconds: its top, capped at the max. */
static double value_ms(const struct histogram *h, unsigned i)
{
	uint64_t upper_ns = histogram_upper_ns(i);

	return (double)(upper_ns < h->max_ns ? upper_ns : h->max_ns) / NS_PER_MS;
}

/* The standard deviation from the counters, each counted at its top. */
static double stddev_ns(const struct histogram *h)
{
	double mean = histogram_mean_ns(h), sum = 0;

	for (unsigned i = 0; i < HISTOGRAM_COUNTERS; i++)
		if (h->counts[i] > 0) {
			double d = (double)histogram_upper_ns(i) - mean;

			sum += d * d * (double)h->counts[i];
		}
	return h->count > 0 ? sqrt(sum / (double)h->count) : 0;
}

static void write_levels(const struct histogram *h, FILE *out)
{
	double level = 0;
	uint64_t seen = 0;

	for (unsigned i = 0; i < HISTOGRAM_COUNTERS && seen < h->count; i++) {
		if (h->counts[i] == 0)
			continue;
		seen += h->counts[i];
		while (100.0 * (double)seen / (double)h->count >= level) {
			fprintf(out, "%12.6f %2.12f %10llu %14.2f\n", value_ms(h, i), level / 100.0,
			        (unsigned long long)seen, 1.0 / (1.0 - level / 100.0));
			level = next_level(level);
			if (seen == h->count)
				break;
		}
		if (seen == h->count)
			fprintf(out, "%12.6f %2.12f %10llu\n", value_ms(h, i), 1.0,
			        (unsigned long long)seen);
	}
}

int hdr_write(const struct histogram *h, FILE *out)
{
	fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
	        "1/(1-Percentile)");
	write_levels(h, out);
	fprintf(out, "#[Mean    = %12.6f, StdDeviation   = %12.6f]\n",
	        histogram_mean_ns(h) / NS_PER_MS, stddev_ns(h) / NS_PER_MS);
	fprintf(out, "#[Max     = %12.6f, Total count    = %12llu]\n",
	        (double)h->max_ns / NS_PER_MS, (unsigned long long)h->count);
	fprintf(out, "#[Buckets = %12d, SubBuckets     = %12u]\n",
	        HISTOGRAM_TOP_BITS - HISTOGRAM_SUB_BITS + 1, HISTOGRAM_SUB_COUNT);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
