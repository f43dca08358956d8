/*
 * burn: holds its slot for a given time. GPU: a spin kernel on the slot's
 * device (burn.cu); CPU: sleeps. Both in steps of BURN_STEP_MS, between
 * which they report progress and see a cancel. Used by tests and
 * benchmarks.
 */
#include "config.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "burn.h"

/*
 * Sleeps ms milliseconds on the monotonic clock, through signals. Linux
 * lets a sleeping thread overshoot by its timer slack, 50 us by default
 * (2.5% of a 2 ms burn); the slot is meant to be held for what was asked,
 * so the slack is set to 1 ns (for this thread only).
 */
static void
burn_sleep_until(long long until_ns)
{
	struct timespec	until;
	int		e;

#ifdef PR_SET_TIMERSLACK
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
#endif
	until.tv_sec = until_ns / 1000000000LL;
	until.tv_nsec = until_ns % 1000000000LL;
	do
		e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
		    NULL);
	while (e == EINTR);
}

static long long
burn_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Between steps of either path: reports progress, and stops the burn
 * (returns 1) once the job is cancelled.
 */
static int
burn_tick(double done_ms, double ms)
{
	char	msg[64];

	if (kernel_cancelled())
		return 1;
	snprintf(msg, sizeof(msg), "%.0f of %.0f ms", done_ms, ms);
	kernel_progress(ms > 0 ? done_ms / ms : 1, msg);
	return 0;
}

/* burn's CPU entry: sleeps, in steps that tick (progress, cancel). */
static int
burn_cpu(void *job, int dev, char *err, size_t errlen)
{
	const struct burn_job	*j = job;
	long long		 start = burn_now_ns(), end, next;

	(void)dev;
	end = start + (long long)(j->ms * 1e6);
	for (next = start; next < end; ) {
		if (j->tick != NULL && j->tick((double)(next - start) / 1e6,
		    j->ms)) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		next += BURN_STEP_MS * 1000000LL;
		burn_sleep_until(next < end ? next : end);
	}
	if (j->tick != NULL)
		(void)j->tick(j->ms, j->ms);
	return 0;
}

static int
burn_run(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct burn_job	j = { .ms = params[BURN_MS], .tick = burn_tick };
	double		t0, elapsed;

	if (!(j.ms >= kernel_spec_burn.params[BURN_MS].min &&
	    j.ms <= kernel_spec_burn.params[BURN_MS].max))
		return kernel_fail(res, "ms: must be between 0 and 600000");
	t0 = kernel_now_ms();
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		return -1;
	elapsed = kernel_now_ms() - t0;
	return kernel_result_json(res, "{\"elapsed_ms\":%.3f}", elapsed);
}

const struct kernel kernel_burn = {
	.spec = &kernel_spec_burn,
	.job = burn_run,
	.cpu = burn_cpu,
	.cuda = KERNEL_CUDA(burn_cuda),
};
