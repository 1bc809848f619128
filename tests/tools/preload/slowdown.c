/*
 * slowdown.so - an LD_PRELOAD shim that makes one program N times slower per
 * message, without touching its source: the regression gate's test subject
 * (make bench-check, bench/compare-trial.sh).
 *
 * Every read(2), write(2), accept(2) and accept4(2) of the chosen program
 * runs for real, then burns (N - 1) times the CPU its thread has used since
 * the end of the previous burn: the call itself, the readiness wait, the
 * parsing, everything. The thread's CPU time (CLOCK_THREAD_CPUTIME_ID, user
 * + system) is so multiplied by N between two such calls, so an echo server
 * spends N times the CPU per message. It is CPU burnt on the same thread,
 * not a sleep: a sleep would add latency and cost nothing. What it does not
 * multiply: the first stretch of each thread (before its first call), and
 * kernel work charged to other tasks (softirqs run on the peer's CPU).
 *
 *   SLOWDOWN_PROG=echo-epoll-et[,echo-poll]  programs to slow down, by name
 *                                            (others load the shim, inert)
 *   SLOWDOWN_FACTOR=2                        N, 1 to 100 (default 2)
 *
 *   make build/tests/slowdown.so
 *   LD_PRELOAD=$PWD/build/tests/slowdown.so SLOWDOWN_PROG=echo-poll bin/echo-poll -p 0
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int slow_active;
static double slow_extra = 1.0; /* CPU burnt per CPU used: factor - 1 */
static _Thread_local long long slow_mark_ns = -1;

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

static long long slow_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burns slow_extra times the thread's CPU since the last mark. */
static void slow_burn(void)
{
	int saved_errno = errno;
	long long now_ns = slow_thread_ns();

	if (slow_mark_ns >= 0) {
		long long until_ns =
		    now_ns + (long long)((double)(now_ns - slow_mark_ns) * slow_extra);
		while (now_ns < until_ns)
			now_ns = slow_thread_ns();
	}
	slow_mark_ns = now_ns;
	errno = saved_errno;
}

/* The real calls; also called from the wrappers, in case another library's
 * constructor reads or writes before ours has run. */
static void slow_resolve(void)
{
	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
	real_accept4 =
	    (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
}

__attribute__((constructor)) static void slow_init(void)
{
	const char *progs = getenv("SLOWDOWN_PROG");
	const char *factor = getenv("SLOWDOWN_FACTOR");
	size_t len = strlen(program_invocation_short_name);

	slow_resolve();
	for (const char *p = progs; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && memcmp(p, program_invocation_short_name, n) == 0)
			slow_active = 1;
		p = end ? end + 1 : p + n;
	}
	if (factor != NULL) {
		double f = strtod(factor, NULL);
		if (f >= 1.0 && f <= 100.0)
			slow_extra = f - 1.0;
	}
}

ssize_t read(int fd, void *buf, size_t count)
{
	if (real_read == NULL)
		slow_resolve();
	ssize_t n = real_read(fd, buf, count);
	if (slow_active)
		slow_burn();
	return n;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	if (real_write == NULL)
		slow_resolve();
	ssize_t n = real_write(fd, buf, count);
	if (slow_active)
		slow_burn();
	return n;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addr_len)
{
	if (real_accept == NULL)
		slow_resolve();
	int r = real_accept(fd, addr, addr_len);
	if (slow_active)
		slow_burn();
	return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags)
{
	if (real_accept4 == NULL)
		slow_resolve();
	int r = real_accept4(fd, addr, addr_len, flags);
	if (slow_active)
		slow_burn();
	return r;
}
