/*
 * burn: holds its slot for a given time. GPU: a spin kernel on the slot's
 * device (burn.cu); CPU: sleeps. Used by tests and benchmarks.
 */
#include "config.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kernel.h"
#include "kernel_int.h"
#include "burn.h"

enum { BURN_MS, BURN__MAX };

static const struct kparam_spec burn_params[BURN__MAX] = {
	[BURN_MS] = KPARAM_NUMBER("ms", KPARAM_INT, 0, 600000, 1000, 1,
	    "Duration", "ms"),
};

/*
 * Sleeps ms milliseconds on the monotonic clock, through signals. Linux
 * lets a sleeping thread overshoot by its timer slack, 50 us by default
 * (2.5% of a 2 ms burn); the slot is meant to be held for what was asked,
 * so the slack is set to 1 ns (for this thread only).
 */
static void
burn_sleep(double ms)
{
	struct timespec	until;
	long long	ns;
	int		e;

#ifdef PR_SET_TIMERSLACK
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
	clock_gettime(CLOCK_MONOTONIC, &until);
	ns = until.tv_nsec + (long long)(ms * 1e6);
	until.tv_sec += ns / 1000000000LL;
	until.tv_nsec = ns % 1000000000LL;
	do
		e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
		    NULL);
	while (e == EINTR);
}

/* burn's CPU entry: sleeps. */
static int
burn_cpu(void *job, int dev, char *err, size_t errlen)
{
	const struct burn_job *j = job;

	(void)dev;
	(void)err;
	(void)errlen;
	burn_sleep(j->ms);
	return 0;
}

static int
burn_run(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct burn_job	j = { .ms = params[BURN_MS] };
	double		t0, elapsed;

	if (!(j.ms >= burn_params[BURN_MS].min &&
	    j.ms <= burn_params[BURN_MS].max))
		return kernel_fail(res, "ms: must be between 0 and 600000");
	t0 = kernel_now_ms();
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		return -1;
	elapsed = kernel_now_ms() - t0;
	return kernel_result_json(res, "{\"elapsed_ms\":%.3f}", elapsed);
}

const struct kernel kernel_burn = {
	.name = "burn",
	.title = "Burn",
	.params = burn_params,
	.nparams = BURN__MAX,
	.job = burn_run,
	.cpu = burn_cpu,
	.cuda = KERNEL_CUDA(burn_cuda),
};
