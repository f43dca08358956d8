/*
 * sgemm: C = A * B for n x n float matrices drawn from a seed. CPU:
 * OpenBLAS cblas_sgemm; GPU: our tiled kernel (sgemm.cu), which fills A
 * and B on the device with the same generator (sgemm.h), so that nothing
 * but the result crosses the bus.
 *
 * Result: gflops and ms (2 n^3 flops over the multiply alone), checksum
 * (the sum of every C entry, in double: on the CPU in 16 interleaved
 * partial sums, on the GPU in a fixed tree order, so the same job gives
 * the same checksum),
 * and max_rel_err, the largest kernel_rel_err() over a reference set, its
 * scale being the RMS of the reference entries of that set:
 *  - CPU, n <= 128: every entry against a double-accumulated naive product;
 *  - otherwise (CPU n > 128, and every GPU job): the 64 x 64 = 4096
 *    entries where 64 rows and 64 columns drawn from the seed cross, each
 *    against its double-accumulated dot product, the rows of A and the
 *    columns of B made again on the host from the generator.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "sgemm.h"

/*
 * CPU: the full reference up to here. It is n^3 in double, slower than
 * OpenBLAS's n^3 in float: at n = 512 it took 26 to 40 times the
 * multiply; at 128 it costs what the 64 x 64 sample does at 512.
 */
#define SGEMM_FULL_REF_MAX	128
#define SGEMM_FILL_THREADS	64	/* fill threads at most */
#define SGEMM_FILL_ROWS		64	/* rows per fill thread at least */
#define SGEMM_LANES		16	/* entries a vectorized step makes */

/*
 * What the fill threads make, each its share of rows [from, to) (as
 * entries): A's and, when b is set, B's entries from their keys and,
 * when c is set, C zeroed, so that the fresh pages of all three are
 * faulted in by every CPU at once and before the multiply's clock.
 */
struct sgemm_fill_part {
	float		*a, *b, *c;
	uint64_t	 ka, kb;
	size_t		 from, to;
};

/* Entries [from, to) of the matrix with key, SGEMM_LANES at a time. */
KERNEL_CLONES static void
sgemm_fill_range(float *m, uint64_t key, size_t from, size_t to)
{
	size_t	 i, l;

	for (i = from; i + SGEMM_LANES <= to; i += SGEMM_LANES)
		for (l = 0; l < SGEMM_LANES; l++)
			m[i + l] = sgemm_value(key, i + l);
	for (; i < to; i++)
		m[i] = sgemm_value(key, i);
}

static void *
sgemm_fill_thread(void *arg)
{
	const struct sgemm_fill_part	*p = arg;

	sgemm_fill_range(p->a, p->ka, p->from, p->to);
	if (p->b != NULL)
		sgemm_fill_range(p->b, p->kb, p->from, p->to);
	if (p->c != NULL)
		memset(p->c + p->from, 0, (p->to - p->from) * sizeof(float));
	return NULL;
}

/* Runs what fills n x n matrices, split by rows over every CPU. */
static void
sgemm_fill_team(const struct sgemm_fill_part *what, size_t n)
{
	struct sgemm_fill_part	 part[SGEMM_FILL_THREADS];
	pthread_t		 tid[SGEMM_FILL_THREADS];
	int			 started[SGEMM_FILL_THREADS];
	size_t			 t, nt, rows;

	nt = (size_t)kernel_cpu_threads();
	if (nt > SGEMM_FILL_THREADS)
		nt = SGEMM_FILL_THREADS;
	if (nt > n / SGEMM_FILL_ROWS)
		nt = n / SGEMM_FILL_ROWS > 0 ? n / SGEMM_FILL_ROWS : 1;
	rows = (n + nt - 1) / nt;
	for (t = 0; t < nt; t++) {
		part[t] = *what;
		part[t].from = t * rows < n ? t * rows * n : n * n;
		part[t].to = (t + 1) * rows < n ? (t + 1) * rows * n : n * n;
		/* A thread that cannot start: its share is done inline. */
		started[t] = t > 0 && pthread_create(&tid[t], NULL,
		    sgemm_fill_thread, &part[t]) == 0;
	}
	for (t = 0; t < nt; t++)
		if (!started[t])
			sgemm_fill_thread(&part[t]);
	for (t = 0; t < nt; t++)
		if (started[t])
			pthread_join(tid[t], NULL);
}

