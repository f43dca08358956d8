/*
 * test_kernels: the kernel registry, parameter validation, and each kernel
 * on the CPU; the same kernels on the GPU when one is present (skipped
 * with "no CUDA device" otherwise); CUDA and CPU-side error paths.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <png.h>
#include <sodium.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "burn.h"
#include "mandelbrot.h"
#include "sgemm.h"
#ifdef HAVE_CUDA
#include "device.h"
#endif

/* ---------------------------------------------------------------- helpers */

/* The number after "key": in a result JSON object; NAN when absent. */
static double
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
static int
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

static int
gpu_or_skip(void)
{
	if (kernel_device_count() == 0)
		cr_skip_test("no CUDA device");
	return 0;
}

/* Max relative error of got against a double-accumulated naive product. */
static double
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
static double
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

/* Independent escape-count reference: plain double complex iteration. */
static int
ref_escape(double cre, double cim, int iters)
{
	double	x = 0, y = 0, t;
	int	k;

	for (k = 0; k < iters; k++) {
		if (x * x + y * y > 4.0)
			break;
		t = x * x - y * y + cre;
		y = 2.0 * x * y + cim;
		x = t;
	}
	return k;
}

/* -------------------------------------------------------------- registry */

Test(registry, three_kernels_in_order)
{
	cr_assert_eq(kernel_count(), 3);
	cr_assert_str_eq(kernel_at(0)->name, "mandelbrot");
	cr_assert_str_eq(kernel_at(1)->name, "sgemm");
	cr_assert_str_eq(kernel_at(2)->name, "burn");
	cr_assert_null(kernel_at(3));
	cr_assert_null(kernel_at((size_t)-1));
}

Test(registry, find)
{
	cr_assert_eq(kernel_find("sgemm"), kernel_at(1));
	cr_assert_null(kernel_find("nope"));
	cr_assert_null(kernel_find(""));
	cr_assert_null(kernel_find("SGEMM"));
	cr_assert_null(kernel_find(NULL));
}

Test(registry, specs_are_sane)
{
	const struct kernel	*k;
	size_t			 i, j;

	for (i = 0; kernel_at(i) != NULL && (k = kernel_impl(kernel_at(i)->name)) != NULL; i++) {
		cr_assert_not_null(k->spec->title);
		cr_assert_null(k->run, "%s: split by device", k->spec->name);
		cr_assert_not_null(k->job, "%s", k->spec->name);
		cr_assert_not_null(k->cpu, "%s", k->spec->name);
#ifdef HAVE_CUDA
		cr_assert_not_null(k->cuda, "%s", k->spec->name);
#else
		cr_assert_null(k->cuda, "%s: built without CUDA", k->spec->name);
#endif
		cr_assert_leq(k->spec->nparams, KERNEL_MAX_PARAMS);
		for (j = 0; j < k->spec->nparams; j++) {
			const struct kparam_spec *p = &k->spec->params[j];

			cr_assert(p->name && p->label && p->unit);
			cr_assert_leq(p->min, p->def, "%s.%s", k->spec->name,
			    p->name);
			cr_assert_leq(p->def, p->max, "%s.%s", k->spec->name,
			    p->name);
			if (p->type == KPARAM_INT)
				cr_assert_eq(p->def, floor(p->def));
			cr_assert_eq(kernel_param_index(k->spec, p->name), (int)j,
			    "names are unique");
		}
	}
}

/* Strings inline: Criterion copies parameters into another process. */
struct range_case {
	char			 kernel[16], param[16];
	enum kparam_type	 type;
	double			 min, max;
};

