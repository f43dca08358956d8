/*
 * burn.h: what burn.c, burn.cu and the tests share: burn's job, its CUDA
 * entry, and the deadline arithmetic both the GPU's spin and the host's
 * loop use (the same inline functions, so that a test can check them).
 */
#ifndef SLUICE_BURN_H
#define SLUICE_BURN_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"	/* CUDA_CALLABLE */

#ifdef __cplusplus
extern "C" {
#endif

/* Its parameters, in the order of its spec table (burn_spec.c). */
enum { BURN_MS, BURN__MAX };

/* Its spec (burn_spec.c): name, title and the parameter table. */
struct kernel_spec;
extern const struct kernel_spec kernel_spec_burn;

#define BURN_STEP_MS	100	/* progress and cancel checks this often */

/* One burn: the device is held for ms milliseconds. */
struct burn_job {
	double	ms;
	/*
	 * Called between steps (every BURN_STEP_MS) with the milliseconds
	 * burnt so far; returns 1 to stop (the job is cancelled), else 0.
	 * NULL: never stops early.
	 */
	int	(*tick)(double done_ms, double ms);
};

/*
 * burn.cu, a kernel_entry_fn: spins every SM of dev for the job's ms of
 * the GPU's clock, in steps of BURN_STEP_MS between which it ticks, and
 * waits for each step asleep (no CPU core spins). Returns 0, or -1 with
 * the CUDA error (or "cancelled") in err.
 */
int	burn_cuda(void *job, int dev, char *err, size_t errlen);

/* The deadline ns after start on a 64-bit nanosecond clock (it wraps). */
CUDA_CALLABLE uint64_t
burn_deadline(uint64_t start, uint64_t ns)
{
	return start + ns;
}

/*
 * 1 while now is before deadline. The difference is taken as a signed
 * number: a clock that steps back (or wraps) makes the spin last longer,
 * never end early, where the unsigned now - start < ns ends at once as
 * soon as now < start.
 */
CUDA_CALLABLE int
burn_before(uint64_t now, uint64_t deadline)
{
	return (int64_t)(deadline - now) > 0;
}

#ifdef __cplusplus
}
#endif

#endif
