/*
 * registry.c - the live connections of the threaded models (see registry.h).
 */
#include "registry.h"

#include "wrappers.h"

#include <stdlib.h>
#include <sys/socket.h>

void registry_init(struct conn_registry *reg, size_t capacity)
{
	pthread_mutex_init(&reg->lock, NULL);
	pthread_cond_init(&reg->emptied, NULL);
	reg->fds = Malloc(capacity * sizeof *reg->fds);
	for (size_t i = 0; i < capacity; i++)
		reg->fds[i] = -1;
	reg->capacity = capacity;
	reg->count = 0;
	reg->stopping = false;
}

long registry_add(struct conn_registry *reg, int fd)
{
	long slot = -1;

	Pthread_mutex_lock(&reg->lock);
	if (!reg->stopping && reg->count < reg->capacity) {
		for (size_t i = 0; i < reg->capacity; i++) {
			if (reg->fds[i] < 0) {
				reg->fds[i] = fd;
				reg->count++;
				slot = (long)i;
				break;
			}
		}
	}
	Pthread_mutex_unlock(&reg->lock);
	return slot;
}

void registry_remove(struct conn_registry *reg, long slot)
{
	Pthread_mutex_lock(&reg->lock);
	reg->fds[slot] = -1;
	reg->count--;
	if (reg->count == 0)
		pthread_cond_broadcast(&reg->emptied);
	Pthread_mutex_unlock(&reg->lock);
}

size_t registry_count(struct conn_registry *reg)
{
	size_t count;

	Pthread_mutex_lock(&reg->lock);
	count = reg->count;
	Pthread_mutex_unlock(&reg->lock);
	return count;
}

void registry_stop(struct conn_registry *reg)
{
	Pthread_mutex_lock(&reg->lock);
	reg->stopping = true;
	/* SHUT_RDWR wakes a thread blocked in read (it returns 0) and one blocked
	 * writing to a client that never reads (EPIPE): a stop is bounded. */
	for (size_t i = 0; i < reg->capacity; i++)
		if (reg->fds[i] >= 0)
			shutdown(reg->fds[i], SHUT_RDWR);
	while (reg->count > 0)
		pthread_cond_wait(&reg->emptied, &reg->lock);
	Pthread_mutex_unlock(&reg->lock);
}

void registry_destroy(struct conn_registry *reg)
{
	free(reg->fds);
	pthread_cond_destroy(&reg->emptied);
	pthread_mutex_destroy(&reg->lock);
}