void
kernel_sgemm_fill(float *m, size_t n, uint64_t seed, int which)
{
	struct sgemm_fill_part	 what = { .a = m,
	    .ka = sgemm_key(seed, which) };

	sgemm_fill_team(&what, n);
}

/* A and B of seed, and C zeroed, all at once. */
static void
sgemm_fill_abc(float *a, float *b, float *c, size_t n, uint64_t seed)
{
	struct sgemm_fill_part	 what = { .a = a, .b = b, .c = c,
	    .ka = sgemm_key(seed, 0), .kb = sgemm_key(seed, 1) };

	sgemm_fill_team(&what, n);
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

/* The sampled rows and columns of an n x n job with seed (with replacement). */
static void
sgemm_pick(size_t n, uint64_t seed, struct sgemm_sample *smp)
{
	uint64_t	key = sgemm_mix(seed ^ 0x5ca1ab1e0ddba11ULL);
	size_t		s;

	for (s = 0; s < SGEMM_SAMPLE_RC; s++) {
		smp->rows[s] = (uint32_t)(sgemm_mix(key + 2 * s) % n);
		smp->cols[s] = (uint32_t)(sgemm_mix(key + 2 * s + 1) % n);
	}
}

/*
 * C's rows per OpenBLAS call (progress, cancel between calls): at least
 * SGEMM_BLOCK_ROWS, and at least SGEMM_BLOCK_FLOPS of work, since each
 * call packs all of B again and wakes OpenBLAS's threads (n = 1024 in two
 * calls cost a fifth more than in one).
 */
#define SGEMM_BLOCK_ROWS	512
#define SGEMM_BLOCK_FLOPS	(1LL << 31)

/* C's rows of A * B, a block at a time, seeing a cancel between them. */
static int
sgemm_cpu_multiply(size_t n, const float *a, const float *b, float *c,
    char *err, size_t errlen)
{
	char		msg[64];
	long long	block = SGEMM_BLOCK_FLOPS / (2LL * (long long)n * n);
	int		r, rows, ni = (int)n;

	if (block < SGEMM_BLOCK_ROWS)
		block = SGEMM_BLOCK_ROWS;
	for (r = 0; r < ni; r += rows) {
		if (kernel_cancelled()) {
			snprintf(err, errlen, "cancelled");
			return -1;
		}
		rows = ni - r < block ? ni - r : (int)block;
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows,
		    ni, ni, 1.0f, a + (size_t)r * n, ni, b, ni, 0.0f,
		    c + (size_t)r * n, ni);
		snprintf(msg, sizeof(msg), "multiply: %d of %d rows", r + rows,
		    ni);
		kernel_progress(0.1 + 0.8 * (r + rows) / ni, msg);
	}
	return 0;
}

/*
 * C's checksum: SGEMM_LANES partial sums, entry i into sum i mod
 * SGEMM_LANES, then those in order. A fixed order (the same job, the same
 * bits, on any CPU), and one that vectorizes: a single running sum would
 * wait on each add.
 */
KERNEL_CLONES static double
sgemm_sum(const float *c, size_t nn)
{
	double	 lane[SGEMM_LANES] = { 0 }, sum = 0;
	size_t	 i, l;

	for (i = 0; i + SGEMM_LANES <= nn; i += SGEMM_LANES)
		for (l = 0; l < SGEMM_LANES; l++)
			lane[l] += c[i + l];
	for (l = 0; i < nn; i++, l++)
		lane[l] += c[i];
	for (l = 0; l < SGEMM_LANES; l++)
		sum += lane[l];
	return sum;
}

/*
 * The matrices of the last CPU job, kept for the next: a worker runs its
 * jobs one after another, and fresh pages cost more than the fill itself
 * (at n = 1024, 12 MiB of page faults took a fifth of the multiply's
 * time). At most SGEMM_KEEP_MAX bytes (n = 2048 with C) stay with the
 * process; a larger job's faults are small beside its n^3. Under
 * sgemm_keep_mu, so that concurrent jobs each get their own.
 */
