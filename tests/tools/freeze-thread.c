/*
 * freeze-thread - stops one thread of a process, and only that one.
 *
 * tests/robustness.bats uses it to hold up a threaded server's clean stop:
 * with one connection thread frozen, the stop (shut every connection down,
 * wait for every thread) cannot finish, so the test can prove that a second
 * SIGTERM ends the server at once. A signal cannot do this: SIGSTOP stops the
 * whole process. ptrace can stop a single thread: PTRACE_SEIZE attaches to it
 * without stopping it, PTRACE_INTERRUPT then stops it where it is.
 *
 * Usage: freeze-thread -t TID [-T TIMEOUT_MS]
 * Prints "frozen tid=TID" once the thread is stopped. Holds it until SIGTERM
 * or SIGINT (then detaches, which lets it run on), until the thread's process
 * exits, or TIMEOUT_MS (default 30000) passes. Meanwhile it reaps the
 * thread's notifications, so the process can exit while the thread is
 * frozen (the kernel kills a frozen thread with the rest of its process).
 * Exit: 0 after a release or once the process has exited; 1 on an error or
 * the timeout; 2 usage.
 */
#include "wrap.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define POLL_MS    10

static volatile sig_atomic_t release_requested;

static void on_release(int signo)
{
	(void)signo;
	release_requested = 1;
}

static long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Attaches to tid and stops it; returns false after saying why. */
static bool freeze(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		err_ret("ptrace(PTRACE_SEIZE, %d)", (int)tid);
		return false;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		err_ret("ptrace(PTRACE_INTERRUPT, %d)", (int)tid);
		return false;
	}
	while (waitpid(tid, &status, __WALL) < 0) {
		if (errno != EINTR) {
			err_ret("waitpid %d", (int)tid);
			return false;
		}
	}
	if (!WIFSTOPPED(status)) {
		err_msg("thread %d ended instead of stopping", (int)tid);
		return false;
	}
	return true;
}

/* True once the frozen thread is gone (its process exited); reaps it. */
static bool thread_gone(pid_t tid)
{
	int status;
	pid_t r = waitpid(tid, &status, __WALL | WNOHANG);

	if (r < 0)
		return errno == ECHILD;
	return r == tid && (WIFEXITED(status) || WIFSIGNALED(status));
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: freeze-thread -t TID [-T TIMEOUT_MS]\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_release };
	struct timespec pause = { .tv_nsec = POLL_MS * 1000000L };
	long tid = 0, timeout_ms = 30000;
	long long deadline_ms;
	int c;

	err_init(argv[0]);
	while ((c = getopt(argc, argv, "t:T:h")) != -1) {
		switch (c) {
		case 't':
			if (!parse_long(optarg, 1, 1L << 30, &tid))
				tid = 0;
			break;
		case 'T':
			if (!parse_long(optarg, 1, 3600 * 1000, &timeout_ms))
				tid = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (tid == 0 || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!freeze((pid_t)tid))
		return 1;
	printf("frozen tid=%ld\n", tid);
	fflush(stdout);
	deadline_ms = now_ms() + timeout_ms;
	while (!release_requested) {
		if (thread_gone((pid_t)tid)) {
			printf("gone tid=%ld\n", tid);
			return 0;
		}
		if (now_ms() >= deadline_ms) {
			err_msg("thread %ld still frozen after %ld ms: letting it go", tid,
			        timeout_ms);
			ptrace(PTRACE_DETACH, (pid_t)tid, NULL, NULL);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
	/* Detaching restarts it; exiting would too, but say so explicitly. */
	ptrace(PTRACE_DETACH, (pid_t)tid, NULL, NULL);
	printf("released tid=%ld\n", tid);
	return 0;
}
