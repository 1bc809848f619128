/*
 * coro.h - coroutines: a function with a stack of its own that can stop in
 * the middle (coro_yield) and be continued later (coro_resume), all on one
 * thread. Built on libc's ucontext (makecontext, swapcontext).
 */
#ifndef LIB_CORO_H
#define LIB_CORO_H

#include <stdbool.h>
#include <stddef.h>

struct coro;

/* A coroutine that will run fn(arg) on a stack of stack_bytes with a guard
 * page below it (a stack overflow faults instead of overwriting memory).
 * It does not run until resumed. NULL with errno set when the stack cannot
 * be had (ENOMEM, or the map count limit). */
struct coro *coro_new(void (*fn)(void *arg), void *arg, size_t stack_bytes);

/* Runs co until it yields or fn returns; returns true once fn has returned. */
bool coro_resume(struct coro *co);

/* Inside a coroutine: back to the coro_resume that ran it. */
void coro_yield(void);

/* Frees co and its stack: finished, or never to be resumed again. */
void coro_free(struct coro *co);

#endif
