/*
 * sgemm.cu: C = A * B for n x n row-major float matrices, with our own
 * tiled kernel (not cuBLAS). The device fills A and B itself with the
 * generator of sgemm.h, padded with zeros to np, a multiple of the
 * 128-wide tile, so that one unguarded kernel serves every n. Each
 * 256-thread block computes a 128 x 128 tile of C over one slice of k,
 * walking it in steps of 8 through shared-memory tiles of A (stored
 * transposed, padded against bank conflicts) and B; each thread keeps an
 * 8 x 8 block of C in registers (rows and columns in two groups of 4, 64
 * apart, so shared-memory reads are conflict-free float4s) and prefetches
 * the next tiles into registers while it computes. At most 128 registers
 * a thread (__launch_bounds__(256, 2)) let two blocks share an SM. When
 * the tiles alone would leave the GPU mostly idle (n = 1024: 64 tiles for
 * 132 SMs), k is split into slices (split-K) whose partial tiles a second
 * kernel adds up in a fixed order. C's checksum is summed on the device
 * in a fixed tree order, and only the sampled entries (and C, when the
 * caller wants it) come back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kcuda.cuh"
#include "sgemm.h"

#define BM	SGEMM_TILE
#define BN	SGEMM_TILE
#define BK	8
#define APAD	4	/* As row padding: transposed stores hit 32 banks */
#define THREADS	256
#define BLOCKS_PER_SM	2	/* what __launch_bounds__ asks for */
#define SUM_BLOCKS	512	/* checksum: a fixed grid, a fixed order */
#define SUM_THREADS	256

/* Entry (r, c) of np x np m: the n x n matrix of key, zeros beyond it. */
__global__ void
sgemm_fill_kernel(float *m, int n, int np, uint64_t key)
{
	int	c = blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y;

	if (c >= np)
		return;
	m[(size_t)r * np + c] = r < n && c < n ?
	    sgemm_value(key, (uint64_t)r * n + c) : 0.0f;
}

/*
 * Slice blockIdx.z of k (kchunk wide) of C's tile (blockIdx.y,
 * blockIdx.x), into c + blockIdx.z * np * np. np is a multiple of BM and
 * kchunk of BK, so no load or store needs a guard.
 */
__global__ void __launch_bounds__(THREADS, BLOCKS_PER_SM)
sgemm_kernel(int np, int kchunk, const float *__restrict__ a,
    const float *__restrict__ b, float *__restrict__ c)
{
	__shared__ __align__(16) float	as[BK][BM + APAD];
	__shared__ __align__(16) float	bs[BK][BN];
	const int	tid = threadIdx.x;
	const int	row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
	const int	kbeg = blockIdx.z * kchunk;
	const int	kend = min(np, kbeg + kchunk);
	const int	tr = tid / 16, tc = tid % 16;
	const int	la_r = tid / 2, la_k = (tid % 2) * 4;	/* A loader */
	const int	lb_k = tid / 32, lb_c = (tid % 32) * 4;	/* B loader */
	float		acc[8][8], ra[8], rb[8];
	float4		pa, pb;
	int		i, j, k, k0;

	c += (size_t)blockIdx.z * np * np;
	for (i = 0; i < 8; i++)
		for (j = 0; j < 8; j++)
			acc[i][j] = 0.0f;

#define SGEMM_LOAD(k0) do {						\
	pa = *(const float4 *)&a[(size_t)(row0 + la_r) * np + (k0) + la_k]; \
	pb = *(const float4 *)&b[(size_t)((k0) + lb_k) * np + col0 + lb_c]; \
} while (0)

#define SGEMM_STORE() do {						\
	as[la_k + 0][la_r] = pa.x;					\
	as[la_k + 1][la_r] = pa.y;					\
	as[la_k + 2][la_r] = pa.z;					\
	as[la_k + 3][la_r] = pa.w;					\
	*(float4 *)&bs[lb_k][lb_c] = pb;				\
} while (0)

	SGEMM_LOAD(kbeg);
	SGEMM_STORE();
	__syncthreads();
	for (k0 = kbeg; k0 < kend; k0 += BK) {
		if (k0 + BK < kend)
			SGEMM_LOAD(k0 + BK);
#pragma unroll
		for (k = 0; k < BK; k++) {
			*(float4 *)&ra[0] = *(const float4 *)&as[k][tr * 4];
			*(float4 *)&ra[4] =
			    *(const float4 *)&as[k][64 + tr * 4];
			*(float4 *)&rb[0] = *(const float4 *)&bs[k][tc * 4];
			*(float4 *)&rb[4] =
			    *(const float4 *)&bs[k][64 + tc * 4];
#pragma unroll
			for (i = 0; i < 8; i++)
#pragma unroll
				for (j = 0; j < 8; j++)
					acc[i][j] += ra[i] * rb[j];
		}
		__syncthreads();
		if (k0 + BK < kend) {
			SGEMM_STORE();
			__syncthreads();
		}
	}
