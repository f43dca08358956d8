/*
 * sgemm.h: what sgemm.c, sgemm.cu and the tests share: the kernel's job,
 * its CUDA entry, and the helpers that tests and benchmarks call.
 */
#ifndef SLUICE_SGEMM_H
#define SLUICE_SGEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Its parameters, in the order of its spec table (sgemm_spec.c). */
enum { SG_N, SG_SEED, SG__MAX };

/* Its spec (sgemm_spec.c): name, title and the parameter table. */
struct kernel_spec;
extern const struct kernel_spec kernel_spec_sgemm;

/* One multiply: C = A * B, n x n row-major float matrices. */
struct sgemm_job {
	size_t		 n;
	const float	*a, *b;
	float		*c;	/* out: the caller's n x n buffer */
	double		 ms;	/* out: the multiply alone */
};

/*
 * sgemm.cu, a kernel_entry_fn: the job's multiply with our tiled kernel
 * (ms: kernel time). Returns 0, or -1 with the CUDA error in err.
 */
int	sgemm_cuda(void *job, int dev, char *err, size_t errlen);

/*
 * Fills the n x n row-major matrix m (which: 0 for A, 1 for B) with values
 * in [-1, 1) derived from seed by a counter-based splitmix64: element i is
 * a function of (seed, which, i) only. Thread-safe.
 */
void	kernel_sgemm_fill(float *m, size_t n, uint64_t seed, int which);

/*
 * C = A * B for the seed's matrices on device (KERNEL_CPU: OpenBLAS)
 * through the dispatcher, into the caller's n x n buffer c. *ms gets the
 * multiply time only. Returns 0, or -1 with err set. Thread-safe.
 */
int	kernel_sgemm_compute(int device, size_t n, uint64_t seed, float *c,
	    double *ms, char *err, size_t errlen);

/*
 * Relative error used everywhere for sgemm: |got - want| / max(|want|,
 * scale), scale being the RMS of the compared reference entries, so that
 * entries near zero (where float rounding is absolute, not relative) do not
 * blow the ratio up. 0 when both are 0.
 */
double	kernel_rel_err(double got, double want, double scale);

#ifdef __cplusplus
}
#endif

#endif
