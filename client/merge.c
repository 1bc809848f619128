/*
 * merge.c - loadgen merge FILE...: the JSON reports of several runs that
 * ran together (threads, processes or hosts driving one server) as one.
 *
 * Each report carries its latency and connect histograms whole (every
 * non-empty counter, the exact count, min, max and sum: report.c), so the
 * merge is exact: the counters are added, and the percentiles are those of
 * the merged counters, as if one load generator had recorded every message.
 * Summed: messages, bytes, connections, idle connections, threads, the
 * open loop's rate, every error and datagram count, connects, unsent, down,
 * and the client CPU (in cores). The start (started_s) is the earliest run's.
 * The measured time is the longest run's, so
 * messages per second is the sum of the runs' when they ran side by side
 * for the same time; complete only if every run was. The server's figures
 * are not merged (each run sampled the same server): null.
 *
 * Runs that do not belong together are refused, naming the field: a
 * different mode, message size, pipeline or transport (exit 2); so is a
 * file that is not a loadgen JSON report with its histograms. The exit
 * status is otherwise a run's: 0, or 1 when the merged run has errors or
 * is incomplete.
 */
#include "merge.h"

#include "json.h"
#include "options.h"
#include "report.h"
#include "worker.h"
#include "wrap.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORT_BYTES (16 * 1024 * 1024)

/* One report, as read. */
struct run_report {
	char mode[16], transport[8];
	double size, pipeline, connections, idle, threads, rate, duration_s, warmup_s, client_cpu;
	double started_s;
	double messages, connects, unsent, down;
	double errors[ERROR_KINDS];
	double lost, duplicated, reordered, late;
	bool complete, seen_mode, seen_duration;
	/* The two histograms, counters added as their buckets are read. */
	struct histogram *hist[2];
	double hist_count[2], hist_min[2], hist_max[2], hist_sum[2];
	bool hist_seen[2];
	uint64_t pending_upper[2];
	const char *bad; /* the first thing that was wrong, or NULL */
};

static const char *const hist_names[2] = { "latency_histogram", "connect_histogram" };

static void merge_usage(FILE *out)
{
	fprintf(out,
	        "Usage: %s merge [--format human|csv|json] FILE...\n"
	        "Merges the --format json reports of runs that ran together (several\n"
	        "threads, processes or hosts driving one server) into one report:\n"
	        "messages and errors summed, percentiles from the merged histograms.\n"
	        "Runs of a different mode, size, pipeline or transport are refused (exit 2).\n",
	        prog_name);
}

static void merge_fail(const char *file, const char *what) __attribute__((noreturn));

static void merge_fail(const char *file, const char *what)
{
	err_msg("merge: %s: %s", file, what);
	exit(2);
}

/* The number in value, or -1 for null (a figure that was not taken). */
static double number(const char *value)
{
	return strcmp(value, "null") == 0 ? -1 : strtod(value, NULL);
}

/* A histogram scalar: "count", "min_ns", ... or "buckets.N.0|1". */
static void on_histogram(struct run_report *rr, int k, const char *key, const char *value)
{
	struct {
		const char *key;
		double *to;
	} numbers[] = { { "count", &rr->hist_count[k] },
		        { "min_ns", &rr->hist_min[k] },
		        { "max_ns", &rr->hist_max[k] },
		        { "sum_ns", &rr->hist_sum[k] } };
	const char *field;

	rr->hist_seen[k] = true;
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (strcmp(key, numbers[i].key) == 0) {
			*numbers[i].to = number(value);
			return;
		}
	if (strncmp(key, "buckets.", 8) == 0 && (field = strrchr(key, '.')) != NULL) {
		if (strcmp(field, ".0") == 0)
			rr->pending_upper[k] = strtoull(value, NULL, 10);
		else
			histogram_add_to_counter(rr->hist[k], rr->pending_upper[k],
			                         strtoull(value, NULL, 10));
	}
}

