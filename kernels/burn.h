/*
 * burn.h: what burn.c, burn.cu and the tests share: burn's job and its
 * CUDA entry.
 */
#ifndef SLUICE_BURN_H
#define SLUICE_BURN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Its parameters, in the order of its spec table (burn_spec.c). */
enum { BURN_MS, BURN__MAX };

/* Its spec (burn_spec.c): name, title and the parameter table. */
struct kernel_spec;
extern const struct kernel_spec kernel_spec_burn;

/* One burn: the device is held for ms milliseconds. */
struct burn_job {
	double	ms;
};

/*
 * burn.cu, a kernel_entry_fn: spins every SM of dev for the job's ms of
 * the GPU's clock. Returns 0, or -1 with the CUDA error in err.
 */
int	burn_cuda(void *job, int dev, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
