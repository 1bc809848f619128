/*
 * accept.c - accepting and shedding (see accept.h).
 */
#include "accept.h"

#include "error.h"
#include "signals.h"
#include "trace.h"
#include "wrappers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

/* Held open so that, out of descriptors, there is one to accept with. The
 * lock is for models whose threads accept at once (reactors): every accept
 * holds it for reading, and freeing the spare to shed holds it for writing,
 * so no other thread's accept can take the slot the spare frees (it would
 * be the spare lost for good, and no more shedding: a level-triggered
 * listener then spins with its clients left in the backlog). A blocking
 * accept would hold the read lock while it sleeps: only one thread of a
 * process may block in accept (true of every model). */
static int spare_fd = -1;
static pthread_rwlock_t spare_lock = PTHREAD_RWLOCK_INITIALIZER;
/* Whether the listener is TCP (accept_prepare). */
static bool conns_are_tcp = true;

static void accept_reserve_spare(void)
{
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void accept_prepare(bool tcp)
{
	conns_are_tcp = tcp;
	accept_reserve_spare();
}

/* True when a connection is waiting to be accepted: poll needs no new fd. */
static bool connection_waiting(int listenfd, int timeout_ms)
{
	struct pollfd pfd = { .fd = listenfd, .events = POLLIN };

	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

/* An echo must leave at once. With Nagle's algorithm a reply's short tail
 * waits for the ACK of what went before it, and the client delays that ACK
 * by up to 40 ms: any message larger than one write would stall. */
static void set_nodelay(int fd)
{
	int on = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void conn_accepted(int fd, const struct sockaddr *peer)
{
	if (conns_are_tcp)
		set_nodelay(fd);
	if (trace_enabled) {
		struct sockaddr_storage asked = { 0 };
		socklen_t asked_len = sizeof asked;
		char peer_text[INET6_ADDRSTRLEN + 16] = "?";

		if (peer == NULL && getpeername(fd, (struct sockaddr *)&asked, &asked_len) == 0)
			peer = (struct sockaddr *)&asked;
		if (peer != NULL)
			format_sockaddr(peer, peer_text, sizeof peer_text);
		trace("accept", fd, "peer=%s", peer_text);
	}
}

int accept_conn(int listenfd)
{
	struct sockaddr_storage peer = { 0 }; /* a Unix peer's name is mostly empty */
	socklen_t peer_len = sizeof peer;
	int fd, saved_errno;

	pthread_rwlock_rdlock(&spare_lock);
	fd = accept4(listenfd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
	saved_errno = errno;
	pthread_rwlock_unlock(&spare_lock);
	errno = saved_errno;

	if (fd >= 0)
		conn_accepted(fd, (struct sockaddr *)&peer);
	if (fd >= 0 || (errno != EMFILE && errno != ENFILE))
		return fd;
	/* Out of descriptors. accept(2) says so before it looks for a
	 * connection: with none waiting there is nothing to shed, and a blocking
	 * accept on the spare's slot would hold it until the next client came
	 * (and then shed that one, even with descriptors free again). */
	if (!connection_waiting(listenfd, 0)) {
		errno = EAGAIN;
		return -1;
	}
	/* Free the spare, take the pending connection with it, close that at
	 * once, and take the spare back. */
	pthread_rwlock_wrlock(&spare_lock);
	if (spare_fd >= 0) {
		close(spare_fd);
		fd = accept(listenfd, NULL, NULL);
		if (fd >= 0)
			shed_conn(fd, "out-of-descriptors");
		accept_reserve_spare();
	}
	pthread_rwlock_unlock(&spare_lock);
	errno = EMFILE;
	return -1;
}

int accept_until_stop(int listenfd)
{
	while (!stop_requested) {
		int fd = accept_conn(listenfd);

		if (fd >= 0)
			return fd;
		/* Out of descriptors, no client waiting: sleep until one comes
		 * (a signal or a stop ends the wait too), then try again. */
		if (errno == EAGAIN) {
			connection_waiting(listenfd, -1);
			continue;
		}
		/* EINVAL: the listener was shut down, so nothing more can come
		 * (prefork's parent does that to a worker at stop). */
		if (errno == EINVAL)
			return -1;
		/* EINTR: a signal; EMFILE: shed; ECONNABORTED: the client gave up. */
		if (errno != EINTR && errno != EMFILE && errno != ECONNABORTED && !stop_requested)
			err_ret("accept");
	}
	return -1;
}

void accept_batch(int listenfd, const long *open_conns, long max_conns,
                  void (*conn_open)(int fd, void *ctx), void *ctx)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept_conn(listenfd);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ECONNABORTED))
			continue; /* that one was shed or gave up: take the next */
		if (fd < 0)
			return; /* EAGAIN: none left for now */
		if (max_conns > 0 && *open_conns >= max_conns)
			shed_conn(fd, "max-conns");
		else if (set_nonblocking(fd) < 0)
			shed_conn(fd, "fcntl-failed");
		else
			conn_open(fd, ctx);
	}
}

void shed_conn(int fd, const char *reason)
{
	trace("shed", fd, "reason=%s", reason);
	close(fd);
}
