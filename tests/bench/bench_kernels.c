/*
 * bench_kernels: the kernels' performance figures, one greppable line
 * each. Not a test: it asserts nothing and prints what it measured.
 *
 *  - PNG encoding, one pass with fast compression (kernel_png_encode) vs
 *    the two passes of default compression it replaced, 800 x 600 and
 *    4096 x 4096;
 *  - mandelbrot CPU, every core vs one thread of the scalar per-pixel loop;
 *  - sgemm CPU through the kernel vs a direct cblas_sgemm, and the
 *    whole job vs the multiply alone, n = 1024 and 2048;
 *  - with a GPU (warmed up as sluice-worker does): sgemm vs cuBLAS (n =
 *    1024, 4096, 8192; cuBLAS loaded at run time: $SLUICE_CUBLAS, else
 *    libcublas.so.13 or .12 on the library path, else the build's CUDA),
 *    mandelbrot Gpixel/s
 *    (4096 x 4096, 1000 iterations), burn accuracy and the CPU time its
 *    wait costs.
 *
 *	bench_kernels [--gpu-only]
 */
#include "config.h"

#include <sys/resource.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <png.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "device.h"
#include "mandelbrot.h"
#include "sgemm.h"

#ifdef SLUICE_BENCH_CUDA
#include <dlfcn.h>

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

/*
 * sgemm on the CPU at n: the kernel's multiply against a direct
 * cblas_sgemm (REPS rounds, interleaved, medians), then the whole job
 * (fill, multiply, checksum, sampled check) against the multiply alone:
 * the first job of the process (fresh pages) and the median of the rest.
 */
static void
bench_sgemm_cpu(size_t n)
{
	const struct kernel	*k = kernel_impl("sgemm");
	struct kernel_result	 res;
	double			 p[2] = { (double)n, 1 }, viak[REPS];
	double			 wall[REPS], direct[REPS], t0, mk, md, mw;
	double			 first = 0;
	float			*a, *b, *c;
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
	for (r = -1; r < REPS; r++) {
		memset(&res, 0, sizeof(res));
		t0 = kernel_now_ms();
		if (kernel_dispatch(k, p, KERNEL_CPU, &res) == -1) {
			printf("sgemm cpu: error: %s\n", res.error);
			goto out;
		}
		if (r < 0) {
			first = kernel_now_ms() - t0;
			kernel_result_clear(&res);
			continue;
		}
		wall[r] = kernel_now_ms() - t0;
		viak[r] = json_num(res.json, "ms");
		kernel_result_clear(&res);
		t0 = kernel_now_ms();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n,
		    n, 1.0f, a, n, b, n, 0.0f, c, n);
		direct[r] = kernel_now_ms() - t0;
	}
	mk = median(viak, REPS);
	md = median(direct, REPS);
	mw = median(wall, REPS);
	printf("sgemm cpu n=%zu: kernel %.2f ms (%.1f GFLOP/s) vs direct "
	    "cblas_sgemm %.2f ms (%.1f GFLOP/s): overhead %.1f%% "
	    "(target < 5%%)\n", n, mk, 2e-6 * n * n * n / mk, md,
	    2e-6 * n * n * n / md, 100.0 * (mk - md) / md);
	printf("sgemm cpu n=%zu: whole job %.2f ms (fill, multiply, checksum, "
	    "sampled check) vs the multiply alone %.2f ms: ratio %.2f "
	    "(target <= 1.30: %s); the process's first job %.2f ms, %.2fx "
	    "(fresh pages)\n", n, mw, md, mw / md, mw / md <= 1.3 ? "meets" :
	    "MISSES", first, first / md);
out:
	free(a);
	free(b);
	free(c);
}

