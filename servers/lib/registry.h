/*
 * registry.h - the live connections of the threaded models (thread, pool).
 *
 * A fixed-size set of the fds being served, so that a stop can shut them
 * all down (a blocked read returns 0) and wait for every thread to finish.
 */
#ifndef LIB_REGISTRY_H
#define LIB_REGISTRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct conn_registry {
	pthread_mutex_t lock;
	pthread_cond_t emptied;
	int *fds; /* -1 marks a free slot */
	size_t capacity;
	size_t count;
	bool stopping;
};

void registry_init(struct conn_registry *reg, size_t capacity);
/* Returns the slot for fd, or -1 when the set is full or stopping. */
long registry_add(struct conn_registry *reg, int fd);
void registry_remove(struct conn_registry *reg, long slot);
size_t registry_count(struct conn_registry *reg);
/* Refuses new fds, shuts down every registered one, waits until all left. */
void registry_stop(struct conn_registry *reg);
void registry_destroy(struct conn_registry *reg);

#endif
