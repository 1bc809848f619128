/*
 * wrappers.c - see wrappers.h for the Capitalised/lowercase rule.
 */
#include "wrappers.h"

#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <unistd.h>

int Socket(int family, int type, int protocol)
{
	int fd = socket(family, type, protocol);

	if (fd < 0)
		err_sys("socket");
	return fd;
}

void Close(int fd)
{
	/* Linux always releases the fd, even when close reports EINTR: never retry. */
	if (close(fd) < 0 && errno != EINTR)
		err_sys("close fd %d", fd);
}

void *Malloc(size_t size_bytes)
{
	void *p = malloc(size_bytes);

	if (p == NULL)
		err_sys("malloc %zu bytes", size_bytes);
	return p;
}

void *Calloc(size_t count, size_t size_bytes)
{
	void *p = calloc(count, size_bytes);

	if (p == NULL)
		err_sys("calloc %zu x %zu bytes", count, size_bytes);
	return p;
}

void Pthread_mutex_lock(pthread_mutex_t *mutex)
{
	int rc = pthread_mutex_lock(mutex);

	if (rc != 0) {
		errno = rc;
		err_sys("pthread_mutex_lock");
	}
}

void Pthread_mutex_unlock(pthread_mutex_t *mutex)
{
	int rc = pthread_mutex_unlock(mutex);

	if (rc != 0) {
		errno = rc;
		err_sys("pthread_mutex_unlock");
	}
}

int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL, 0);

	if (flags < 0)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void Set_nonblocking(int fd)
{
	if (set_nonblocking(fd) < 0)
		err_sys("set_nonblocking fd %d", fd);
}

ssize_t writen(int fd, const void *buf, size_t n)
{
	return writen_with(fd, buf, n, write);
}

ssize_t writen_with(int fd, const void *buf, size_t n, write_call_fn *write_call)
{
	const char *p = buf;
	size_t left = n;

	while (left > 0) {
		ssize_t w = write_call(fd, p, left);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	return (ssize_t)n;
}

long raise_fd_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return -1;
	if (lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
			return -1;
	}
	return lim.rlim_cur > LONG_MAX ? LONG_MAX : (long)lim.rlim_cur;
}

bool parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long value;

	if (text == NULL || *text == '\0')
		return false;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return false;
	*out = value;
	return true;
}

void format_sockaddr(const struct sockaddr *sa, char *out, size_t out_bytes)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in4->sin_addr, host, sizeof host);
		port = ntohs(in4->sin_port);
		snprintf(out, out_bytes, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		port = ntohs(in6->sin6_port);
		snprintf(out, out_bytes, "[%s]:%u", host, port);
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)sa;

		/* A client's end is usually unnamed: its path is empty. */
		if (un->sun_path[0] == '\0')
			snprintf(out, out_bytes, "unix");
		else
			snprintf(out, out_bytes, "unix:%.*s", (int)sizeof un->sun_path,
			         un->sun_path);
	} else {
		snprintf(out, out_bytes, "(family %d)", sa->sa_family);
	}
}

long usable_cores(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof set, &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}