ParameterizedTestParameters(registry, ranges)
{
	static struct range_case cases[] = {
		{ "mandelbrot", "cx", KPARAM_FLOAT, -4, 4 },
		{ "mandelbrot", "cy", KPARAM_FLOAT, -4, 4 },
		{ "mandelbrot", "scale", KPARAM_FLOAT, 1e-13, 16 },
		{ "mandelbrot", "width", KPARAM_INT, 16, 4096 },
		{ "mandelbrot", "height", KPARAM_INT, 16, 4096 },
		{ "mandelbrot", "iters", KPARAM_INT, 16, 100000 },
		{ "sgemm", "n", KPARAM_INT, 16, 8192 },
		{ "sgemm", "seed", KPARAM_INT, 0, 4294967295.0 },
		{ "burn", "ms", KPARAM_INT, 0, 600000 },
	};

	return cr_make_param_array(struct range_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct range_case *c, registry, ranges)
{
	const struct kernel	*k = kernel_impl(c->kernel);
	int			 i;

	cr_assert_not_null(k);
	i = kernel_param_index(k->spec, c->param);
	cr_assert_geq(i, 0, "%s.%s", c->kernel, c->param);
	cr_assert_eq(k->spec->params[i].type, c->type);
	cr_assert_eq(k->spec->params[i].min, c->min);
	cr_assert_eq(k->spec->params[i].max, c->max);
}

Test(registry, param_index_unknown)
{
	const struct kernel *k = kernel_impl("mandelbrot");

	cr_assert_eq(kernel_param_index(k->spec, "width"), 3);
	cr_assert_eq(kernel_param_index(k->spec, "nope"), -1);
	cr_assert_eq(kernel_param_index(k->spec, ""), -1);
	cr_assert_eq(kernel_param_index(k->spec, "Width"), -1);
	cr_assert_eq(kernel_param_index(k->spec, NULL), -1);
	cr_assert_eq(kernel_param_index(NULL, "width"), -1);
	cr_assert_eq(kernel_param_index(kernel_find("burn"), "n"), -1);
}

Test(registry, defaults)
{
	const struct kernel	*k;
	double			 v[KERNEL_MAX_PARAMS];
	size_t			 i, j;

	for (i = 0; kernel_at(i) != NULL && (k = kernel_impl(kernel_at(i)->name)) != NULL; i++) {
		kernel_defaults(k->spec, v);
		for (j = 0; j < k->spec->nparams; j++)
			cr_assert_eq(v[j], k->spec->params[j].def);
	}
	kernel_defaults(kernel_find("mandelbrot"), v);
	cr_assert_eq(v[3], 800);
	cr_assert_eq(v[5], 500);
	kernel_defaults(kernel_find("burn"), v);
	cr_assert_eq(v[0], 1000);
}

/* ------------------------------------------------------------ validation */

struct parse_case {
	char	 kernel[16], param[16], value[40];
	int	 ok;
	double	 want;		/* when ok */
	char	 msg[48];	/* when not ok */
};

ParameterizedTestParameters(params, parse)
{
	static struct parse_case cases[] = {
		/* integers */
		{ "mandelbrot", "width", "16", 1, 16, "" },
		{ "mandelbrot", "width", "4096", 1, 4096, "" },
		{ "mandelbrot", "width", "+100", 1, 100, "" },
		{ "mandelbrot", "width", "0800", 1, 800, "" },
		{ "mandelbrot", "width", "15", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "width", "4097", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "width", "-16", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "width", "12abc", 0, 0, "must be a number" },
		{ "mandelbrot", "width", " 12", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "12 ", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "1e3", 0, 0, "must be a whole number" },
		{ "mandelbrot", "width", "100.5", 0, 0, "must be a whole number" },
		{ "mandelbrot", "width", "100.0", 0, 0, "must be a whole number" },
		{ "mandelbrot", "width", "nan", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "inf", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "0x20", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "", 0, 0, "is required" },
		{ "mandelbrot", "width", "-", 0, 0, "must be a number" },
		{ "mandelbrot", "width", "99999999999999999999999", 0, 0,
		    "must be between 16 and 4096" },
		{ "mandelbrot", "height", "16", 1, 16, "" },
		{ "mandelbrot", "height", "4096", 1, 4096, "" },
		{ "mandelbrot", "height", "5000", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "iters", "16", 1, 16, "" },
		{ "mandelbrot", "iters", "100000", 1, 100000, "" },
		{ "mandelbrot", "iters", "100001", 0, 0, "must be between 16 and 100000" },
		{ "mandelbrot", "iters", "15", 0, 0, "must be between 16 and 100000" },
		/* floats */
		{ "mandelbrot", "cx", "-0.75", 1, -0.75, "" },
		{ "mandelbrot", "cx", "1e-3", 1, 0.001, "" },
		{ "mandelbrot", "cx", ".5", 1, 0.5, "" },
		{ "mandelbrot", "cx", "1.", 1, 1.0, "" },
		{ "mandelbrot", "cx", "-0", 1, 0.0, "" },
		{ "mandelbrot", "cx", "4", 1, 4.0, "" },
		{ "mandelbrot", "cx", "4.5", 0, 0, "must be between -4 and 4" },
		{ "mandelbrot", "cx", "1e999", 0, 0, "must be between -4 and 4" },
		{ "mandelbrot", "cx", "nan", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "NaN", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "inf", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "-inf", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "infinity", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", ".", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "1e", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "1,5", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "0.5\n", 0, 0, "must be a number" },
		{ "mandelbrot", "cx", "", 0, 0, "is required" },
		{ "mandelbrot", "cy", "-1.25e-1", 1, -0.125, "" },
		{ "mandelbrot", "scale", "0", 0, 0, "must be between 1e-13 and 16" },
		{ "mandelbrot", "scale", "2.5", 1, 2.5, "" },
		{ "sgemm", "n", "16", 1, 16, "" },
		{ "sgemm", "n", "8192", 1, 8192, "" },
		{ "sgemm", "n", "8193", 0, 0, "must be between 16 and 8192" },
		{ "sgemm", "n", "15", 0, 0, "must be between 16 and 8192" },
		{ "sgemm", "n", "1e3", 0, 0, "must be a whole number" },
		{ "sgemm", "seed", "0", 1, 0, "" },
		{ "sgemm", "seed", "4294967295", 1, 4294967295.0, "" },
		{ "sgemm", "seed", "4294967296", 0, 0,
		    "must be between 0 and 4294967295" },
		{ "sgemm", "seed", "-1", 0, 0, "must be between 0 and 4294967295" },
		{ "burn", "ms", "0", 1, 0, "" },
		{ "burn", "ms", "600000", 1, 600000, "" },
		{ "burn", "ms", "600001", 0, 0, "must be between 0 and 600000" },
		{ "burn", "ms", "50.0", 0, 0, "must be a whole number" },
		{ "burn", "ms", "ten", 0, 0, "must be a number" },
	};

	return cr_make_param_array(struct parse_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, params, parse)
{
	const struct kernel	*k = kernel_impl(c->kernel);
	double			 v = -12345;
	char			 msg[128] = "";
	int			 i, rc;

	cr_assert_not_null(k);
	i = kernel_param_index(k->spec, c->param);
	cr_assert_geq(i, 0);
	rc = kernel_parse_param(&k->spec->params[i], c->value, &v, msg,
	    sizeof(msg));
	if (c->ok) {
		cr_assert_eq(rc, 0, "%s.%s='%s': %s", c->kernel, c->param,
		    c->value, msg);
		cr_assert_eq(v, c->want, "'%s' gave %g", c->value, v);
	} else {
		cr_assert_eq(rc, -1, "%s.%s='%s' accepted", c->kernel,
		    c->param, c->value);
		cr_assert_str_eq(msg, c->msg, "'%s'", c->value);
		cr_assert_eq(v, -12345, "output untouched on error");
	}
}

Test(params, too_long_and_null)
{
	const struct kparam_spec	*p = &kernel_find("sgemm")->params[0];
	char				 big[200], msg[64];
	double				 v;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(kernel_parse_param(p, big, &v, msg, sizeof(msg)), -1);
	cr_assert_eq(kernel_parse_param(p, NULL, &v, msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, "is required");
	/* A tiny message buffer is truncated, not overrun. */
	cr_assert_eq(kernel_parse_param(p, "x", &v, msg, 4), -1);
	cr_assert_str_eq(msg, "mus");
}

/* ------------------------------------------------------------ mandelbrot */

Test(mandelbrot, known_counts)
{
	double zx, zy;

	cr_assert_eq(mandel_escape(1, 0, 100, &zx, &zy), 3);
	cr_assert_eq(mandel_escape(2, 0, 100, &zx, &zy), 2);
	cr_assert_eq(mandel_escape(3, 0, 100, &zx, &zy), 1);
	cr_assert_eq(mandel_escape(-2, 0, 100, &zx, &zy), 100,
	    "c = -2 stays on |z| = 2");
}

Test(mandelbrot, inside_points_reach_iters)
{
	static const double pts[][2] = {
		{ 0, 0 }, { -1, 0 }, { -0.5, 0.5 }, { -0.12, 0.2 },
		{ -1.2, 0.05 }, { 0.2, 0.3 }, { -0.1, -0.6 }, { -2, 0 },
	};
	double	re[8], im[8], zx, zy;
	int	counts[8], i, iters = 5000;

	for (i = 0; i < 8; i++) {
		re[i] = pts[i][0];
		im[i] = pts[i][1];
		cr_assert_eq(mandel_escape(re[i], im[i], iters, &zx, &zy),
		    iters, "(%g, %g)", re[i], im[i]);
	}
	kernel_mandel_escape_cpu(re, im, 8, iters, counts);
	for (i = 0; i < 8; i++)
		cr_assert_eq(counts[i], iters, "lanes: (%g, %g)", re[i],
		    im[i]);
}

Test(mandelbrot, escape_counts_match_reference)
{
	enum { NX = 67, NY = 41, N = NX * NY };
	static double	re[N], im[N];
	static int	counts[N];
	double		zx, zy;
	int		i, j, iters = 1000, escaped = 0;

	for (j = 0; j < NY; j++)
		for (i = 0; i < NX; i++) {
			re[j * NX + i] = -2.2 + 3.2 * i / (NX - 1);
			im[j * NX + i] = -1.3 + 2.6 * j / (NY - 1);
		}
	kernel_mandel_escape_cpu(re, im, N, iters, counts);
	for (i = 0; i < N; i++) {
		int want = ref_escape(re[i], im[i], iters);

		cr_assert_eq(mandel_escape(re[i], im[i], iters, &zx, &zy),
		    want, "scalar at (%.17g, %.17g)", re[i], im[i]);
		cr_assert_eq(counts[i], want, "lanes at (%.17g, %.17g)",
		    re[i], im[i]);
		escaped += want < iters;
	}
	cr_assert_gt(escaped, N / 4, "the grid crosses the boundary");
	cr_assert_lt(escaped, N, "the grid reaches inside");
}

Test(mandelbrot, cpu_render_equals_per_pixel_function)
{
	struct mandel_view	 v = { -0.743643887037151, 0.131825904205330,
				    0.01, 61, 37, 700 };
	unsigned char		*rgb, px[3];
	double			 ms;
	char			 err[256];
	int			 x, y;

	rgb = malloc(3 * 61 * 37);
	cr_assert_not_null(rgb);
	cr_assert_eq(kernel_mandel_render(&v, KERNEL_CPU, rgb, &ms, err,
	    sizeof(err)), 0, "%s", err);
	for (y = 0; y < v.height; y++)
		for (x = 0; x < v.width; x++) {
			mandel_pixel(&v, x, y, px);
			cr_assert_arr_eq(px, rgb + 3 * (y * v.width + x), 3,
			    "pixel (%d, %d)", x, y);
		}
	free(rgb);
}

static void
check_png(const struct kernel_result *res, unsigned w, unsigned h)
{
	png_image	 img;
	unsigned char	*px;
	size_t		 i, j, ncol = 0;
	uint32_t	 cols[64];

	cr_assert_not_null(res->png);
	cr_assert_gt(res->png_len, 8);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	cr_assert(png_image_begin_read_from_memory(&img, res->png,
	    res->png_len), "%s", img.message);
	cr_assert_eq(img.width, w);
	cr_assert_eq(img.height, h);
	img.format = PNG_FORMAT_RGB;
	px = malloc(PNG_IMAGE_SIZE(img));
	cr_assert_not_null(px);
	cr_assert(png_image_finish_read(&img, NULL, px, 0, NULL), "%s",
	    img.message);
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
	png_image_free(&img);
}

Test(mandelbrot, cpu_run_png_and_json)
{
	static const char *const kv[] = { "width=64", "height=48",
	    "iters=200" };
	struct kernel_result res;

	cr_assert_eq(run_kernel("mandelbrot", KERNEL_CPU, &res, kv, 3), 0,
	    "%s", res.error);
	cr_assert_str_eq(res.device, "cpu");
	cr_assert_not_null(res.json);
	cr_assert_eq(json_num(res.json, "width"), 64);
	cr_assert_eq(json_num(res.json, "height"), 48);
	cr_assert_eq(json_num(res.json, "iters"), 200);
	cr_assert_geq(json_num(res.json, "ms"), 0);
	cr_assert_geq(json_num(res.json, "mpix_s"), 0);
	check_png(&res, 64, 48);
	kernel_result_clear(&res);
	cr_assert_null(res.json);
	cr_assert_null(res.png);
}

Test(mandelbrot, small_render_matches_digest)
{
	struct mandel_view	 v = { -0.5, 0, 3, 64, 48, 200 };
	unsigned char		 rgb[3 * 64 * 48];
	unsigned char		 h[crypto_hash_sha256_BYTES];
	char			 hex[2 * crypto_hash_sha256_BYTES + 1];
	char			 want[65] = "", path[1024], err[256];
	const char		*top = getenv("top_srcdir");
	double			 ms;
	FILE			*f;

	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(kernel_mandel_render(&v, KERNEL_CPU, rgb, &ms, err,
	    sizeof(err)), 0, "%s", err);
	crypto_hash_sha256(h, rgb, sizeof(rgb));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(path, sizeof(path), "%s/tests/data/mandel-small.sha256",
	    top ? top : ".");
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fscanf(f, "%64s", want), 1);
	fclose(f);
	cr_assert_str_eq(hex, want, "64x48 render digest (see %s)", path);
}

/* ----------------------------------------------------------------- sgemm */

ParameterizedTestParameters(sgemm, cpu_vs_naive)
{
	static size_t sizes[] = { 16, 17, 63, 128, 255 };

	return cr_make_param_array(size_t, sizes,
	    sizeof(sizes) / sizeof(sizes[0]));
}

ParameterizedTest(size_t *n, sgemm, cpu_vs_naive)
{
	double e = sgemm_vs_naive(KERNEL_CPU, *n, 42);

	cr_assert_lt(e, 1e-4, "n=%zu max_rel_err %g", *n, e);
}

Test(sgemm, fill_deterministic)
{
	float	a[256], a2[256], b[256], a3[256];
	size_t	i, same_ab = 0, same_seed = 0;

	kernel_sgemm_fill(a, 16, 7, 0);
	kernel_sgemm_fill(a2, 16, 7, 0);
	kernel_sgemm_fill(b, 16, 7, 1);
	kernel_sgemm_fill(a3, 16, 8, 0);
	cr_assert_arr_eq(a, a2, sizeof(a));
	for (i = 0; i < 256; i++) {
		cr_assert(a[i] >= -1.0f && a[i] < 1.0f);
		same_ab += a[i] == b[i];
		same_seed += a[i] == a3[i];
	}
	cr_assert_lt(same_ab, 4);
	cr_assert_lt(same_seed, 4);
}

Test(sgemm, run_json_and_error_bound)
{
	static const char *const kv[] = { "n=200", "seed=3" };
	struct kernel_result res;

	cr_assert_eq(run_kernel("sgemm", KERNEL_CPU, &res, kv, 2), 0, "%s",
	    res.error);
	cr_assert_str_eq(res.device, "cpu");
	cr_assert_eq(json_num(res.json, "n"), 200);
	cr_assert_lt(json_num(res.json, "max_rel_err"), 1e-4, "%s",
	    res.json);
	cr_assert_geq(json_num(res.json, "gflops"), 0);
	cr_assert(isfinite(json_num(res.json, "checksum")));
	cr_assert_not_null(strstr(res.json, "\"backend\":\"openblas\""));
	cr_assert_null(res.png);
	kernel_result_clear(&res);
}

/* The checksum text of sgemm n on device for seed. */
static void
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

Test(sgemm, same_seed_same_checksum)
{
	char c1[64], c2[64], c3[64];

	sgemm_checksum(KERNEL_CPU, "n=96", "seed=5", c1, sizeof(c1));
	sgemm_checksum(KERNEL_CPU, "n=96", "seed=5", c2, sizeof(c2));
	sgemm_checksum(KERNEL_CPU, "n=96", "seed=6", c3, sizeof(c3));
	cr_assert_str_eq(c1, c2);
	cr_assert_str_neq(c1, c3);
}

Test(sgemm, rel_err_definition)
{
	cr_assert_eq(kernel_rel_err(1.0, 1.0, 0.5), 0);
	cr_assert_float_eq(kernel_rel_err(2.2, 2.0, 0.5), 0.1, 1e-12);
	/* Near zero the scale, not |want|, is the denominator. */
	cr_assert_float_eq(kernel_rel_err(0.001, 0.0, 0.5), 0.002, 1e-12);
	cr_assert_eq(kernel_rel_err(0, 0, 0), 0);
	cr_assert(isinf(kernel_rel_err(1, 0, 0)));
}

/* ------------------------------------------------------------------ burn */

Test(burn, cpu_elapsed)
{
	static const char *const kv[] = { "ms=50" };
	struct kernel_result	res;
	double			e;

	cr_assert_eq(run_kernel("burn", KERNEL_CPU, &res, kv, 1), 0, "%s",
	    res.error);
	cr_assert_str_eq(res.device, "cpu");
	e = json_num(res.json, "elapsed_ms");
	cr_assert_geq(e, 50.0, "%s", res.json);
	cr_assert_lt(e, 5000.0, "%s", res.json);
	kernel_result_clear(&res);
}

Test(burn, cpu_zero)
{
	static const char *const kv[] = { "ms=0" };
	struct kernel_result	res;
	double			e;

	cr_assert_eq(run_kernel("burn", KERNEL_CPU, &res, kv, 1), 0, "%s",
	    res.error);
	e = json_num(res.json, "elapsed_ms");
	cr_assert(e >= 0 && e < 5000, "%s", res.json);
	kernel_result_clear(&res);
}

/* --------------------------------------------------------------- devices */

Test(devices, init_and_describe)
{
	char	buf[512], tiny[6];
	int	n = kernel_devices_init();

	cr_assert_geq(n, 0);
	cr_assert_eq(kernel_device_count(), n);
	cr_assert_eq(kernel_devices_init(), n, "discovered once");
	kernel_devices_describe(buf, sizeof(buf));
	cr_assert_gt(strlen(buf), 0);
	if (n == 0)
		cr_assert_not_null(strstr(buf, "CPU only"), "%s", buf);
	else
		cr_assert_not_null(strstr(buf, "cuda:0"), "%s", buf);
	memset(tiny, 'x', sizeof(tiny));
	kernel_devices_describe(tiny, 5);
	cr_assert_eq(tiny[4], '\0');
	cr_assert_eq(tiny[5], 'x');
}

Test(devices, force_cpu)
{
	struct kernel_result	res;
	char			buf[512];
	static const char *const kv[] = { "ms=1" };

	setenv("SLUICE_FORCE_CPU", "1", 1);
	cr_assert_eq(kernel_devices_init(), 0);
	kernel_devices_describe(buf, sizeof(buf));
	cr_assert_not_null(strstr(buf, "SLUICE_FORCE_CPU"), "%s", buf);
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), -1);
	cr_assert_not_null(strstr(res.error, "SLUICE_FORCE_CPU"), "%s",
	    res.error);
	kernel_result_clear(&res);
}

/* A device index past the last one fails the job with a clear message. */
Test(devices, invalid_index_is_an_error)
{
	static const char *const names[] = { "mandelbrot", "sgemm", "burn" };
	static const char *const kv[] = { "ms=1" };
	struct kernel_result	res;
	int			n = kernel_device_count(), i;
	char			want[16];

	snprintf(want, sizeof(want), "cuda:%d", n);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(run_kernel(names[i], n, &res,
		    i == 2 ? kv : NULL, i == 2 ? 1 : 0), -1, "%s", names[i]);
		cr_assert_not_null(strstr(res.error, "no CUDA device"), "%s",
		    res.error);
		cr_assert_str_eq(res.device, want);
		cr_assert_null(res.json);
		kernel_result_clear(&res);
	}
	cr_assert_eq(run_kernel("burn", -7, &res, kv, 1), -1);
	cr_assert_not_null(strstr(res.error, "no CUDA device"));
	kernel_result_clear(&res);
}

