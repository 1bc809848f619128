/*
 * main.c - bin/loadgen: drives an echo server and measures it.
 *
 * The load generator of the suite: -t worker threads (worker.c), each with
 * its own epoll loop over its share of the -c connections, send messages
 * whose bytes derive from the seed, the connection and the sequence number
 * (payload.c), check every echoed byte, and time every echo into a
 * histogram (histogram.c). This file is the conductor:
 *
 *   1. check the options (options.c) and the limits: descriptors, ports;
 *   2. start the workers; they open the idle connections, then the active
 *      ones, at a bounded rate; wait until every one has been tried;
 *   3. start the clock: warm-up (-W), measured time (-d), then up to
 *      DRAIN_TIMEOUT_NS for the echoes still in flight;
 *   4. sample the process's CPU time at the two ends of the measured time
 *      (and with --server-pid the server's process tree: server_sample.c),
 *      show a progress line on a terminal, write the --interval lines
 *      (interval.c), and stop early on SIGINT/SIGTERM;
 *   5. merge what the workers measured and print it (report.c).
 *
 * Steps 2 to 4 are one measurement (measure). --search runs one per rate
 * that search.c plans, and reports the step at the rate it found.
 * `loadgen merge` (merge.c) reads reports instead of running anything.
 *
 * Left out on purpose: TLS, other protocols than echo, several server
 * addresses, and coordination of several client machines.
 */
#include "hdr.h"
#include "interval.h"
#include "merge.h"
#include "options.h"
#include "report.h"
#include "search.h"
#include "server_sample.h"
#include "worker.h"

#include "wrap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Descriptors besides the connections: stdio, the signalfd, two
 * eventfds, and room for what libc opens (resolver, locale). */
#define SPARE_FDS            16
#define PROGRESS_INTERVAL_NS 1000000000ll

/* ---- before the run -------------------------------------------------------- */

/* Reads "lo hi" from /proc/sys/net/ipv4/ip_local_port_range; false if unreadable. */
static bool local_port_range(long *low, long *high)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	bool ok;

	if (f == NULL)
		return false;
	ok = fscanf(f, "%ld %ld", low, high) == 2;
	fclose(f);
	return ok;
}

/* Every connection costs a descriptor and, to one server address, a local
 * port of its own (of its --source address's, with several). Say so plainly now, rather than fail
 * with EMFILE or EADDRNOTAVAIL in the middle of a run. */
static void check_limits(const struct options *opts)
{
	long conns = opts->connections + opts->idle;
	long needed_fds = conns + opts->threads + SPARE_FDS;
	long fd_limit = raise_fd_limit(), low, high;
	size_t sources = opts->source_count > 0 ? opts->source_count : 1;
	long per_source = (conns + (long)sources - 1) / (long)sources;

	if (fd_limit < 0)
		err_sys("cannot read or raise the descriptor limit");
	if (needed_fds > fd_limit)
		err_quit("%ld connections need about %ld descriptors, but the limit is %ld "
		         "(already raised to the hard limit); raise the hard limit "
		         "(ulimit -Hn, limits.conf, LimitNOFILE=) or use fewer connections",
		         conns, needed_fds, fd_limit);
	if (opts->transport != TRANSPORT_UNIX && local_port_range(&low, &high) &&
	    per_source > high - low + 1)
		err_quit(
		    "%ld connections to one server address from %zu source address%s need "
		    "%ld local ports each, but net.ipv4.ip_local_port_range (%ld-%ld) has %ld; "
		    "spread them over more --source addresses, widen the range (sysctl -w "
		    "net.ipv4.ip_local_port_range=\"1024 65535\") or use fewer connections",
		    conns, sources, sources == 1 ? "" : "es", per_source, low, high,
		    high - low + 1);
}

static bool target_is_loopback(const struct options *opts)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&opts->addr;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&opts->addr;

	if (opts->addr.ss_family == AF_INET)
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	return opts->addr.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
}