/* CPU time (user + system) of this process, in milliseconds. */
static double
cpu_ms(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/* The encoder kernel_png_encode replaced: size first, then the PNG. */
static size_t
png_two_pass(const unsigned char *rgb, unsigned w, unsigned h)
{
	png_image	 img;
	png_alloc_size_t size = 0;
	unsigned char	*buf;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = w;
	img.height = h;
	img.format = PNG_FORMAT_RGB;
	if (!png_image_write_to_memory(&img, NULL, &size, 0, rgb, 0, NULL) ||
	    (buf = malloc(size)) == NULL)
		return 0;
	if (!png_image_write_to_memory(&img, buf, &size, 0, rgb, 0, NULL))
		size = 0;
	free(buf);
	png_image_free(&img);
	return size;
}

/* Both encoders on a w x h render, best of 3 each. */
static void
bench_png_size(unsigned w, unsigned h)
{
	struct mandel_view	 v = { -0.5, 0, 3, (int)w, (int)h, 100 };
	unsigned char		*rgb, *png;
	size_t			 len = 0, old = 0;
	double			 t0, ms, best_new = 1e30, best_old = 1e30;
	char			 err[256];
	int			 r;

	if ((rgb = malloc(3 * (size_t)w * h)) == NULL)
		return;
	if (kernel_mandel_render(&v, KERNEL_CPU, rgb, &ms, err,
	    sizeof(err)) == -1) {
		printf("png: error: %s\n", err);
		goto out;
	}
	for (r = 0; r < 3; r++) {
		t0 = kernel_now_ms();
		if (kernel_png_encode(rgb, w, h, &png, &len, err,
		    sizeof(err)) == -1) {
			printf("png: error: %s\n", err);
			goto out;
		}
		free(png);
		if ((ms = kernel_now_ms() - t0) < best_new)
			best_new = ms;
		t0 = kernel_now_ms();
		old = png_two_pass(rgb, w, h);
		if ((ms = kernel_now_ms() - t0) < best_old)
			best_old = ms;
	}
	printf("png encode %ux%u: one pass, fast: %.1f ms (%zu bytes) vs two "
	    "passes, default: %.1f ms (%zu bytes): %.1fx faster\n", w, h,
	    best_new, len, best_old, old, best_old / best_new);
out:
	free(rgb);
}

#ifdef SLUICE_BENCH_CUDA
/* The few cuBLAS calls the comparison makes, loaded at run time. */
struct cublas {
	void	*lib;
	char	 name[256];
	int	 version;
	int	(*create)(void **);
	int	(*destroy)(void *);
	int	(*sgemm)(void *, int, int, int, int, int, const float *,
		    const float *, int, const float *, int, const float *,
		    float *, int);
	int	(*get_version)(void *, int *);
};

/* Loads cuBLAS: $SLUICE_CUBLAS, else the library path's. 0 or -1. */
static int
cublas_open(struct cublas *cb)
{
	static const char *const names[] = { "libcublas.so.13",
	    "libcublas.so.12", "libcublas.so" };
	const char	*env = getenv("SLUICE_CUBLAS");
	size_t		 i;

	memset(cb, 0, sizeof(*cb));
	if (env != NULL && *env != '\0' &&
	    (cb->lib = dlopen(env, RTLD_NOW | RTLD_LOCAL)) != NULL)
		snprintf(cb->name, sizeof(cb->name), "%s", env);
	for (i = 0; cb->lib == NULL && i < sizeof(names) / sizeof(names[0]);
	    i++)
		if ((cb->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) != NULL)
			snprintf(cb->name, sizeof(cb->name), "%s", names[i]);
#ifdef SLUICE_CUDA_LIBDIR
	if (cb->lib == NULL && (cb->lib = dlopen(SLUICE_CUDA_LIBDIR
	    "/libcublas.so", RTLD_NOW | RTLD_LOCAL)) != NULL)
		snprintf(cb->name, sizeof(cb->name), "%s",
		    SLUICE_CUDA_LIBDIR "/libcublas.so");
#endif
	if (cb->lib == NULL)
		return -1;
	*(void **)&cb->create = dlsym(cb->lib, "cublasCreate_v2");
	*(void **)&cb->destroy = dlsym(cb->lib, "cublasDestroy_v2");
	*(void **)&cb->sgemm = dlsym(cb->lib, "cublasSgemm_v2");
	*(void **)&cb->get_version = dlsym(cb->lib, "cublasGetVersion_v2");
	if (cb->create == NULL || cb->destroy == NULL || cb->sgemm == NULL) {
		dlclose(cb->lib);
		cb->lib = NULL;
		return -1;
	}
	return 0;
}

/*
 * cuBLAS sgemm n on device 0 (its default math: FP32, no TF32), the
 * median kernel time of REPS after one warm-up; -1 on error.
 */
static double
cublas_ms(struct cublas *cb, size_t n)
{
	void		*h = NULL;
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
	    cudaEventCreate(&e1) != cudaSuccess || cb->create(&h) != 0)
		goto out;
	if (cb->get_version != NULL)
		(void)cb->get_version(h, &cb->version);
	/* Row-major C = A B is column-major C^T = B^T A^T (0: no transpose). */
	for (r = -1; r < REPS; r++) {
		cudaEventRecord(e0, 0);
		if (cb->sgemm(h, 0, 0, (int)n, (int)n, (int)n, &one, db, (int)n,
		    da, (int)n, &zero, dc, (int)n) != 0)
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
		cb->destroy(h);
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
	char	 err[256], with[300] = "cuBLAS not found: set SLUICE_CUBLAS";
	int	 r;
#ifdef SLUICE_BENCH_CUDA
	struct cublas	cb;
#endif

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
#ifdef SLUICE_BENCH_CUDA
	if (cublas_open(&cb) == 0) {
		ref = cublas_ms(&cb, n);
		snprintf(with, sizeof(with), "%s, version %d", cb.name,
		    cb.version);
		dlclose(cb.lib);
	}
#endif
	if (ref > 0)
		printf("sgemm gpu n=%zu: %.0f GFLOP/s (%.3f ms) vs cublas %.0f "
		    "(%s): ratio %.2f (target >= 0.70 at n=4096)\n", n, gf, ours,
		    2e-6 * n * n * n / ref, with, ref / ours);
	else
		printf("sgemm gpu n=%zu: %.0f GFLOP/s (%.3f ms) (%s)\n", n, gf,
		    ours, with);
}

static void
bench_mandel_gpu(void)
{
	struct mandel_view	 v = { -0.5, 0, 3, 4096, 4096, 1000 };
	unsigned char		*rgb;
	double			 ms, best = 1e30;
	char			 err[256];
	int			 r;

	if ((rgb = malloc(3 * (size_t)v.width * v.height)) == NULL)
		return;
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
		printf("mandelbrot gpu: %.2f Gpix/s (4096x4096, 1000 iters, "
		    "%.1f ms)\n", 4096.0 * 4096 / (best * 1e6), best);
	free(rgb);
}

static void
bench_burn_gpu(void)
{
	static const double	 asks[] = { 10, 100, 1000 };
	const struct kernel	*burn = kernel_impl("burn");
	struct kernel_result	 res;
	double			 p, e, c0, used;
	size_t			 i;

	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		p = asks[i];
		memset(&res, 0, sizeof(res));
		c0 = cpu_ms();
		if (kernel_dispatch(burn, &p, 0, &res) == -1) {
			printf("burn gpu: error: %s\n", res.error);
			continue;
		}
		used = cpu_ms() - c0;
		e = json_num(res.json, "elapsed_ms");
		printf("burn gpu %.0f ms: elapsed %.2f ms: error %+.2f%%; "
		    "CPU time %.1f ms (%.1f%% of a core)\n", p, e,
		    100.0 * (e - p) / p, used, 100.0 * used / e);
		kernel_result_clear(&res);
	}
}

