/*
 * options.c - parsing the load generator's options, with units.
 *
 * Counts take a decimal suffix (10k = 10000, 2M), sizes a binary or decimal
 * one (4KiB = 4096, 4kB = 4000; a bare "4k" is refused as ambiguous), times a
 * unit (500ms, 10s, 2m; a bare number is seconds). Every error names the
 * option and exits 2, before anything has been connected.
 */
#include "options.h"

#include "datagram.h"

#include "wrap.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define DEFAULT_CONNECTIONS     16
#define DEFAULT_SIZE_BYTES      64
#define DEFAULT_PIPELINE        1
#define DEFAULT_THREADS         1
#define DEFAULT_DURATION        "5s"
#define DEFAULT_WARMUP          "1s"
#define DEFAULT_CONNECT_TIMEOUT "2s"
#define DEFAULT_LOSS_TIMEOUT    "1s"
#define DEFAULT_SEED            1

#define MAX_CONNECTIONS 1000000
#define MAX_THREADS     1024
/* The closed loop keeps one send time per message in flight. */
#define MAX_PIPELINE    4096
#define MAX_SIZE_BYTES  (1ull << 30)
#define MAX_TIME_NS     (1000000ull * 1000000000ull) /* 11.6 days */
#define MIN_INTERVAL_NS 10000000ull
/* PID_MAX_LIMIT of 64-bit Linux: no pid is larger. */
#define MAX_PID 4194304

/* Long options without a short form get codes above any character. */
enum {
	OPT_CHURN = 256,
	OPT_IDLE,
	OPT_FORMAT,
	OPT_SEED,
	OPT_CONNECT_TIMEOUT,
	OPT_SERVER_PID,
	OPT_UDP,
	OPT_LOSS_TIMEOUT,
	OPT_HDR,
	OPT_SEARCH,
	OPT_SEARCH_RESOLUTION,
	OPT_SEARCH_STEPS,
	OPT_SEARCH_TIME,
	OPT_INTERVAL,
	OPT_INTERVAL_FILE,
	OPT_MAX_IN_FLIGHT,
	OPT_START_AT,
	OPT_SOURCE,
};

struct unit {
	const char *name;
	double factor;
};

static const struct unit count_units[] = { { "", 1 }, { "k", 1e3 }, { "M", 1e6 }, { NULL, 0 } };
static const struct unit size_units[] = { { "", 1 },
	                                  { "B", 1 },
	                                  { "KiB", 1024.0 },
	                                  { "MiB", 1048576.0 },
	                                  { "GiB", 1073741824.0 },
	                                  { "kB", 1e3 },
	                                  { "MB", 1e6 },
	                                  { "GB", 1e9 },
	                                  { NULL, 0 } };