/* Notes on stderr about what the options turned into. */
static void print_notes(const struct options *opts)
{
	FILE *f;
	int tw_reuse = 0;

	if (opts->quiet)
		return;
	if (opts->threads_clamped)
		err_msg("note: -t lowered to %ld, one thread per connection at most",
		        opts->threads);
	if (!opts->churn || opts->transport != TRANSPORT_TCP)
		return;
	/* The side that closes first keeps the port in TIME_WAIT for 60 s.
	 * Here it is the client; tcp_tw_reuse (2: on loopback only) lets a
	 * new connect take such a port after 1 s. */
	f = fopen("/proc/sys/net/ipv4/tcp_tw_reuse", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &tw_reuse) != 1)
			tw_reuse = 0;
		fclose(f);
	}
	if (tw_reuse == 0 || (tw_reuse == 2 && !target_is_loopback(opts)))
		err_msg("note: net.ipv4.tcp_tw_reuse is off for this address: each closed "
		        "connection holds its local port for 60 s, so churn stalls once the "
		        "local port range is used up");
}

/* Stop signals are blocked in every thread (the workers inherit the mask)
 * and read from a signalfd, so main waits for a signal, a worker and a
 * deadline in a single ppoll(2), with no asynchronous handler at all. */
static int signals_open(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN };
	sigset_t stop;
	int fd;

	sigemptyset(&ignore.sa_mask);
	if (sigaction(SIGPIPE, &ignore, NULL) < 0)
		err_sys("sigaction SIGPIPE");
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0)
		err_sys("sigprocmask");
	fd = signalfd(-1, &stop, SFD_CLOEXEC);
	if (fd < 0)
		err_sys("signalfd");
	return fd;
}

/* After the first stop signal, a second one ends the program at once,
 * the default way: the user has asked twice. */
static void signals_restore(void)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
}

static void run_init(struct run *run, const struct options *opts)
{
	*run = (struct run){ .opts = opts };
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->started_cond, NULL);
	pthread_cond_init(&run->end_marked_cond, NULL);
	atomic_init(&run->stop, false);
	run->stop_fd = eventfd(0, EFD_CLOEXEC);
	run->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (run->stop_fd < 0 || run->notify_fd < 0)
		err_sys("eventfd");
}

static void run_destroy(struct run *run)
{
	close(run->stop_fd);
	close(run->notify_fd);
	pthread_cond_destroy(&run->started_cond);
	pthread_cond_destroy(&run->end_marked_cond);
	pthread_mutex_destroy(&run->lock);
}

/* ---- during the run --------------------------------------------------------- */

struct supervisor {
	struct run *run;
	struct worker **workers;
	long threads;
	int signal_fd;
	int signo;               /* the stop signal received, or 0 */
	bool progress;           /* a live line on stderr */
	bool measuring;          /* the measured time has begun */
	bool measured;           /* ... and ended, or was cut short */
	int64_t measured_end_ns; /* measure_end_ns, or when a stop signal cut it short */
	int64_t stopped_ns;      /* when a stop signal came */
	/* Process CPU time, and the wall-clock time it was read at, when the
	 * measured time began and when it ended: main wakes a little late. */
	int64_t cpu_start_ns, cpu_start_wall_ns;
	int64_t cpu_end_ns, cpu_end_wall_ns;
	int64_t next_progress_ns;
	uint64_t last_echoes;           /* for the progress line's rate */
	struct server_sample *server;   /* --server-pid, or NULL */
	FILE *interval_out;             /* --interval: where the lines go */
	struct interval_log *intervals; /* ... from the measured time's start */
	int64_t next_interval_ns;       /* the current interval's end */
	int64_t started_epoch_ns;       /* CLOCK_REALTIME when the traffic began */
};

static int64_t cpu_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static int64_t realtime_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

static long run_count(struct run *run, const long *counter)
{
	long value;

	Pthread_mutex_lock(&run->lock);
	value = *counter;
	Pthread_mutex_unlock(&run->lock);
	return value;
}

/* Waits until deadline_ns (INT64_MAX: no deadline) for a worker's notice or
 * a stop signal. Returns true when a stop signal came. */