Test(devices, result_clear_twice)
{
	struct kernel_result res;

	memset(&res, 0, sizeof(res));
	kernel_result_clear(&res);
	kernel_result_clear(&res);
	kernel_result_clear(NULL);
}

/* -------------------------------------------------------------- dispatch */

/*
 * A kernel split by device whose job and entries record how they were
 * called: the job counts its calls and keeps the entry it was given, the
 * entries count theirs and the device they saw.
 */
struct probe_job {
	int	calls, dev;
};

static int		 probe_jobs;
static kernel_entry_fn	*probe_compute;

static int
probe_cpu(void *job, int dev, char *err, size_t errlen)
{
	struct probe_job *j = job;

	(void)err;
	(void)errlen;
	j->calls++;
	j->dev = dev;
	return 0;
}

static int
probe_cuda(void *job, int dev, char *err, size_t errlen)
{
	return probe_cpu(job, dev, err, errlen);
}

static int
probe_job(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct probe_job j = { 0, 99 };

	(void)params;
	probe_jobs++;
	probe_compute = compute;
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		return -1;
	return kernel_result_json(res, "{\"calls\":%d,\"dev\":%d}", j.calls,
	    j.dev);
}

static const struct kernel_spec probe_spec = { .name = "probe",
    .title = "Probe" };
