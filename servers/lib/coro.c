/*
 * coro.c - coroutines on ucontext (see coro.h).
 *
 * glibc's swapcontext saves and restores the signal mask, a rt_sigprocmask
 * system call on every switch; docs/models.md (coroutine) has what a switch
 * costs here.
 */
#include "coro.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

struct coro {
	ucontext_t context; /* where the coroutine stopped */
	ucontext_t resumer; /* where coro_resume was called */
	void (*fn)(void *arg);
	void *arg;
	char *map; /* the guard page, then the stack */
	size_t map_bytes;
	bool done;
};

/* The coroutine running now, NULL on the scheduler's own stack. One thread
 * runs them all (a coroutine is resumed only by the thread that made it). */
static struct coro *running;

/* The first frame of every coroutine. makecontext passes only int
 * arguments, so the coroutine is found through running instead. */
static void coro_start(void)
{
	struct coro *co = running;

	co->fn(co->arg);
	co->done = true;
	/* Returning switches to context.uc_link: the resumer. */
}

/* Makes co's context start coro_start on the stack after the guard page.
 * Apart from coro_new: getcontext returns twice (for setjmp's sake, the
 * compiler then distrusts every local variable of its caller). */
static int coro_prepare(struct coro *co, size_t guard_bytes)
{
	if (getcontext(&co->context) < 0)
		return -1;
	co->context.uc_stack.ss_sp = co->map + guard_bytes;
	co->context.uc_stack.ss_size = co->map_bytes - guard_bytes;
	co->context.uc_link = &co->resumer;
	makecontext(&co->context, coro_start, 0);
	return 0;
}

struct coro *coro_new(void (*fn)(void *arg), void *arg, size_t stack_bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct coro *co = calloc(1, sizeof *co);

	if (co == NULL)
		return NULL;
	co->fn = fn;
	co->arg = arg;
	co->map_bytes = page + (stack_bytes + page - 1) / page * page;
	co->map =
	    mmap(NULL, co->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (co->map == MAP_FAILED || mprotect(co->map, page, PROT_NONE) < 0 ||
	    coro_prepare(co, page) < 0) {
		int saved_errno = errno;

		if (co->map != MAP_FAILED)
			munmap(co->map, co->map_bytes);
		free(co);
		errno = saved_errno;
		return NULL;
	}
	return co;
}

bool coro_resume(struct coro *co)
{
	struct coro *previous = running;

	running = co;
	swapcontext(&co->resumer, &co->context);
	running = previous;
	return co->done;
}

void coro_yield(void)
{
	struct coro *co = running;

	swapcontext(&co->context, &co->resumer);
}

void coro_free(struct coro *co)
{
	munmap(co->map, co->map_bytes);
	free(co);
}
