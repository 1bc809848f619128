/*
 * histogram.c - the log-linear latency histogram (see histogram.h).
 *
 * Layout of counts[]: index v for v < 2048 ns (exact). Above, a value whose
 * leading 1 is bit b (b >= 11) is shifted right by b - 10, which leaves a
 * number from 1024 to 2047; each power of two gets those 1024 counters, so
 * a counter covers 2^(b-10) ns out of at least 2^b: under 1/1024 relative.
 *
 * The histogram itself corrects nothing: it records the values it is given.
 * What they include, and the open loop's correction for coordinated
 * omission, are described in histogram.h.
 */
#include "histogram.h"

#include "wrap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct histogram *histogram_new(void)
{
	struct histogram *h = Calloc(1, sizeof *h);

	h->min_ns = UINT64_MAX;
	return h;
}

void histogram_free(struct histogram *h)
{
	free(h);
}

void histogram_reset(struct histogram *h)
{
	memset(h, 0, sizeof *h);
	h->min_ns = UINT64_MAX;
}

static unsigned histogram_index(uint64_t value_ns)
{
	unsigned top_bit, shift;

	if (value_ns > HISTOGRAM_MAX_NS)
		value_ns = HISTOGRAM_MAX_NS;
	if (value_ns < HISTOGRAM_SUB_COUNT)
		return (unsigned)value_ns;
	top_bit = 63u - (unsigned)__builtin_clzll(value_ns);
	shift = top_bit - (HISTOGRAM_SUB_BITS - 1);
	/* (value >> shift) is in [1024, 2047]: its offset in the upper half. */
	return HISTOGRAM_SUB_COUNT + (shift - 1) * HISTOGRAM_HALF_COUNT +
	       (unsigned)(value_ns >> shift) - HISTOGRAM_HALF_COUNT;
}

uint64_t histogram_upper_ns(unsigned index)
{
	unsigned shift, sub;

	if (index < HISTOGRAM_SUB_COUNT)
		return index;
	shift = (index - HISTOGRAM_SUB_COUNT) / HISTOGRAM_HALF_COUNT + 1;
	sub = (index - HISTOGRAM_SUB_COUNT) % HISTOGRAM_HALF_COUNT + HISTOGRAM_HALF_COUNT;
	return ((uint64_t)(sub + 1) << shift) - 1;
}

void histogram_record(struct histogram *h, uint64_t value_ns)
{
	h->counts[histogram_index(value_ns)]++;
	h->count++;
	h->sum_ns += (double)value_ns;
	if (value_ns < h->min_ns)
		h->min_ns = value_ns;
	if (value_ns > h->max_ns)
		h->max_ns = value_ns;
}

void histogram_add_to_counter(struct histogram *h, uint64_t value_ns, uint64_t n)
{
	h->counts[histogram_index(value_ns)] += n;
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
	for (unsigned i = 0; i < HISTOGRAM_COUNTERS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

/* ceil(count * ppm / 10^6) in integers: a double would make the rank of
 * p99.9 of 1000 values 999.0000000000001, and its ceiling 1000. */
static uint64_t histogram_rank(uint64_t count, uint64_t ppm)
{
	uint64_t whole = count / 1000000, part = count % 1000000;

	return whole * ppm + (part * ppm + 999999) / 1000000;
}

uint64_t histogram_percentile_ns(const struct histogram *h, double percent)
{
	uint64_t rank, seen = 0;

	if (h->count == 0)
		return 0;
	rank = histogram_rank(h->count, (uint64_t)llround(percent * 10000.0));
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < HISTOGRAM_COUNTERS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t upper_ns = histogram_upper_ns(i);

			return upper_ns < h->max_ns ? upper_ns : h->max_ns;
		}
	}
	return h->max_ns;
}

double histogram_mean_ns(const struct histogram *h)
{
	return h->count ? h->sum_ns / (double)h->count : 0.0;
}