/* Factors in nanoseconds; a bare number is seconds. */
static const struct unit percent_units[] = { { "", 1 }, { "%", 1 }, { NULL, 0 } };
static const struct unit time_units[] = { { "", 1e9 },  { "us", 1e3 }, { "ms", 1e6 },
	                                  { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	                                  { NULL, 0 } };

static void options_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: %s [options]\n"
	    "       %s merge [--format F] FILE...   (one report from several runs' JSON)\n"
	    "Drives an echo server with messages, checks every echoed byte, and reports\n"
	    "throughput, latency percentiles, errors and its own CPU use.\n\n"
	    "  -H, --host ADDR          server address (default %s; IPv6 literals work)\n"
	    "  -p, --port N             server port (default %s)\n"
	    "  -u, --unix PATH          connect to a Unix-domain stream socket at PATH\n"
	    "                           instead of TCP (-H and -p unused)\n"
	    "      --udp                UDP datagrams to -H:-p (echo-udp): each carries its\n"
	    "                           connection and sequence number; loss, duplicates\n"
	    "                           and reordering are counted (-s at least 16)\n"
	    "      --loss-timeout T     --udp: a datagram not echoed within T is lost\n"
	    "                           (default %s)\n"
	    "      --source LIST        spread the connections over these local addresses,\n"
	    "                           each with its own ports: 127.0.0.2-127.0.0.40 (an\n"
	    "                           IPv4 range) or ADDR,ADDR,... (default: the kernel's)\n"
	    "  -c, --connections N      active connections (default %d)\n"
	    "  -d, --duration T         measured time, warm-up excluded (default %s)\n"
	    "  -W, --warmup T           unmeasured time before it; 0 for none (default %s)\n"
	    "  -s, --size B             message size (default %d)\n"
	    "  -P, --pipeline N         closed loop: messages in flight per connection "
	    "(default %d)\n"
	    "  -r, --rate R             open loop: total messages per second, latency timed\n"
	    "                           from each intended send time (default 0 = closed loop)\n"
	    "      --max-in-flight N    open loop: at most N messages in flight per\n"
	    "                           connection; a due message waits for room, timed\n"
	    "                           from when it was due (default: no limit)\n"
	    "  -t, --threads N          client threads, each owning a share of the\n"
	    "                           connections (default %d; at most -c)\n"
	    "      --churn              a new connection for every message: connect, send,\n"
	    "                           receive, close\n"
	    "      --idle N             N more connections, opened first and held idle\n"
	    "                           for the whole run (default 0)\n"
	    "      --format F           human, csv or json (default human)\n"
	    "      --seed N             seed of the message bytes (default %d)\n"
	    "      --connect-timeout T  give up on a connect after T (default %s)\n"
	    "      --hdr FILE           also write the latency distribution to FILE in\n"
	    "                           HdrHistogram's percentile format (milliseconds)\n"
	    "      --search 'pNN<=T'    find the highest open-loop rate at which the\n"
	    "                           percentile (p50, p90, p99, p999, p9999) stays at\n"
	    "                           or under T, with no errors and the rate achieved:\n"
	    "                           doubling from -r (default %.0f/s), then bisection;\n"
	    "                           each step is -W then -d on fresh connections\n"
	    "      --search-resolution P  stop bisecting within P%% (default %.0f)\n"
	    "      --search-steps N     at most N steps (default %d)\n"
	    "      --search-time T      no step that would end after T (default %s)\n"
	    "      --interval T         one JSON line per T of the measured time (CSV\n"
	    "                           with --format csv): messages, msgs/s, p50, p99,\n"
	    "                           max, errors\n"
	    "      --interval-file FILE  those lines to FILE (default stderr)\n"
	    "      --start-at EPOCH     begin the traffic at this wall-clock time (seconds\n"
	    "                           since 1970, such as $(date +%%s) + 5): load\n"
	    "                           generators given one instant start together\n"
	    "      --server-pid PID     measure the server too: the CPU time, memory,\n"
	    "                           processes, threads and context switches of PID\n"
	    "                           and its descendants over the measured time\n"
	    "  -q, --quiet              no progress line and no notes on stderr\n"
	    "  -h, --help               show this help and exit\n"
	    "  -V, --version            show the version and exit\n\n"
	    "Units: counts 10k, 2M; sizes 64, 4KiB, 1MiB, 4kB; times 500ms, 10s, 2m\n"
	    "(a bare number is seconds).\n"
	    "Exit status: 0 when the run completed without errors, 1 otherwise,\n"
	    "2 on a usage error, 130 when interrupted (the partial results are printed).\n"
	    "With --search: 0 when a rate met the target, 1 when none did.\n",
	    prog_name, prog_name, DEFAULT_BIND, DEFAULT_PORT, DEFAULT_LOSS_TIMEOUT,
	    DEFAULT_CONNECTIONS, DEFAULT_DURATION, DEFAULT_WARMUP, DEFAULT_SIZE_BYTES,
	    DEFAULT_PIPELINE, DEFAULT_THREADS, DEFAULT_SEED, DEFAULT_CONNECT_TIMEOUT,
	    SEARCH_START_RATE, SEARCH_DEFAULT_RESOLUTION * 100, SEARCH_DEFAULT_STEPS,
	    SEARCH_DEFAULT_TIME);
}

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vmsg(fmt, ap);
	va_end(ap);
	options_usage(stderr);
	exit(2);
}

/* Splits "2.5k" into 2.5 and "k". Only plain decimals: no sign, exponent,
 * hex, "inf" or leading space, which strtod alone would let through. */
