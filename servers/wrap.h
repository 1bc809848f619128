/*
 * wrap.h - what the echo servers and the load generator share: the entry
 * header of the library in servers/lib/ (UNP's unp.h and lib/).
 *
 * Each module does one job and has its own short header:
 *
 *   lib/error.h     err_sys, err_quit, err_ret, err_msg: "prog: message"
 *   lib/wrappers.h  Capitalised wrappers (exit 1 on error) and small helpers
 *   lib/server.h    the common options, listening, the readiness line
 *   lib/unixsock.h  listening on a Unix-domain socket file (-u/--unix)
 *   lib/accept.h    accepting, and shedding with the spare descriptor
 *   lib/signals.h   the stop signals, and threads that leave them to main
 *   lib/trace.h     the one trace format of -v
 *   lib/registry.h  the live connections of the threaded models
 *   lib/echo.h      the blocking echo loop and the bounded echo buffer
 *   lib/coro.h      coroutines, for the coroutine model
 *   lib/procs.h     worker processes forked at start, replaced when they die
 *
 * They are built into one static archive (build/libwrap.a): a program links
 * only the modules it calls. Only what two or more programs use lives there,
 * and the coroutine switch, which coroutine.c leaves to the library so that
 * its file shows the scheduling, not the registers.
 * The calls that make up a model (select, poll, epoll_ctl, fork, the pool's
 * queue) stay in that model's file: they are the lesson.
 */
#ifndef WRAP_H
#define WRAP_H

#include "lib/accept.h"
#include "lib/coro.h"
#include "lib/echo.h"
#include "lib/error.h"
#include "lib/registry.h"
#include "lib/server.h"
#include "lib/signals.h"
#include "lib/trace.h"
#include "lib/procs.h"
#include "lib/unixsock.h"
#include "lib/wrappers.h"

#endif
