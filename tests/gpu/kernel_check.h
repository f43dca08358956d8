/*
 * kernel_check: the helpers the kernels' tests share, for the Criterion
 * tests (tests/unit/test_kernels.c) and the GPU tests, which also build
 * without Criterion (tests/gpu/test_gpu.c, on tests/unit/tap_standalone.h).
 * Include after the test framework's header: they assert with its macros
 * (only those tap_standalone.h also has).
 */
#ifndef SLUICE_KERNEL_CHECK_H
#define SLUICE_KERNEL_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "sgemm.h"

/* The number after "key": in a result JSON object; NAN when absent. */
static inline double
json_num(const char *json, const char *key)
{
	char		 pat[64];
	const char	*p;

	if (json == NULL)
		return NAN;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(json, pat)) == NULL)
		return NAN;
	return strtod(p + strlen(pat), NULL);
}

/* Runs kernel name with its defaults changed by "k=v" pairs. */
static inline int
run_kernel(const char *name, int device, struct kernel_result *res,
    const char *const *kv, size_t nkv)
{
	const struct kernel	*k = kernel_impl(name);
	double			 v[KERNEL_MAX_PARAMS];
	char			 key[32], msg[128];
	const char		*eq;
	size_t			 i;
	int			 idx;

	cr_assert_not_null(k, "kernel %s", name);
	kernel_defaults(k->spec, v);
	for (i = 0; i < nkv; i++) {
		eq = strchr(kv[i], '=');
		cr_assert_not_null(eq);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv[i]), kv[i]);
		idx = kernel_param_index(k->spec, key);
		cr_assert_geq(idx, 0, "param %s", key);
		cr_assert_eq(kernel_parse_param(&k->spec->params[idx], eq + 1,
		    &v[idx], msg, sizeof(msg)), 0, "%s: %s", kv[i], msg);
	}
	memset(res, 0, sizeof(*res));
	return kernel_dispatch(k, v, device, res);
}

static inline int
gpu_or_skip(void)
{
	if (kernel_device_count() == 0)
		cr_skip_test("no CUDA device");
	return 0;
}

/* Max relative error of got against a double-accumulated naive product. */
static inline double
naive_err(size_t n, const float *a, const float *b, const float *got)
{
	double	*ref, scale = 0, m = 0, e;
	size_t	 i, j, k;

	ref = calloc(n * n, sizeof(*ref));
	cr_assert_not_null(ref);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			double acc = 0;

			for (k = 0; k < n; k++)
				acc += (double)a[i * n + k] * b[k * n + j];
			ref[i * n + j] = acc;
			scale += acc * acc;
		}
	scale = sqrt(scale / (n * n));
	for (i = 0; i < n * n; i++)
		if ((e = kernel_rel_err(got[i], ref[i], scale)) > m)
			m = e;
	free(ref);
	return m;
}

/* sgemm n on device against the naive product. */
static inline double
sgemm_vs_naive(int device, size_t n, uint64_t seed)
{
	float	*a = malloc(n * n * sizeof(float));
	float	*b = malloc(n * n * sizeof(float));
	float	*c = malloc(n * n * sizeof(float));
	double	 ms, e;
	char	 err[256];

	cr_assert(a && b && c);
	kernel_sgemm_fill(a, n, seed, 0);
	kernel_sgemm_fill(b, n, seed, 1);
	cr_assert_eq(kernel_sgemm_compute(device, n, seed, c, &ms, err,
	    sizeof(err)), 0, "%s", err);
	e = naive_err(n, a, b, c);
	free(a);
	free(b);
	free(c);
	return e;
}

/* The checksum text of sgemm n on device for seed. */
static inline void
sgemm_checksum(int device, const char *n, const char *seed, char *out,
    size_t len)
{
	const char		*kv[2] = { n, seed };
	struct kernel_result	 res;
	const char		*p, *e;

	cr_assert_eq(run_kernel("sgemm", device, &res, kv, 2), 0, "%s",
	    res.error);
	p = strstr(res.json, "\"checksum\":");
	cr_assert_not_null(p);
	e = strchr(p, ',');
	cr_assert_not_null(e);
	snprintf(out, len, "%.*s", (int)(e - p), p);
	kernel_result_clear(&res);
}

/*
 * Decodes a PNG from memory into a new 8-bit RGB buffer (caller frees),
 * asserting that it decodes and is w x h.
 */
static inline unsigned char *
png_to_rgb(const unsigned char *png, size_t len, unsigned w, unsigned h)
{
	png_image	 img;
	unsigned char	*px;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	cr_assert(png_image_begin_read_from_memory(&img, png, len));
	cr_assert_eq(img.width, w);
	cr_assert_eq(img.height, h);
	img.format = PNG_FORMAT_RGB;
	px = malloc(PNG_IMAGE_SIZE(img));
	cr_assert_not_null(px);
	cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL));
	png_image_free(&img);
	return px;
}

/* res holds a w x h PNG of at least 8 distinct colours. */
static inline void
check_png(const struct kernel_result *res, unsigned w, unsigned h)
{
	unsigned char	*px;
	size_t		 i, j, ncol = 0;
	uint32_t	 cols[64];

	cr_assert_not_null(res->png);
	cr_assert_gt(res->png_len, 8);
	px = png_to_rgb(res->png, res->png_len, w, h);
	for (i = 0; i < (size_t)w * h && ncol < 64; i++) {
		uint32_t c = px[3 * i] << 16 | px[3 * i + 1] << 8 |
		    px[3 * i + 2];

		for (j = 0; j < ncol && cols[j] != c; j++)
			;
		if (j == ncol)
			cols[ncol++] = c;
	}
	cr_assert_geq(ncol, 8, "only %zu distinct colours", ncol);
	free(px);
}

/*
 * Hooks for a job (kernel_hooks_set) that count its progress reports,
 * check that they never go back, and cancel it once hook_cancel_after
 * (when > 0) reports came.
 */
static int	hook_reports, hook_cancel_after;
static double	hook_last;

static inline void
count_progress(void *arg, double fraction, const char *message)
{
	(void)arg;
	(void)message;
	cr_expect(fraction >= hook_last);
	hook_last = fraction;
	hook_reports++;
}

static inline int
cancel_later(void *arg)
{
	(void)arg;
	return hook_cancel_after > 0 && hook_reports >= hook_cancel_after;
}

#endif
