/*
 * search.c - the plan and the verdicts of loadgen --search (search.h).
 */
#include "search.h"

#include <math.h>
#include <string.h>

static const struct {
	const char *name;
	double percent;
} metrics[] = {
	{ "p50", 50 }, { "p90", 90 }, { "p99", 99 }, { "p999", 99.9 }, { "p9999", 99.99 },
};

bool search_set_metric(struct search_target *target, const char *name)
{
	for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++)
		if (strcmp(name, metrics[i].name) == 0) {
			strcpy(target->metric, metrics[i].name);
			target->percent = metrics[i].percent;
			return true;
		}
	return false;
}

void search_init(struct search *s, const struct search_target *target, double start_rate,
                 double max_rate, double resolution, long max_steps, uint64_t max_time_ns)
{
	*s = (struct search){
		.target = *target,
		.start_rate = start_rate,
		.max_rate = max_rate,
		.resolution = resolution,
		.max_steps = max_steps < SEARCH_MAX_STEPS ? max_steps : SEARCH_MAX_STEPS,
		.max_time_ns = max_time_ns,
		.best = -1,
		.end = SEARCH_RUNNING,
	};
}

/* Below any rate that met the target, doubling; past one that missed,
 * halfway between the two (a whole rate, when one lies strictly between). */
static double planned_rate(struct search *s)
{
	double met, mid;

	if (s->count == 0)
		return s->start_rate;
	if (s->best < 0) {
		s->end = SEARCH_NONE_MET;
		return 0;
	}
	met = s->steps[s->best].offered;
	if (s->missed == 0) {
		if (met >= s->max_rate) {
			s->end = SEARCH_RATE_BOUND;
			return 0;
		}
		return fmin(2 * met, s->max_rate);
	}
	mid = round((met + s->missed) / 2);
	if (s->missed / met - 1 <= s->resolution || mid <= met || mid >= s->missed) {
		s->end = SEARCH_RESOLVED;
		return 0;
	}
	return mid;
}

double search_next_rate(struct search *s, uint64_t elapsed_ns, uint64_t step_ns)
{
	double rate;

	if (s->end != SEARCH_RUNNING)
		return 0;
	rate = planned_rate(s);
	if (rate == 0)
		return 0;
	if (s->count >= s->max_steps) {
		s->end = SEARCH_STEP_BOUND;
		return 0;
	}
	if (elapsed_ns + step_ns > s->max_time_ns) {
		s->end = SEARCH_TIME_BOUND;
		return 0;
	}
	return rate;
}

void search_record(struct search *s, const struct search_step *step)
{
	struct search_step *kept = &s->steps[s->count];

	*kept = *step;
	kept->met = step->complete && step->errors == 0 && step->measured &&
	            step->achieved >= step->offered * (1 - SEARCH_RATE_SLACK) &&
	            step->value_ns <= s->target.target_ns;
	if (kept->met && (s->best < 0 || kept->offered > s->steps[s->best].offered))
		s->best = s->count;
	if (!kept->met && (s->missed == 0 || kept->offered < s->missed))
		s->missed = kept->offered;
	s->count++;
}

void search_interrupt(struct search *s)
{
	s->end = SEARCH_INTERRUPTED;
}

double search_capacity(const struct search *s)
{
	return s->best >= 0 ? s->steps[s->best].offered : 0;
}

static const struct {
	const char *name, *text;
} ends[] = {
	[SEARCH_RUNNING] = { "running", "still running" },
	[SEARCH_RESOLVED] = { "resolved", "the resolution was reached" },
	[SEARCH_NONE_MET] = { "none-met", "even the lowest rate missed the target" },
	[SEARCH_STEP_BOUND] = { "steps", "the step bound (--search-steps) ended it" },
	[SEARCH_TIME_BOUND] = { "time", "the time bound (--search-time) ended it" },
	[SEARCH_RATE_BOUND] = { "rate", "the highest rate loadgen offers was reached" },
	[SEARCH_INTERRUPTED] = { "interrupted", "interrupted" },
};

const char *search_end_text(enum search_end end)
{
	return ends[end].text;
}

const char *search_end_name(enum search_end end)
{
	return ends[end].name;
}
