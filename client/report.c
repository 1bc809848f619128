/*
 * report.c - printing a run's result: human, json or csv.
 *
 * Units: latencies are reported in microseconds with one decimal (the
 * histogram keeps nanoseconds), rates per second of measured time, sizes in
 * bytes, client_cpu as a fraction of one core (2.0 = two cores busy).
 * A figure that does not exist - the latency of zero messages, a rate over
 * zero seconds, a server figure without --server-pid or one that could not
 * be taken - is null in JSON and an empty cell in CSV, never a zero.
 */
#include "report.h"

#include "wrap.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#define MAX_FIELDS 64 /* report_fields adds 49, and 5 with --search */

static const char *const error_names[ERROR_KINDS] = { "connect", "mismatch", "reset", "timeout" };

enum field_type {
	FIELD_TEXT,
	FIELD_COUNT,
	FIELD_REAL,
	FIELD_BOOL,
	FIELD_NULL,
	FIELD_STEPS, /* --search's steps: an array in JSON, their number in CSV */
};

struct field {
	const char *group; /* the JSON object it is in (NULL: top level); CSV prefix */
	const char *name;
	enum field_type type;
	const char *text;
	uint64_t count;
	double real;
	int decimals; /* FIELD_REAL: digits after the point, -1 for up to 10 significant */
	bool flag;
	const struct search *search; /* FIELD_STEPS */
};

struct field_list {
	struct field items[MAX_FIELDS];
	size_t count;
	const char *group; /* applied to the fields added */
};

static struct field *field_add(struct field_list *list, const char *name, enum field_type type)
{
	struct field *f = &list->items[list->count++];

	*f = (struct field){ .group = list->group, .name = name, .type = type };
	return f;
}

static void field_text(struct field_list *list, const char *name, const char *text)
{
	field_add(list, name, FIELD_TEXT)->text = text;
}

static void field_count(struct field_list *list, const char *name, uint64_t count)
{
	field_add(list, name, FIELD_COUNT)->count = count;
}

/* A count, or null when it does not exist. */
static void field_count_if(struct field_list *list, const char *name, bool exists, uint64_t count)
{
	field_add(list, name, exists ? FIELD_COUNT : FIELD_NULL)->count = count;
}

/* A real number, or null when it does not exist. */
static void field_real(struct field_list *list, const char *name, bool exists, double real,
                       int decimals)
{
	struct field *f = field_add(list, name, exists ? FIELD_REAL : FIELD_NULL);

	f->real = real;
	f->decimals = decimals;
}

static void field_bool(struct field_list *list, const char *name, bool flag)
{
	field_add(list, name, FIELD_BOOL)->flag = flag;
}

static double ns_to_us(double ns)
{
	return ns / 1000.0;
}

/* min, p50, p90, p99, p999, max, mean in microseconds (the contract's
 * order), with p9999 (p99.99) beside p999 for the tail charts. */