static void
bench_gpu(void)
{
	char	err[256];
	double	t0 = kernel_now_ms();

	if (kernel_device_warm(0, err, sizeof(err)) == -1) {
		printf("gpu: warm-up failed: %s\n", err);
		return;
	}
	printf("gpu: context and warm-up %.1f ms\n", kernel_now_ms() - t0);
	bench_sgemm_gpu(1024);
	bench_sgemm_gpu(4096);
	bench_sgemm_gpu(8192);
	bench_mandel_gpu();
	bench_burn_gpu();
}

int
main(int argc, char *argv[])
{
	char	devs[512];
	int	gpu_only = argc == 2 && strcmp(argv[1], "--gpu-only") == 0;

	if (argc > 2 || (argc == 2 && !gpu_only)) {
		fprintf(stderr, "usage: bench_kernels [--gpu-only]\n");
		return 2;
	}
	/* As sluice-worker: every module loaded with the context. */
	setenv("CUDA_MODULE_LOADING", "EAGER", 0);
	kernel_devices_describe(devs, sizeof(devs));
	printf("devices: %s\n", devs);
	if (!gpu_only) {
		bench_png_size(800, 600);
		bench_png_size(4096, 4096);
		bench_mandel_cpu();
		bench_sgemm_cpu(1024);
		bench_sgemm_cpu(2048);
	}
	if (kernel_devices_init() > 0)
		bench_gpu();
	else
		printf("gpu: skipped: no CUDA device\n");
	return 0;
}