/* Where each scalar of a report goes (json_walk's callback). */
static void on_scalar(const char *path, const char *value, void *ctx)
{
	struct run_report *rr = ctx;
	struct {
		const char *path;
		double *to;
	} numbers[] = {
		{ "size", &rr->size },
		{ "pipeline", &rr->pipeline },
		{ "connections", &rr->connections },
		{ "idle", &rr->idle },
		{ "threads", &rr->threads },
		{ "rate", &rr->rate },
		{ "duration_s", &rr->duration_s },
		{ "warmup_s", &rr->warmup_s },
		{ "started_s", &rr->started_s },
		{ "client_cpu", &rr->client_cpu },
		{ "messages", &rr->messages },
		{ "connects", &rr->connects },
		{ "unsent", &rr->unsent },
		{ "down", &rr->down },
		{ "errors.connect", &rr->errors[ERROR_CONNECT] },
		{ "errors.mismatch", &rr->errors[ERROR_MISMATCH] },
		{ "errors.reset", &rr->errors[ERROR_RESET] },
		{ "errors.timeout", &rr->errors[ERROR_TIMEOUT] },
		{ "datagrams.lost", &rr->lost },
		{ "datagrams.duplicated", &rr->duplicated },
		{ "datagrams.reordered", &rr->reordered },
		{ "datagrams.late", &rr->late },
	};

	for (int k = 0; k < 2; k++) {
		size_t n = strlen(hist_names[k]);

		if (strncmp(path, hist_names[k], n) == 0 && path[n] == '.') {
			on_histogram(rr, k, path + n + 1, value);
			return;
		}
	}
	if (strcmp(path, "mode") == 0) {
		snprintf(rr->mode, sizeof rr->mode, "%s", value);
		rr->seen_mode = true;
	} else if (strcmp(path, "transport") == 0) {
		snprintf(rr->transport, sizeof rr->transport, "%s", value);
	} else if (strcmp(path, "complete") == 0) {
		rr->complete = strcmp(value, "true") == 0;
	}
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
		if (strcmp(path, numbers[i].path) == 0) {
			*numbers[i].to = number(value);
			rr->seen_duration |= numbers[i].to == &rr->duration_s;
		}
}

/* The whole file, NUL-terminated. */
static char *read_file(const char *path)
{
	FILE *in = fopen(path, "r");
	char *text;
	size_t len;

	if (in == NULL) {
		err_ret("merge: cannot read %s", path);
		exit(2);
	}
	text = Malloc(MAX_REPORT_BYTES + 1);
	len = fread(text, 1, MAX_REPORT_BYTES, in);
	if (ferror(in) || !feof(in))
		merge_fail(path, "cannot read it whole (16 MiB at most)");
	fclose(in);
	text[len] = '\0';
	return text;
}

/* Each histogram's counters must add up to its count; then its exact
 * count, extremes and sum are set from the report. */
static void finish_histograms(struct run_report *rr, const char *path)
{
	for (int k = 0; k < 2; k++) {
		struct histogram *h = rr->hist[k];
		uint64_t total = 0;

		if (!rr->hist_seen[k])
			merge_fail(path, "no histograms: a report of loadgen --format json from "
			                 "this version is needed");
		for (unsigned i = 0; i < HISTOGRAM_COUNTERS; i++)
			total += h->counts[i];
		if ((double)total != rr->hist_count[k])
			merge_fail(path, "a histogram's buckets do not add up to its count");
		h->count = total;
		if (total > 0) {
			h->min_ns = (uint64_t)rr->hist_min[k];
			h->max_ns = (uint64_t)rr->hist_max[k];
			h->sum_ns = rr->hist_sum[k];
		}
	}
}

static void read_report(const char *path, struct run_report *rr)
{
	char *text = read_file(path);

	*rr = (struct run_report){ 0 };
	rr->hist[0] = histogram_new();
	rr->hist[1] = histogram_new();
	if (json_walk(text, on_scalar, rr) < 0 || !rr->seen_mode || !rr->seen_duration)
		merge_fail(path, "not a loadgen JSON report");
	free(text);
	finish_histograms(rr, path);
}

/* The fields that must be equal for runs to be merged. */
static void check_belongs(const struct run_report *first, const char *first_path,
                          const struct run_report *rr, const char *path)
{
	char why[256];

	if (strcmp(rr->mode, first->mode) != 0)
		snprintf(why, sizeof why, "mode %s differs from %s in %s", rr->mode, first->mode,
		         first_path);
	else if (rr->size != first->size)
		snprintf(why, sizeof why, "size %.0f differs from %.0f in %s", rr->size,
		         first->size, first_path);
	else if (rr->pipeline != first->pipeline)
		snprintf(why, sizeof why, "pipeline %.0f differs from %.0f in %s", rr->pipeline,
		         first->pipeline, first_path);
	else if (strcmp(rr->transport, first->transport) != 0)
		snprintf(why, sizeof why, "transport %s differs from %s in %s", rr->transport,
		         first->transport, first_path);
	else
		return;
	merge_fail(path, why);
}

