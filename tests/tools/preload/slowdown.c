/*
 * slowdown.so - an LD_PRELOAD shim that makes one program slower per message,
 * without touching its source: the regression gate's test subject (make
 * bench-check SLOWDOWN=MODEL, bench/compare-trial.sh).
 *
 * An echo server writes once per message it echoes (at one connection in a
 * closed loop, exactly once). Every write-side call of the chosen program
 * (write, writev, send, sendto, sendmsg) and every accept runs for real,
 * then the shim adds, on the same thread (uring writes through its ring:
 * for it each io_uring_submit* of liburing counts as an accept does, so
 * that the factor works for it too, and SLOWDOWN_US and SLOWDOWN_SYSCALLS
 * do not):
 *
 *   SLOWDOWN_FACTOR=1.15  CPU: the program's CPU per message times 1.15
 *                         (1 to 100). Every 32 calls, the shim burns (F - 1)
 *                         times the CPU the whole process used since the
 *                         last time, from the process CPU clock: every
 *                         thread, and the kernel's work charged to them
 *                         (system calls, wake-ups, context switches), less
 *                         the shim's own burn.
 *   SLOWDOWN_US=3         CPU: 3 microseconds per write, whatever the model
 *                         (0 to 1000000), burnt with the factor's.
 *   SLOWDOWN_SYSCALLS=1   N more system calls (getppid) per write and no
 *                         CPU: the syscall check's subject (0 to 100).
 *   SLOWDOWN_REPORT=1     at exit, one line on stderr per process: its
 *                         calls, writes, CPU and what the shim burnt.
 *
 * The burn is a spin loop measured on the thread's CPU clock (a calibrated
 * bulk, then the rest until the clock says it is done), so what was burnt
 * is known to the nanosecond and kept out of the server's own CPU. It
 * costs four or five system calls (clock reads) per 32 calls, 0.15 per
 * message, below what the syscall check counts as a change (0.5). It is
 * CPU spent where the server would spend it, not a sleep (a sleep adds
 * latency and costs nothing); the price is one message in 32 waiting for
 * the burn. A process that makes fewer than 32 calls (fork's child under
 * churn: one message) is not slowed; its parent is.
 *
 * Why the process CPU clock (issue 12). An earlier version burnt, at every
 * read, write and accept, (F - 1) times the calling thread's CPU since its
 * previous burn. For the event loops that doubled the CPU per message at
 * F = 2, but thread's rose only 1.1x to 1.5x: bench/README.md, "The
 * slowdown shim", has the measurements and what they showed.
 *
 *   SLOWDOWN_PROG=echo-epoll-et[,echo-poll]  programs to slow down, by name
 *                                            (others load the shim, inert)
 *
 *   make build/tests/slowdown.so
 *   LD_PRELOAD=$PWD/build/tests/slowdown.so SLOWDOWN_PROG=echo-poll SLOWDOWN_FACTOR=1.15 \
 *       bin/echo-poll -p 0
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Calls (writes and accepts) per settling. */
#define SETTLE_CALLS 32
/* Spin iterations of the calibration: about a millisecond. */
#define CALIBRATE_ITERS 1000000LL

static int slow_active;
static double slow_factor = 1.0; /* SLOWDOWN_FACTOR */
static long long slow_us_ns;     /* SLOWDOWN_US, in nanoseconds */
static int slow_syscalls;        /* SLOWDOWN_SYSCALLS */

/* The calibration: picoseconds of CPU per spin iteration. */
static _Atomic long long slow_ps_per_iter = 1000;
/* Calls and writes so far, and the writes not paid for yet (SLOWDOWN_US). */
static _Atomic long long slow_calls, slow_writes, slow_writes_unpaid;
/* The process CPU (ns) accounted for: the server's own, claimed by a
 * settling, and the burns settlings have reserved; -1 before the first. */
static _Atomic long long slow_accounted_ns = -1;
/* What past burns ran beyond their target (ns), taken off the next. */
static _Atomic long long slow_credit_ns;
/* SLOWDOWN_REPORT=1: what the shim did, on stderr at exit. */
static int slow_report;
static _Atomic long long slow_settles, slow_burnt_total_ns;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
/* liburing's (uring makes its system calls inside liburing, not libc): the
 * types are liburing's, passed through untouched. */
static int (*real_uring_submit)(void *);
static int (*real_uring_submit_and_wait_timeout)(void *, void **, unsigned, void *, void *);

static long long slow_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Spins iters iterations: CPU, no system call. */
static void slow_spin(long long iters)
{
	for (volatile long long i = 0; i < iters; i++)
		continue;
}

/* Burns burn_ns of this thread's CPU, measured on its CPU clock: 90% of
 * it in one spin of the calibrated length, then the rest at the rate that
 * spin showed, until the clock says it is done (three or four clock reads
 * in all, however the calibration has drifted). Returns the CPU it took,
 * clock reads included. */
