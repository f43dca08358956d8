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
#ifdef HAVE_CUDA
#include "kernel_cuda.h"
#endif

enum { BURN_MS, BURN__MAX };

static const struct kparam_spec burn_params[BURN__MAX] = {
	[BURN_MS] = { "ms", KPARAM_INT, 0, 600000, 1000, 1,
	    "Duration", "ms" },
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

static int
burn_run(const double *params, int device, struct kernel_result *res)
{
	double ms = params[BURN_MS], t0, elapsed;

	if (kernel_device_select(device, res) == -1)
		return -1;
	if (!(ms >= burn_params[BURN_MS].min &&
	    ms <= burn_params[BURN_MS].max))
		return kernel_fail(res, "ms: must be between 0 and 600000");
	t0 = kernel_now_ms();
	if (device == KERNEL_CPU)
		burn_sleep(ms);
	else {
#ifdef HAVE_CUDA
		if (kernel_cuda_burn(device, ms, res->error,
		    sizeof(res->error)) == -1)
			return -1;
#else
		return kernel_fail(res, "built without CUDA");
#endif
	}
	elapsed = kernel_now_ms() - t0;
	return kernel_result_json(res, "{\"elapsed_ms\":%.3f}", elapsed);
}

const struct kernel kernel_burn = {
	.name = "burn",
	.title = "Burn",
	.params = burn_params,
	.nparams = BURN__MAX,
	.run = burn_run,
};
