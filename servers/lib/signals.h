/*
 * signals.h - how every server stops, and threads that leave stops alone.
 *
 * SIGPIPE is ignored: a write to a closed client returns EPIPE instead.
 * SIGINT and SIGTERM set stop_requested, without SA_RESTART, and shut down
 * the watched listener and connection, so a blocking accept or read returns
 * at once; a second one exits at once with 128+signal. SIGUSR1 does nothing
 * but interrupt system calls (EINTR): tests use it to prove every call
 * retries.
 */
#ifndef LIB_SIGNALS_H
#define LIB_SIGNALS_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

extern volatile sig_atomic_t stop_requested;

void signals_init(void);
void signals_watch_listener(int fd);
void signals_watch_conn(int fd);

/* Blocks SIGINT and SIGTERM in the caller and returns the previous mask in
 * *old: event loops unblock them only inside pselect/ppoll/epoll_pwait, so a
 * stop can never slip in between the check and the wait. */
void signals_block_stop(sigset_t *old);

/* Stack of every server thread. The echo loop needs its 16 KiB buffer and a
 * few small frames; the default (8 MiB) would reserve 80 GiB of address space
 * for 10000 clients. Sanitizer builds need more and override it. */
#ifndef THREAD_STACK_BYTES
#define THREAD_STACK_BYTES (64 * 1024)
#endif

/* Starts a thread with the stop signals blocked (the main thread handles
 * them) and a stack of stack_bytes. Returns 0 or an errno value. */
int thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, size_t stack_bytes, bool detached);

#endif
