/*
 * sgemm: C = A * B for n x n float matrices drawn from a seed. CPU:
 * OpenBLAS cblas_sgemm; GPU: our tiled kernel (sgemm.cu).
 *
 * Result: gflops and ms (2 n^3 flops over the multiply alone), checksum
 * (sum of every C entry, in double, in index order), and max_rel_err, the
 * largest kernel_rel_err() over a reference set, its scale being the RMS
 * of the reference entries of that set:
 *  - CPU, n <= 512: every entry against a double-accumulated naive product;
 *  - CPU, n > 512: the 64 x 64 = 4096 entries where 64 rows and 64
 *    columns drawn from the seed cross, each against its double-accumulated
 *    dot product;
 *  - GPU, n <= 2048: every entry against the CPU (OpenBLAS) result;
 *  - GPU, n > 2048: the same sampled entries as the CPU.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "sgemm.h"

#define SGEMM_FULL_REF_MAX	512	/* CPU: full reference up to here */
#define SGEMM_GPU_CHECK_MAX	2048	/* GPU: checked against the CPU */
#define SGEMM_SAMPLE_RC		64	/* sampled rows and columns */

static uint64_t
sgemm_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
kernel_sgemm_fill(float *m, size_t n, uint64_t seed, int which)
{
	uint64_t	key = sgemm_mix(seed * 2 + (which ? 1 : 0) +
			    0x9e3779b97f4a7c15ULL);
	size_t		i, len = n * n;

	for (i = 0; i < len; i++) {
		uint64_t x = sgemm_mix(key + (i + 1) * 0x9e3779b97f4a7c15ULL);

		/* 24 random bits: exact in a float, in [-1, 1). */
		m[i] = (float)((double)(x >> 40) / 8388608.0 - 1.0);
	}
}

double
kernel_rel_err(double got, double want, double scale)
{
	double den = fabs(want);

	if (den < scale)
		den = scale;
	if (den == 0.0)
		return got == want ? 0.0 : INFINITY;
	return fabs(got - want) / den;
}

/* Allocates an n x n float matrix, or NULL (also on size overflow). */
static float *
sgemm_alloc(size_t n)
{
	if (n == 0 || n > SIZE_MAX / n / sizeof(float))
		return NULL;
	return malloc(n * n * sizeof(float));
}

#define SGEMM_BLOCK_ROWS	512	/* C's rows per call: progress, cancel */

/*
 * sgemm's CPU entry: OpenBLAS, a block of C's rows at a time (whole
 * blocks keep OpenBLAS at its speed), reporting progress and seeing a
 * cancel between blocks.
 */
static int
sgemm_cpu(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = job;
	double			 t0;
	char			 msg[64];
	int			 n = (int)j->n, r, rows;

	(void)dev;
	/* Fault C's fresh pages in before the clock starts. */
	memset(j->c, 0, j->n * j->n * sizeof(float));
	t0 = kernel_now_ms();
	for (r = 0; r < n; r += rows) {
		if (kernel_cancelled()) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		rows = n - r < SGEMM_BLOCK_ROWS ? n - r : SGEMM_BLOCK_ROWS;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n,
		    n, 1.0f, j->a + (size_t)r * n, n, j->b, n, 0.0f,
		    j->c + (size_t)r * n, n);
		snprintf(msg, sizeof(msg), "multiply: %d of %d rows", r + rows,
		    n);
		kernel_progress(0.1 + 0.8 * (r + rows) / n, msg);
	}
	j->ms = kernel_now_ms() - t0;
	return 0;
}