static bool supervisor_wait(struct supervisor *s, int64_t deadline_ns)
{
	struct pollfd fds[2] = { { .fd = s->signal_fd, .events = POLLIN },
		                 { .fd = s->run->notify_fd, .events = POLLIN } };
	int64_t wait_ns = deadline_ns - clock_now_ns();
	struct timespec timeout = { 0, 0 };
	struct signalfd_siginfo info;
	uint64_t notices;

	if (wait_ns > 0) {
		timeout.tv_sec = wait_ns / 1000000000;
		timeout.tv_nsec = wait_ns % 1000000000;
	}
	if (ppoll(fds, 2, deadline_ns == INT64_MAX ? NULL : &timeout, NULL) < 0 && errno != EINTR)
		err_sys("ppoll");
	if (fds[1].revents & POLLIN)
		(void)!read(s->run->notify_fd, &notices, sizeof notices);
	if ((fds[0].revents & POLLIN) && read(s->signal_fd, &info, sizeof info) == sizeof info) {
		s->signo = (int)info.ssi_signo;
		return true;
	}
	return false;
}

/* Tells every worker to finish now: the flag, the eventfd that wakes their
 * epoll, and the condition a worker waiting to start sleeps on. */
static void supervisor_stop_all(struct supervisor *s)
{
	uint64_t one = 1;

	atomic_store(&s->run->stop, true);
	(void)!write(s->run->stop_fd, &one, sizeof one);
	Pthread_mutex_lock(&s->run->lock);
	pthread_cond_broadcast(&s->run->started_cond);
	pthread_cond_broadcast(&s->run->end_marked_cond);
	Pthread_mutex_unlock(&s->run->lock);
	signals_restore();
}

static void supervisor_start_clock(struct supervisor *s)
{
	struct run *run = s->run;
	const struct options *opts = run->opts;

	Pthread_mutex_lock(&run->lock);
	run->start_ns = clock_now_ns();
	s->started_epoch_ns = realtime_ns();
	run->measure_start_ns = run->start_ns + (int64_t)opts->warmup_ns;
	run->measure_end_ns = run->measure_start_ns + (int64_t)opts->duration_ns;
	run->started = true;
	pthread_cond_broadcast(&run->started_cond);
	Pthread_mutex_unlock(&run->lock);
	s->next_progress_ns = run->start_ns + PROGRESS_INTERVAL_NS;
}

/* The edges of the measured time: the client's CPU clock and, with
 * --server-pid, the server's tree. Reading the server's /proc takes
 * milliseconds of this thread's CPU time, so it comes before the client's
 * clock at the start and after it at the end: client_cpu leaves it out. */
static void supervisor_measure_start(struct supervisor *s)
{
	if (s->server != NULL)
		server_sample_start(s->server);
	s->cpu_start_ns = cpu_now_ns();
	s->cpu_start_wall_ns = clock_now_ns();
	s->measuring = true;
	if (s->run->interval_slots != NULL) {
		s->intervals = interval_log_new(s->interval_out, s->run->opts->format == FORMAT_CSV,
		                                s->run->opts->rate_per_s, s->run->measure_start_ns);
		s->next_interval_ns = s->run->measure_start_ns + (int64_t)s->run->opts->interval_ns;
	}
}

/* The workers keep their connections open until this is done. */
static void supervisor_measure_end(struct supervisor *s, int64_t now_ns)
{
	s->cpu_end_ns = cpu_now_ns();
	s->cpu_end_wall_ns = now_ns;
	s->measured = true;
	if (s->server != NULL)
		server_sample_end(s->server);
	Pthread_mutex_lock(&s->run->lock);
	s->run->end_marked = true;
	pthread_cond_broadcast(&s->run->end_marked_cond);
	Pthread_mutex_unlock(&s->run->lock);
}

/* --interval: the lines of the intervals that have ended, short of the
 * measured time's end (the last line waits for the workers: see measure). */
static void supervisor_intervals(struct supervisor *s, int64_t now_ns)
{
	while (s->intervals != NULL && !s->measured && now_ns >= s->next_interval_ns &&
	       s->next_interval_ns < s->run->measure_end_ns) {
		interval_log_write(s->intervals, s->run->interval_slots, s->threads,
		                   s->next_interval_ns);
		s->next_interval_ns += (int64_t)s->run->opts->interval_ns;
	}
}

/* Samples the CPU clocks when the measured time begins and ends. */
static void supervisor_mark(struct supervisor *s, int64_t now_ns)
{
	if (!s->measuring && now_ns >= s->run->measure_start_ns)
		supervisor_measure_start(s);
	supervisor_intervals(s, now_ns);
	if (s->measuring && !s->measured && now_ns >= s->run->measure_end_ns) {
		s->measured_end_ns = s->run->measure_end_ns;
		supervisor_measure_end(s, clock_now_ns());
	}
}

