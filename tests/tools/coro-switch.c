/*
 * coro-switch - what one coroutine switch costs here (servers/lib/coro.c):
 * a coroutine that yields N times, resumed N times by main, timed.
 *
 * Usage: coro-switch [N]   (default 1000000)
 * Prints "switches=2N ns_per_switch=X", counting the resumes made and the
 * yields that came back: a resume and a yield are one switch each.
 */
#include "wrap.h"

#include <stdio.h>
#include <time.h>

static long rounds, yields, resumes;

static void yield_rounds(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		yields++;
		coro_yield();
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct coro *co;
	double start_ns, elapsed_ns;

	err_init(argv[0]);
	rounds = 1000000;
	if (argc > 2 || (argc == 2 && !parse_long(argv[1], 1, 1000000000, &rounds)))
		err_quit("usage: coro-switch [N]");
	co = coro_new(yield_rounds, NULL, THREAD_STACK_BYTES);
	if (co == NULL)
		err_sys("coro_new");
	start_ns = now_ns();
	do
		resumes++;
	while (!coro_resume(co));
	elapsed_ns = now_ns() - start_ns;
	coro_free(co);
	/* The last resume ran the coroutine to its end, not to a yield. */
	printf("switches=%ld ns_per_switch=%.1f\n", resumes - 1 + yields,
	       elapsed_ns / (double)(resumes - 1 + yields));
	return 0;
}