static void field_latency(struct field_list *list, const char *group, const struct histogram *h)
{
	static const struct {
		const char *name;
		double percent;
	} percentiles[] = {
		{ "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "p9999", 99.99 },
	};
	bool exists = h->count > 0;

	list->group = group;
	field_real(list, "min", exists, ns_to_us((double)h->min_ns), 1);
	for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
		field_real(list, percentiles[i].name, exists,
		           ns_to_us((double)histogram_percentile_ns(h, percentiles[i].percent)), 1);
	field_real(list, "max", exists, ns_to_us((double)h->max_ns), 1);
	field_real(list, "mean", exists, ns_to_us(histogram_mean_ns(h)), 1);
	list->group = NULL;
}

/* The server's figures (--server-pid), always present: null without the
 * option, and each one null when it could not be taken. */
static void field_server(struct field_list *list, const struct report *r)
{
	static const struct server_figures none = { 0 };
	const struct server_figures *f = r->server != NULL ? r->server : &none;
	double messages = (double)r->stats->messages;
	bool per_msg = messages > 0;

	field_real(list, "server_cpu_s", f->cpu_valid, (double)f->cpu_ns / 1e9, 6);
	field_real(list, "server_us_per_msg", f->cpu_valid && per_msg,
	           (double)f->cpu_ns / 1e3 / messages, 3);
	field_count_if(list, "server_rss_kib", f->counts_valid, f->rss_kib);
	field_count_if(list, "server_pss_kib", f->pss_valid, f->pss_kib);
	field_count_if(list, "server_procs", f->counts_valid, f->procs);
	field_count_if(list, "server_threads", f->counts_valid, f->threads);
	field_real(list, "server_ctx_switches_per_msg", f->switches_valid && per_msg,
	           (double)f->ctx_switches / messages, 3);
}

/* --udp: what became of the datagrams; null for a stream. */
static void field_datagrams(struct field_list *list, const struct report *r)
{
	const struct datagram_counts *d = &r->stats->datagrams;
	bool udp = r->opts->transport == TRANSPORT_UDP;

	list->group = "datagrams";
	field_count_if(list, "lost", udp, d->lost);
	field_count_if(list, "duplicated", udp, d->duplicated);
	field_count_if(list, "reordered", udp, d->reordered);
	field_count_if(list, "late", udp, d->late);
	list->group = NULL;
}

/* --search: capacity {metric, target_us, msgs_per_s, ended_by, steps}. */
static void field_capacity(struct field_list *list, const struct search *search)
{
	double found = search_capacity(search);

	list->group = "capacity";
	field_text(list, "metric", search->target.metric);
	field_real(list, "target_us", true, ns_to_us((double)search->target.target_ns), 1);
	field_real(list, "msgs_per_s", found > 0, found, -1);
	field_text(list, "ended_by", search_end_name(search->end));
	field_add(list, "steps", FIELD_STEPS)->search = search;
	list->group = NULL;
}

static void report_fields(const struct report *r, struct field_list *list)
{
	const struct options *opts = r->opts;
	const struct worker_stats *stats = r->stats;
	uint64_t bytes = stats->messages * opts->size_bytes;
	bool timed = r->duration_s > 0;

	list->count = 0;
	list->group = NULL;
	field_text(list, "mode", options_mode(opts));
	field_count(list, "connections", (uint64_t)opts->connections);
	field_count(list, "idle", (uint64_t)opts->idle);
	field_count(list, "threads", (uint64_t)opts->threads);
	field_count(list, "size", opts->size_bytes);
	field_count(list, "pipeline", (uint64_t)opts->pipeline);
	field_real(list, "rate", true, opts->rate_per_s, -1);
	field_real(list, "duration_s", true, r->duration_s, 3);
	field_count(list, "messages", stats->messages);
	field_count(list, "bytes", bytes);
	field_real(list, "msgs_per_s", timed, (double)stats->messages / r->duration_s, 1);
	field_real(list, "mib_per_s", timed, (double)bytes / 1048576.0 / r->duration_s, 3);
	field_latency(list, "latency_us", stats->latency);
	list->group = "errors";
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		field_count(list, error_names[kind], stats->errors[kind]);
	list->group = NULL;
	field_real(list, "client_cpu", r->cpu_window_s > 0, r->cpu_s / r->cpu_window_s, 3);
	field_bool(list, "complete", r->complete);
	/* Beyond the contract's keys. */
	field_real(list, "warmup_s", true, r->warmup_s, 3);
	field_count(list, "connects", stats->connects);
	field_real(list, "conns_per_s", timed, (double)stats->connects / r->duration_s, 1);
	field_latency(list, "connect_latency_us", stats->connect_latency);
	field_count(list, "unsent", stats->unsent);
	field_count(list, "down", stats->down);
	field_real(list, "client_cpu_us_per_msg", stats->messages > 0,
	           r->cpu_s * 1e6 / (double)stats->messages, 3);
	field_server(list, r);
	field_text(list, "transport", options_transport(opts));
	field_datagrams(list, r);
	field_count_if(list, "max_in_flight", opts->max_in_flight > 0,
	               (uint64_t)opts->max_in_flight);
	field_real(list, "started_s", r->started_s > 0, r->started_s, 3);
	if (r->search != NULL)
		field_capacity(list, r->search);
}

/* [{"rate":1000,"achieved":999.8,"p99_us":85.2,"errors":0,"complete":true,
 * "met":true},...]: every step of the search, in the order run. */
static void search_print_steps_json(const struct search *search, FILE *out)
{
	fputc('[', out);
	for (long i = 0; i < search->count; i++) {
		const struct search_step *step = &search->steps[i];

		fprintf(out, "%s{\"rate\":%.10g,\"achieved\":%.1f,\"%s_us\":", i ? "," : "",
		        step->offered, step->achieved, search->target.metric);
		if (step->measured)
			fprintf(out, "%.1f", ns_to_us((double)step->value_ns));
		else
			fputs("null", out);
		fprintf(out, ",\"errors\":%" PRIu64 ",\"complete\":%s,\"met\":%s}", step->errors,
		        step->complete ? "true" : "false", step->met ? "true" : "false");
	}
	fputc(']', out);
}

static void field_print_value(const struct field *f, FILE *out, bool json)
{
	switch (f->type) {
	case FIELD_TEXT:
		fprintf(out, json ? "\"%s\"" : "%s", f->text);
		break;
	case FIELD_COUNT:
		fprintf(out, "%" PRIu64, f->count);
		break;
	case FIELD_REAL:
		if (f->decimals < 0)
			fprintf(out, "%.10g", f->real);
		else
			fprintf(out, "%.*f", f->decimals, f->real);
		break;
	case FIELD_BOOL:
		fputs(f->flag ? "true" : "false", out);
		break;
	case FIELD_NULL:
		fputs(json ? "null" : "", out);
		break;
	case FIELD_STEPS:
		if (json)
			search_print_steps_json(f->search, out);
		else
			fprintf(out, "%ld", f->search->count);
		break;
	}
}

static bool same_group(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* ,"name":{"count":N,"min_ns":..,"max_ns":..,"sum_ns":..,"buckets":[[upper_ns,count],...]}:
 * every non-empty counter of h, by the top of its range (histogram.h), and
 * the exact count, extremes and sum, so that runs merge exactly (merge.c). */
static void histogram_print_json(const char *name, const struct histogram *h, FILE *out)
{
	bool first = true;

	fprintf(out, ",\"%s\":{\"count\":%" PRIu64 ",", name, h->count);
	if (h->count > 0)
		fprintf(out, "\"min_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"sum_ns\":%.0f,",
		        h->min_ns, h->max_ns, h->sum_ns);
	else
		fputs("\"min_ns\":null,\"max_ns\":null,\"sum_ns\":0,", out);
	fputs("\"buckets\":[", out);
	for (unsigned i = 0; i < HISTOGRAM_COUNTERS; i++) {
		if (h->counts[i] == 0)
			continue;
		fprintf(out, "%s[%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", histogram_upper_ns(i),
		        h->counts[i]);
		first = false;
	}
	fputs("]}", out);
}

/* One line: {"mode":"closed",...,"latency_us":{"min":12.1,...},...}, then
 * the two histograms whole (not in the CSV: too wide for a row). */
static void report_print_json(const struct report *r, const struct field_list *list, FILE *out)
{
	const char *group = NULL;

	fputc('{', out);
	for (size_t i = 0; i < list->count; i++) {
		const struct field *f = &list->items[i];

		if (!same_group(f->group, group)) {
			if (group != NULL)
				fputc('}', out);
			if (i > 0)
				fputc(',', out);
			if (f->group != NULL)
				fprintf(out, "\"%s\":{", f->group);
			group = f->group;
		} else if (i > 0) {
			fputc(',', out);
		}
		fprintf(out, "\"%s\":", f->name);
		field_print_value(f, out, true);
	}
	if (group != NULL)
		fputc('}', out);
	histogram_print_json("latency_histogram", r->stats->latency, out);
	histogram_print_json("connect_histogram", r->stats->connect_latency, out);
	fputs("}\n", out);
}

/* A header of group_name columns and one row: every value is a plain
 * number or word, so nothing needs quoting. */
static void report_print_csv(const struct field_list *list, FILE *out)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct field *f = &list->items[i];

		fprintf(out, "%s%s%s%s", i ? "," : "", f->group ? f->group : "",
		        f->group ? "_" : "", f->name);
	}
	fputc('\n', out);
	for (size_t i = 0; i < list->count; i++) {
		if (i > 0)
			fputc(',', out);
		field_print_value(&list->items[i], out, false);
	}
	fputc('\n', out);
}

