/*
 * unixsock.h - listening on a Unix-domain stream socket (-u/--unix PATH).
 *
 * A Unix-domain socket is a file: bind(2) creates it and fails if the path
 * exists, and nothing removes it when the server stops. So before binding,
 * a path that exists is looked at: a socket a server still listens on is
 * refused (address in use), a socket nobody listens on (a server that died)
 * is removed and replaced, and anything else is refused and left alone. At
 * a clean stop the process that bound it removes it again.
 */
#ifndef LIB_UNIXSOCK_H
#define LIB_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/un.h>

/* The longest socket path: sun_path less its NUL (107 bytes on Linux). */
#define UNIX_PATH_MAX_BYTES (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Whether path fits in a sockaddr_un (UNIX_PATH_MAX_BYTES and its NUL). */
bool unix_path_fits(const char *path);

/* Returns a listening socket bound to path, after the checks above; exits 1
 * naming the path and the reason when it cannot. The file is removed at
 * exit(3) by this process (not by its forked children), if it is still the
 * one this call created. */
int unix_listen(const char *path);

#endif