#undef SGEMM_LOAD
#undef SGEMM_STORE

#pragma unroll
	for (i = 0; i < 8; i++) {
		int r = row0 + (i < 4 ? tr * 4 + i : 64 + tr * 4 + i - 4);
#pragma unroll
		for (j = 0; j < 8; j += 4) {
			int cc = col0 + (j < 4 ? tc * 4 : 64 + tc * 4);

			*(float4 *)&c[(size_t)r * np + cc] = make_float4(
			    acc[i][j], acc[i][j + 1], acc[i][j + 2],
			    acc[i][j + 3]);
		}
	}
}

/* c[i] = the sum of the split slices' ws[z * len + i], in slice order. */
__global__ void
sgemm_reduce_kernel(const float *__restrict__ ws, int split, size_t len,
    float *__restrict__ c)
{
	size_t	i;
	float	s;
	int	z;

	for (i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < len;
	    i += (size_t)gridDim.x * blockDim.x) {
		s = 0.0f;
		for (z = 0; z < split; z++)
			s += ws[(size_t)z * len + i];
		c[i] = s;
	}
}

/*
 * part[blockIdx.x] = the sum, in double, of this block's share of v: a
 * fixed grid and a fixed tree, so the same v gives the same bits.
 */
template <typename T>
__global__ void
sgemm_sum_kernel(const T *__restrict__ v, size_t len, double *part)
{
	__shared__ double	s[SUM_THREADS];
	double			acc = 0.0;
	size_t			i;
	int			w;

	for (i = blockIdx.x * (size_t)SUM_THREADS + threadIdx.x; i < len;
	    i += (size_t)gridDim.x * SUM_THREADS)
		acc += (double)v[i];
	s[threadIdx.x] = acc;
	__syncthreads();
	for (w = SUM_THREADS / 2; w > 0; w >>= 1) {
		if (threadIdx.x < w)
			s[threadIdx.x] += s[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		part[blockIdx.x] = s[0];
}

/* The sampled rows and columns, by value (512 bytes of parameters). */
struct sgemm_picks {
	uint32_t	rows[SGEMM_SAMPLE_RC], cols[SGEMM_SAMPLE_RC];
};

/* out[s * RC + t] = C[rows[s]][cols[t]]: one block a row, a thread a column. */
__global__ void
sgemm_gather_kernel(const float *__restrict__ c, int np, struct sgemm_picks p,
    double *out)
{
	int	s = blockIdx.x, t = threadIdx.x;

	out[s * SGEMM_SAMPLE_RC + t] = c[(size_t)p.rows[s] * np + p.cols[t]];
}

/* What one job holds: its stream, timing events and device buffers. */
struct sgemm_dev {
	cudaStream_t	 st;
	cudaEvent_t	 e0, e1;
	float		*a, *b, *c, *ws;
	double		*part, *out;	/* checksum partials; checksum, sample */
	int		 np, split, kchunk;
};

/* Fills A and B, multiplies (split-K and its sum when split > 1), timed. */
static int
sgemm_dev_multiply(struct sgemm_dev *d, int n, uint64_t seed, char *err,
    size_t errlen)
{
	dim3	fill((d->np + 255) / 256, d->np), tiles(d->np / BN, d->np / BM,
		    d->split);
	size_t	len = (size_t)d->np * d->np;
	int	rc = 0;

	sgemm_fill_kernel<<<fill, 256, 0, d->st>>>(d->a, n, d->np,
	    sgemm_key(seed, 0));
	KCUDA_LAUNCHED();
	sgemm_fill_kernel<<<fill, 256, 0, d->st>>>(d->b, n, d->np,
	    sgemm_key(seed, 1));
	KCUDA_LAUNCHED();
	KCUDA(cudaEventRecord(d->e0, d->st));
	sgemm_kernel<<<tiles, THREADS, 0, d->st>>>(d->np, d->kchunk, d->a,
	    d->b, d->split > 1 ? d->ws : d->c);
	KCUDA_LAUNCHED();
	if (d->split > 1) {
		sgemm_reduce_kernel<<<SUM_BLOCKS, 256, 0, d->st>>>(d->ws,
		    d->split, len, d->c);
		KCUDA_LAUNCHED();
	}
	KCUDA(cudaEventRecord(d->e1, d->st));
out:
	return rc;
}

/*
 * The checksum into out[0] and the sample into out[1...], on the device;
 * then, once the GPU is done (a wait that sleeps), both and C (when the
 * caller wants it) to the host.
 */
static int
sgemm_dev_results(struct sgemm_dev *d, struct sgemm_job *j, char *err,
    size_t errlen)
{
	struct sgemm_picks	p;
	size_t			len = (size_t)d->np * d->np;
	float			t = 0;
	int			rc = 0;

	sgemm_sum_kernel<float><<<SUM_BLOCKS, SUM_THREADS, 0, d->st>>>(d->c,
	    len, d->part);
	KCUDA_LAUNCHED();
	sgemm_sum_kernel<double><<<1, SUM_THREADS, 0, d->st>>>(d->part,
	    SUM_BLOCKS, d->out);
	KCUDA_LAUNCHED();
	if (j->sample != NULL) {
		memcpy(p.rows, j->sample->rows, sizeof(p.rows));
		memcpy(p.cols, j->sample->cols, sizeof(p.cols));
		sgemm_gather_kernel<<<SGEMM_SAMPLE_RC, SGEMM_SAMPLE_RC, 0,
		    d->st>>>(d->c, d->np, p, d->out + 1);
		KCUDA_LAUNCHED();
	}
	KCUDA(kcuda_wait(d->st));
	KCUDA(cudaEventElapsedTime(&t, d->e0, d->e1));
	j->ms = t;
	KCUDA(cudaMemcpyAsync(&j->checksum, d->out, sizeof(double),
	    cudaMemcpyDeviceToHost, d->st));
	if (j->sample != NULL)
		KCUDA(cudaMemcpyAsync(j->sample->c, d->out + 1,
		    sizeof(j->sample->c), cudaMemcpyDeviceToHost, d->st));
	if (j->c != NULL)
		KCUDA(cudaMemcpy2DAsync(j->c, j->n * sizeof(float), d->c,
		    (size_t)d->np * sizeof(float), j->n * sizeof(float), j->n,
		    cudaMemcpyDeviceToHost, d->st));
	KCUDA(kcuda_wait(d->st));
out:
	return rc;
}

extern "C" int
sgemm_cuda(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = static_cast<struct sgemm_job *>(job);
	struct sgemm_dev	 d = {};
	size_t			 bytes;
	int			 rc = 0, sms = 0;

	kcuda_clear();	/* see kcuda.cuh */
	if (j->n < 1 || j->n > 46336) {	/* np * np must fit an int index row */
		snprintf(err, errlen, "sgemm: bad size %zu", j->n);
		return -1;
	}
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount,
	    dev));
	d.np = (int)sgemm_padded(j->n);
	d.split = sgemm_split(d.np, (sms > 0 ? sms : 1) * BLOCKS_PER_SM);
	d.kchunk = (int)sgemm_kchunk(d.np, d.split);
	bytes = (size_t)d.np * d.np * sizeof(float);
	KCUDA(cudaStreamCreateWithFlags(&d.st, cudaStreamNonBlocking));
	KCUDA(cudaEventCreate(&d.e0));
	KCUDA(cudaEventCreate(&d.e1));
	KCUDA_ALLOC(d.a, bytes, d.st);
	KCUDA_ALLOC(d.b, bytes, d.st);
	KCUDA_ALLOC(d.c, bytes, d.st);
	if (d.split > 1)
		KCUDA_ALLOC(d.ws, bytes * d.split, d.st);
	KCUDA_ALLOC(d.part, SUM_BLOCKS * sizeof(double), d.st);
	KCUDA_ALLOC(d.out, (1 + SGEMM_SAMPLE_RC * SGEMM_SAMPLE_RC) *
	    sizeof(double), d.st);
	if (sgemm_dev_multiply(&d, (int)j->n, j->seed, err, errlen) == -1 ||
	    sgemm_dev_results(&d, j, err, errlen) == -1)
		rc = -1;
out:
	kcuda_free(d.a, d.st);
	kcuda_free(d.b, d.st);
	kcuda_free(d.c, d.st);
	kcuda_free(d.ws, d.st);
	kcuda_free(d.part, d.st);
	kcuda_free(d.out, d.st);
	if (d.e0 != NULL)
		cudaEventDestroy(d.e0);
	if (d.e1 != NULL)
		cudaEventDestroy(d.e1);
	if (d.st != NULL)
		cudaStreamDestroy(d.st);
	return rc;
}
