/*
 * accept.h - taking connections, and shedding the ones a server cannot
 * serve without spinning or dying.
 *
 * Out of descriptors (EMFILE/ENFILE), accept(2) fails but the connection
 * stays queued: a level-triggered listener stays readable and the loop
 * spins. So a spare descriptor is held open; out of descriptors, it is
 * freed, the pending connection accepted on it and closed at once (shed),
 * and the spare taken back.
 */
#ifndef LIB_ACCEPT_H
#define LIB_ACCEPT_H

#include <stdbool.h>
#include <sys/socket.h>

/* How many connections an event loop accepts each time the listener is
 * readable: a burst of connections must not starve the clients already in. */
#define ACCEPT_BATCH 64

/* The server's start-up calls it once it listens: opens the spare
 * descriptor, and says whether connections will be TCP ones (they get
 * TCP_NODELAY) or Unix-domain ones (nothing to set). */
void accept_prepare(bool tcp);

/* Accepts one connection and returns its fd, or -1 with errno set (EAGAIN on
 * an empty non-blocking listener, EINTR, EINVAL once the listener is shut
 * down). Traced as "accept" with the peer's address. Out of descriptors, it
 * sheds the pending connection on the spare and fails with EMFILE; with no
 * connection waiting, it does nothing and fails with EAGAIN. */
int accept_conn(int listenfd);

/* What every accepted connection gets: TCP_NODELAY, and the "accept" trace
 * line with the peer's address (asked for with getpeername when peer is
 * NULL: a server whose accept the kernel ran, as io_uring's). accept_conn
 * calls it. */
void conn_accepted(int fd, const struct sockaddr *peer);

/* For the blocking accept loops: waits for the next connection, retrying
 * EINTR and shed connections (out of descriptors, it sleeps in poll until a
 * client comes). Returns its fd, or -1 once a stop is requested or the
 * listener is shut down. */
int accept_until_stop(int listenfd);

/* For the event loops: accepts up to ACCEPT_BATCH connections from the
 * non-blocking listener, sheds each one past max_conns (0: no cap, and
 * open_conns may be NULL) counting *open_conns, makes the others non-blocking and hands each to
 * conn_open(fd, ctx): ctx is the caller's, passed through (reactors passes
 * the reactor that accepted). */
void accept_batch(int listenfd, const long *open_conns, long max_conns,
                  void (*conn_open)(int fd, void *ctx), void *ctx);

/* Closes a connection the server will not serve (a cap, FD_SETSIZE, a failed
 * fork or thread). Traced as "shed". */
void shed_conn(int fd, const char *reason);

#endif