static const struct kernel probe_kernel = {
	.spec = &probe_spec, .job = probe_job,
	.cpu = probe_cpu, .cuda = probe_cuda,
};

Test(dispatch, cpu_runs_the_job_with_the_cpu_entry)
{
	struct kernel_result res;

	memset(&res, 0, sizeof(res));
	cr_assert_eq(kernel_dispatch(&probe_kernel, NULL, KERNEL_CPU, &res),
	    0, "%s", res.error);
	cr_expect_str_eq(res.device, "cpu");
	cr_expect_eq(probe_jobs, 1);
	cr_expect(probe_compute == probe_cpu, "the CPU got another entry");
	cr_expect_str_eq(res.json, "{\"calls\":1,\"dev\":-1}");
	kernel_result_clear(&res);
}

Test(dispatch, a_device_runs_the_job_with_the_cuda_entry)
{
	struct kernel		k = probe_kernel;
	struct kernel_result	res;

	gpu_or_skip();
	memset(&res, 0, sizeof(res));
	cr_assert_eq(kernel_dispatch(&probe_kernel, NULL, 0, &res), 0, "%s",
	    res.error);
	cr_expect_str_eq(res.device, "cuda:0");
	cr_expect(probe_compute == probe_cuda, "cuda:0 got another entry");
	cr_expect_str_eq(res.json, "{\"calls\":1,\"dev\":0}");
	kernel_result_clear(&res);
	/* A CPU-only kernel on a GPU. */
	k.cuda = NULL;
	cr_expect_eq(kernel_dispatch(&k, NULL, 0, &res), -1);
	cr_expect_str_eq(res.error, "probe: no CUDA path");
	cr_expect_eq(probe_jobs, 1);
	kernel_result_clear(&res);
}

