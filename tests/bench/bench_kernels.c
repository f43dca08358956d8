/*
 * bench_kernels: the kernels' performance figures, one greppable line
 * each. Not a test: it asserts nothing and prints what it measured.
 *
 *  - mandelbrot CPU, every core vs one thread of the scalar per-pixel loop;
 *  - sgemm CPU through the kernel vs a direct cblas_sgemm, n = 1024;
 *  - with a GPU: sgemm vs cuBLAS (n = 1024, 4096), mandelbrot Gpixel/s
 *    (4096 x 4096, 1000 iterations), burn accuracy.
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
#include "mandelbrot.h"
#include "sgemm.h"

#ifdef SLUICE_BENCH_CUBLAS
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif

#define REPS	5

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The number after "key": in a result JSON; NAN when absent. */
static double
json_num(const char *json, const char *key)
{
	char		 pat[64];
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (json == NULL || (p = strstr(json, pat)) == NULL)
		return NAN;
	return strtod(p + strlen(pat), NULL);
}

static void
bench_mandel_cpu(void)
{
	struct mandel_view	 v = { -0.5, 0, 3, 1024, 768, 1000 };
	unsigned char		*rgb;
	double			 ms, t0, best_all = 1e30, best_one = 1e30;
	double			 all, one, target;
	char			 err[256];
	int			 r, x, y, cores = kernel_cpu_threads();

	if ((rgb = malloc(3 * (size_t)v.width * v.height)) == NULL)
		return;
	for (r = 0; r < 3; r++) {
		if (kernel_mandel_render(&v, KERNEL_CPU, rgb, &ms, err,
		    sizeof(err)) == -1) {
			printf("mandelbrot cpu: error: %s\n", err);
			goto out;
		}
		if (ms < best_all)
			best_all = ms;
		t0 = kernel_now_ms();
		for (y = 0; y < v.height; y++)
			for (x = 0; x < v.width; x++)
				mandel_pixel(&v, x, y,
				    rgb + 3 * ((size_t)y * v.width + x));
		ms = kernel_now_ms() - t0;
		if (ms < best_one)
			best_one = ms;
	}
	all = (double)v.width * v.height / (best_all * 1e3);
	one = (double)v.width * v.height / (best_one * 1e3);
	target = 0.9 * cores;
	printf("mandelbrot cpu: %.1f Mpix/s vs scalar 1 thread %.1f: "
	    "ratio %.2f (target >= %.2f, %d cores; %dx%d, %d iters)\n",
	    all, one, all / one, target, cores, v.width, v.height, v.iters);
out:
	free(rgb);
}

static void
bench_sgemm_cpu(void)
{
	const struct kernel	*k = kernel_impl("sgemm");
	struct kernel_result	 res;
	double			 p[2] = { 1024, 1 }, viak[REPS], wall[REPS];
	double			 direct[REPS], t0, mk, md, mw;
	float			*a, *b, *c;
	size_t			 n = 1024;
	int			 r;

	a = malloc(n * n * sizeof(float));
	b = malloc(n * n * sizeof(float));
	c = calloc(n * n, sizeof(float));
	if (a == NULL || b == NULL || c == NULL)
		goto out;
	kernel_sgemm_fill(a, n, 1, 0);
	kernel_sgemm_fill(b, n, 1, 1);
	/* Warm-up: OpenBLAS starts its threads on the first call. */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
	    a, n, b, n, 0.0f, c, n);
	for (r = 0; r < REPS; r++) {
		t0 = kernel_now_ms();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n,
		    n, 1.0f, a, n, b, n, 0.0f, c, n);
		direct[r] = kernel_now_ms() - t0;
		memset(&res, 0, sizeof(res));
		t0 = kernel_now_ms();
		if (kernel_dispatch(k, p, KERNEL_CPU, &res) == -1) {
			printf("sgemm cpu: error: %s\n", res.error);
			goto out;
		}
		wall[r] = kernel_now_ms() - t0;
		viak[r] = json_num(res.json, "ms");
		kernel_result_clear(&res);
	}
	mk = median(viak, REPS);
	md = median(direct, REPS);
	mw = median(wall, REPS);
	printf("sgemm cpu n=1024: kernel %.2f ms (%.1f GFLOP/s) vs direct "
	    "cblas_sgemm %.2f ms (%.1f GFLOP/s): overhead %.1f%% "
	    "(target < 5%%)\n", mk, 2e-6 * n * n * n / mk, md,
	    2e-6 * n * n * n / md, 100.0 * (mk - md) / md);
	printf("sgemm cpu n=1024: whole job %.2f ms (fill, multiply, "
	    "checksum, sampled check) = %.2fx the multiply\n", mw, mw / md);
out:
	free(a);
	free(b);
	free(c);
}

