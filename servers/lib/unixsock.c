/*
 * unixsock.c - listening on a Unix-domain stream socket (see unixsock.h).
 */
#include "unixsock.h"

#include "error.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The socket file this process created, for its removal at exit. */
static struct {
	char path[UNIX_PATH_MAX_BYTES + 1];
	pid_t owner;
	dev_t dev;
	ino_t ino;
} bound;

bool unix_path_fits(const char *path)
{
	return strlen(path) < sizeof bound.path;
}

static struct sockaddr_un unix_address(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memcpy(addr.sun_path, path, strlen(path) + 1);
	return addr;
}

/* Whether a server accepts connections on the socket file at path. A
 * non-blocking connect answers at once: ECONNREFUSED when nobody listens
 * (the file outlived its server), EAGAIN when one does but its queue is
 * full. Exits 1 on an answer that says neither. */
static bool someone_listens(const char *path)
{
	struct sockaddr_un addr = unix_address(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc, saved_errno;

	if (fd < 0)
		err_sys("socket");
	rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	saved_errno = errno;
	close(fd);
	if (rc == 0 || saved_errno == EAGAIN)
		return true;
	if (saved_errno == ECONNREFUSED || saved_errno == ENOENT)
		return false;
	errno = saved_errno;
	err_sys("cannot listen on unix:%s: cannot tell whether a server listens there", path);
}

/* Makes path free to bind, or exits 1 saying why it cannot be. */
static void claim_path(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		err_sys("cannot listen on unix:%s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		err_quit("cannot listen on unix:%s: the path exists and is not a socket "
		         "(left untouched)",
		         path);
	if (someone_listens(path))
		err_quit("cannot listen on unix:%s: address in use (a server is listening there)",
		         path);
	err_msg("unix:%s: removing the stale socket file (nobody listens on it)", path);
	if (unlink(path) < 0 && errno != ENOENT)
		err_sys("cannot remove the stale socket file %s", path);
}

/* At exit: removes the socket file, if this process created it and the
 * path still names that file (not one another server has put there). */
static void remove_socket_file(void)
{
	struct stat st;

	if (bound.owner != getpid() || lstat(bound.path, &st) < 0)
		return;
	if (st.st_dev == bound.dev && st.st_ino == bound.ino)
		unlink(bound.path);
}

int unix_listen(const char *path)
{
	struct sockaddr_un addr = unix_address(path);
	struct stat st;
	int fd;

	claim_path(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err_sys("socket");
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		err_sys("cannot listen on unix:%s", path);
	if (listen(fd, LISTEN_BACKLOG) < 0 || lstat(path, &st) < 0) {
		int saved_errno = errno;

		unlink(path);
		errno = saved_errno;
		err_sys("cannot listen on unix:%s", path);
	}
	memcpy(bound.path, path, strlen(path) + 1);
	bound.owner = getpid();
	bound.dev = st.st_dev;
	bound.ino = st.st_ino;
	atexit(remove_socket_file);
	return fd;
}