/* "812.3 us", "2.45 ms", "1.20 s": three or four significant digits. */
static const char *human_time(uint64_t ns, char *buf, size_t buf_bytes)
{
	if (ns < 1000000)
		snprintf(buf, buf_bytes, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, buf_bytes, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, buf_bytes, "%.2f s", (double)ns / 1e9);
	return buf;
}

static void human_latency(const char *label, const struct histogram *h, FILE *out)
{
	char min[32], p50[32], p90[32], p99[32], p999[32], max[32], mean[32];

	if (h->count == 0) {
		fprintf(out, "  %-12s none measured\n", label);
		return;
	}
	fprintf(out, "  %-12s p50 %s  p90 %s  p99 %s  p99.9 %s\n", label,
	        human_time(histogram_percentile_ns(h, 50), p50, sizeof p50),
	        human_time(histogram_percentile_ns(h, 90), p90, sizeof p90),
	        human_time(histogram_percentile_ns(h, 99), p99, sizeof p99),
	        human_time(histogram_percentile_ns(h, 99.9), p999, sizeof p999));
	fprintf(out, "  %-12s min %s  mean %s  max %s\n", "",
	        human_time(h->min_ns, min, sizeof min),
	        human_time((uint64_t)histogram_mean_ns(h), mean, sizeof mean),
	        human_time(h->max_ns, max, sizeof max));
}