/* An interruption ends the measured time where it is. */
static void supervisor_cut_short(struct supervisor *s)
{
	s->stopped_ns = clock_now_ns();
	if (s->measuring && !s->measured) {
		s->measured_end_ns = s->stopped_ns;
		supervisor_measure_end(s, s->stopped_ns);
	}
	supervisor_stop_all(s);
}

static void supervisor_progress(struct supervisor *s, int64_t now_ns)
{
	const struct run *run = s->run;
	uint64_t echoes = 0, errors = 0;
	const char *phase = !s->measuring ? "warm-up" : !s->measured ? "measuring" : "draining";

	for (long i = 0; i < s->threads; i++) {
		echoes += worker_progress_echoes(s->workers[i]);
		errors += worker_progress_errors(s->workers[i]);
	}
	fprintf(stderr, "\r%s: %5.1f s %-9s %10.0f msgs/s  %" PRIu64 " errors\033[K", prog_name,
	        (double)(now_ns - run->start_ns) / 1e9, phase,
	        (double)(echoes - s->last_echoes) * 1e9 / PROGRESS_INTERVAL_NS, errors);
	s->last_echoes = echoes;
	s->next_progress_ns += PROGRESS_INTERVAL_NS;
}

static int64_t supervisor_next_deadline(const struct supervisor *s)
{
	int64_t next_ns = s->progress ? s->next_progress_ns : INT64_MAX;

	if (!s->measuring && s->run->measure_start_ns < next_ns)
		next_ns = s->run->measure_start_ns;
	if (!s->measured && s->run->measure_end_ns < next_ns)
		next_ns = s->run->measure_end_ns;
	if (s->intervals != NULL && !s->measured && s->next_interval_ns < next_ns)
		next_ns = s->next_interval_ns;
	return next_ns;
}

/* --start-at: with every connection open, waits for the agreed wall-clock
 * instant (on the monotonic clock, which no clock step moves). Returns true
 * when a stop signal came first. An instant already past starts at once,
 * with a note. */
static bool supervisor_wait_start(struct supervisor *s)
{
	int64_t wait_ns = s->run->opts->start_at_ns - realtime_ns();
	int64_t deadline_ns = clock_now_ns() + wait_ns;

	if (s->run->opts->start_at_ns == 0)
		return false;
	if (wait_ns < 0 && !s->run->opts->quiet)
		err_msg(
		    "note: --start-at was %.3f s ago when the connections were open; starting now",
		    (double)-wait_ns / 1e9);
	while (clock_now_ns() < deadline_ns)
		if (supervisor_wait(s, deadline_ns))
			return true;
	return false;
}

/* The whole run, from the workers' first connect to their last echo. */
static void supervise(struct supervisor *s)
{
	while (run_count(s->run, &s->run->ready_workers) < s->threads)
		if (supervisor_wait(s, INT64_MAX)) {
			supervisor_cut_short(s);
			return;
		}
	if (supervisor_wait_start(s)) {
		supervisor_cut_short(s);
		return;
	}
	supervisor_start_clock(s);
	while (run_count(s->run, &s->run->done_workers) < s->threads) {
		int64_t now_ns = clock_now_ns();

		supervisor_mark(s, now_ns);
		if (s->progress && now_ns >= s->next_progress_ns)
			supervisor_progress(s, now_ns);
		if (supervisor_wait(s, supervisor_next_deadline(s))) {
			supervisor_cut_short(s);
			return;
		}
	}
	supervisor_mark(s, clock_now_ns());
}

/* ---- after the run ------------------------------------------------------------ */

static void build_report(const struct supervisor *s, const struct worker_stats *stats,
                         struct report *r)
{
	const struct run *run = s->run;

