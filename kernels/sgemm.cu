/*
 * sgemm.cu: C = A * B for n x n row-major float matrices, with our own
 * tiled kernel (not cuBLAS). Each 256-thread block computes a 128 x 128
 * tile of C, walking k in steps of 8 through shared-memory tiles of A
 * (stored transposed, padded against bank conflicts) and B; each thread
 * keeps an 8 x 8 block of C in registers (rows and columns in two groups
 * of 4, 64 apart, so shared-memory reads are conflict-free float4s) and
 * prefetches the next tiles into registers while it computes. n need not
 * be a multiple of the tile: the general variant guards every load (zero
 * fill) and store; the full variant, used when 128 divides n, does not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kcuda.cuh"
#include "sgemm.h"

#define BM	128
#define BN	128
#define BK	8
#define APAD	4	/* As row padding: transposed stores hit 32 banks */
#define THREADS	256

template <bool FULL>
__global__ void __launch_bounds__(THREADS)
sgemm_kernel(int n, const float *__restrict__ a, const float *__restrict__ b,
    float *__restrict__ c)
{
	__shared__ __align__(16) float	as[BK][BM + APAD];
	__shared__ __align__(16) float	bs[BK][BN];
	const int	tid = threadIdx.x;
	const int	row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
	const int	tr = tid / 16, tc = tid % 16;
	const int	la_r = tid / 2, la_k = (tid % 2) * 4;	/* A loader */
	const int	lb_k = tid / 32, lb_c = (tid % 32) * 4;	/* B loader */
	float		acc[8][8], ra[8], rb[8];
	float4		pa, pb;
	int		i, j, k, k0;

	for (i = 0; i < 8; i++)
		for (j = 0; j < 8; j++)
			acc[i][j] = 0.0f;

#define SGEMM_LOAD(k0) do {						\
	if (FULL) {							\
		pa = *(const float4 *)&a[(size_t)(row0 + la_r) * n +	\
		    (k0) + la_k];					\
		pb = *(const float4 *)&b[(size_t)((k0) + lb_k) * n +	\
		    col0 + lb_c];					\
	} else {							\
		int r_ = row0 + la_r, kb_ = (k0) + lb_k;		\
		float *fa_ = &pa.x, *fb_ = &pb.x;			\
		for (int q_ = 0; q_ < 4; q_++) {			\
			int ka_ = (k0) + la_k + q_, cb_ = col0 + lb_c + q_; \
			fa_[q_] = r_ < n && ka_ < n ?			\
			    a[(size_t)r_ * n + ka_] : 0.0f;		\
			fb_[q_] = kb_ < n && cb_ < n ?			\
			    b[(size_t)kb_ * n + cb_] : 0.0f;		\
		}							\
	}								\
} while (0)

#define SGEMM_STORE() do {						\
	as[la_k + 0][la_r] = pa.x;					\
	as[la_k + 1][la_r] = pa.y;					\
	as[la_k + 2][la_r] = pa.z;					\
	as[la_k + 3][la_r] = pa.w;					\
	*(float4 *)&bs[lb_k][lb_c] = pb;				\
} while (0)

	SGEMM_LOAD(0);
	SGEMM_STORE();
	__syncthreads();
	for (k0 = 0; k0 < n; k0 += BK) {
		if (k0 + BK < n)
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
		if (k0 + BK < n) {
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

			if (FULL) {
				*(float4 *)&c[(size_t)r * n + cc] = make_float4(
				    acc[i][j], acc[i][j + 1], acc[i][j + 2],
				    acc[i][j + 3]);
			} else if (r < n) {
				for (int q = 0; q < 4; q++)
					if (cc + q < n)
						c[(size_t)r * n + cc + q] =
						    acc[i][j + q];
			}
		}
	}
}

extern "C" int
sgemm_cuda(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = static_cast<struct sgemm_job *>(job);
	const float		*a = j->a, *b = j->b;
	float			*c = j->c;
	float			*da = NULL, *db = NULL, *dc = NULL;
	cudaStream_t		 st = NULL;
	cudaEvent_t		 e0 = NULL, e1 = NULL;
	size_t			 bytes;
	float			 t = 0;
	int			 rc = 0, n, full;
	dim3			 grid;

	kcuda_clear();	/* see kcuda.cuh */
	if (j->n < 1 || j->n > 46340) {	/* n * n must fit an int index row */
		snprintf(err, errlen, "sgemm: bad size %zu", j->n);
		return -1;
	}
	n = (int)j->n;
	full = n % BM == 0;
	bytes = (size_t)n * (size_t)n * sizeof(float);
	grid = dim3((n + BN - 1) / BN, (n + BM - 1) / BM);
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
	KCUDA(cudaEventCreate(&e0));
	KCUDA(cudaEventCreate(&e1));
	KCUDA(cudaMalloc(&da, bytes));
	KCUDA(cudaMalloc(&db, bytes));
	KCUDA(cudaMalloc(&dc, bytes));
	KCUDA(cudaMemcpyAsync(da, a, bytes, cudaMemcpyHostToDevice, st));
	KCUDA(cudaMemcpyAsync(db, b, bytes, cudaMemcpyHostToDevice, st));
	/* Loads the module now, not inside the timed region. */
	{
		cudaFuncAttributes fa;

		if (full)
			KCUDA(cudaFuncGetAttributes(&fa, sgemm_kernel<true>));
		else
			KCUDA(cudaFuncGetAttributes(&fa,
			    sgemm_kernel<false>));
	}
	KCUDA(cudaEventRecord(e0, st));
	if (full)
		sgemm_kernel<true><<<grid, THREADS, 0, st>>>(n, da, db, dc);
	else
		sgemm_kernel<false><<<grid, THREADS, 0, st>>>(n, da, db, dc);
	KCUDA_LAUNCHED();
	KCUDA(cudaEventRecord(e1, st));
	KCUDA(cudaMemcpyAsync(c, dc, bytes, cudaMemcpyDeviceToHost, st));
	KCUDA(cudaStreamSynchronize(st));
	KCUDA(cudaEventElapsedTime(&t, e0, e1));
	j->ms = t;
out:
	if (da != NULL)
		cudaFree(da);
	if (db != NULL)
		cudaFree(db);
	if (dc != NULL)
		cudaFree(dc);
	if (e0 != NULL)
		cudaEventDestroy(e0);
	if (e1 != NULL)
		cudaEventDestroy(e1);
	if (st != NULL)
		cudaStreamDestroy(st);
	return rc;
}
