/*
 * interval.h - loadgen --interval T: one JSON line for every T of the
 * measured time, so that a stall shows when it happened instead of being
 * hidden in the run's percentiles.
 *
 * Each worker records its measured echoes (and errors) in a slot of its
 * own, beside its run totals; at the end of each interval main takes what
 * every slot holds, under the slot's lock, leaves it empty, and writes the
 * line. An echo is in the line of the interval in which main took it: at
 * most main's wake-up delay after it came back. Every message the run
 * counts is in exactly one line (the last is written once the workers have
 * finished), so the lines' messages add up to the run's. With --format csv
 * the lines are CSV (the bench reads them so), otherwise JSON.
 */
#ifndef INTERVAL_H
#define INTERVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct interval_slot;

struct interval_slot *interval_slot_new(void);
void interval_slot_free(struct interval_slot *slot);
/* A worker: an echo of the measured time, and errors. */
void interval_slot_record(struct interval_slot *slot, uint64_t latency_ns);
void interval_slot_error(struct interval_slot *slot, uint64_t count);

struct interval_log;

/* Lines go to out (left open: the caller owns it): JSON objects, or with
 * csv a header line (written once per out) and rows. rate: the run's
 * offered rate, in every line (0 in the closed loop). start_ns: when the
 * measured time began. */
struct interval_log *interval_log_new(FILE *out, bool csv, double rate, int64_t start_ns);
void interval_log_free(struct interval_log *log);
/* Writes the line of the interval ending at end_ns, with what the slots
 * hold, and empties them. */
void interval_log_write(struct interval_log *log, struct interval_slot *const *slots, long count,
                        int64_t end_ns);

#endif