static void human_header(const struct report *r, FILE *out)
{
	const struct options *opts = r->opts;
	char target[UNIX_PATH_MAX_BYTES + 9]; /* "unix:" and the path */

	if (r->merged_runs > 0)
		snprintf(target, sizeof target, "a server, %d runs merged", r->merged_runs);
	else
		format_sockaddr((const struct sockaddr *)&opts->addr, target, sizeof target);
	fprintf(out, "%s: %s%s loop against %s\n", prog_name, opts->churn ? "churn, " : "",
	        opts->rate_per_s > 0 ? "open" : "closed", target);
	fprintf(out, "  %ld connection%s", opts->connections, opts->connections == 1 ? "" : "s");
	if (opts->idle > 0)
		fprintf(out, " (and %ld idle)", opts->idle);
	fprintf(out, ", %ld thread%s, %" PRIu64 " B messages", opts->threads,
	        opts->threads == 1 ? "" : "s", opts->size_bytes);
	if (opts->rate_per_s > 0 && opts->max_in_flight > 0)
		fprintf(out, ", %.10g messages/s scheduled, at most %ld in flight per connection\n",
		        opts->rate_per_s, opts->max_in_flight);
	else if (opts->rate_per_s > 0)
		fprintf(out, ", %.10g messages/s scheduled\n", opts->rate_per_s);
	else if (opts->churn)
		fprintf(out, ", one per connection\n");
	else
		fprintf(out, ", %ld in flight per connection\n", opts->pipeline);
	fprintf(out, "  warm-up %.2f s, measured %.2f s\n\n", r->warmup_s, r->duration_s);
}

