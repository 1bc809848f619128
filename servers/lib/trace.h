/*
 * trace.h - the event trace (-v).
 *
 * One line per event on stderr, the same format in every model:
 *   "  0.012345  41234 read      fd=5    bytes=64"
 * seconds since start, thread id, event, fd, details. Each line is a single
 * write(2), so lines from threads and processes never interleave.
 */
#ifndef LIB_TRACE_H
#define LIB_TRACE_H

#include <stdbool.h>

extern bool trace_enabled;

void trace_init(bool enabled);
void trace(const char *event, int fd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
