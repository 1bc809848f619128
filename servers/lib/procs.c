/*
 * procs.c - forked workers, replaced when they die (see procs.h).
 */
#include "procs.h"

#include "error.h"
#include "signals.h"
#include "trace.h"
#include "wrappers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t *pids;
static long worker_count;
static void (*run_worker)(long slot);
static pid_t parent_pid;
static sigset_t parent_mask; /* the mask before the stop signals were blocked */

/* The child's side: as the parent was, but for its death, then the worker. */
static void __attribute__((noreturn)) worker_child(long slot)
{
	sigprocmask(SIG_SETMASK, &parent_mask, NULL);
	/* SIGTERM when the parent dies, even by SIGKILL: no orphan workers. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent_pid)
		_exit(1);
	run_worker(slot);
	_exit(0); /* not exit(): the parent's atexit handlers are not ours */
}

/* Forks the worker for slot; returns false if fork failed. */
static bool worker_start(long slot)
{
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
		worker_child(slot);
	pids[slot] = pid;
	trace("fork", -1, "worker=%ld pid=%d", slot, (int)pid);
	return true;
}

static long slot_of(pid_t pid)
{
	for (long i = 0; i < worker_count; i++)
		if (pids[i] == pid)
			return i;
	return -1;
}

/* A worker that died while the server runs is replaced: its slot (and its
 * listener, for prefork --reuseport) must not stay unserved. */
static void replace_worker(pid_t pid, int status)
{
	long slot = slot_of(pid);

	if (slot < 0)
		return;
	pids[slot] = -1;
	if (WIFSIGNALED(status))
		err_msg("worker %ld (pid %d) killed by signal %d; starting another", slot, (int)pid,
		        WTERMSIG(status));
	else
		err_msg("worker %ld (pid %d) exited with %d; starting another", slot, (int)pid,
		        WEXITSTATUS(status));
	if (!worker_start(slot))
		err_ret("cannot replace worker %ld", slot);
}

/* SIGCHLD only has to end sigsuspend: reaping happens in procs_watch. */
static void on_child(int signo)
{
	(void)signo;
}

void procs_start(long count, void (*worker_main)(long slot))
{
	struct sigaction sa = { .sa_handler = on_child };
	sigset_t stop_and_child;

	worker_count = count;
	run_worker = worker_main;
	parent_pid = getpid();
	pids = Calloc((size_t)count, sizeof *pids);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		err_sys("sigaction SIGCHLD");
	/* Stop signals and SIGCHLD reach the parent only inside sigsuspend, so
	 * neither can slip in between the check and the wait. */
	sigemptyset(&stop_and_child);
	sigaddset(&stop_and_child, SIGINT);
	sigaddset(&stop_and_child, SIGTERM);
	sigaddset(&stop_and_child, SIGCHLD);
	sigprocmask(SIG_BLOCK, &stop_and_child, &parent_mask);
	for (long i = 0; i < count; i++)
		if (!worker_start(i))
			err_sys("cannot start worker %ld of %ld", i + 1, count);
}

void procs_watch(void)
{
	pid_t pid;
	int status;

	while (!stop_requested) {
		sigsuspend(&parent_mask);
		while (!stop_requested && (pid = waitpid(-1, &status, WNOHANG)) > 0)
			replace_worker(pid, status);
	}
}

void procs_stop(void (*after_signal)(void))
{
	for (long i = 0; i < worker_count; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	if (after_signal != NULL)
		after_signal();
	/* A second stop signal may now end the wait (exit 128+signal). */
	sigprocmask(SIG_SETMASK, &parent_mask, NULL);
	while (wait(NULL) > 0 || errno == EINTR)
		continue;
	free(pids);
	pids = NULL;
}