	*r = (struct report){ .opts = run->opts,
		              .stats = stats,
		              .signo = s->signo,
		              .started_s = (double)s->started_epoch_ns / 1e9 };
	if (run->started) {
		int64_t warmup_end_ns = s->measuring ? run->measure_start_ns : s->stopped_ns;

		r->warmup_s = (double)(warmup_end_ns - run->start_ns) / 1e9;
	}
	if (s->measuring) {
		r->duration_s = (double)(s->measured_end_ns - run->measure_start_ns) / 1e9;
		r->cpu_s = (double)(s->cpu_end_ns - s->cpu_start_ns) / 1e9;
		r->cpu_window_s = (double)(s->cpu_end_wall_ns - s->cpu_start_wall_ns) / 1e9;
	}
	r->complete = s->signo == 0 && stats->down == 0 && stats->errors[ERROR_TIMEOUT] == 0;
}

/* An output file (--hdr, --interval-file) is opened before anything is
 * connected, so a path that cannot be written is a usage error (exit 2),
 * not a lost run. */
static FILE *output_open(const char *option, const char *path)
{
	FILE *out;

	if (path == NULL)
		return NULL;
	out = fopen(path, "w");
	if (out == NULL) {
		err_ret("%s: cannot write %s", option, path);
		exit(2);
	}
	return out;
}

/* --server-pid: the process must be there before anything is connected. */
static struct server_sample *server_open(const struct options *opts)
{
	struct server_sample *server;
	char why[160];

	if (opts->server_pid == 0)
		return NULL;
	server = server_sample_open(opts->server_pid, why, sizeof why);
	if (server == NULL) {
		err_msg("--server-pid: %s (it must be running when loadgen starts)", why);
		exit(2);
	}
	return server;
}

/* The server's figures for the report, with a note on stderr for those
 * that could not be taken (they are null in the report). */
static void server_figures(const struct supervisor *s, struct server_figures *figures,
                           struct report *r)
{
	char why[240];

	if (s->server == NULL)
		return;
	if (!server_sample_figures(s->server, figures, why, sizeof why) && why[0] != '\0' &&
	    !s->run->opts->quiet)
		err_msg("note: %s", why);
	r->server = figures;
}

/* One run of the workers and what it measured; the report points into it. */
struct measurement {
	struct options opts;
	struct worker_stats stats;
	struct server_figures server;
	struct report report;
};

static void interval_slots_open(struct run *run, long threads)
{
	if (run->opts->interval_ns == 0)
		return;
	run->interval_slots = Calloc((size_t)threads, sizeof *run->interval_slots);
	for (long i = 0; i < threads; i++)
		run->interval_slots[i] = interval_slot_new();
}

static void interval_slots_close(struct run *run, long threads)
{
	if (run->interval_slots == NULL)
		return;
	for (long i = 0; i < threads; i++)
		interval_slot_free(run->interval_slots[i]);
	free(run->interval_slots);
}

/* --interval: the last line, from the last interval's end to the measured
 * time's, once every echo the workers counted is in the slots. */
static void last_interval(struct supervisor *s)
{
	if (s->intervals == NULL)
		return;
	interval_log_write(s->intervals, s->run->interval_slots, s->threads, s->measured_end_ns);
	interval_log_free(s->intervals);
}

/* Runs the workers once: connect, warm up, measure, drain. m->report is
 * the result, to print. */
static void measure(const struct options *opts, int signal_fd, FILE *interval_out,
                    struct measurement *m)
{
	struct run run;
	struct supervisor s = { 0 };

	m->opts = *opts;
	run_init(&run, &m->opts);
	s.run = &run;
	s.threads = opts->threads;
	s.signal_fd = signal_fd;
	s.interval_out = interval_out;
	s.progress = !opts->quiet && isatty(STDERR_FILENO);
	s.server = server_open(opts);
	interval_slots_open(&run, s.threads);
	s.workers = Calloc((size_t)s.threads, sizeof *s.workers);
	for (long i = 0; i < s.threads; i++)
		s.workers[i] = worker_start(&run, i);

	supervise(&s);

	stats_init(&m->stats);
	for (long i = 0; i < s.threads; i++)
		stats_merge(&m->stats, worker_join(s.workers[i]));
	if (s.progress)
		fputs("\r\033[K", stderr);
	last_interval(&s);
	build_report(&s, &m->stats, &m->report);
	server_figures(&s, &m->server, &m->report);

	for (long i = 0; i < s.threads; i++)
		worker_free(s.workers[i]);
	free(s.workers);
	interval_slots_close(&run, s.threads);
	server_sample_close(s.server);
	run_destroy(&run);
}