#define SGEMM_KEEP_MAX	((size_t)48 << 20)
static pthread_mutex_t	 sgemm_keep_mu = PTHREAD_MUTEX_INITIALIZER;
static float		*sgemm_kept;
static size_t		 sgemm_kept_bytes;

/*
 * Room for the matrices of a job, *bytes of it: the kept block when it is
 * large enough (*fresh 0), else a new one (*fresh 1). NULL on ENOMEM.
 */
static float *
sgemm_take(size_t *bytes, int *fresh)
{
	float	*m = NULL;

	pthread_mutex_lock(&sgemm_keep_mu);
	if (sgemm_kept != NULL && sgemm_kept_bytes >= *bytes) {
		m = sgemm_kept;
		*bytes = sgemm_kept_bytes;
		sgemm_kept = NULL;
	}
	pthread_mutex_unlock(&sgemm_keep_mu);
	*fresh = m == NULL;
	return m != NULL ? m : malloc(*bytes);
}

/* Gives back what sgemm_take gave: kept when it fits and is larger
   than what is kept, else freed. */
static void
sgemm_give(float *m, size_t bytes)
{
	float	*drop = m;

	pthread_mutex_lock(&sgemm_keep_mu);
	if (m != NULL && bytes <= SGEMM_KEEP_MAX && (sgemm_kept == NULL ||
	    sgemm_kept_bytes < bytes)) {
		drop = sgemm_kept;
		sgemm_kept = m;
		sgemm_kept_bytes = bytes;
	}
	pthread_mutex_unlock(&sgemm_keep_mu);
	free(drop);
}

/*
 * sgemm's CPU entry: fills A and B and faults a fresh C in (every CPU),
 * multiplies with OpenBLAS a block of C's rows at a time (whole blocks
 * keep OpenBLAS at its speed), then the checksum and the sample.
 */
static int
sgemm_cpu(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = job;
	float			*m, *a, *b, *c = j->c;
	double			 t0;
	size_t			 n = j->n, s, t, bytes, nm = c == NULL ? 3 : 2;
	int			 fresh, rc = -1;

	(void)dev;
	bytes = n > 0 && n <= SIZE_MAX / n / sizeof(float) / nm ?
	    nm * n * n * sizeof(float) : 0;
	if (bytes == 0 || (m = sgemm_take(&bytes, &fresh)) == NULL) {
		snprintf(err, errlen, "out of memory for n=%zu", n);
		return -1;
	}
	a = m;
	b = a + n * n;
	if (c == NULL)
		c = b + n * n;
	/* C is written whole (beta 0): zeroed only to fault fresh pages in. */
	sgemm_fill_abc(a, b, (fresh || c == j->c) ? c : NULL, n, j->seed);
	kernel_progress(0.1, "matrices filled");
	t0 = kernel_now_ms();
	if (sgemm_cpu_multiply(n, a, b, c, err, errlen) == -1)
		goto out;
	j->ms = kernel_now_ms() - t0;
	j->checksum = sgemm_sum(c, n * n);
	for (s = 0; j->sample != NULL && s < SGEMM_SAMPLE_RC; s++)
		for (t = 0; t < SGEMM_SAMPLE_RC; t++)
			j->sample->c[s * SGEMM_SAMPLE_RC + t] =
			    c[(size_t)j->sample->rows[s] * n +
			    j->sample->cols[t]];
	rc = 0;
out:
	sgemm_give(m, bytes);
	return rc;
}

/* Every entry of c against a double-accumulated product, row by row. */
KERNEL_CLONES static int
sgemm_err_full(size_t n, uint64_t seed, const float *c, double *maxerr)
{
	double	*ref = NULL, scale = 0, e, m = 0;
	float	*a = NULL, *b = NULL;
	size_t	 i, j, k;
	int	 rc = -1;

	if (n > SIZE_MAX / n / sizeof(double) ||
	    (ref = calloc(n * n, sizeof(double))) == NULL ||
	    (a = sgemm_alloc(n)) == NULL || (b = sgemm_alloc(n)) == NULL)
		goto out;
	sgemm_fill_abc(a, b, NULL, n, seed);
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
	*maxerr = m;
	rc = 0;
out:
	free(ref);
	free(a);
	free(b);
	return rc;
}

/*
 * The sample's entries against their double-accumulated dot products:
 * the sampled rows of A and columns of B come from the generator (never
 * the whole matrices), the columns laid out so that the products read
 * memory in order (and the sample's columns vectorize).
 */