static bool split_number(const char *text, double *number, const char **unit)
{
	size_t digits = strspn(text, "0123456789."), dots = 0;
	char copy[64];

	for (size_t i = 0; i < digits; i++)
		dots += text[i] == '.';
	if (digits == dots || dots > 1 || digits >= sizeof copy)
		return false;
	memcpy(copy, text, digits);
	copy[digits] = '\0';
	*number = strtod(copy, NULL);
	*unit = text + digits;
	return true;
}

/* Parses text with one of units; exits 2 naming option on any error. */
static double parse_with_unit(const char *option, const char *text, const struct unit *units,
                              const char *kind, const char *unit_list)
{
	const char *unit;
	double number;

	if (!split_number(text, &number, &unit))
		usage_error("%s: '%s' is not %s", option, text, kind);
	for (const struct unit *u = units; u->name != NULL; u++)
		if (strcmp(unit, u->name) == 0)
			return number * u->factor;
	usage_error("%s: unknown unit '%s' in '%s' (use %s)", option, unit, text, unit_list);
}

static long parse_count(const char *option, const char *text, long min, long max)
{
	double value = parse_with_unit(option, text, count_units, "a count", "none, k or M");

	if (value != floor(value))
		usage_error("%s: '%s' is not a whole number", option, text);
	if (value < (double)min || value > (double)max)
		usage_error("%s: '%s' is out of range (%ld to %ld)", option, text, min, max);
	return (long)value;
}

static uint64_t parse_size(const char *option, const char *text)
{
	double value = parse_with_unit(option, text, size_units, "a size",
	                               "none, B, KiB, MiB, GiB, kB, MB or GB");

	if (value != floor(value))
		usage_error("%s: '%s' is not a whole number of bytes", option, text);
	if (value < 1 || value > (double)MAX_SIZE_BYTES)
		usage_error("%s: '%s' is out of range (1 B to 1 GiB)", option, text);
	return (uint64_t)value;
}

/* A time in nanoseconds; zero only when allow_zero. */
static uint64_t parse_time(const char *option, const char *text, bool allow_zero)
{
	double value_ns =
	    parse_with_unit(option, text, time_units, "a time", "us, ms, s, m or h; none means s");

	if (value_ns == 0 && allow_zero)
		return 0;
	if (value_ns < 1)
		usage_error("%s: '%s' must be more than zero", option, text);
	if (value_ns > (double)MAX_TIME_NS)
		usage_error("%s: '%s' is too long (at most 1000000s)", option, text);
	return (uint64_t)llround(value_ns);
}

static double parse_rate(const char *option, const char *text)
{
	double value = parse_with_unit(option, text, count_units, "a rate", "none, k or M");

	if (value > MAX_RATE_PER_S)
		usage_error("%s: '%s' is out of range (at most 1000M per second)", option, text);
	return value;
}

/* One literal address of --source into out; false if it is none. */
static bool source_address(const char *text, struct sockaddr_storage *out)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;

	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

/* "127.0.0.2-127.0.0.40": every IPv4 address from the first to the last. */
static void parse_source_range(const char *option, const char *text, struct options *opts)
{
	char first[INET_ADDRSTRLEN], *dash = strchr(text, '-');
	struct sockaddr_storage lo, hi;
	uint32_t a, b;

	if (dash == NULL || (size_t)(dash - text) >= sizeof first)
		usage_error("%s: '%s' is not ADDR-ADDR", option, text);
	memcpy(first, text, (size_t)(dash - text));
	first[dash - text] = '\0';
	if (!source_address(first, &lo) || !source_address(dash + 1, &hi) ||
	    lo.ss_family != AF_INET || hi.ss_family != AF_INET)
		usage_error("%s: '%s' is not a range of IPv4 addresses (ADDR-ADDR)", option, text);
	a = ntohl(((struct sockaddr_in *)&lo)->sin_addr.s_addr);
	b = ntohl(((struct sockaddr_in *)&hi)->sin_addr.s_addr);
	if (b < a || b - a >= MAX_SOURCES)
		usage_error("%s: '%s' must run upwards, %d addresses at most", option, text,
		            MAX_SOURCES);
	opts->sources = Calloc(b - a + 1, sizeof *opts->sources);
	for (uint32_t ip = a; ip <= b; ip++) {
		struct sockaddr_in *in4 =
		    (struct sockaddr_in *)&opts->sources[opts->source_count++];

		in4->sin_family = AF_INET;
		in4->sin_addr.s_addr = htonl(ip);
	}
}

