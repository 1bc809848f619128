/*
 * slow-spare.so - an LD_PRELOAD shim that widens one race window, so that a
 * test of it does not depend on luck: tests/robustness.bats, "reactors out
 * of descriptors, two reactors accepting at once ...".
 *
 * Out of descriptors, a server closes the spare descriptor it keeps on
 * /dev/null, accepts the pending connection into the slot that frees, closes
 * that connection (it is shed) and opens the spare again. With several
 * threads accepting from one descriptor table (reactors), another thread's
 * accept can take the freed slot first; the spare is then lost for good.
 * That window is a few instructions wide. This shim makes it milliseconds
 * wide: every close(2) of a descriptor on /dev/null runs for real, then
 * sleeps SLOW_SPARE_MS (default 5) before it returns. A server whose accepts
 * cannot run while it sheds (a lock held across the whole exchange) loses
 * nothing by it; one whose can loses its spare in the first crowd.
 *
 *   make build/tests/slow-spare.so    (make builds it)
 *   LD_PRELOAD=$PWD/build/tests/slow-spare.so bin/echo-reactors -p 0
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SLEEP_MS 5

static int (*real_close)(int);

static long sleep_ms(void)
{
	const char *text = getenv("SLOW_SPARE_MS");
	long ms = text != NULL ? strtol(text, NULL, 10) : DEFAULT_SLEEP_MS;

	return ms >= 0 && ms <= 1000 ? ms : DEFAULT_SLEEP_MS;
}

/* True when fd is open on /dev/null (character device 1:3). */
static int is_dev_null(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
	       minor(st.st_rdev) == 3;
}

int close(int fd)
{
	int on_null = is_dev_null(fd), rc, saved_errno;
	long ms = sleep_ms();
	struct timespec pause = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (real_close == NULL)
		real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
	rc = real_close(fd);
	saved_errno = errno;
	if (on_null && rc == 0)
		while (nanosleep(&pause, &pause) < 0 && errno == EINTR)
			continue;
	errno = saved_errno;
	return rc;
}
