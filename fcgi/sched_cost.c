/*
 * sched_cost: how long a job is expected to take, for the ETAs and
 * Retry-After (sched_stats.c). A built-in kernel's job costs units that
 * its parameters say (mandelbrot: pixels x iterations, sgemm: n^3, burn:
 * its ms); every task learns its ns per unit from its done jobs (an
 * exponential moving average updated at each end), so that a job 4x
 * bigger is expected to take 4x longer. A worker task's job is one unit
 * (its learnt run time). A running job's remaining time comes from its
 * progress once its worker reports one, else from that estimate, and is
 * never less than what its elapsed time says once the estimate is past.
 */
#include <sys/queue.h>

#include <math.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "sched_int.h"

#define SCHED_COST_ALPHA	0.2	/* weight of the newest run */

/*
 * The built-in kernels' costs: the product of these parameters, and a
 * first guess of ns per unit on the CPU fallback until a job is done
 * (sluice-kernel on a 2-core machine: mandelbrot 800x600x500 in 68 ms,
 * sgemm n=512 in 1.66 s).
 */
static const struct sched_cost {
	const char	*kernel;
	const char	*keys[3];	/* NULL: no more factors */
	double		 seed_ns;
} sched_costs[] = {
	{ "mandelbrot",	{ "width", "height", "iters" },	0.3 },
	{ "sgemm",	{ "n", "n", "n" },		12.0 },
	{ "burn",	{ "ms", NULL, NULL },		1e6 },
};

static const struct sched_cost *
cost_find(const char *kernel)
{
	size_t	 i;

	for (i = 0; kernel != NULL &&
	    i < sizeof(sched_costs) / sizeof(sched_costs[0]); i++)
		if (strcmp(sched_costs[i].kernel, kernel) == 0)
			return &sched_costs[i];
	return NULL;
}

double
sched_cost_units_of(const char *kernel, const json_t *params)
{
	const struct sched_cost	*c = cost_find(kernel);
	json_t			*v;
	double			 units = 1;
	size_t			 i;

	if (c == NULL || params == NULL)
		return units;
	for (i = 0; i < 3 && c->keys[i] != NULL; i++)
		if ((v = json_object_get(params, c->keys[i])) != NULL &&
		    json_is_number(v) && json_number_value(v) > 0)
			units *= json_number_value(v);
	return units;
}

double
sched_cost_units(const char *kernel, const char *params_json)
{
	json_t	*o = params_json != NULL ? json_loads(params_json, 0, NULL) :
		    NULL;
	double	 units = sched_cost_units_of(kernel, o);

	json_decref(o);
	return units;
}

void
sched_cost_bind(struct stask *st)
{
	const struct sched_cost	*c = cost_find(st->ct->kernel);

	if (st->cost_seen && st->cost == c)
		return;		/* a reload kept the kernel: keep what it learnt */
	st->cost = c;
	st->cost_seen = 0;
	st->ns_per_unit = c != NULL ? c->seed_ns : SCHED_SEED_MS * 1e6;
}

void
sched_cost_learn(struct stask *st, double units, double run_ms)
{
	double	 ns = run_ms * 1e6 / (units > 0 ? units : 1);

	st->ns_per_unit = st->cost_seen ? (1 - SCHED_COST_ALPHA) *
	    st->ns_per_unit + SCHED_COST_ALPHA * ns : ns;
	st->cost_seen = 1;
}

double
sched_unit_ms(const void *cls)
{
	return ((const struct stask *)cls)->ns_per_unit / 1e6;
}

double
sjob_est_ms(const struct sjob *j)
{
	return j->units * j->st->ns_per_unit / 1e6;
}

double
sched_left_ms(double est_ms, double elapsed_ms, double progress)
{
	if (elapsed_ms < 0)
		elapsed_ms = 0;
	if (progress >= 1)
		return 0;
	if (progress > 0)
		return elapsed_ms * (1 - progress) / progress;
	/* Past its estimate, the estimate was low: as long again as it overran. */
	return fmax(fabs(est_ms - elapsed_ms), est_ms / 10);
}

double
sjob_left_ms(const struct sjob *j, int64_t now)
{
	return sched_left_ms(sjob_est_ms(j), (double)(now - j->start_ns) / 1e6,
	    j->job.has_progress ? j->job.progress : -1);
}

int64_t
sched_est_now(const struct sched *s)
{
	return s->opts.est_clock != NULL ?
	    s->opts.est_clock(s->opts.est_clock_arg) : sched_mono_ns();
}