/* --source ADDR-ADDR or ADDR,ADDR,...: the local addresses to connect from. */
static void parse_sources(const char *option, const char *text, struct options *opts)
{
	char copy[4096], *item, *save;

	free(opts->sources);
	opts->sources = NULL;
	opts->source_count = 0;
	if (strchr(text, '-') != NULL) {
		parse_source_range(option, text, opts);
		return;
	}
	if (*text == '\0' || strlen(text) >= sizeof copy)
		usage_error("%s: '%s' is not ADDR,ADDR,... or ADDR-ADDR", option, text);
	strcpy(copy, text);
	opts->sources = Calloc(MAX_SOURCES, sizeof *opts->sources);
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		if (opts->source_count == MAX_SOURCES)
			usage_error("%s: more than %d addresses", option, MAX_SOURCES);
		if (!source_address(item, &opts->sources[opts->source_count++]))
			usage_error("%s: '%s' is not an IPv4 or IPv6 address", option, item);
	}
	if (opts->source_count == 0)
		usage_error("%s: '%s' names no address", option, text);
}

/* The sources must be of the server address's family (checked once it is
 * resolved), and a Unix socket has none. */
static void check_sources(const struct options *opts)
{
	if (opts->source_count == 0)
		return;
	if (opts->transport == TRANSPORT_UNIX)
		usage_error("--source: a Unix-domain socket (-u) has no source address");
	for (size_t i = 0; i < opts->source_count; i++)
		if (opts->sources[i].ss_family != opts->addr.ss_family)
			usage_error("--source: %s addresses for an %s server address",
			            opts->sources[i].ss_family == AF_INET ? "IPv4" : "IPv6",
			            opts->addr.ss_family == AF_INET ? "IPv4" : "IPv6");
}

/* "p99<=1ms": a metric of search.h, "<=", a time with its unit. */
static void parse_search(const char *option, const char *text, struct search_target *target)
{
	const char *le = strstr(text, "<=");
	char metric[sizeof target->metric];
	size_t metric_len = le != NULL ? (size_t)(le - text) : 0;

	if (le == NULL || metric_len == 0 || metric_len >= sizeof metric)
		usage_error("%s: '%s' is not pNN<=TIME (such as p99<=1ms)", option, text);
	memcpy(metric, text, metric_len);
	metric[metric_len] = '\0';
	if (!search_set_metric(target, metric))
		usage_error(
		    "%s: unknown percentile '%s' in '%s' (use p50, p90, p99, p999 or p9999)",
		    option, metric, text);
	if (le[2] == '\0' || strspn(le + 2, "0123456789.") == strlen(le + 2))
		usage_error("%s: '%s' needs a time with its unit after <= (us, ms or s)", option,
		            text);
	target->target_ns = parse_time(option, le + 2, false);
}

/* A percentage, "2" or "2%", above 0 and at most 100; as a fraction. */
static double parse_percent(const char *option, const char *text)
{
	double value = parse_with_unit(option, text, percent_units, "a percentage", "none or %");

	if (value <= 0 || value > 100)
		usage_error("%s: '%s' is out of range (above 0, at most 100)", option, text);
	return value / 100;
}

/* Seconds since the epoch ("1764700000" or "1764700000.25"), to
 * nanoseconds: after 2001 and before 2100, so a typo is caught. */
static int64_t parse_epoch(const char *option, const char *text)
{
	const char *unit;
	double seconds;

	if (!split_number(text, &seconds, &unit) || *unit != '\0')
		usage_error("%s: '%s' is not seconds since 1970 (date +%%s)", option, text);
	if (seconds < 1e9 || seconds > 4102444800.0)
		usage_error("%s: '%s' is not a time between 2001 and 2100 (date +%%s)", option,
		            text);
	return (int64_t)llround(seconds * 1e9);
}

static const char *parse_port(const char *option, const char *text)
{
	long port;

	if (!parse_long(text, 1, 65535, &port))
		usage_error("%s: '%s' is not a port number (1-65535)", option, text);
	return text;
}