KERNEL_CLONES static int
sgemm_err_sampled(size_t n, uint64_t seed, const struct sgemm_sample *smp,
    double *maxerr)
{
	enum { RC = SGEMM_SAMPLE_RC };
	double		*ref = NULL, *bs = NULL, scale = 0, e, m = 0, aik;
	uint64_t	 ka = sgemm_key(seed, 0), kb = sgemm_key(seed, 1);
	size_t		 s, t, k;
	int		 rc = -1;

	if (n > SIZE_MAX / RC / sizeof(double))
		goto out;
	ref = calloc(RC * RC, sizeof(*ref));
	bs = calloc(n * RC, sizeof(*bs));
	if (ref == NULL || bs == NULL)
		goto out;
	for (k = 0; k < n; k++)
		for (t = 0; t < RC; t++)
			bs[k * RC + t] = sgemm_value(kb, k * n + smp->cols[t]);
	for (s = 0; s < RC; s++)
		for (k = 0; k < n; k++) {
			aik = sgemm_value(ka, (size_t)smp->rows[s] * n + k);
			for (t = 0; t < RC; t++)
				ref[s * RC + t] += aik * bs[k * RC + t];
		}
	for (s = 0; s < RC * RC; s++)
		scale += ref[s] * ref[s];
	scale = sqrt(scale / (RC * RC));
	for (s = 0; s < RC * RC; s++)
		if ((e = kernel_rel_err(smp->c[s], ref[s], scale)) > m)
			m = e;
	*maxerr = m;
	rc = 0;
out:
	free(ref);
	free(bs);
	return rc;
}

static int
sgemm_run(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct sgemm_job	 j = { .n = 0 };
	struct sgemm_sample	*smp = NULL;
	float			*c = NULL;
	double			 maxerr = 0, gflops;
	size_t			 n;
	int			 full, rc = -1;

	if (!(params[SG_N] >= kernel_spec_sgemm.params[SG_N].min &&
	    params[SG_N] <= kernel_spec_sgemm.params[SG_N].max &&
	    params[SG_SEED] >= 0 && params[SG_SEED] <=
	    kernel_spec_sgemm.params[SG_SEED].max))
		return kernel_fail(res, "sgemm: parameters out of range");
	j.n = n = (size_t)params[SG_N];
	j.seed = (uint64_t)params[SG_SEED];
	full = device == KERNEL_CPU && n <= SGEMM_FULL_REF_MAX;
	if (full ? (j.c = c = sgemm_alloc(n)) == NULL :
	    (j.sample = smp = malloc(sizeof(*smp))) == NULL) {
		kernel_fail(res, "out of memory for n=%zu", n);
		goto out;
	}
	if (smp != NULL)
		sgemm_pick(n, j.seed, smp);
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		goto out;
	kernel_progress(0.9, "checking the result");
	if ((full ? sgemm_err_full(n, j.seed, c, &maxerr) :
	    sgemm_err_sampled(n, j.seed, smp, &maxerr)) == -1) {
		kernel_fail(res, "out of memory for the reference");
		goto out;
	}
	if (!isfinite(j.checksum) || !isfinite(maxerr)) {
		kernel_fail(res, "sgemm: result is not finite");
		goto out;
	}
	gflops = j.ms > 0 ? 2.0 * n * n * n / (j.ms * 1e6) : 0.0;
	if (kernel_result_json(res, "{\"gflops\":%.3f,\"ms\":%.3f,"
	    "\"checksum\":%.9g,\"max_rel_err\":%.3g,\"n\":%zu,"
	    "\"backend\":\"%s\"}", gflops, j.ms, j.checksum, maxerr, n,
	    device == KERNEL_CPU ? "openblas" : "cuda-tiled") == -1)
		goto out;
	rc = 0;
out:
	free(c);
	free(smp);
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
	struct sgemm_job	 j = { .n = n, .seed = seed, .c = c };

	if (n < 1 || n > 46340) {
		snprintf(err, errlen, "sgemm: bad size %zu", n);
		return -1;
	}
	if (kernel_compute(&kernel_sgemm, device, &j, err, errlen) == -1)
		return -1;
	*ms = j.ms;
	return 0;
}
