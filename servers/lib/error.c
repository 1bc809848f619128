/*
 * error.c - see error.h.
 */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *prog_name = "echo";

void err_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	prog_name = slash ? slash + 1 : argv0;
}

/* Formats "prog: message[: strerror(errnum)]\n" and writes it in one call. */
static void err_print(int errnum, const char *fmt, va_list ap)
{
	char line[512];
	int len = snprintf(line, sizeof line, "%s: ", prog_name);

	len += vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
	if (len < (int)sizeof line && errnum != 0)
		len += snprintf(line + len, sizeof line - (size_t)len, ": %s", strerror(errnum));
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	fflush(stdout);
	(void)!write(STDERR_FILENO, line, (size_t)len);
}

void err_ret(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	err_print(saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_print(0, fmt, ap);
	va_end(ap);
}

void err_vmsg(const char *fmt, va_list ap)
{
	err_print(0, fmt, ap);
}

void err_sys(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	err_print(saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void err_quit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_print(0, fmt, ap);
	va_end(ap);
	exit(1);
}