/* A device this machine lacks fails before the job starts. */
Test(dispatch, missing_device_runs_nothing)
{
	struct kernel_result	res;
	char			want[16];
	int			i, dev;

	for (i = 0; i < 2; i++) {
		dev = i == 0 ? kernel_device_count() : -7;
		snprintf(want, sizeof(want), "cuda:%d", i == 0 ? dev : -1);
		memset(&res, 0, sizeof(res));
		cr_expect_eq(kernel_dispatch(&probe_kernel, NULL, dev, &res),
		    -1);
		cr_expect_not_null(strstr(res.error, "no CUDA device"), "%s",
		    res.error);
		cr_expect_str_eq(res.device, want);
		kernel_result_clear(&res);
	}
	cr_expect_eq(probe_jobs, 0, "a job started on a missing device");
}

Test(dispatch, no_cpu_entry_is_an_error)
{
	struct kernel		k = probe_kernel;
	struct kernel_result	res;

	k.cpu = NULL;
	memset(&res, 0, sizeof(res));
	cr_expect_eq(kernel_dispatch(&k, NULL, KERNEL_CPU, &res), -1);
	cr_expect_str_eq(res.error, "probe: no CPU path");
	cr_expect_eq(probe_jobs, 0);
}

static int	whole_device = -2;

