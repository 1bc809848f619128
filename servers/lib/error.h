/*
 * error.h - error messages: "prog: message[: strerror]" on stderr.
 *
 * err_sys and err_quit exit 1 (err_sys adds strerror(errno)); err_ret
 * (with strerror) and err_msg (without) print and return.
 */
#ifndef LIB_ERROR_H
#define LIB_ERROR_H

#include <stdarg.h>

extern const char *prog_name;

/* Takes the program's name from argv[0] for every later message. */
void err_init(const char *argv0);
void err_ret(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* err_msg for a caller that has its own variable arguments (a usage error). */
void err_vmsg(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void err_quit(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
