/*
 * interval.c - the interval lines of loadgen --interval (interval.h).
 */
#include "interval.h"

#include "histogram.h"

#include "wrap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

struct interval_slot {
	pthread_mutex_t lock; /* the worker records, main empties */
	struct histogram *latency;
	uint64_t errors;
};

#define CSV_HEADER "time_s,interval_s,rate,messages,msgs_per_s,p50_us,p99_us,max_us,errors"

struct interval_log {
	FILE *out;
	bool csv;
	double rate;
	int64_t start_ns; /* the measured time began */
	int64_t last_ns;  /* the previous line's end */
	struct histogram *merged;
};

struct interval_slot *interval_slot_new(void)
{
	struct interval_slot *slot = Calloc(1, sizeof *slot);

	pthread_mutex_init(&slot->lock, NULL);
	slot->latency = histogram_new();
	return slot;
}

void interval_slot_free(struct interval_slot *slot)
{
	if (slot == NULL)
		return;
	histogram_free(slot->latency);
	pthread_mutex_destroy(&slot->lock);
	free(slot);
}

void interval_slot_record(struct interval_slot *slot, uint64_t latency_ns)
{
	Pthread_mutex_lock(&slot->lock);
	histogram_record(slot->latency, latency_ns);
	Pthread_mutex_unlock(&slot->lock);
}

void interval_slot_error(struct interval_slot *slot, uint64_t count)
{
	Pthread_mutex_lock(&slot->lock);
	slot->errors += count;
	Pthread_mutex_unlock(&slot->lock);
}

struct interval_log *interval_log_new(FILE *out, bool csv, double rate, int64_t start_ns)
{
	struct interval_log *log = Calloc(1, sizeof *log);

	*log = (struct interval_log){
		.out = out, .csv = csv, .rate = rate, .start_ns = start_ns, .last_ns = start_ns
	};
	/* One header per file, however many runs (--search steps) write to it;
	 * a file already written to has one. */
	if (csv && ftell(out) <= 0)
		fputs(CSV_HEADER "\n", out);
	log->merged = histogram_new();
	return log;
}

void interval_log_free(struct interval_log *log)
{
	if (log == NULL)
		return;
	histogram_free(log->merged);
	free(log);
}

/* Moves what the slot holds into the log's histogram; returns its errors. */
static uint64_t slot_take(struct interval_slot *slot, struct histogram *into)
{
	uint64_t errors;

	Pthread_mutex_lock(&slot->lock);
	histogram_merge(into, slot->latency);
	histogram_reset(slot->latency);
	errors = slot->errors;
	slot->errors = 0;
	Pthread_mutex_unlock(&slot->lock);
	return errors;
}

/* ,"name":12.3 (JSON) or ,12.3 (CSV) in microseconds; null, or an empty
 * cell, when nothing was measured. */
static void print_us(const struct interval_log *log, const char *name, const struct histogram *h,
                     uint64_t ns)
{
	if (!log->csv)
		fprintf(log->out, ",\"%s\":", name);
	else
		fputc(',', log->out);
	if (h->count > 0)
		fprintf(log->out, "%.1f", (double)ns / 1e3);
	else if (!log->csv)
		fputs("null", log->out);
}

void interval_log_write(struct interval_log *log, struct interval_slot *const *slots, long count,
                        int64_t end_ns)
{
	struct histogram *h = log->merged;
	double length_s = (double)(end_ns - log->last_ns) / 1e9;
	uint64_t errors = 0;

	histogram_reset(h);
	for (long i = 0; i < count; i++)
		errors += slot_take(slots[i], h);
	fprintf(log->out,
	        log->csv
	            ? "%.3f,%.3f,%.10g,%" PRIu64 ",%.1f"
	            : "{\"time_s\":%.3f,\"interval_s\":%.3f,\"rate\":%.10g,\"messages\":%" PRIu64
	              ",\"msgs_per_s\":%.1f",
	        (double)(end_ns - log->start_ns) / 1e9, length_s, log->rate, h->count,
	        length_s > 0 ? (double)h->count / length_s : 0.0);
	print_us(log, "p50_us", h, histogram_percentile_ns(h, 50));
	print_us(log, "p99_us", h, histogram_percentile_ns(h, 99));
	print_us(log, "max_us", h, h->max_ns);
	fprintf(log->out, log->csv ? ",%" PRIu64 "\n" : ",\"errors\":%" PRIu64 "}\n", errors);
	fflush(log->out);
	log->last_ns = end_ns;
}