static uint64_t parse_seed(const char *option, const char *text)
{
	char *end;
	unsigned long long value;

	if (text[0] < '0' || text[0] > '9')
		usage_error("%s: '%s' is not a whole number", option, text);
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		usage_error("%s: '%s' is not a whole number below 2^64", option, text);
	return value;
}

static pid_t parse_pid(const char *option, const char *text)
{
	long pid;

	if (!parse_long(text, 1, MAX_PID, &pid))
		usage_error("%s: '%s' is not a process id (1 to %d)", option, text, MAX_PID);
	return (pid_t)pid;
}

bool options_format_named(const char *text, enum output_format *format)
{
	static const char *const names[] = {
		[FORMAT_HUMAN] = "human", [FORMAT_CSV] = "csv", [FORMAT_JSON] = "json"
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i]) == 0) {
			*format = (enum output_format)i;
			return true;
		}
	return false;
}

static enum output_format parse_format(const char *option, const char *text)
{
	enum output_format format;

	if (!options_format_named(text, &format))
		usage_error("%s: unknown format '%s' (use human, csv or json)", option, text);
	return format;
}

static const char *parse_unix_path(const char *option, const char *text)
{
	if (*text == '\0')
		usage_error("%s: the path is empty", option);
	if (!unix_path_fits(text))
		usage_error("%s: '%s' is longer than a socket path may be (%zu bytes)", option,
		            text, UNIX_PATH_MAX_BYTES);
	return text;
}

/* The Unix-domain address of --unix PATH. */
static void unix_target(struct options *opts)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&opts->addr;

	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, opts->unix_path, strlen(opts->unix_path) + 1);
	opts->addr_len = sizeof *un;
}

/* Resolves host:port once, now, so a bad host is a usage error (exit 2). */
static void resolve_target(struct options *opts)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICSERV,
		                  .ai_socktype =
		                      opts->transport == TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM };
	struct addrinfo *res;
	int rc;

	if (opts->transport == TRANSPORT_UNIX) {
		unix_target(opts);
		return;
	}
	rc = getaddrinfo(opts->host, opts->port, &hints, &res);
	if (rc != 0)
		usage_error("-H/--host: '%s' is not an address: %s", opts->host, gai_strerror(rc));
	memcpy(&opts->addr, res->ai_addr, res->ai_addrlen);
	opts->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
}

/* What a UDP run cannot do: there are no connections to churn, hold idle
 * or reach by a Unix path, and a datagram has a header and a size limit. */
static void check_udp(const struct options *opts)
{
	if (opts->unix_path != NULL)
		usage_error("--udp: not with -u/--unix (a Unix-domain stream socket)");
	if (opts->churn)
		usage_error("--churn: UDP has no connections to open and close (--udp)");
	if (opts->idle > 0)
		usage_error("--idle: UDP has no connections to hold idle (--udp)");
	if (opts->size_bytes < DATAGRAM_HEADER_BYTES || opts->size_bytes > DATAGRAM_MAX_BYTES)
		usage_error("-s/--size: a --udp datagram is %d to %d bytes (its first %d carry the "
		            "connection and sequence number)",
		            DATAGRAM_HEADER_BYTES, DATAGRAM_MAX_BYTES, DATAGRAM_HEADER_BYTES);
}

/* --search runs open-loop steps; its own options need it. */
static void check_search(struct options *opts, bool search_options_given)
{
	if (!opts->search) {
		if (search_options_given)
			usage_error("--search-resolution, --search-steps and --search-time need "
			            "--search");
		return;
	}
	if (opts->churn)
		usage_error("--search: the search runs the open loop, not --churn");
	if (opts->pipeline > 1)
		usage_error("--search: the open loop (-r) does not limit messages in flight (-P)");
	if (opts->warmup_ns + opts->duration_ns > opts->search_time_ns)
		usage_error("--search-time: shorter than one step (-W plus -d)");
	if (opts->rate_per_s == 0)
		opts->rate_per_s = SEARCH_START_RATE;
}