static void measurement_free(struct measurement *m)
{
	if (m == NULL)
		return;
	stats_destroy(&m->stats);
	free(m);
}

/* ---- --search ---------------------------------------------------------------- */

/* What search.c judges a step by, from its report. */
static void search_step_of(const struct measurement *m, const struct search *search,
                           struct search_step *step)
{
	const struct worker_stats *stats = &m->stats;

	*step = (struct search_step){
		.offered = m->opts.rate_per_s,
		.achieved =
		    m->report.duration_s > 0 ? (double)stats->messages / m->report.duration_s : 0,
		.measured = stats->latency->count > 0,
		.value_ns = histogram_percentile_ns(stats->latency, search->target.percent),
		.complete = m->report.complete,
	};
	for (int kind = 0; kind < ERROR_KINDS; kind++)
		step->errors += stats->errors[kind];
}

static void search_progress(const struct search *search)
{
	const struct search_step *step = &search->steps[search->count - 1];

	err_msg("step %ld: %.10g msgs/s offered, %.1f achieved, %s %.1f us, %" PRIu64 " errors: %s",
	        search->count, step->offered, step->achieved, search->target.metric,
	        (double)step->value_ns / 1e3, step->errors, step->met ? "met" : "missed");
}

/* Runs the steps search.c plans; returns the measurement to report (the
 * step at the rate found, or the first step when none met the target). */
static struct measurement *search_run(const struct options *opts, int signal_fd, FILE *interval_out,
                                      struct search *search)
{
	struct options step_opts = *opts;
	struct measurement *kept = NULL;
	int64_t began_ns = clock_now_ns();
	uint64_t step_ns = opts->warmup_ns + opts->duration_ns;
	double rate;
	int signo;

	search_init(search, &opts->search_target, opts->rate_per_s, MAX_RATE_PER_S,
	            opts->search_resolution, opts->search_steps, opts->search_time_ns);
	while ((rate = search_next_rate(search, (uint64_t)(clock_now_ns() - began_ns), step_ns)) >
	       0) {
		struct measurement *m = Calloc(1, sizeof *m);
		struct search_step step;

		step_opts.rate_per_s = rate;
		measure(&step_opts, signal_fd, interval_out, m);
		search_step_of(m, search, &step);
		search_record(search, &step);
		if (!opts->quiet)
			search_progress(search);
		signo = m->report.signo;
		if (kept == NULL || search->best == search->count - 1) {
			measurement_free(kept);
			kept = m;
		} else {
			measurement_free(m);
		}
		if (signo != 0) {
			search_interrupt(search);
			kept->report.signo = signo; /* the exit status says so */
		}
	}
	return kept;
}

int main(int argc, char **argv)
{
	struct options opts;
	struct measurement *m;
	struct search search;
	FILE *hdr_out, *interval_out;
	int signal_fd, status;

	if (argc > 1 && strcmp(argv[1], "merge") == 0) {
		err_init(argv[0]);
		return merge_main(argc - 1, argv + 1);
	}
	options_parse(argc, argv, &opts);
	hdr_out = output_open("--hdr", opts.hdr_path);
	interval_out = output_open("--interval-file", opts.interval_path);
	server_sample_close(server_open(&opts)); /* a wrong pid is a usage error, now */
	check_limits(&opts);
	print_notes(&opts);
	signal_fd = signals_open();

	if (opts.search) {
		m = search_run(&opts, signal_fd, interval_out ? interval_out : stderr, &search);
		m->report.search = &search;
	} else {
		m = Calloc(1, sizeof *m);
		measure(&opts, signal_fd, interval_out ? interval_out : stderr, m);
	}
	report_print(&m->report, stdout);
	if (opts.format != FORMAT_HUMAN && !opts.quiet)
		report_print_error_details(&m->report, stderr);
	status = report_exit_status(&m->report);
	if (hdr_out != NULL && (hdr_write(m->stats.latency, hdr_out) < 0 || fclose(hdr_out) != 0)) {
		err_ret("--hdr: cannot write %s", opts.hdr_path);
		status = status ? status : 1;
	}
	if (interval_out != NULL)
		fclose(interval_out);
	measurement_free(m);
	free(opts.sources);
	close(signal_fd);
	return status;
}
