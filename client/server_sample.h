/*
 * server_sample.h - the server's own cost, read from /proc at the two edges
 * of the measured time (loadgen --server-pid PID): the CPU time of its
 * whole process tree, its memory, its processes and threads, and its
 * context switches. main.c calls the two edges on its own thread, next to
 * the client's CPU clock; the workers never see any of it.
 */
#ifndef SERVER_SAMPLE_H
#define SERVER_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The figures of one measured window. A figure whose *_valid is false could
 * not be taken (the server died, /proc refused it): reported as null. */
struct server_figures {
	bool cpu_valid;
	uint64_t cpu_ns; /* user + system, every process and thread of the tree */
	bool switches_valid;
	uint64_t ctx_switches; /* voluntary + involuntary, threads alive at the end */
	bool counts_valid;     /* procs, threads and rss_kib, at the end edge */
	uint64_t procs;
	uint64_t threads;
	uint64_t rss_kib; /* summed over the processes: shared pages count once each */
	bool pss_valid;
	uint64_t pss_kib; /* proportional set size: shared pages split between sharers */
};

struct server_sample;

/* Checks that pid is a running process (not a thread, not a zombie) and
 * remembers it. Returns NULL, with the reason in why, when it is not. */
struct server_sample *server_sample_open(pid_t pid, char *why, size_t why_bytes);

/* The two edges of the measured window. Each reads the CPU clocks first,
 * as close together as /proc allows; the end edge also takes the memory
 * and the counts. Call start once, then end once. */
void server_sample_start(struct server_sample *s);
void server_sample_end(struct server_sample *s);

/* The window's figures. Returns false, with the reason in why (for a note on
 * stderr), when some figure is missing. */
bool server_sample_figures(const struct server_sample *s, struct server_figures *out, char *why,
                           size_t why_bytes);

void server_sample_close(struct server_sample *s);

#endif
