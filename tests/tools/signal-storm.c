/*
 * signal-storm - interrupts every thread of a process tree, over and over.
 *
 * tests/servers.bats uses it to prove that the servers retry system calls
 * interrupted by a signal (EINTR): while a client streams data, it sends
 * SIGUSR1, which the servers catch and ignore, to every thread of the server
 * and of all its child processes, every --interval-us, until the client
 * (--while PID) has exited.
 *
 * kill(1) is not enough: a signal sent to a process is delivered to one
 * thread of the kernel's choosing (usually the main one), so the worker
 * threads of a threaded server would never see EINTR. tgkill(2) aims at one
 * thread.
 *
 * Usage: signal-storm -p PID -w WATCH_PID [-s SIGNAL] [-i INTERVAL_US] [-t TIMEOUT_MS]
 * Prints "signals sent=N" at the end. Exit: 0 once WATCH_PID has exited;
 * 1 if PID disappeared or TIMEOUT_MS (default 30000) passed first; 2 usage.
 */
#include "wrap.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
/* Deep enough for a server and its children; a guard against loops. */
#define MAX_DEPTH 4

struct storm_options {
	pid_t target_pid;
	pid_t watch_pid;
	int signo;
	long interval_us;
	long timeout_ms;
};

static long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* True while pid exists and is not a zombie (kill(pid, 0) succeeds on a
 * zombie, which is what a finished child of bats is until it is reaped). */
static bool process_alive(pid_t pid)
{
	char path[64], stat[512];
	FILE *f;
	char *close_paren;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	n = fread(stat, 1, sizeof stat - 1, f);
	fclose(f);
	stat[n] = '\0';
	close_paren = strrchr(stat, ')');
	return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

static void signal_tree(pid_t pid, int signo, int depth, long long *sent);

/* Signals the children listed in /proc/PID/task/TID/children. */
static void signal_children(pid_t pid, pid_t tid, int signo, int depth, long long *sent)
{
	char path[96];
	FILE *f;
	int child;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)tid);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fscanf(f, "%d", &child) == 1)
		signal_tree((pid_t)child, signo, depth + 1, sent);
	fclose(f);
}

/* Sends signo to every thread of pid, then does the same for its children. */
static void signal_tree(pid_t pid, int signo, int depth, long long *sent)
{
	char path[64];
	struct dirent *entry;
	DIR *tasks;

	if (depth > MAX_DEPTH)
		return;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	if (tasks == NULL)
		return; /* gone meanwhile */
	while ((entry = readdir(tasks)) != NULL) {
		long tid;

		if (!parse_long(entry->d_name, 1, 1L << 30, &tid))
			continue;
		if (tgkill(pid, (pid_t)tid, signo) == 0)
			(*sent)++;
		signal_children(pid, (pid_t)tid, signo, depth, sent);
	}
	closedir(tasks);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: signal-storm -p PID -w WATCH_PID [-s SIGNAL] [-i INTERVAL_US] "
	             "[-t TIMEOUT_MS]\n"
	             "  -s SIGNAL  USR1 (default), USR2, HUP or a number\n");
}

static int parse_signal(const char *text)
{
	static const struct {
		const char *name;
		int signo;
	} names[] = { { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP } };
	long signo;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(text, names[i].name) == 0)
			return names[i].signo;
	if (parse_long(text, 1, 64, &signo))
		return (int)signo;
	usage(stderr);
	exit(EXIT_USAGE);
}

static long parse_number_or_die(const char *text, long min, long max)
{
	long value;

	if (!parse_long(text, min, max, &value)) {
		fprintf(stderr, "signal-storm: '%s' is not a number in range\n", text);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return value;
}

static void parse_options(int argc, char **argv, struct storm_options *o)
{
	int c;

	*o = (struct storm_options){ .signo = SIGUSR1, .interval_us = 200, .timeout_ms = 30000 };
	while ((c = getopt(argc, argv, "p:w:s:i:t:h")) != -1) {
		switch (c) {
		case 'p':
			o->target_pid = (pid_t)parse_number_or_die(optarg, 1, 1L << 30);
			break;
		case 'w':
			o->watch_pid = (pid_t)parse_number_or_die(optarg, 1, 1L << 30);
			break;
		case 's':
			o->signo = parse_signal(optarg);
			break;
		case 'i':
			o->interval_us = parse_number_or_die(optarg, 1, 1000000);
			break;
		case 't':
			o->timeout_ms = parse_number_or_die(optarg, 1, 3600 * 1000);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (o->target_pid == 0 || o->watch_pid == 0 || optind != argc) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

int main(int argc, char **argv)
{
	struct storm_options o;
	struct timespec interval;
	long long deadline_ms, sent = 0;

	err_init(argv[0]);
	parse_options(argc, argv, &o);
	interval = (struct timespec){ .tv_sec = o.interval_us / 1000000,
		                      .tv_nsec = o.interval_us % 1000000 * 1000 };
	deadline_ms = now_ms() + o.timeout_ms;
	while (process_alive(o.watch_pid)) {
		if (!process_alive(o.target_pid)) {
			err_msg("process %d is gone (after %lld signals)", (int)o.target_pid, sent);
			return 1;
		}
		if (now_ms() >= deadline_ms) {
			err_msg("process %d still running after %ld ms", (int)o.watch_pid,
			        o.timeout_ms);
			return 1;
		}
		signal_tree(o.target_pid, o.signo, 0, &sent);
		nanosleep(&interval, NULL);
	}
	printf("signals sent=%lld\n", sent);
	return 0;
}