static long long slow_burn(long long burn_ns)
{
	long long ps = atomic_load_explicit(&slow_ps_per_iter, memory_order_relaxed);
	long long t0 = slow_clock_ns(CLOCK_THREAD_CPUTIME_ID), spent = 0;
	long long iters = burn_ns * 900 / ps, done = 0;

	for (;;) {
		slow_spin(iters);
		done += iters;
		spent = slow_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (spent > 0 && done > 0)
			ps = spent * 1000 / done + 1;
		if (spent >= burn_ns)
			break;
		iters = (burn_ns - spent) * 1000 / ps + 1;
	}
	/* The rate this burn measured is the next one's calibration. */
	if (done >= 1000)
		atomic_store_explicit(&slow_ps_per_iter, ps, memory_order_relaxed);
	return spent;
}

/* Every SETTLE_CALLS calls: the process CPU not accounted for yet (the
 * process CPU clock: every thread, and the kernel's work for them) is the
 * server's own, since the burns already settled were reserved in advance;
 * this settling claims it, reserves (factor - 1) times it plus SLOWDOWN_US
 * per unpaid write, and burns that on its own thread. Claims are atomic, so
 * threads settle side by side: one thread burning for all of them while
 * the others run would fall behind for good (16 threads on one core give
 * it a sixteenth of the CPU, and the debt grows faster than it is paid). */
static void slow_settle(void)
{
	long long cpu_ns = slow_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	long long seen = atomic_load(&slow_accounted_ns), debt_ns, target_ns, burnt_ns, writes;

	for (;;) {
		if (seen < 0) {
			/* The first settling: start-up is not the server's work. */
			if (atomic_compare_exchange_weak(&slow_accounted_ns, &seen, cpu_ns))
				return;
			continue;
		}
		if (cpu_ns <= seen)
			return; /* nothing new beyond the burns reserved */
		debt_ns = (long long)((double)(cpu_ns - seen) * (slow_factor - 1.0));
		if (atomic_compare_exchange_weak(&slow_accounted_ns, &seen, cpu_ns + debt_ns))
			break;
	}
	writes = atomic_exchange(&slow_writes_unpaid, 0);
	debt_ns += writes * slow_us_ns;
	atomic_fetch_add(&slow_accounted_ns, writes * slow_us_ns);
	/* A burn runs a little past its target (the last clock read): the
	 * excess is a credit against the next one. */
	target_ns = debt_ns - atomic_exchange(&slow_credit_ns, 0);
	burnt_ns = target_ns > 0 ? slow_burn(target_ns) : 0;
	atomic_fetch_add(&slow_credit_ns, burnt_ns - target_ns);
	/* The burn as it was, not as it was reserved. */
	atomic_fetch_add(&slow_accounted_ns, burnt_ns - debt_ns);
	atomic_fetch_add(&slow_settles, 1);
	atomic_fetch_add(&slow_burnt_total_ns, burnt_ns);
}

/* After each write-side call of the chosen program (is_write), or accept
 * (or uring's submit): the factor counts both (the accept loop of fork's
 * parent is its work), SLOWDOWN_US and SLOWDOWN_SYSCALLS only writes. */
static void slow_after(int is_write)
{
	int saved_errno = errno;
	long long calls = atomic_fetch_add(&slow_calls, 1) + 1;

	if (is_write) {
		atomic_fetch_add(&slow_writes, 1);
		atomic_fetch_add(&slow_writes_unpaid, 1);
		for (int i = 0; i < slow_syscalls; i++)
			syscall(SYS_getppid);
	}
	if ((slow_factor > 1.0 || slow_us_ns > 0) && calls % SETTLE_CALLS == 0)
		slow_settle();
	errno = saved_errno;
}

/* A forked child has its own CPU clock, from zero: its accounts start
 * anew (the calibration carries over). */
static void slow_after_fork_child(void)
{
	atomic_store(&slow_calls, 0);
	atomic_store(&slow_writes, 0);
	atomic_store(&slow_writes_unpaid, 0);
	atomic_store(&slow_accounted_ns, -1);
	atomic_store(&slow_credit_ns, 0);
	atomic_store(&slow_settles, 0);
	atomic_store(&slow_burnt_total_ns, 0);
}

/* SLOWDOWN_REPORT: one line per process at exit (a process that leaves by
 * _exit, as prefork's workers do, says nothing). */