/* Combinations that cannot mean what the user wrote. */
static void check_combinations(struct options *opts, bool pipeline_given, bool loss_timeout_given,
                               bool search_given)
{
	if (pipeline_given && opts->pipeline > 1 && opts->churn)
		usage_error("-P/--pipeline: --churn sends one message per connection");
	if (pipeline_given && opts->pipeline > 1 && opts->rate_per_s > 0)
		usage_error("-P/--pipeline: the open loop (-r) does not limit messages in flight");
	if (opts->transport == TRANSPORT_UDP)
		check_udp(opts);
	else if (loss_timeout_given)
		usage_error("--loss-timeout: only UDP datagrams are lost (add --udp)");
	check_search(opts, search_given);
	if (opts->max_in_flight > 0 && (opts->rate_per_s == 0 || opts->churn))
		usage_error(
		    "--max-in-flight: only the open loop (-r, or --search) sends regardless "
		    "of echoes (the closed loop's limit is -P)");
	if (opts->max_in_flight > 0 && opts->transport == TRANSPORT_UDP)
		usage_error("--max-in-flight: --udp has its own window of datagrams in flight");
	if (opts->interval_ns > 0 && opts->interval_ns < MIN_INTERVAL_NS)
		usage_error(
		    "--interval: at least 10ms (each line merges every thread's histogram)");
	if (opts->interval_path != NULL && opts->interval_ns == 0)
		usage_error("--interval-file: there are no interval lines without --interval");
	if (opts->threads > opts->connections) {
		opts->threads = opts->connections;
		opts->threads_clamped = true;
	}
}

static void options_defaults(struct options *opts)
{
	*opts = (struct options){
		.host = DEFAULT_BIND,
		.port = DEFAULT_PORT,
		.connections = DEFAULT_CONNECTIONS,
		.threads = DEFAULT_THREADS,
		.pipeline = DEFAULT_PIPELINE,
		.size_bytes = DEFAULT_SIZE_BYTES,
		.duration_ns = parse_time("-d", DEFAULT_DURATION, false),
		.warmup_ns = parse_time("-W", DEFAULT_WARMUP, true),
		.connect_timeout_ns =
		    parse_time("--connect-timeout", DEFAULT_CONNECT_TIMEOUT, false),
		.loss_timeout_ns = parse_time("--loss-timeout", DEFAULT_LOSS_TIMEOUT, false),
		.seed = DEFAULT_SEED,
		.format = FORMAT_HUMAN,
		.search_resolution = SEARCH_DEFAULT_RESOLUTION,
		.search_steps = SEARCH_DEFAULT_STEPS,
		.search_time_ns = parse_time("--search-time", SEARCH_DEFAULT_TIME, false),
	};
}

/* getopt_long reports an unknown option as '?', a missing value as ':'. */
static void unknown_option(int c, char **argv)
{
	if (c == ':')
		usage_error("option '%s' needs a value", argv[optind - 1]);
	if (optopt != 0)
		usage_error("unknown option '-%c'", optopt);
	usage_error("unknown option '%s'", argv[optind - 1]);
}