static double max_of(double a, double b)
{
	return a > b ? a : b;
}

/* Adds rr into the merged options, stats and report. */
static void add_run(const struct run_report *rr, struct options *opts, struct worker_stats *stats,
                    struct report *r, double *cpu_s)
{
	opts->connections += (long)rr->connections;
	opts->idle += (long)rr->idle;
	opts->threads += (long)rr->threads;
	opts->rate_per_s += rr->rate;
	stats->messages += (uint64_t)rr->messages;
	stats->connects += (uint64_t)rr->connects;
	stats->unsent += (uint64_t)rr->unsent;
	stats->down += (uint64_t)rr->down;
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		stats->errors[kind] += (uint64_t)rr->errors[kind];
	stats->datagrams.lost += (uint64_t)max_of(rr->lost, 0);
	stats->datagrams.duplicated += (uint64_t)max_of(rr->duplicated, 0);
	stats->datagrams.reordered += (uint64_t)max_of(rr->reordered, 0);
	stats->datagrams.late += (uint64_t)max_of(rr->late, 0);
	histogram_merge(stats->latency, rr->hist[0]);
	histogram_merge(stats->connect_latency, rr->hist[1]);
	r->duration_s = max_of(r->duration_s, rr->duration_s);
	r->warmup_s = max_of(r->warmup_s, rr->warmup_s);
	/* The merged run began when the first of them did (--start-at: all at once). */
	if (rr->started_s > 0 && (r->started_s == 0 || rr->started_s < r->started_s))
		r->started_s = rr->started_s;
	*cpu_s += max_of(rr->client_cpu, 0) * rr->duration_s;
	r->complete = r->complete && rr->complete;
}

/* The merged run's shape, from the first report. */
static void shape_from(const struct run_report *first, struct options *opts)
{
	opts->size_bytes = (uint64_t)first->size;
	opts->pipeline = (long)first->pipeline;
	opts->churn = strcmp(first->mode, "churn") == 0;
	opts->transport = strcmp(first->transport, "unix") == 0  ? TRANSPORT_UNIX
	                  : strcmp(first->transport, "udp") == 0 ? TRANSPORT_UDP
	                                                         : TRANSPORT_TCP;
}

static enum output_format parse_merge_format(const char *text)
{
	enum output_format format;

	if (!options_format_named(text, &format)) {
		err_msg("merge: --format: unknown format '%s' (use human, csv or json)", text);
		merge_usage(stderr);
		exit(2);
	}
	return format;
}

int merge_main(int argc, char **argv)
{
	static const struct option longopts[] = { { "format", required_argument, NULL, 'f' },
		                                  { "help", no_argument, NULL, 'h' },
		                                  { NULL, 0, NULL, 0 } };
	struct options opts = { .format = FORMAT_HUMAN };
	struct worker_stats stats;
	struct report r = { .opts = &opts, .stats = &stats, .complete = true };
	struct run_report first, rr;
	double cpu_s = 0;
	int c, status;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'f') {
			opts.format = parse_merge_format(optarg);
		} else if (c == 'h') {
			merge_usage(stdout);
			exit(0);
		} else {
			err_msg("merge: unknown option '%s'", argv[optind - 1]);
			merge_usage(stderr);
			exit(2);
		}
	}
	if (optind >= argc) {
		err_msg("merge: no report to merge");
		merge_usage(stderr);
		exit(2);
	}
	stats_init(&stats);
	read_report(argv[optind], &first);
	shape_from(&first, &opts);
	for (int i = optind; i < argc; i++) {
		const struct run_report *this = &first;

		if (i > optind) {
			read_report(argv[i], &rr);
			check_belongs(&first, argv[optind], &rr, argv[i]);
			this = &rr;
		}
		add_run(this, &opts, &stats, &r, &cpu_s);
		r.merged_runs++;
		if (i > optind)
			for (int k = 0; k < 2; k++)
				histogram_free(rr.hist[k]);
	}
	r.cpu_s = cpu_s;
	r.cpu_window_s = r.duration_s;
	report_print(&r, stdout);
	status = report_exit_status(&r);
	for (int k = 0; k < 2; k++)
		histogram_free(first.hist[k]);
	stats_destroy(&stats);
	return status;
}
