/*
 * test_gpu: the built-in kernels on a real GPU (every test skips with "no
 * CUDA device" without one). Built on the TAP stand-in for Criterion
 * (tests/unit/tap_standalone.h), so that the same binary runs in `make
 * check` and, from the bundle (`make gpu-bundle`), on a bare CUDA host
 * that has no Criterion. The figures a GPU run should report (pixels that
 * differ from the CPU, CPU time of a wait, ...) are logged on stderr,
 * which tests/gpu/run keeps in its results file.
 */
#include "config.h"

#include <sys/resource.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SLUICE_TAP_STANDALONE
#include "tap_standalone.h"
#else
#include <criterion/criterion.h>
#endif

#include "kernel_run.h"
#include "kernel_int.h"
#include "burn.h"
#include "device.h"
#include "mandelbrot.h"
#include "sgemm.h"
#include "kernel_check.h"

/* ----------------------------------------------------------------- burn */

Test(gpu, burn, .timeout = 60)
{
	static const char *const kv[] = { "ms=50" };
	struct kernel_result	res;
	double			e;

	gpu_or_skip();
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), 0, "%s", res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	e = json_num(res.json, "elapsed_ms");
	cr_log_info("gpu burn 50 ms: elapsed %.3f ms", e);
	cr_assert_geq(e, 50.0, "%s", res.json);
	cr_assert_lt(e, 5000.0, "%s", res.json);
	kernel_result_clear(&res);
}

/* A GPU burn reports progress between its steps and stops on a cancel. */
Test(gpu, burn_progress_and_cancel, .timeout = 60)
{
	static const struct kernel_hooks hooks = { count_progress, cancel_later,
	    NULL };
	static const char *const long_burn[] = { "ms=60000" };
	static const char *const short_burn[] = { "ms=350" };
	struct kernel_result	 res;
	double			 t0;

	gpu_or_skip();
	kernel_hooks_set(&hooks);
	cr_assert_eq(run_kernel("burn", 0, &res, short_burn, 1), 0, "%s",
	    res.error);
	cr_log_info("gpu burn 350 ms: %d progress reports", hook_reports);
	cr_expect_geq(hook_reports, 3);
	cr_expect_eq(hook_last, 1.0);
	kernel_result_clear(&res);
	hook_reports = 0;
	hook_last = 0;
	hook_cancel_after = 2;
	t0 = kernel_now_ms();
	cr_assert_eq(run_kernel("burn", 0, &res, long_burn, 1), -1);
	cr_expect_str_eq(res.error, "cancelled");
	cr_log_info("gpu burn 60 s cancelled after %.0f ms",
	    kernel_now_ms() - t0);
	kernel_result_clear(&res);
	kernel_hooks_set(NULL);
	cr_expect_eq(kernel_device_broken(0, NULL, 0), 0, "still works");
}

/* CPU time (user + system) this process has used, in milliseconds. */
static double
cpu_ms(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
	    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
}

/*
 * While the GPU burns, the host sleeps: a 2 s burn costs far less than
 * 2 s of CPU (a spinning cudaStreamSynchronize costs all of it).
 */
Test(gpu, burn_wait_sleeps, .timeout = 60)
{
	static const char *const kv[] = { "ms=2000" };
	struct kernel_result	res;
	double			c0, used;

	gpu_or_skip();
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), 0, "%s", res.error);
	kernel_result_clear(&res);	/* the context exists now */
	c0 = cpu_ms();
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), 0, "%s", res.error);
	used = cpu_ms() - c0;
	cr_log_info("gpu burn 2000 ms: %.1f ms of CPU", used);
	cr_expect_lt(used, 500.0, "the wait spun a core");
	kernel_result_clear(&res);
}

/* ------------------------------------------------------------ mandelbrot */