void options_parse(int argc, char **argv, struct options *opts)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "connections", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "size", required_argument, NULL, 's' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' },
		{ "churn", no_argument, NULL, OPT_CHURN },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
		{ "unix", required_argument, NULL, 'u' },
		{ "udp", no_argument, NULL, OPT_UDP },
		{ "loss-timeout", required_argument, NULL, OPT_LOSS_TIMEOUT },
		{ "hdr", required_argument, NULL, OPT_HDR },
		{ "search", required_argument, NULL, OPT_SEARCH },
		{ "search-resolution", required_argument, NULL, OPT_SEARCH_RESOLUTION },
		{ "search-steps", required_argument, NULL, OPT_SEARCH_STEPS },
		{ "search-time", required_argument, NULL, OPT_SEARCH_TIME },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "interval-file", required_argument, NULL, OPT_INTERVAL_FILE },
		{ "max-in-flight", required_argument, NULL, OPT_MAX_IN_FLIGHT },
		{ "start-at", required_argument, NULL, OPT_START_AT },
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool pipeline_given = false, loss_timeout_given = false, search_given = false;
	int c;

	err_init(argv[0]);
	options_defaults(opts);
	opterr = 0; /* we print our own messages, then the usage */
	while ((c = getopt_long(argc, argv, ":H:p:u:c:d:W:s:P:r:t:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			opts->host = optarg;
			break;
		case 'p':
			opts->port = parse_port("-p/--port", optarg);
			break;
		case 'c':
			opts->connections =
			    parse_count("-c/--connections", optarg, 1, MAX_CONNECTIONS);
			break;
		case 'd':
			opts->duration_ns = parse_time("-d/--duration", optarg, false);
			break;
		case 'W':
			opts->warmup_ns = parse_time("-W/--warmup", optarg, true);
			break;
		case 's':
			opts->size_bytes = parse_size("-s/--size", optarg);
			break;
		case 'P':
			opts->pipeline = parse_count("-P/--pipeline", optarg, 1, MAX_PIPELINE);
			pipeline_given = true;
			break;
		case 'r':
			opts->rate_per_s = parse_rate("-r/--rate", optarg);
			break;
		case 't':
			opts->threads = parse_count("-t/--threads", optarg, 1, MAX_THREADS);
			break;
		case OPT_CHURN:
			opts->churn = true;
			break;
		case OPT_IDLE:
			opts->idle = parse_count("--idle", optarg, 0, MAX_CONNECTIONS);
			break;
		case OPT_FORMAT:
			opts->format = parse_format("--format", optarg);
			break;
		case OPT_SEED:
			opts->seed = parse_seed("--seed", optarg);
			break;
		case OPT_CONNECT_TIMEOUT:
			opts->connect_timeout_ns = parse_time("--connect-timeout", optarg, false);
			break;
		case OPT_SERVER_PID:
			opts->server_pid = parse_pid("--server-pid", optarg);
			break;
		case 'u':
			opts->unix_path = parse_unix_path("-u/--unix", optarg);
			if (opts->transport != TRANSPORT_UDP)
				opts->transport = TRANSPORT_UNIX;
			break;
		case OPT_UDP:
			opts->transport = TRANSPORT_UDP;
			break;
		case OPT_HDR:
			opts->hdr_path = optarg;
			break;
		case OPT_SEARCH:
			parse_search("--search", optarg, &opts->search_target);
			opts->search = true;
			break;
		case OPT_SEARCH_RESOLUTION:
			opts->search_resolution = parse_percent("--search-resolution", optarg);
			search_given = true;
			break;
		case OPT_SEARCH_STEPS:
			opts->search_steps =
			    parse_count("--search-steps", optarg, 1, SEARCH_MAX_STEPS);
			search_given = true;
			break;
		case OPT_SEARCH_TIME:
			opts->search_time_ns = parse_time("--search-time", optarg, false);
			search_given = true;
			break;
		case OPT_INTERVAL:
			opts->interval_ns = parse_time("--interval", optarg, false);
			break;
		case OPT_INTERVAL_FILE:
			opts->interval_path = optarg;
			break;
		case OPT_SOURCE:
			parse_sources("--source", optarg, opts);
			break;
		case OPT_START_AT:
			opts->start_at_ns = parse_epoch("--start-at", optarg);
			break;
		case OPT_MAX_IN_FLIGHT:
			opts->max_in_flight =
			    parse_count("--max-in-flight", optarg, 1, MAX_PIPELINE);
			break;
		case OPT_LOSS_TIMEOUT:
			opts->loss_timeout_ns = parse_time("--loss-timeout", optarg, false);
			loss_timeout_given = true;
			break;
		case 'q':
			opts->quiet = true;
			break;
		case 'h':
			options_usage(stdout);
			exit(0);
		case 'V':
			printf("%s %s\n", prog_name, SUITE_VERSION);
			exit(0);
		default:
			unknown_option(c, argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	check_combinations(opts, pipeline_given, loss_timeout_given, search_given);
	resolve_target(opts);
	check_sources(opts);
}

const char *options_mode(const struct options *opts)
{
	if (opts->churn)
		return "churn";
	return opts->rate_per_s > 0 ? "open" : "closed";
}

const char *options_transport(const struct options *opts)
{
	static const char *const names[] = {
		[TRANSPORT_TCP] = "tcp", [TRANSPORT_UNIX] = "unix", [TRANSPORT_UDP] = "udp"
	};

	return names[opts->transport];
}