#ifdef SLUICE_BENCH_CUBLAS
/* cuBLAS sgemm n on device 0, median kernel ms; -1 on error. */
static double
cublas_ms(size_t n)
{
	cublasHandle_t	 h = NULL;
	cudaEvent_t	 e0 = NULL, e1 = NULL;
	float		*ha = NULL, *hb = NULL, *da = NULL, *db = NULL;
	float		*dc = NULL, one = 1.0f, zero = 0.0f, t;
	double		 v[REPS], ms = -1;
	size_t		 bytes = n * n * sizeof(float);
	int		 r;

	ha = malloc(bytes);
	hb = malloc(bytes);
	if (ha == NULL || hb == NULL)
		goto out;
	kernel_sgemm_fill(ha, n, 1, 0);
	kernel_sgemm_fill(hb, n, 1, 1);
	if (cudaSetDevice(0) != cudaSuccess ||
	    cudaMalloc((void **)&da, bytes) != cudaSuccess ||
	    cudaMalloc((void **)&db, bytes) != cudaSuccess ||
	    cudaMalloc((void **)&dc, bytes) != cudaSuccess ||
	    cudaMemcpy(da, ha, bytes, cudaMemcpyHostToDevice) != cudaSuccess ||
	    cudaMemcpy(db, hb, bytes, cudaMemcpyHostToDevice) != cudaSuccess ||
	    cudaEventCreate(&e0) != cudaSuccess ||
	    cudaEventCreate(&e1) != cudaSuccess ||
	    cublasCreate(&h) != CUBLAS_STATUS_SUCCESS)
		goto out;
	/* Row-major C = A B is column-major C^T = B^T A^T. */
	for (r = -1; r < REPS; r++) {
		cudaEventRecord(e0, 0);
		if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one,
		    db, n, da, n, &zero, dc, n) != CUBLAS_STATUS_SUCCESS)
			goto out;
		cudaEventRecord(e1, 0);
		if (cudaEventSynchronize(e1) != cudaSuccess)
			goto out;
		cudaEventElapsedTime(&t, e0, e1);
		if (r >= 0)
			v[r] = t;
	}
	ms = median(v, REPS);
out:
	if (h != NULL)
		cublasDestroy(h);
	if (e0 != NULL)
		cudaEventDestroy(e0);
	if (e1 != NULL)
		cudaEventDestroy(e1);
	cudaFree(da);
	cudaFree(db);
	cudaFree(dc);
	free(ha);
	free(hb);
	return ms;
}
#endif

static void
bench_sgemm_gpu(size_t n)
{
	float	*c;
	double	 v[REPS], ours, ref = -1, gf;
	char	 err[256];
	int	 r;

	if ((c = malloc(n * n * sizeof(float))) == NULL)
		return;
	for (r = 0; r < REPS; r++)
		if (kernel_sgemm_compute(0, n, 1, c, &v[r], err,
		    sizeof(err)) == -1) {
			printf("sgemm gpu n=%zu: error: %s\n", n, err);
			free(c);
			return;
		}
	free(c);
	ours = median(v, REPS);
	gf = 2e-6 * n * n * n / ours;
#ifdef SLUICE_BENCH_CUBLAS
	ref = cublas_ms(n);
#endif
	if (ref > 0)
		printf("sgemm gpu n=%zu: %.0f GFLOP/s vs cublas %.0f: ratio "
		    "%.2f (target >= 0.70)\n", n, gf, 2e-6 * n * n * n / ref,
		    ref / ours);
	else
		printf("sgemm gpu n=%zu: %.0f GFLOP/s (cuBLAS not linked or "
		    "failed)\n", n, gf);
}

static void
bench_gpu(void)
{
	struct mandel_view	 v = { -0.5, 0, 3, 4096, 4096, 1000 };
	const struct kernel	*burn = kernel_impl("burn");
	struct kernel_result	 res;
	unsigned char		*rgb;
	double			 ms, best = 1e30, p, e;
	static const double	 asks[] = { 10, 100, 1000 };
	char			 err[256];
	int			 r;
	size_t			 i;

	bench_sgemm_gpu(1024);
	bench_sgemm_gpu(4096);
	if ((rgb = malloc(3 * (size_t)v.width * v.height)) != NULL) {
		for (r = 0; r < 3; r++) {
			if (kernel_mandel_render(&v, 0, rgb, &ms, err,
			    sizeof(err)) == -1) {
				printf("mandelbrot gpu: error: %s\n", err);
				break;
			}
			if (ms < best)
				best = ms;
		}
		if (r == 3)
			printf("mandelbrot gpu: %.2f Gpix/s (4096x4096, 1000 "
			    "iters, %.1f ms)\n", 4096.0 * 4096 / (best * 1e6),
			    best);
		free(rgb);
	}
	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		p = asks[i];
		memset(&res, 0, sizeof(res));
		if (kernel_dispatch(burn, &p, 0, &res) == -1) {
			printf("burn gpu: error: %s\n", res.error);
			continue;
		}
		e = json_num(res.json, "elapsed_ms");
		printf("burn gpu %.0f ms: elapsed %.2f ms: error %+.2f%%\n",
		    p, e, 100.0 * (e - p) / p);
		kernel_result_clear(&res);
	}
}

int
main(void)
{
	char devs[512];

	kernel_devices_describe(devs, sizeof(devs));
	printf("devices: %s\n", devs);
	bench_mandel_cpu();
	bench_sgemm_cpu();
	if (kernel_devices_init() > 0)
		bench_gpu();
	else
		printf("gpu: skipped: no CUDA device\n");
	return 0;
}
