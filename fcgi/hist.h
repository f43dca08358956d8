/*
 * hist: a histogram of durations in ms over fixed bucket bounds, the
 * wait and run times of the locks (/metrics, /status.json). Not
 * thread-safe: its owner's mutex guards it.
 */
#ifndef SLUICE_HIST_H
#define SLUICE_HIST_H

#include <stdint.h>

#define HIST_N	18
/* Upper bounds (inclusive, ms) of the buckets; one more is +Inf. */
extern const int64_t hist_bounds_ms[HIST_N];

struct hist {
	uint64_t	 b[HIST_N + 1];	/* per bucket (not cumulative) */
	double		 sum_ms;
	uint64_t	 n;
};

/* Counts one duration (negative or NaN counts as 0). */
void	hist_add(struct hist *, double ms);

/* Cumulative counts into cum[0..HIST_N] (the last is +Inf). */
void	hist_cumulative(const struct hist *, uint64_t cum[HIST_N + 1]);

#endif
