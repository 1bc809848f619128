/*
 * trace.c - the event trace (see trace.h).
 */
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

bool trace_enabled;
static struct timespec trace_start;

void trace_init(bool enabled)
{
	trace_enabled = enabled;
	clock_gettime(CLOCK_MONOTONIC, &trace_start);
}

void trace(const char *event, int fd, const char *fmt, ...)
{
	struct timespec now;
	char line[256];
	double elapsed_s;
	va_list ap;
	int len;

	if (!trace_enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	elapsed_s = (double)(now.tv_sec - trace_start.tv_sec) +
	            (double)(now.tv_nsec - trace_start.tv_nsec) / 1e9;
	len =
	    snprintf(line, sizeof line, "%10.6f %7d %-8s fd=%-5d ", elapsed_s, gettid(), event, fd);
	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)len);
}
