/*
 * signals.c - stop signals and threads that leave them to main (see signals.h).
 */
#include "signals.h"

#include "error.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t watched_listener = -1;
static volatile sig_atomic_t watched_conn = -1;

/* Only async-signal-safe calls here: shutdown(2) and _exit(2). */
static void on_stop_signal(int signo)
{
	int saved_errno = errno;

	if (stop_requested)
		_exit(128 + signo);
	stop_requested = 1;
	if (watched_listener >= 0)
		shutdown(watched_listener, SHUT_RDWR);
	if (watched_conn >= 0)
		shutdown(watched_conn, SHUT_RDWR);
	errno = saved_errno;
}

static void on_interrupt_only(int signo)
{
	(void)signo;
}

static void install_handler(int signo, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
	if (sigaction(signo, &sa, NULL) < 0)
		err_sys("sigaction %d", signo);
}

void signals_init(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN };

	sigemptyset(&ignore.sa_mask);
	if (sigaction(SIGPIPE, &ignore, NULL) < 0)
		err_sys("sigaction SIGPIPE");
	install_handler(SIGINT, on_stop_signal);
	install_handler(SIGTERM, on_stop_signal);
	install_handler(SIGUSR1, on_interrupt_only);
}

void signals_watch_listener(int fd)
{
	watched_listener = fd;
}

void signals_watch_conn(int fd)
{
	watched_conn = fd;
	/* A stop that came before the fd was watched must still reach it. */
	if (fd >= 0 && stop_requested)
		shutdown(fd, SHUT_RDWR);
}

void signals_block_stop(sigset_t *old)
{
	sigset_t stop;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &stop, old) < 0)
		err_sys("sigprocmask");
}

int thread_start(pthread_t *tid, void *(*fn)(void *), void *arg, size_t stack_bytes, bool detached)
{
	pthread_attr_t attr;
	sigset_t stop, old;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack_bytes);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* A new thread inherits the creator's mask: block the stop signals just
	 * long enough to create it, so only the main thread ever handles them. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	rc = pthread_create(tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}
