/*
 * procs.h - worker processes forked once, at start, and kept: prefork and
 * epoll-procs. The parent only watches them: a worker that dies is replaced
 * (as Apache and nginx do), and a stop signals every worker and waits for
 * all of them, so none is left behind.
 */
#ifndef LIB_PROCS_H
#define LIB_PROCS_H

/* Forks count workers; each runs worker_main(slot), slot 0..count-1, and
 * exits 0 when it returns (_exit: the parent's atexit handlers are not its
 * own). In the worker the stop signals are unblocked again and it is sent
 * SIGTERM if the parent dies, even by SIGKILL: no orphan workers. Exits 1
 * if a worker cannot be started. */
void procs_start(long count, void (*worker_main)(long slot));

/* The parent's loop: sleeps until a signal, replaces each worker that died,
 * and returns once a stop is requested. */
void procs_watch(void);

/* Sends every worker SIGTERM, then calls after_signal (NULL: nothing; prefork
 * shuts its listeners down there), then waits for every worker to exit. A
 * second stop signal meanwhile exits at once (128+signal). */
void procs_stop(void (*after_signal)(void));

#endif
