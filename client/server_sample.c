/*
 * server_sample.c - the server's process tree, read from /proc at the edges
 * of the measured time: CPU time, context switches, processes, threads,
 * memory.
 *
 * The tree is the given process and every descendant, found by reading the
 * parent of every process in /proc/N/stat. /proc/P/task/T/children would be
 * quicker, but it needs CONFIG_PROC_CHILDREN, which not every kernel has,
 * and the kernel documents it as reliable only while the task is stopped.
 *
 * CPU time. At each edge, with P over the tree's processes:
 *
 *   total = sum of P's process CPU clock       (ns; every thread of P, the
 *                                               exited ones included)
 *         + sum of P's cutime + cstime         (clock ticks; the children P
 *                                               has reaped, and theirs)
 *
 * and the window's CPU time is total(end) - total(start). When a child
 * exits and is reaped during the window it leaves the first sum and the
 * kernel adds exactly its CPU time (user + system, summing to its runtime
 * in ns) to its parent's cutime + cstime, so a fork-per-connection server's
 * short-lived children are all counted, once. A child that has exited and
 * is not yet reaped (a zombie) still has a readable process clock (checked
 * on Linux 6.18), so it needs no other path; where a kernel refuses it,
 * its utime + stime from /proc/P/stat (ticks) stand in.
 *
 * Resolution and limits, stated where they happen:
 * - The clocks are exact to the nanosecond. cutime and cstime are kept in
 *   ns by the kernel but printed rounded down to clock ticks (1/CLK_TCK s:
 *   10 ms on Linux): at most one tick each, per process with reaped
 *   children, per edge - not per child. A fork server's window is within
 *   2 ticks (20 ms) of the truth.
 * - An edge is read in a burst, not in an instant: the clocks first, then
 *   /proc/P/stat. A child reaped between its clock and its parent's stat is
 *   counted twice at that edge (at most one child's CPU time per child
 *   reaped in those microseconds).
 * - Not counted: children the kernel reaps itself (SIGCHLD ignored or
 *   SA_NOCLDWAIT: their time is added to no parent), and processes that
 *   leave the tree (orphans re-parented to init, daemonised grandchildren).
 *
 * Context switches: voluntary + involuntary from /proc/P/task/T/status, per
 * thread, end minus start for each thread alive at both edges, everything
 * for a thread born in the window. Not counted: the switches of threads and
 * processes that exited during the window (the kernel keeps them only for
 * the process's own getrusage(2) and its parent's RUSAGE_CHILDREN), so
 * under churn of threads or processes this is a lower bound.
 *
 * An edge read late is no edge. Finding the tree means reading every
 * /proc/N/stat on the machine, and for a tree of thousands of processes
 * (fork beside 10,000 idle connections) that takes a good part of a second,
 * on the load generator's own core: its workers barely send meanwhile, and
 * the window the server's CPU is read over no longer matches the one its
 * messages are counted in. When the clocks of either edge are read later
 * than a tenth of the window after it, the CPU time and the context
 * switches are not reported (null, with a note) rather than reported wrong.
 *
 * Memory at the end edge: RSS from /proc/P/stat, summed (a page shared by
 * several processes, such as libc or a prefork parent's heap, counts in
 * each); PSS from /proc/P/smaps_rollup, summed (a shared page is split
 * between its sharers, so the sum is the tree's real footprint). Reading
 * smaps_rollup walks every mapping of every process, the slowest read here,
 * so it is done once, last, and it needs ptrace read access (same user).
 */
#include "server_sample.h"

#include "wrap.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* /proc/P/stat is about 300 bytes; its 52 fields could reach 1.2 KB. */
#define STAT_BYTES 4096
/* /proc/P/task/T/status is about 1.5 KB; the CPU lists grow with the CPUs. */
#define STATUS_BYTES 16384
#define NOTE_BYTES   200

#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* One process as /proc/P/stat shows it. */
struct proc_stat {
	pid_t pid;
	pid_t ppid;
	char state; /* 'Z': exited, not yet reaped */
	uint64_t utime_ticks, stime_ticks;
	uint64_t cutime_ticks, cstime_ticks; /* reaped children */
	uint64_t threads;
	uint64_t start_ticks; /* since boot: tells a pid's process from a later one */
	uint64_t rss_pages;
};

/* A process of the tree, and its CPU clock. */
struct member {
	pid_t pid;
	clockid_t clock;
	bool has_clock;
};

/* One thread's context switches at an edge. */
struct thread_switches {
	pid_t tid;
	uint64_t switches;
};

