/*
 * bench_worker: the worker the benchmark runs (libsluiceworker): a job
 * sleeps params.ms (absolute deadline, 1 ns timer slack) and answers {}.
 * params.crash true aborts the process instead (restart figure).
 */
#include <sys/prctl.h>

#include <stdlib.h>
#include <time.h>

#include "sluice_worker.h"

static int
run(struct sw *w, const struct sw_job *job, void *arg)
{
	const json_t	*ms = json_object_get(job->params, "ms");
	struct timespec	 ts;
	long long	 ns;

	(void)arg;
	if (json_is_true(json_object_get(job->params, "crash")))
		abort();
	if (json_is_integer(ms) && json_integer_value(ms) > 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ns = ts.tv_nsec + json_integer_value(ms) * 1000000LL;
		ts.tv_sec += ns / 1000000000LL;
		ts.tv_nsec = ns % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) != 0)
			continue;
	}
	return sw_result(w, NULL, NULL, 0);
}

int
main(void)
{
	struct sw	*w;
	char		 err[128];

	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	if ((w = sw_open(err, sizeof(err))) == NULL)
		return 2;
	return sw_serve(w, NULL, run, NULL) == 0 ? 0 : 1;
}