__attribute__((destructor)) static void slow_fini(void)
{
	char line[256];
	int n;

	if (!slow_active || !slow_report)
		return;
	n = snprintf(
	    line, sizeof line,
	    "slowdown: pid %d: %lld calls, %lld writes, %lld settlings, %.3f ms burnt of %.3f "
	    "ms CPU\n",
	    (int)getpid(), atomic_load(&slow_calls), atomic_load(&slow_writes), slow_settles,
	    (double)slow_burnt_total_ns / 1e6,
	    (double)slow_clock_ns(CLOCK_PROCESS_CPUTIME_ID) / 1e6);
	if (n > 0)
		real_write(STDERR_FILENO, line,
		           (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The real calls; also called from the wrappers, in case another library's
 * constructor writes before ours has run. */
static void slow_resolve(void)
{
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
	real_send = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
	real_sendto = (ssize_t(*)(int, const void *, size_t, int, const struct sockaddr *,
	                          socklen_t))dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
	real_accept4 =
	    (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
	real_uring_submit = (int (*)(void *))dlsym(RTLD_NEXT, "io_uring_submit");
	real_uring_submit_and_wait_timeout =
	    (int (*)(void *, void **, unsigned, void *, void *))dlsym(
	        RTLD_NEXT, "io_uring_submit_and_wait_timeout");
}

/* A number from the environment within [lo, hi], or fallback. */
static double slow_env(const char *name, double lo, double hi, double fallback)
{
	const char *text = getenv(name);
	char *end;
	double v;

	if (text == NULL || *text == '\0')
		return fallback;
	v = strtod(text, &end);
	return (*end == '\0' && v >= lo && v <= hi) ? v : fallback;
}

__attribute__((constructor)) static void slow_init(void)
{
	const char *progs = getenv("SLOWDOWN_PROG");
	size_t len = strlen(program_invocation_short_name);

	slow_resolve();
	for (const char *p = progs; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && memcmp(p, program_invocation_short_name, n) == 0)
			slow_active = 1;
		p = end ? end + 1 : p + n;
	}
	if (!slow_active)
		return;
	slow_factor = slow_env("SLOWDOWN_FACTOR", 1.0, 100.0, 1.0);
	slow_us_ns = (long long)(slow_env("SLOWDOWN_US", 0.0, 1e6, 0.0) * 1000.0);
	slow_syscalls = (int)slow_env("SLOWDOWN_SYSCALLS", 0.0, 100.0, 0.0);
	slow_report = slow_env("SLOWDOWN_REPORT", 0.0, 1.0, 0.0) > 0.0;
	if (slow_factor > 1.0 || slow_us_ns > 0) {
		long long t0 = slow_clock_ns(CLOCK_THREAD_CPUTIME_ID), spent;
		slow_spin(CALIBRATE_ITERS);
		spent = slow_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (spent > 0)
			atomic_store(&slow_ps_per_iter, spent * 1000 / CALIBRATE_ITERS + 1);
	}
	pthread_atfork(NULL, NULL, slow_after_fork_child);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	if (real_write == NULL)
		slow_resolve();
	ssize_t n = real_write(fd, buf, count);
	if (slow_active)
		slow_after(1);
	return n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	if (real_writev == NULL)
		slow_resolve();
	ssize_t n = real_writev(fd, iov, iovcnt);
	if (slow_active)
		slow_after(1);
	return n;
}

ssize_t send(int fd, const void *buf, size_t count, int flags)
{
	if (real_send == NULL)
		slow_resolve();
	ssize_t n = real_send(fd, buf, count, flags);
	if (slow_active)
		slow_after(1);
	return n;
}

ssize_t sendto(int fd, const void *buf, size_t count, int flags, const struct sockaddr *addr,
               socklen_t addr_len)
{
	if (real_sendto == NULL)
		slow_resolve();
	ssize_t n = real_sendto(fd, buf, count, flags, addr, addr_len);
	if (slow_active)
		slow_after(1);
	return n;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (real_sendmsg == NULL)
		slow_resolve();
	ssize_t n = real_sendmsg(fd, msg, flags);
	if (slow_active)
		slow_after(1);
	return n;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addr_len)
{
	if (real_accept == NULL)
		slow_resolve();
	int r = real_accept(fd, addr, addr_len);
	if (slow_active && r >= 0)
		slow_after(0);
	return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags)
{
	if (real_accept4 == NULL)
		slow_resolve();
	int r = real_accept4(fd, addr, addr_len, flags);
	if (slow_active && r >= 0)
		slow_after(0);
	return r;
}

/* uring: no write(2) at all, its sends go through the ring; each turn of
 * its loop (a submit) counts for the factor, as an accept does. */
int io_uring_submit(void *ring);
int io_uring_submit_and_wait_timeout(void *ring, void **cqe, unsigned wait_nr, void *ts,
                                     void *sigmask);

int io_uring_submit(void *ring)
{
	if (real_uring_submit == NULL)
		slow_resolve();
	if (real_uring_submit == NULL)
		return -ENOSYS;
	int r = real_uring_submit(ring);
	if (slow_active)
		slow_after(0);
	return r;
}

int io_uring_submit_and_wait_timeout(void *ring, void **cqe, unsigned wait_nr, void *ts,
                                     void *sigmask)
{
	if (real_uring_submit_and_wait_timeout == NULL)
		slow_resolve();
	if (real_uring_submit_and_wait_timeout == NULL)
		return -ENOSYS;
	int r = real_uring_submit_and_wait_timeout(ring, cqe, wait_nr, ts, sigmask);
	if (slow_active)
		slow_after(0);
	return r;
}