static int
whole_run(const double *params, int device, struct kernel_result *res)
{
	(void)params;
	(void)res;
	whole_device = device;
	return 0;
}

/* A kernel not split by device (a test double) runs anywhere, unchecked. */
Test(dispatch, whole_run_for_any_device)
{
	static const struct kernel_spec spec = { .name = "whole" };
	struct kernel		k = { .spec = &spec, .run = whole_run };
	struct kernel_result	res;

	memset(&res, 0, sizeof(res));
	cr_expect_eq(kernel_dispatch(&k, NULL, 42, &res), 0);
	cr_expect_eq(whole_device, 42);
	cr_expect_str_eq(res.device, "", "run sets the device, if it wants");
}

Test(dispatch, compute_is_the_device_step_alone)
{
	struct probe_job	j = { 0, 99 };
	char			err[256] = "";

	cr_assert_eq(kernel_compute(&probe_kernel, KERNEL_CPU, &j, err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_eq(j.calls, 1);
	cr_expect_eq(j.dev, KERNEL_CPU);
	cr_expect_eq(probe_jobs, 0, "compute ran the whole job");
	cr_expect_eq(kernel_compute(&probe_kernel, kernel_device_count(), &j,
	    err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "no CUDA device"), "%s", err);
	cr_expect_eq(j.calls, 1);
}

/* ------------------------------------------------------------------- GPU */

Test(gpu, burn)
{
	static const char *const kv[] = { "ms=50" };
	struct kernel_result	res;
	double			e;

	gpu_or_skip();
	cr_assert_eq(run_kernel("burn", 0, &res, kv, 1), 0, "%s", res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	e = json_num(res.json, "elapsed_ms");
	cr_assert_geq(e, 50.0, "%s", res.json);
	cr_assert_lt(e, 5000.0, "%s", res.json);
	kernel_result_clear(&res);
}

Test(gpu, mandelbrot_matches_cpu)
{
	struct mandel_view	 v = { -0.5, 0, 3, 253, 190, 500 };
	static const char *const kv[] = { "width=200", "height=150" };
	struct kernel_result	 res;
	unsigned char		*g, *c;
	size_t			 i, n = 253 * 190, same = 0;
	double			 ms;
	char			 err[256];

	gpu_or_skip();
	g = malloc(3 * n);
	c = malloc(3 * n);
	cr_assert(g && c);
	cr_assert_eq(kernel_mandel_render(&v, 0, g, &ms, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(kernel_mandel_render(&v, KERNEL_CPU, c, &ms, err,
	    sizeof(err)), 0, "%s", err);
	/* The GPU may fuse multiply-adds: chaotic boundary pixels differ. */
	for (i = 0; i < n; i++)
		same += memcmp(g + 3 * i, c + 3 * i, 3) == 0;
	cr_assert_geq(same, n * 99 / 100, "%zu of %zu pixels equal", same, n);
	free(g);
	free(c);
	cr_assert_eq(run_kernel("mandelbrot", 0, &res, kv, 2), 0, "%s",
	    res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	check_png(&res, 200, 150);
	kernel_result_clear(&res);
}

ParameterizedTestParameters(gpu, sgemm_vs_naive)
{
	static size_t sizes[] = { 16, 17, 63, 128, 255, 256, 300 };

	return cr_make_param_array(size_t, sizes,
	    sizeof(sizes) / sizeof(sizes[0]));
}

ParameterizedTest(size_t *n, gpu, sgemm_vs_naive)
{
	double e;

	gpu_or_skip();
	e = sgemm_vs_naive(0, *n, 42);
	cr_assert_lt(e, 1e-4, "n=%zu max_rel_err %g", *n, e);
}

Test(gpu, sgemm_run_and_checksum)
{
	static const char *const kv[] = { "n=1000", "seed=9" };
	struct kernel_result	res;
	char			c1[64], c2[64];

	gpu_or_skip();
	cr_assert_eq(run_kernel("sgemm", 0, &res, kv, 2), 0, "%s", res.error);
	cr_assert_str_eq(res.device, "cuda:0");
	cr_assert_lt(json_num(res.json, "max_rel_err"), 1e-4, "%s",
	    res.json);
	cr_assert_not_null(strstr(res.json, "\"backend\":\"cuda-tiled\""));
	kernel_result_clear(&res);
	sgemm_checksum(0, "n=300", "seed=5", c1, sizeof(c1));
	sgemm_checksum(0, "n=300", "seed=5", c2, sizeof(c2));
	cr_assert_str_eq(c1, c2);
}

/* An impossible allocation fails with the CUDA text; the device still works. */
Test(gpu, cuda_error_alloc)
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
Test(gpu, stale_error_does_not_fail_next_job)
{
#ifdef HAVE_CUDA
	struct burn_job	bj = { 1 };
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
Test(gpu, cuda_error_invalid_device)
{
#ifdef HAVE_CUDA
	struct burn_job	bj = { 1 };
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

/* ---- a broken context (sluice-worker ends on it) ---- */

/*
 * On a real GPU: a job that breaks the context (an illegal address)
 * fails, and kernel_device_broken() says so: that is when sluice-worker
 * ends itself, so that the next job gets a fresh process (CUDA documents
 * that such an error may need a new process).
 */
Test(gpu, broken_context_is_detected)
{
#ifdef HAVE_CUDA
	char	 err[256];

	gpu_or_skip();
	cr_expect_eq(kernel_device_broken(0, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(kernel_cuda_fault(0, err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "CUDA error"), "%s", err);
	cr_expect_eq(kernel_device_broken(0, err, sizeof(err)), 1,
	    "a broken context was not seen");
#else
	cr_skip_test("no CUDA device");
#endif
}

Test(device, cpu_is_never_broken)
{
	char	 err[64] = "x";

	cr_expect_eq(kernel_device_broken(KERNEL_CPU, err, sizeof(err)), 0);
	cr_expect_eq(kernel_device_broken(99, err, sizeof(err)), 0,
	    "a device this machine lacks has no context to break");
}