/* Renders v on the GPU and the CPU and logs how many pixels differ. */
static size_t
mandel_differ(const struct mandel_view *v, const char *what)
{
	unsigned char	*g, *c;
	size_t		 i, k, n = (size_t)v->width * v->height, differ = 0;
	double		 ms;
	char		 err[256];
	int		 d, maxd = 0;

	g = malloc(3 * n);
	c = malloc(3 * n);
	cr_assert(g && c);
	cr_assert_eq(kernel_mandel_render(v, 0, g, &ms, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(kernel_mandel_render(v, KERNEL_CPU, c, &ms, err,
	    sizeof(err)), 0, "%s", err);
	for (i = 0; i < n; i++) {
		if (memcmp(g + 3 * i, c + 3 * i, 3) == 0)
			continue;
		differ++;
		for (k = 0; k < 3; k++) {
			d = abs(g[3 * i + k] - c[3 * i + k]);
			maxd = d > maxd ? d : maxd;
		}
	}
	cr_log_info("mandelbrot gpu vs cpu %s (%dx%d, %d iters): %zu of %zu "
	    "pixels differ (max channel difference %d)", what, v->width,
	    v->height, v->iters, differ, n, maxd);
	free(g);
	free(c);
	return differ;
}

/*
 * The threshold (99% of pixels equal) predates the shared, unfused
 * arithmetic, which should give identical images (log2 may differ by an
 * ulp): the logged counts say what to tighten it to.
 */
Test(gpu, mandelbrot_matches_cpu, .timeout = 120)
{
	struct mandel_view	 whole = { -0.5, 0, 3, 253, 190, 500 };
	struct mandel_view	 deep = { -0.743643887037151, 0.131825904205330,
				    2e-5, 640, 480, 5000 };
	static const char *const kv[] = { "width=200", "height=150" };
	struct kernel_result	 res;

	gpu_or_skip();
	cr_expect_leq(mandel_differ(&whole, "whole set"), 253 * 190 / 100);
	cr_expect_leq(mandel_differ(&deep, "deep zoom"), 640 * 480 / 100);
	cr_assert_eq(run_kernel("mandelbrot", 0, &res, kv, 2), 0, "%s",
	    res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	check_png(&res, 200, 150);
	kernel_result_clear(&res);
}

/* ----------------------------------------------------------------- sgemm */

/* Padded sizes (n % 128 != 0) and split-K (n = 520, 1000) alike. */
static void
sgemm_naive_case(size_t n)
{
	double e;

	gpu_or_skip();
	e = sgemm_vs_naive(0, n, 42);
	cr_log_info("gpu sgemm n=%zu vs naive: max_rel_err %.3g", n, e);
	cr_assert_lt(e, 1e-4);
}

#define SGEMM_NAIVE(n)							\
	Test(gpu, sgemm_vs_naive_##n, .timeout = 120)			\
	{								\
		sgemm_naive_case(n);					\
	}
SGEMM_NAIVE(16)
SGEMM_NAIVE(17)
SGEMM_NAIVE(63)
SGEMM_NAIVE(128)
SGEMM_NAIVE(129)
SGEMM_NAIVE(255)
SGEMM_NAIVE(256)
SGEMM_NAIVE(300)
SGEMM_NAIVE(520)
SGEMM_NAIVE(1000)

Test(gpu, sgemm_run_and_checksum, .timeout = 120)
{
	static const char *const kv[] = { "n=1000", "seed=9" };
	struct kernel_result	res;
	char			c1[64], c2[64];

	gpu_or_skip();
	cr_assert_eq(run_kernel("sgemm", 0, &res, kv, 2), 0, "%s", res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	cr_log_info("gpu sgemm job: %s", res.json);
	cr_assert_lt(json_num(res.json, "max_rel_err"), 1e-4, "%s",
	    res.json);
	cr_assert_not_null(strstr(res.json, "\"backend\":\"cuda-tiled\""));
	kernel_result_clear(&res);
	/* The device's checksum has a fixed order: the same bits again. */
	sgemm_checksum(0, "n=300", "seed=5", c1, sizeof(c1));
	sgemm_checksum(0, "n=300", "seed=5", c2, sizeof(c2));
	cr_assert_str_eq(c1, c2);
	sgemm_checksum(0, "n=1000", "seed=5", c1, sizeof(c1));
	sgemm_checksum(0, "n=1000", "seed=5", c2, sizeof(c2));
	cr_assert_str_eq(c1, c2);
}

/* The largest job: filled on the device, the sampled check. */
Test(gpu, sgemm_largest_job, .timeout = 120)
{
	static const char *const kv[] = { "n=8192", "seed=2" };
	struct kernel_result	res;

	gpu_or_skip();
	cr_assert_eq(run_kernel("sgemm", 0, &res, kv, 2), 0, "%s", res.error);
	cr_log_info("gpu sgemm job: %s", res.json);
	cr_assert_lt(json_num(res.json, "max_rel_err"), 1e-4);
	cr_assert_gt(json_num(res.json, "max_rel_err"), 0);
	kernel_result_clear(&res);
}

/* ------------------------------------------------ two jobs on one device */

struct side_burn {
	atomic_int	done;
	int		rc;
};

static void *
side_burn_thread(void *arg)
{
	static const char *const kv[] = { "ms=3000" };
	struct side_burn	*b = arg;
	struct kernel_result	 res;

	b->rc = run_kernel("burn", 0, &res, kv, 1);
	kernel_result_clear(&res);
	atomic_store(&b->done, 1);
	return NULL;
}

/*
 * A short job beside a long one on the same device ends first: its
 * stream-ordered allocations and frees wait for nothing but its own
 * stream (cudaMalloc and cudaFree synchronize the whole device, and kept
 * the small job behind the burn).
 */
Test(gpu, small_job_beside_a_burn, .timeout = 60)
{
	struct mandel_view	 v = { -0.5, 0, 3, 64, 48, 200 };
	static const char *const kv[] = { "n=256" };
	struct side_burn	 b = { .rc = -2 };
	struct kernel_result	 res;
	unsigned char		 rgb[3 * 64 * 48];
	pthread_t		 t;
	double			 ms;
	char			 err[256];

	gpu_or_skip();
	cr_assert_eq(kernel_device_warm(0, err, sizeof(err)), 0, "%s", err);
	atomic_init(&b.done, 0);
	cr_assert_eq(pthread_create(&t, NULL, side_burn_thread, &b), 0);
	usleep(300 * 1000);	/* the burn is running */
	cr_assert_eq(kernel_mandel_render(&v, 0, rgb, &ms, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(run_kernel("sgemm", 0, &res, kv, 1), 0, "%s", res.error);
	kernel_result_clear(&res);
	cr_expect_eq(atomic_load(&b.done), 0, "the small jobs waited");
	pthread_join(t, NULL);
	cr_expect_eq(b.rc, 0);
}

/* ------------------------------------------------------- errors, context */

/* An impossible allocation fails with the CUDA text; the device still works. */
Test(gpu, cuda_error_alloc, .timeout = 60)
{
#ifdef HAVE_CUDA
	char	err[256] = "";
	double	e;

	gpu_or_skip();
	cr_assert_eq(kernel_cuda_alloc_probe(0, (size_t)1 << 60, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "CUDA error"), "%s", err);
	cr_assert_not_null(strstr(err, "cudaMalloc"), "%s", err);
	cr_assert_not_null(strstr(err, "device.cu:"), "%s", err);
	e = sgemm_vs_naive(0, 64, 1);
	cr_assert_lt(e, 1e-4, "still serving after the failure");
#else
	cr_skip_test("no CUDA device");
#endif
}

/*
 * A failed call leaves CUDA's per-thread last error set; the next launch
 * on the same thread checks cudaGetLastError() and must not report it.
 */
Test(gpu, stale_error_does_not_fail_next_job, .timeout = 60)
{
#ifdef HAVE_CUDA
	struct burn_job	bj = { 1, NULL };
	char		err[256] = "";

	gpu_or_skip();
	cr_assert_eq(kernel_cuda_alloc_probe(0, (size_t)1 << 60, err,
	    sizeof(err)), -1);
	err[0] = '\0';
	cr_assert_eq(burn_cuda(&bj, 0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(burn_cuda(&bj, kernel_device_count() + 3, err,
	    sizeof(err)), -1);
	err[0] = '\0';
	cr_assert_eq(burn_cuda(&bj, 0, err, sizeof(err)), 0, "%s", err);
#else
	cr_skip_test("no CUDA device");
#endif
}

/* A device index CUDA does not know: the CUDA error, not a crash. */
Test(gpu, cuda_error_invalid_device, .timeout = 60)
{
#ifdef HAVE_CUDA
	struct burn_job	bj = { 1, NULL };
	char		err[256] = "";

	gpu_or_skip();
	cr_assert_eq(burn_cuda(&bj, kernel_device_count() + 3, err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "CUDA error"), "%s", err);
	cr_assert_not_null(strstr(err, "cudaSetDevice"), "%s", err);
#else
	cr_skip_test("no CUDA device");
#endif
}

/* The warm-up makes the context; jobs run after it as before. */
Test(gpu, warm_then_jobs, .timeout = 60)
{
	static const char *const kv[] = { "ms=20" };
	struct kernel_result	res;
	char			err[256];

	gpu_or_skip();
	cr_assert_eq(kernel_device_warm(0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kernel_device_broken(0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), 0, "%s", res.error);
	kernel_result_clear(&res);
}

/*
 * On a real GPU: a job that breaks the context (an illegal address)
 * fails, and kernel_device_broken() says so: that is when sluice-worker
 * ends itself, so that the next job gets a fresh process (CUDA documents
 * that such an error may need a new process).
 */
Test(gpu, broken_context_is_detected, .timeout = 60)
{
#ifdef HAVE_CUDA
	char	 err[256];

	gpu_or_skip();
	cr_expect_eq(kernel_device_broken(0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kernel_cuda_fault(0, err, sizeof(err)), -1);
	cr_log_info("the fault kernel: %s", err);
	cr_expect(strstr(err, "CUDA error") != NULL, "%s", err);
	cr_expect_eq(kernel_device_broken(0, err, sizeof(err)), 1,
	    "a broken context was not seen");
#else
	cr_skip_test("no CUDA device");
#endif
}

/* The test switch sluice-worker's broken-context check uses: a burn breaks it. */
Test(gpu, fault_switch_breaks_a_burn, .timeout = 60)
{
	static const char *const kv[] = { "ms=10" };
	struct kernel_result	res;
	char			path[] = "/tmp/sluice-fault-XXXXXX", err[256];
	int			fd;

	gpu_or_skip();
	cr_assert_geq(fd = mkstemp(path), 0);
	close(fd);
	setenv("SLUICE_TEST_FAULT_ONCE", path, 1);
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), -1);
	cr_expect(strstr(res.error, "CUDA error") != NULL, "%s", res.error);
	kernel_result_clear(&res);
	cr_expect_eq(kernel_device_broken(0, err, sizeof(err)), 1);
	unsetenv("SLUICE_TEST_FAULT_ONCE");
}
