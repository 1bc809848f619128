/*
 * wrappers.h - Capitalised wrappers and small system helpers.
 *
 * Stevens' rule (UNIX Network Programming, lib/wrapsock.c): a Capitalised
 * wrapper never returns on error (it prints and exits 1), its lowercase
 * twin returns -1 with errno set. Capitalised wrappers belong to start-up,
 * blocking accept loops and fork children; inside threads and event loops
 * use the returning twins, so one client's error closes that client only.
 */
#ifndef LIB_WRAPPERS_H
#define LIB_WRAPPERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

int Socket(int family, int type, int protocol);
void Close(int fd);
void *Malloc(size_t size_bytes);
void *Calloc(size_t count, size_t size_bytes);
void Pthread_mutex_lock(pthread_mutex_t *mutex);
void Pthread_mutex_unlock(pthread_mutex_t *mutex);

int set_nonblocking(int fd);
void Set_nonblocking(int fd);

/* Writes exactly n bytes, retrying short writes and EINTR. Returns n, or -1
 * on error. writen_with makes its writes with write_call instead of
 * write(2) (coroutine.c's parks instead of blocking). */
typedef ssize_t write_call_fn(int fd, const void *buf, size_t n);
ssize_t writen(int fd, const void *buf, size_t n);
ssize_t writen_with(int fd, const void *buf, size_t n, write_call_fn *write_call);

/* Raises the soft descriptor limit to the hard one; returns the new soft limit. */
long raise_fd_limit(void);

/* Strict number parsing for options: the whole text must be a number. */
bool parse_long(const char *text, long min, long max, long *out);

/* "127.0.0.1:9877", "[::1]:9877" or "unix:/tmp/echo.sock" ("unix" when
 * unnamed) for a socket address; a long path is cut to fit out. */
void format_sockaddr(const struct sockaddr *sa, char *out, size_t out_bytes);

/* The CPUs this process may run on (sched_getaffinity): under taskset -c 0
 * that is 1, whatever the machine has. */
long usable_cores(void);

#endif