/* Every entry against a double-accumulated product, row by row. */
static int
sgemm_err_full(size_t n, const float *a, const float *b, const float *c,
    double *maxerr)
{
	double	*ref, scale = 0, e, m = 0;
	size_t	 i, j, k;

	if (n > SIZE_MAX / n / sizeof(double) ||
	    (ref = calloc(n * n, sizeof(double))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		for (k = 0; k < n; k++) {
			double aik = a[i * n + k];

			for (j = 0; j < n; j++)
				ref[i * n + j] += aik * b[k * n + j];
		}
	for (i = 0; i < n * n; i++)
		scale += ref[i] * ref[i];
	scale = sqrt(scale / (n * n));
	for (i = 0; i < n * n; i++)
		if ((e = kernel_rel_err(c[i], ref[i], scale)) > m)
			m = e;
	free(ref);
	*maxerr = m;
	return 0;
}

/*
 * SGEMM_SAMPLE_RC rows times SGEMM_SAMPLE_RC columns drawn from the seed
 * (with replacement), every entry where they cross against its
 * double-accumulated dot product. The sampled columns of B are copied out
 * first so that the products read memory in order.
 */
static int
sgemm_err_sampled(size_t n, uint64_t seed, const float *a, const float *b,
    const float *c, double *maxerr)
{
	enum { RC = SGEMM_SAMPLE_RC };
	double		*ref = NULL, *bs = NULL, scale = 0, e, m = 0, aik;
	size_t		 rows[RC], cols[RC], s, t, k;
	uint64_t	 key = sgemm_mix(seed ^ 0x5ca1ab1e0ddba11ULL);
	int		 rc = -1;

	if (n > SIZE_MAX / RC / sizeof(double))
		goto out;
	ref = calloc(RC * RC, sizeof(*ref));
	bs = calloc(n * RC, sizeof(*bs));
	if (ref == NULL || bs == NULL)
		goto out;
	for (s = 0; s < RC; s++) {
		rows[s] = sgemm_mix(key + 2 * s) % n;
		cols[s] = sgemm_mix(key + 2 * s + 1) % n;
	}
	for (k = 0; k < n; k++)
		for (t = 0; t < RC; t++)
			bs[k * RC + t] = b[k * n + cols[t]];
	for (s = 0; s < RC; s++)
		for (k = 0; k < n; k++) {
			aik = a[rows[s] * n + k];
			for (t = 0; t < RC; t++)
				ref[s * RC + t] += aik * bs[k * RC + t];
		}
	for (s = 0; s < RC * RC; s++)
		scale += ref[s] * ref[s];
	scale = sqrt(scale / (RC * RC));
	for (s = 0; s < RC; s++)
		for (t = 0; t < RC; t++)
			if ((e = kernel_rel_err(c[rows[s] * n + cols[t]],
			    ref[s * RC + t], scale)) > m)
				m = e;
	*maxerr = m;
	rc = 0;
out:
	free(ref);
	free(bs);
	return rc;
}

/* Every entry of c against the CPU's product of a and b. */
static int
sgemm_err_cpu(size_t n, const float *a, const float *b, const float *c,
    double *maxerr, char *err, size_t errlen)
{
	struct sgemm_job	 cpu = { .n = n, .a = a, .b = b };
	double			 scale = 0, e, m = 0;
	float			*ref;
	size_t			 i;

	if ((ref = sgemm_alloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory for the reference");
		return -1;
	}
	cpu.c = ref;
	sgemm_cpu(&cpu, KERNEL_CPU, err, errlen);
	for (i = 0; i < n * n; i++)
		scale += (double)ref[i] * ref[i];
	scale = sqrt(scale / (n * n));
	for (i = 0; i < n * n; i++)
		if ((e = kernel_rel_err(c[i], ref[i], scale)) > m)
			m = e;
	free(ref);
	*maxerr = m;
	return 0;
}

static int
sgemm_run(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct sgemm_job	 j = { .n = 0 };
	float			*a = NULL, *b = NULL, *c = NULL;
	double			 sum = 0, maxerr = 0, gflops;
	size_t			 n, i;
	uint64_t		 seed;
	int			 rc = -1;

	if (!(params[SG_N] >= kernel_spec_sgemm.params[SG_N].min &&
	    params[SG_N] <= kernel_spec_sgemm.params[SG_N].max &&
	    params[SG_SEED] >= 0 && params[SG_SEED] <=
	    kernel_spec_sgemm.params[SG_SEED].max))
		return kernel_fail(res, "sgemm: parameters out of range");
	n = (size_t)params[SG_N];
	seed = (uint64_t)params[SG_SEED];
	if ((a = sgemm_alloc(n)) == NULL || (b = sgemm_alloc(n)) == NULL ||
	    (c = sgemm_alloc(n)) == NULL) {
		kernel_fail(res, "out of memory for n=%zu", n);
		goto out;
	}
	kernel_sgemm_fill(a, n, seed, 0);
	kernel_sgemm_fill(b, n, seed, 1);
	kernel_progress(0.1, "matrices filled");
	j.n = n;
	j.a = a;
	j.b = b;
	j.c = c;
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		goto out;
	kernel_progress(0.9, "checking the result");
	for (i = 0; i < n * n; i++)
		sum += c[i];
	if (device == KERNEL_CPU && n <= SGEMM_FULL_REF_MAX) {
		if (sgemm_err_full(n, a, b, c, &maxerr) == -1) {
			kernel_fail(res, "out of memory for the reference");
			goto out;
		}
	} else if (device != KERNEL_CPU && n <= SGEMM_GPU_CHECK_MAX) {
		if (sgemm_err_cpu(n, a, b, c, &maxerr, res->error,
		    sizeof(res->error)) == -1)
			goto out;
	} else if (sgemm_err_sampled(n, seed, a, b, c, &maxerr) == -1) {
		kernel_fail(res, "out of memory for the reference");
		goto out;
	}
	if (!isfinite(sum) || !isfinite(maxerr)) {
		kernel_fail(res, "sgemm: result is not finite");
		goto out;
	}
	gflops = j.ms > 0 ? 2.0 * n * n * n / (j.ms * 1e6) : 0.0;
	if (kernel_result_json(res, "{\"gflops\":%.3f,\"ms\":%.3f,"
	    "\"checksum\":%.9g,\"max_rel_err\":%.3g,\"n\":%zu,"
	    "\"backend\":\"%s\"}", gflops, j.ms, sum, maxerr, n,
	    device == KERNEL_CPU ? "openblas" : "cuda-tiled") == -1)
		goto out;
	rc = 0;
out:
	free(a);
	free(b);
	free(c);
	return rc;
}

const struct kernel kernel_sgemm = {
	.spec = &kernel_spec_sgemm,
	.job = sgemm_run,
	.cpu = sgemm_cpu,
	.cuda = KERNEL_CUDA(sgemm_cuda),
};

int
kernel_sgemm_compute(int device, size_t n, uint64_t seed, float *c,
    double *ms, char *err, size_t errlen)
{
	struct sgemm_job	 j = { .n = n, .c = c };
	float			*a = NULL, *b = NULL;
	int			 rc = -1;

	if (n < 1 || n > 46340) {
		snprintf(err, errlen, "sgemm: bad size %zu", n);
		return -1;
	}
	if ((a = sgemm_alloc(n)) == NULL || (b = sgemm_alloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory for n=%zu", n);
		goto out;
	}
	kernel_sgemm_fill(a, n, seed, 0);
	kernel_sgemm_fill(b, n, seed, 1);
	j.a = a;
	j.b = b;
	if ((rc = kernel_compute(&kernel_sgemm, device, &j, err,
	    errlen)) == 0)
		*ms = j.ms;
out:
	free(a);
	free(b);
	return rc;
}
