/*
 * sgemm.h: what sgemm.c, sgemm.cu and the tests share: the kernel's job,
 * its CUDA entry, the matrix generator (the same inline functions on the
 * CPU and the GPU, which fills its matrices itself), the shape of the
 * GPU's launch, and the helpers that tests and benchmarks call.
 */
#ifndef SLUICE_SGEMM_H
#define SLUICE_SGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"	/* CUDA_CALLABLE */

#ifdef __cplusplus
extern "C" {
#endif

/* Its parameters, in the order of its spec table (sgemm_spec.c). */
enum { SG_N, SG_SEED, SG__MAX };

/* Its spec (sgemm_spec.c): name, title and the parameter table. */
struct kernel_spec;
extern const struct kernel_spec kernel_spec_sgemm;

#define SGEMM_SAMPLE_RC	64	/* sampled rows and columns of C */

/*
 * The entries of C a job returns for the sampled check: where rows[s]
 * and cols[t] cross, at c[s * SGEMM_SAMPLE_RC + t] (in: rows and cols;
 * out: c).
 */
struct sgemm_sample {
	uint32_t	rows[SGEMM_SAMPLE_RC], cols[SGEMM_SAMPLE_RC];
	double		c[SGEMM_SAMPLE_RC * SGEMM_SAMPLE_RC];
};

/*
 * One multiply: C = A * B, n x n row-major float matrices, A and B made
 * from seed by sgemm_value() (each entry point fills its own: the CPU in
 * host memory, the GPU in its own).
 */
struct sgemm_job {
	size_t			 n;
	uint64_t		 seed;
	float			*c;	/* out: the caller's n x n C, or NULL */
	struct sgemm_sample	*sample;	/* in/out, or NULL */
	double			 checksum;	/* out: sum of C, in double */
	double			 ms;	/* out: the multiply alone */
};

/*
 * sgemm.cu, a kernel_entry_fn: fills A and B on the device, multiplies
 * with our tiled kernel (ms: kernel time), sums C on the device
 * (checksum) and copies back the sample and, when j->c is set, C.
 * Returns 0, or -1 with the CUDA error in err.
 */
int	sgemm_cuda(void *job, int dev, char *err, size_t errlen);

/* The generator: a counter-based splitmix64, element i a function of (seed, which, i). */
CUDA_CALLABLE uint64_t
sgemm_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The key of matrix which (0: A, 1: B) for seed. */
CUDA_CALLABLE uint64_t
sgemm_key(uint64_t seed, int which)
{
	return sgemm_mix(seed * 2 + (which ? 1 : 0) + 0x9e3779b97f4a7c15ULL);
}

/*
 * Element i (row-major index) of the matrix with key: 24 random bits, in
 * [-1, 1), exact in a float (integer arithmetic, then a power of two: the
 * same bits on any device).
 */
CUDA_CALLABLE float
sgemm_value(uint64_t key, uint64_t i)
{
	uint64_t x = sgemm_mix(key + (i + 1) * 0x9e3779b97f4a7c15ULL);

	return (float)((int32_t)(x >> 40) - 8388608) * (1.0f / 8388608.0f);
}

/* The GPU's launch shape: the tile (128), padding and split-K. */
#define SGEMM_TILE		128
#define SGEMM_SPLIT_MAX		8	/* k slices at most */
#define SGEMM_KCHUNK_MIN	128	/* k of one slice at least */

/* n rounded up to the tile: the device pads A and B with zeros. */
static inline size_t
sgemm_padded(size_t n)
{
	return (n + SGEMM_TILE - 1) / SGEMM_TILE * SGEMM_TILE;
}

/*
 * How many slices of k (split-K) an np x np multiply (np padded) runs in,
 * so that its blocks fill at least 3/4 of a wave of blocks_per_wave (SMs
 * times resident blocks per SM): 1 when the tiles alone do, never a slice
 * shorter than SGEMM_KCHUNK_MIN.
 */
static inline int
sgemm_split(size_t np, int blocks_per_wave)
{
	size_t	tiles = (np / SGEMM_TILE) * (np / SGEMM_TILE);
	int	s = 1;

	while (s < SGEMM_SPLIT_MAX && tiles * s * 4 < (size_t)blocks_per_wave * 3 &&
	    np / (s + 1) >= SGEMM_KCHUNK_MIN)
		s++;
	return s;
}

/* The k of one slice: np / split rounded up to 8 (the kernel's k step). */
static inline size_t
sgemm_kchunk(size_t np, int split)
{
	size_t k = (np + split - 1) / split;

	return (k + 7) / 8 * 8;
}

/*
 * Fills the n x n row-major matrix m (which: 0 for A, 1 for B) with
 * sgemm_value(sgemm_key(seed, which), i), on every CPU. Thread-safe.
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