static void human_errors(const struct report *r, FILE *out)
{
	const struct worker_stats *stats = r->stats;
	uint64_t total = 0;

	for (int kind = 0; kind < ERROR_KINDS; kind++)
		total += stats->errors[kind];
	if (total == 0) {
		fprintf(out, "  %-12s none\n", "errors");
		return;
	}
	fprintf(out,
	        "  %-12s connect %" PRIu64 ", mismatch %" PRIu64 ", reset %" PRIu64
	        ", timeout %" PRIu64 "\n",
	        "errors", stats->errors[ERROR_CONNECT], stats->errors[ERROR_MISMATCH],
	        stats->errors[ERROR_RESET], stats->errors[ERROR_TIMEOUT]);
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		if (stats->errors[kind] > 0)
			fprintf(out, "  %-12s first %s: %s\n", "", error_names[kind],
			        stats->first_error[kind]);
}

/* --udp: what became of the datagrams (the lost ones are timeouts too). */
static void human_datagrams(const struct report *r, FILE *out)
{
	const struct datagram_counts *d = &r->stats->datagrams;

	if (r->opts->transport != TRANSPORT_UDP)
		return;
	fprintf(out,
	        "  %-12s lost %" PRIu64 ", duplicated %" PRIu64 ", reordered %" PRIu64
	        ", late %" PRIu64 "\n",
	        "datagrams", d->lost, d->duplicated, d->reordered, d->late);
}

static void human_outcome(const struct report *r, FILE *out)
{
	const struct worker_stats *stats = r->stats;

	if (r->complete) {
		fprintf(out, "  %-12s complete\n", "run");
		return;
	}
	fprintf(out, "  %-12s incomplete:", "run");
	if (r->signo != 0)
		fprintf(out, " interrupted by %s", strsignal(r->signo));
	if (stats->down > 0)
		fprintf(out, " %" PRIu64 " connection%s down at the end", stats->down,
		        stats->down == 1 ? "" : "s");
	if (stats->errors[ERROR_TIMEOUT] > 0)
		fprintf(out, " %s%" PRIu64 " message%s never echoed", stats->down ? "and " : "",
		        stats->errors[ERROR_TIMEOUT], stats->errors[ERROR_TIMEOUT] == 1 ? "" : "s");
	fputc('\n', out);
}

/* "server       212.4 us cpu per message (0.43 s), 1.02 context switches
 * per message" and "4 processes, 4 threads, rss 5.1 MiB, pss 1.3 MiB";
 * what could not be taken reads "?". */
static void human_server(const struct report *r, FILE *out)
{
	const struct server_figures *f = r->server;
	double messages = (double)r->stats->messages;

	if (!f->cpu_valid && !f->counts_valid) {
		fprintf(out, "  %-12s not measured\n", "server");
		return;
	}
	fprintf(out, "  %-12s ", "server");
	if (f->cpu_valid && messages > 0)
		fprintf(out, "%.1f us cpu per message (%.2f s)", (double)f->cpu_ns / 1e3 / messages,
		        (double)f->cpu_ns / 1e9);
	else if (f->cpu_valid)
		fprintf(out, "%.2f s cpu", (double)f->cpu_ns / 1e9);
	else
		fputs("? cpu", out);
	if (f->switches_valid && messages > 0)
		fprintf(out, ", %.2f context switches per message",
		        (double)f->ctx_switches / messages);
	fprintf(out, "\n  %-12s ", "");
	if (f->counts_valid)
		fprintf(out, "%" PRIu64 " process%s, %" PRIu64 " thread%s, rss %.1f MiB", f->procs,
		        f->procs == 1 ? "" : "es", f->threads, f->threads == 1 ? "" : "s",
		        (double)f->rss_kib / 1024);
	else
		fputs("? processes, ? threads, rss ?", out);
	if (f->pss_valid)
		fprintf(out, ", pss %.1f MiB\n", (double)f->pss_kib / 1024);
	else
		fputs(", pss ?\n", out);
}

/* --search: every step, the rate found and why the search ended, before
 * the report of the step at that rate. */