/* What one edge read. */
struct edge {
	bool attempted;
	bool taken;      /* the server was alive and its CPU time was read */
	uint64_t at_ns;  /* CLOCK_MONOTONIC when the edge was called */
	uint64_t lag_ns; /* from then until its CPU clocks were all read */
	uint64_t cpu_ns; /* total(t), see the top of this file */
	bool switches_ok;
	struct thread_switches *threads; /* sorted by tid */
	size_t thread_count;
	/* The end edge only. */
	uint64_t procs, threads_alive, rss_kib, pss_kib;
	bool pss_ok;
};

struct server_sample {
	pid_t root;
	uint64_t root_start_ticks;
	uint64_t ns_per_tick;
	uint64_t page_kib;
	/* Scratch, reused at each edge: every process on the machine, then the tree. */
	struct proc_stat *all;
	size_t all_count, all_capacity;
	struct member *tree;
	size_t tree_count, tree_capacity;
	struct edge start, end;
	char note[NOTE_BYTES]; /* the first reason a figure is missing */
};

/* ---- reading /proc --------------------------------------------------------- */

/* Reads a whole small /proc file into buf (NUL-terminated). Returns the
 * bytes read, or -1 with errno set (ENOENT or ESRCH: the process is gone). */
static ssize_t proc_read(const char *path, char *buf, size_t buf_bytes)
{
	size_t used = 0;
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (used < buf_bytes - 1 && (n = read(fd, buf + used, buf_bytes - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (n < 0)
		return -1;
	buf[used] = '\0';
	return (ssize_t)used;
}

static bool gone(int error)
{
	return error == ENOENT || error == ESRCH;
}

/* Parses a stat line. The command name (field 2) is in parentheses and may
 * hold spaces and parentheses itself, so the fields are counted from the
 * last ')'. Field numbers are those of proc(5). */
static bool stat_parse(const char *line, struct proc_stat *out)
{
	const char *p = strrchr(line, ')');
	int64_t fields[25] = { 0 };
	char *end;

	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return false;
	out->state = p[2];
	p += 3;
	for (int field = 4; field <= 24; field++) {
		fields[field] = strtoll(p, &end, 10);
		if (end == p)
			return false;
		p = end;
	}
	out->ppid = (pid_t)fields[4];
	out->utime_ticks = (uint64_t)fields[14];
	out->stime_ticks = (uint64_t)fields[15];
	out->cutime_ticks = (uint64_t)fields[16];
	out->cstime_ticks = (uint64_t)fields[17];
	out->threads = (uint64_t)fields[20];
	out->start_ticks = (uint64_t)fields[22];
	out->rss_pages = (uint64_t)fields[24];
	return true;
}

static bool stat_read(pid_t pid, struct proc_stat *out)
{
	char path[64], line[STAT_BYTES];

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (proc_read(path, line, sizeof line) < 0)
		return false;
	out->pid = pid;
	return stat_parse(line, out);
}

/* The number after "name" at the start of a line of a status-like file. */
static bool line_value(const char *text, const char *name, uint64_t *value)
{
	size_t name_bytes = strlen(name);

	for (const char *p = text; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, name_bytes) == 0) {
			*value = strtoull(p + name_bytes, NULL, 10);
			return true;
		}
	}
	return false;
}

/* Voluntary + involuntary context switches of one thread. Returns 0, or an
 * errno value (ENOENT or ESRCH: the thread is gone). */
static int thread_switches_read(pid_t pid, pid_t tid, uint64_t *switches)
{
	char path[96], text[STATUS_BYTES];
	uint64_t voluntary, involuntary;

	snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (proc_read(path, text, sizeof text) < 0)
		return errno;
	if (!line_value(text, "voluntary_ctxt_switches:", &voluntary) ||
	    !line_value(text, "nonvoluntary_ctxt_switches:", &involuntary))
		return ENODATA;
	*switches = voluntary + involuntary;
	return 0;
}

/* The process's proportional set size. Returns 0, or an errno value
 * (ENOENT or ESRCH: gone; EACCES: not ours to read). */
static int pss_read(pid_t pid, uint64_t *pss_kib)
{
	char path[64], text[STATUS_BYTES];

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	if (proc_read(path, text, sizeof text) < 0)
		return errno;
	/* "Pss:" alone: Pss_Anon, Pss_File and the others follow it. */
	if (!line_value(text, "Pss:", pss_kib))
		return ESRCH; /* no memory at all: it is exiting */
	return 0;
}

static bool is_pid_name(const char *name)
{
	return name[0] >= '1' && name[0] <= '9' && strspn(name, "0123456789") == strlen(name);
}

/* Tids of process pid, read from /proc/pid/task, into a growing array. */
static void tids_read(pid_t pid, pid_t **tids, size_t *count, size_t *capacity)
{
	char path[64];
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	*count = 0;
	dir = opendir(path);
	if (dir == NULL)
		return; /* gone since the scan */
	while ((entry = readdir(dir)) != NULL) {
		if (!is_pid_name(entry->d_name))
			continue;
		if (*count == *capacity) {
			*capacity = *capacity ? *capacity * 2 : 64;
			*tids = realloc(*tids, *capacity * sizeof **tids);
			if (*tids == NULL)
				err_sys("realloc");
		}
		(*tids)[(*count)++] = (pid_t)atol(entry->d_name);
	}
	closedir(dir);
}

/* ---- finding the tree -------------------------------------------------------- */

static void all_append(struct server_sample *s, const struct proc_stat *st)
{
	if (s->all_count == s->all_capacity) {
		s->all_capacity = s->all_capacity ? s->all_capacity * 2 : 512;
		s->all = realloc(s->all, s->all_capacity * sizeof *s->all);
		if (s->all == NULL)
			err_sys("realloc");
	}
	s->all[s->all_count++] = *st;
}

/* Every process on the machine with its parent: /proc lists processes
 * (thread group leaders), not threads. One that exits while we read is
 * simply missing. */
static void scan_all(struct server_sample *s)
{
	struct dirent *entry;
	struct proc_stat st;
	DIR *dir = opendir("/proc");

	if (dir == NULL)
		err_sys("opendir /proc");
	s->all_count = 0;
	while ((entry = readdir(dir)) != NULL)
		if (is_pid_name(entry->d_name) && stat_read((pid_t)atol(entry->d_name), &st))
			all_append(s, &st);
	closedir(dir);
}

static int by_ppid(const void *a, const void *b)
{
	pid_t x = ((const struct proc_stat *)a)->ppid, y = ((const struct proc_stat *)b)->ppid;

	return (x > y) - (x < y);
}

static void tree_append(struct server_sample *s, pid_t pid)
{
	if (s->tree_count == s->tree_capacity) {
		s->tree_capacity = s->tree_capacity ? s->tree_capacity * 2 : 64;
		s->tree = realloc(s->tree, s->tree_capacity * sizeof *s->tree);
		if (s->tree == NULL)
			err_sys("realloc");
	}
	s->tree[s->tree_count++] = (struct member){ .pid = pid };
}

/* The first process in all (sorted by ppid) whose parent is ppid. */
static size_t first_child(const struct server_sample *s, pid_t ppid)
{
	size_t lo = 0, hi = s->all_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->all[mid].ppid < ppid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* True when the root is in the scan, alive, and the process we were given
 * (not a later one that got its pid). */
static bool root_alive(const struct server_sample *s)
{
	for (size_t i = 0; i < s->all_count; i++)
		if (s->all[i].pid == s->root)
			return s->all[i].state != 'Z' && s->all[i].state != 'X' &&
			       s->all[i].start_ticks == s->root_start_ticks;
	return false;
}

/* Fills s->tree, parents before children (breadth first), with each
 * process's CPU clock id. False when the root is no longer alive. Were
 * loadgen itself in the tree (--server-pid of the shell that started it),
 * it and its reading of /proc are left out. */
static bool tree_find(struct server_sample *s)
{
	pid_t self = getpid();

	scan_all(s);
	if (!root_alive(s))
		return false;
	qsort(s->all, s->all_count, sizeof *s->all, by_ppid);
	s->tree_count = 0;
	tree_append(s, s->root);
	for (size_t next = 0; next < s->tree_count; next++)
		for (size_t i = first_child(s, s->tree[next].pid);
		     i < s->all_count && s->all[i].ppid == s->tree[next].pid; i++)
			if (s->all[i].pid != self)
				tree_append(s, s->all[i].pid);
	/* clock_getcpuclockid checks that the process exists with a system
	 * call of its own: done here, so the burst of clock reads is one
	 * clock_gettime per process. */
	for (size_t i = 0; i < s->tree_count; i++)
		s->tree[i].has_clock = clock_getcpuclockid(s->tree[i].pid, &s->tree[i].clock) == 0;
	return true;
}

/* ---- one edge ------------------------------------------------------------------ */

static uint64_t clock_read_ns(clockid_t clock, bool *ok)
{
	struct timespec now;

	*ok = clock_gettime(clock, &now) == 0;
	return *ok ? (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec : 0;
}

/* total(t) (see the top of this file), and at the end edge the counts and
 * RSS from the same stat reads. False when the root died meanwhile. */
static bool edge_read_cpu(struct server_sample *s, struct edge *e)
{
	bool *clock_ok = Calloc(s->tree_count, sizeof *clock_ok);
	uint64_t ticks = 0, clock_ns = 0;
	bool root_ok = false;
	struct proc_stat st;

	/* The burst: one clock_gettime per process, nothing else between. */
	for (size_t i = 0; i < s->tree_count; i++)
		if (s->tree[i].has_clock)
			clock_ns += clock_read_ns(s->tree[i].clock, &clock_ok[i]);
	for (size_t i = 0; i < s->tree_count; i++) {
		/* A process gone now was reaped: its parent's cutime, read
		 * here after its clock, holds its time. */
		if (!stat_read(s->tree[i].pid, &st))
			continue;
		ticks += st.cutime_ticks + st.cstime_ticks;
		/* A zombie whose clock a kernel would not read. */
		if (!clock_ok[i] && st.state == 'Z')
			ticks += st.utime_ticks + st.stime_ticks;
		if (i == 0)
			root_ok = st.state != 'Z' && st.state != 'X';
		if (st.state != 'Z' && st.state != 'X') {
			e->procs++;
			e->threads_alive += st.threads;
			e->rss_kib += st.rss_pages * s->page_kib;
		}
	}
	free(clock_ok);
	e->cpu_ns = clock_ns + ticks * s->ns_per_tick;
	return root_ok;
}

static int by_tid(const void *a, const void *b)
{
	pid_t x = ((const struct thread_switches *)a)->tid;
	pid_t y = ((const struct thread_switches *)b)->tid;

	return (x > y) - (x < y);
}

static void switches_append(struct edge *e, size_t *capacity, pid_t tid, uint64_t switches)
{
	if (e->thread_count == *capacity) {
		*capacity = *capacity ? *capacity * 2 : 64;
		e->threads = realloc(e->threads, *capacity * sizeof *e->threads);
		if (e->threads == NULL)
			err_sys("realloc");
	}
	e->threads[e->thread_count++] = (struct thread_switches){ tid, switches };
}

/* Every thread's context switches, sorted by tid. A thread or process that
 * exits while we read is left out; anything else unreadable spoils the
 * figure. */
static void edge_read_switches(struct server_sample *s, struct edge *e)
{
	pid_t *tids = NULL;
	size_t tid_count = 0, tid_capacity = 0, capacity = 0;
	uint64_t switches;

	e->switches_ok = true;
	for (size_t i = 0; i < s->tree_count; i++) {
		tids_read(s->tree[i].pid, &tids, &tid_count, &tid_capacity);
		for (size_t t = 0; t < tid_count; t++) {
			int error = thread_switches_read(s->tree[i].pid, tids[t], &switches);

			if (error == 0) {
				switches_append(e, &capacity, tids[t], switches);
			} else if (!gone(error) && e->switches_ok) {
				e->switches_ok = false;
				snprintf(s->note, sizeof s->note,
				         "cannot read the context switches of thread %d (%s): "
				         "no context switch figure",
				         (int)tids[t], strerror(error));
			}
		}
	}
	free(tids);
	qsort(e->threads, e->thread_count, sizeof *e->threads, by_tid);
}

/* PSS summed over the tree, the slow read: the end edge only. */
static void edge_read_pss(struct server_sample *s, struct edge *e)
{
	uint64_t kib;

	e->pss_ok = true;
	for (size_t i = 0; i < s->tree_count; i++) {
		int error = pss_read(s->tree[i].pid, &kib);

		if (error == 0) {
			e->pss_kib += kib;
		} else if (!gone(error)) {
			e->pss_ok = false;
			snprintf(s->note, sizeof s->note,
			         "cannot read /proc/%d/smaps_rollup (%s): no pss figure",
			         (int)s->tree[i].pid, strerror(error));
			return;
		}
	}
}

static void edge_take(struct server_sample *s, struct edge *e, bool end)
{
	bool ok;

	e->attempted = true;
	e->at_ns = clock_read_ns(CLOCK_MONOTONIC, &ok);
	if (!tree_find(s) || !edge_read_cpu(s, e))
		return;
	e->lag_ns = clock_read_ns(CLOCK_MONOTONIC, &ok) - e->at_ns;
	e->taken = true;
	edge_read_switches(s, e);
	if (end)
		edge_read_pss(s, e);
}

/* ---- the API ------------------------------------------------------------------- */

/* The Tgid line of /proc/pid/status: pid itself for a process, its
 * process's pid for another thread (whose /proc/TID is readable too). */
static pid_t process_of(pid_t pid)
{
	char path[64], text[STATUS_BYTES];
	uint64_t tgid;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (proc_read(path, text, sizeof text) < 0 || !line_value(text, "Tgid:", &tgid))
		return 0;
	return (pid_t)tgid;
}

struct server_sample *server_sample_open(pid_t pid, char *why, size_t why_bytes)
{
	struct server_sample *s;
	struct proc_stat st;
	pid_t tgid;

	if (!stat_read(pid, &st) || (tgid = process_of(pid)) == 0) {
		snprintf(why, why_bytes, "no process %d", (int)pid);
		return NULL;
	}
	if (st.state == 'Z' || st.state == 'X') {
		snprintf(why, why_bytes, "process %d has exited", (int)pid);
		return NULL;
	}
	if (tgid != pid) {
		snprintf(why, why_bytes, "%d is a thread of process %d: give the process", (int)pid,
		         (int)tgid);
		return NULL;
	}
	s = Calloc(1, sizeof *s);
	s->root = pid;
	s->root_start_ticks = st.start_ticks;
	s->ns_per_tick = 1000000000u / (uint64_t)sysconf(_SC_CLK_TCK);
	s->page_kib = (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
	return s;
}

void server_sample_start(struct server_sample *s)
{
	edge_take(s, &s->start, false);
}

void server_sample_end(struct server_sample *s)
{
	edge_take(s, &s->end, true);
}

/* Context switches in the window: per thread, end minus start; a thread
 * not there at the start (or whose count went down: its tid was reused)
 * is new, and all its switches are in the window. */
static uint64_t switches_in_window(const struct edge *start, const struct edge *end)
{
	uint64_t total = 0;

	for (size_t i = 0; i < end->thread_count; i++) {
		const struct thread_switches *now = &end->threads[i];
		const struct thread_switches *then = bsearch(
		    now, start->threads, start->thread_count, sizeof *start->threads, by_tid);

		total += then != NULL && then->switches <= now->switches
		             ? now->switches - then->switches
		             : now->switches;
	}
	return total;
}

bool server_sample_figures(const struct server_sample *s, struct server_figures *out, char *why,
                           size_t why_bytes)
{
	const struct edge *start = &s->start, *end = &s->end;

	*out = (struct server_figures){ 0 };
	why[0] = '\0';
	if (!start->attempted || !end->attempted)
		return false; /* the measured time never began: nothing to say */
	if (!start->taken || !end->taken) {
		snprintf(why, why_bytes,
		         "server process %d exited %s the measured time: no server figures",
		         (int)s->root, start->taken ? "during" : "before");
		return false;
	}
	/* Only a child reaped mid-edge, counted twice at the start, could make
	 * the CPU time go down; better no figure than a wrong one. */
	bool cpu_went_down = end->cpu_ns < start->cpu_ns;
	uint64_t window_ns = end->at_ns - start->at_ns, lag_ns = MAX(start->lag_ns, end->lag_ns);
	bool edges_late = lag_ns * 10 > window_ns;

	out->cpu_valid = !cpu_went_down && !edges_late;
	out->cpu_ns = out->cpu_valid ? end->cpu_ns - start->cpu_ns : 0;
	out->switches_valid = start->switches_ok && end->switches_ok && !edges_late;
	if (out->switches_valid)
		out->ctx_switches = switches_in_window(start, end);
	out->counts_valid = true;
	out->procs = end->procs;
	out->threads = end->threads_alive;
	out->rss_kib = end->rss_kib;
	out->pss_valid = end->pss_ok;
	out->pss_kib = end->pss_kib;
	if (edges_late)
		snprintf(why, why_bytes,
		         "reading the server's %" PRIu64 " processes took %.0f ms at an edge of a "
		         "%.0f ms window (more than a tenth): no server_cpu_s or context switches",
		         end->procs, (double)lag_ns / 1e6, (double)window_ns / 1e6);
	else if (cpu_went_down)
		snprintf(why, why_bytes,
		         "the server's CPU time went down across the window "
		         "(a child reaped while it was read): no server_cpu_s");
	else if (s->note[0] != '\0')
		snprintf(why, why_bytes, "%s", s->note);
	return why[0] == '\0';
}

void server_sample_close(struct server_sample *s)
{
	if (s == NULL)
		return;
	free(s->start.threads);
	free(s->end.threads);
	free(s->all);
	free(s->tree);
	free(s);
}