static void human_search(const struct search *search, FILE *out)
{
	char target[32], value[32];
	double found = search_capacity(search);

	human_time(search->target.target_ns, target, sizeof target);
	fprintf(out, "%s: search for the highest rate with %s <= %s\n", prog_name,
	        search->target.metric, target);
	fprintf(out, "  %4s %12s %12s %12s %8s  %s\n", "step", "offered/s", "achieved/s",
	        search->target.metric, "errors", "verdict");
	for (long i = 0; i < search->count; i++) {
		const struct search_step *step = &search->steps[i];

		fprintf(out, "  %4ld %12.10g %12.1f %12s %8" PRIu64 "  %s\n", i + 1, step->offered,
		        step->achieved,
		        step->measured ? human_time(step->value_ns, value, sizeof value) : "-",
		        step->errors, step->met ? "met" : "missed");
	}
	if (found > 0)
		fprintf(out, "  %-12s %.10g msgs/s at %s <= %s (%s)\n", "capacity", found,
		        search->target.metric, target, search_end_text(search->end));
	else
		fprintf(out, "  %-12s none: %s\n", "capacity", search_end_text(search->end));
	fprintf(out, "\nThe step at %s:\n", found > 0 ? "that rate" : "the lowest rate");
}

static void report_print_human(const struct report *r, FILE *out)
{
	const struct worker_stats *stats = r->stats;
	double duration_s = r->duration_s > 0 ? r->duration_s : 1; /* rates read 0, not NaN */
	uint64_t bytes = stats->messages * r->opts->size_bytes;

	if (r->search != NULL)
		human_search(r->search, out);
	human_header(r, out);
	fprintf(out, "  %-12s %" PRIu64 " (%.1f msgs/s, %.2f MiB/s)\n", "messages", stats->messages,
	        (double)stats->messages / duration_s, (double)bytes / 1048576.0 / duration_s);
	human_latency("latency", stats->latency, out);
	if (r->opts->churn || stats->connects > 0) {
		fprintf(out, "  %-12s %" PRIu64 " (%.1f per s)\n", "connections", stats->connects,
		        (double)stats->connects / duration_s);
		human_latency("connect", stats->connect_latency, out);
	}
	if (stats->unsent > 0)
		fprintf(out,
		        "  %-12s %" PRIu64 " message%s due but not sent when the measured time "
		        "ended\n",
		        "backlog", stats->unsent, stats->unsent == 1 ? "" : "s");
	human_errors(r, out);
	human_datagrams(r, out);
	fprintf(out, "  %-12s %.2f of a core", "client cpu",
	        r->cpu_window_s > 0 ? r->cpu_s / r->cpu_window_s : 0);
	if (stats->messages > 0)
		fprintf(out, ", %.2f us per message", r->cpu_s * 1e6 / (double)stats->messages);
	fputc('\n', out);
	if (r->server != NULL)
		human_server(r, out);
	human_outcome(r, out);
}

void report_print(const struct report *r, FILE *out)
{
	struct field_list list;

	if (r->opts->format == FORMAT_HUMAN) {
		report_print_human(r, out);
	} else {
		report_fields(r, &list);
		if (r->opts->format == FORMAT_JSON)
			report_print_json(r, &list, out);
		else
			report_print_csv(&list, out);
	}
	fflush(out);
}

int report_exit_status(const struct report *r)
{
	if (r->signo != 0)
		return 128 + r->signo;
	if (r->search != NULL)
		return search_capacity(r->search) > 0 ? 0 : 1;
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		if (r->stats->errors[kind] > 0)
			return 1;
	return r->complete ? 0 : 1;
}

void report_print_error_details(const struct report *r, FILE *out)
{
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		if (r->stats->errors[kind] > 0)
			fprintf(out, "%s: %" PRIu64 " %s error%s; the first: %s\n", prog_name,
			        r->stats->errors[kind], error_names[kind],
			        r->stats->errors[kind] == 1 ? "" : "s",
			        r->stats->first_error[kind]);
}
