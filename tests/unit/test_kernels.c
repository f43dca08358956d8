/*
 * test_kernels: the kernel registry, parameter validation, and each kernel
 * on the CPU; device discovery with a stubbed CUDA runtime, burn's
 * deadline with a fake clock, the PNG encoder, sgemm's generator and
 * launch shape; CPU-side error paths. The same kernels on a GPU are
 * tests/gpu/test_gpu.c's (which also runs without Criterion, on a bare
 * CUDA host).
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <png.h>
#include <sodium.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "burn.h"
#include "device.h"
#include "mandelbrot.h"
#include "sgemm.h"
#include "../gpu/kernel_check.h"

/* ---------------------------------------------------------------- helpers */

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
		{ "mandelbrot", "width", "1e3", 1, 1000, "" },
		{ "mandelbrot", "width", "100.5", 0, 0, "must be a whole number" },
		{ "mandelbrot", "width", "100.0", 1, 100, "" },
		{ "mandelbrot", "width", "1.6e1", 1, 16, "" },
		{ "mandelbrot", "width", "1e309", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "width", "-1e309", 0, 0, "must be between 16 and 4096" },
		{ "mandelbrot", "width", "1e-400", 0, 0, "must be between 16 and 4096" },
		{ "burn", "ms", "1e-400", 0, 0, "must be a whole number" },
		{ "burn", "ms", "0.0", 1, 0, "" },
		{ "burn", "ms", "0.5", 0, 0, "must be a whole number" },
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
		{ "sgemm", "n", "1e3", 1, 1000, "" },
		{ "sgemm", "n", "1e4", 0, 0, "must be between 16 and 8192" },
		{ "sgemm", "seed", "0", 1, 0, "" },
		{ "sgemm", "seed", "4294967295", 1, 4294967295.0, "" },
		{ "sgemm", "seed", "4294967296", 0, 0,
		    "must be between 0 and 4294967295" },
		{ "sgemm", "seed", "-1", 0, 0, "must be between 0 and 4294967295" },
		{ "burn", "ms", "0", 1, 0, "" },
		{ "burn", "ms", "600000", 1, 600000, "" },
		{ "burn", "ms", "600001", 0, 0, "must be between 0 and 600000" },
		{ "burn", "ms", "50.0", 1, 50, "" },
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

Test(device, cpu_is_never_broken)
{
	char	 err[64] = "x";

	cr_expect_eq(kernel_device_broken(KERNEL_CPU, err, sizeof(err)), 0);
	cr_expect_eq(kernel_device_broken(99, err, sizeof(err)), 0,
	    "a device this machine lacks has no context to break");
}

Test(device, warm_is_nothing_on_the_cpu)
{
	char	err[64] = "x";

	cr_expect_eq(kernel_device_warm(KERNEL_CPU, err, sizeof(err)), 0);
	cr_expect_str_eq(err, "");
	cr_expect_eq(kernel_device_warm(kernel_device_count(), err,
	    sizeof(err)), 0, "a device this machine lacks: nothing to warm");
}

/* ---- discovery with a stubbed CUDA runtime ---- */

/* A runtime whose cudaGetDeviceCount fails: too old a driver, or none. */
static int	stub_driver;

static int
stub_count_fails(int *n, char *err, size_t errlen)
{
	*n = 0;
	snprintf(err, errlen, "CUDA error: CUDA driver version is "
	    "insufficient for CUDA runtime version (cudaGetDeviceCount(n) at "
	    "device.cu:20)");
	return -1;
}

static int
stub_driver_version(void)
{
	return stub_driver;
}

static int
stub_runtime_version(void)
{
	return 13000;
}

static int
stub_info(int dev, char *name, size_t namelen, size_t *mem, char *err,
    size_t errlen)
{
	(void)err;
	(void)errlen;
	snprintf(name, namelen, "Stub GPU %d", dev);
	*mem = (size_t)141 << 30;
	return 0;
}

static int
stub_count_two(int *n, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*n = 2;
	return 0;
}

static int
stub_count_none(int *n, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	*n = 0;
	return 0;
}

static const struct kernel_cuda_probe stub_failing = {
	stub_count_fails, stub_driver_version, stub_runtime_version, stub_info,
};

/* The log line says what CUDA said, and which driver the runtime needs. */
Test(devices, old_driver_is_named)
{
	char	buf[512];

	stub_driver = 12040;
	cr_assert_eq(kernel_devices_set_probe(&stub_failing), 0);
	cr_assert_eq(kernel_devices_init(), 0);
	kernel_devices_describe(buf, sizeof(buf));
	cr_expect(strncmp(buf, "no CUDA device: CPU only (", 26) == 0, "%s",
	    buf);
	cr_expect_not_null(strstr(buf, "CUDA driver version is insufficient "
	    "for CUDA runtime version"), "%s", buf);
	cr_expect_not_null(strstr(buf, "the driver supports CUDA 12.4, this "
	    "build's runtime is CUDA 13.0: it needs driver 580 or newer"), "%s",
	    buf);
	cr_expect_eq(kernel_devices_set_probe(NULL), -1, "too late: ran");
}

Test(devices, no_driver_is_named)
{
	char	buf[512];

	stub_driver = 0;
	cr_assert_eq(kernel_devices_set_probe(&stub_failing), 0);
	kernel_devices_describe(buf, sizeof(buf));
	cr_expect_not_null(strstr(buf, "no CUDA driver found (libcuda.so.1)"),
	    "%s", buf);
	cr_expect_not_null(strstr(buf, "it needs driver 580 or newer"), "%s",
	    buf);
}

Test(devices, stub_devices_are_described)
{
	static const struct kernel_cuda_probe two = { stub_count_two,
	    stub_driver_version, stub_runtime_version, stub_info };
	char	buf[512];

	cr_assert_eq(kernel_devices_set_probe(&two), 0);
	cr_assert_eq(kernel_device_count(), 2);
	kernel_devices_describe(buf, sizeof(buf));
	cr_expect_str_eq(buf, "2 CUDA devices: cuda:0 Stub GPU 0 (141.0 GiB),"
	    " cuda:1 Stub GPU 1 (141.0 GiB)");
}

/* A runtime that works but sees no GPU: no reason to give. */
Test(devices, none_found_without_an_error)
{
	static const struct kernel_cuda_probe none = { stub_count_none,
	    stub_driver_version, stub_runtime_version, stub_info };
	char	buf[512];

	cr_assert_eq(kernel_devices_set_probe(&none), 0);
	kernel_devices_describe(buf, sizeof(buf));
	cr_expect_str_eq(buf, "no CUDA device: CPU only");
}

Test(devices, no_runtime_is_built_without_cuda)
{
	char	buf[512];

	cr_assert_eq(kernel_devices_set_probe(NULL), 0);
	kernel_devices_describe(buf, sizeof(buf));
	cr_expect_str_eq(buf, "no CUDA device: CPU only (built without CUDA)");
}

struct explain_case {
	int	driver, runtime;
	char	want[160];
};

ParameterizedTestParameters(devices, explain)
{
	static struct explain_case cases[] = {
		{ 12080, 13000, "E; the driver supports CUDA 12.8, this build's "
		    "runtime is CUDA 13.0: it needs driver 580 or newer" },
		{ 0, 13000, "E; no CUDA driver found (libcuda.so.1); this "
		    "build's runtime is CUDA 13.0: it needs driver 580 or newer" },
		{ 11040, 12020, "E; the driver supports CUDA 11.4, this build's "
		    "runtime is CUDA 12.2: it needs driver 525 or newer" },
		{ 13010, 13000, "E; the driver supports CUDA 13.1" },
		{ 9020, 10010, "E; the driver supports CUDA 9.2, this build's "
		    "runtime is CUDA 10.1" },
	};

	return cr_make_param_array(struct explain_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct explain_case *c, devices, explain)
{
	char	out[256], tiny[8];

	kernel_cuda_explain(out, sizeof(out), "E", c->driver, c->runtime);
	cr_expect_str_eq(out, c->want);
	kernel_cuda_explain(tiny, sizeof(tiny), "E", c->driver, c->runtime);
	cr_expect_eq(strlen(tiny), sizeof(tiny) - 1, "cut, terminated");
}

/* ---- the test-only fault switch of sluice-worker's broken-context test ---- */

Test(device, fault_switch_fires_once)
{
	char	path[] = "/tmp/sluice-fault-XXXXXX";
	int	fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	unsetenv("SLUICE_TEST_FAULT_ONCE");
	cr_expect_eq(kernel_device_fault_armed(), 0);
	setenv("SLUICE_TEST_FAULT_ONCE", path, 1);
	cr_expect_eq(kernel_device_fault_armed(), 1);
	cr_expect_neq(access(path, F_OK), 0, "the file is gone");
	cr_expect_eq(kernel_device_fault_armed(), 0, "only once");
	unsetenv("SLUICE_TEST_FAULT_ONCE");
}

/* ---- burn's deadline, with a fake clock ---- */

/*
 * The GPU's spin runs while burn_before(clock, deadline). A clock that
 * steps back right after the start must not end it: the unsigned check it
 * replaces, now - start < ns, ends at once (900 - 1000 wraps to 2^64 -
 * 100, past any ns).
 */
Test(burn, deadline_survives_a_clock_step_back)
{
	static const uint64_t	 clock[] = { 1500, 900, 2000, 5999, 6000, 7000 };
	static const int	 running[] = { 1, 1, 1, 1, 0, 0 };
	uint64_t		 start = 1000, ns = 5000;
	uint64_t		 deadline = burn_deadline(start, ns);
	size_t			 i;

	cr_assert_eq(deadline, 6000);
	for (i = 0; i < sizeof(clock) / sizeof(clock[0]); i++)
		cr_expect_eq(burn_before(clock[i], deadline), running[i],
		    "at %llu", (unsigned long long)clock[i]);
	cr_expect(!(900 - start < ns), "the old check ended here");
}

/* A clock that wraps past 2^64 during the burn: still the right length. */
Test(burn, deadline_across_the_wrap)
{
	uint64_t	start = UINT64_MAX - 9, deadline = burn_deadline(start, 100);

	cr_expect_eq(deadline, 90);
	cr_expect(burn_before(start, deadline));
	cr_expect(burn_before(UINT64_MAX, deadline));
	cr_expect(burn_before(0, deadline));
	cr_expect(burn_before(89, deadline));
	cr_expect_not(burn_before(90, deadline));
	cr_expect_not(burn_before(1000, deadline));
	cr_expect_not(burn_before(start, burn_deadline(start, 0)), "0 ms");
}

Test(burn, cpu_progress_and_cancel)
{
	static const struct kernel_hooks hooks = { count_progress, cancel_later,
	    NULL };
	static const char *const long_burn[] = { "ms=60000" };
	static const char *const short_burn[] = { "ms=250" };
	struct kernel_result	 res;
	double			 t0;

	kernel_hooks_set(&hooks);
	cr_assert_eq(run_kernel("burn", KERNEL_CPU, &res, short_burn, 1), 0,
	    "%s", res.error);
	cr_expect_geq(hook_reports, 3, "a report a step: %d", hook_reports);
	cr_expect_eq(hook_last, 1.0, "ends at 1");
	kernel_result_clear(&res);
	hook_reports = 0;
	hook_last = 0;
	hook_cancel_after = 2;
	t0 = kernel_now_ms();
	cr_assert_eq(run_kernel("burn", KERNEL_CPU, &res, long_burn, 1), -1);
	cr_expect_str_eq(res.error, "cancelled");
	cr_expect_lt(kernel_now_ms() - t0, 30000.0, "stopped at a step");
	kernel_result_clear(&res);
	kernel_hooks_set(NULL);
}

/* ---- PNG ---- */

/* What the one-pass encoder wrote decodes to the very pixels given. */
Test(png, round_trip_is_exact)
{
	static const struct {
		unsigned	w, h;
		int		noise;
	} cases[] = { { 1, 1, 0 }, { 17, 3, 1 }, { 640, 480, 0 },
	    { 1024, 1024, 1 } };
	unsigned char	*rgb, *png, *back;
	size_t		 i, k, n, len;
	uint64_t	 x = 88172645463325252ULL;
	char		 err[256];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 3 * (size_t)cases[i].w * cases[i].h;
		rgb = malloc(n);
		cr_assert_not_null(rgb);
		/* Noise (incompressible: the worst case of the buffer) or bands. */
		for (k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			rgb[k] = cases[i].noise ? (unsigned char)x :
			    (unsigned char)(k / 3 % cases[i].w * 7);
		}
		cr_assert_eq(kernel_png_encode(rgb, cases[i].w, cases[i].h, &png,
		    &len, err, sizeof(err)), 0, "%s", err);
		back = png_to_rgb(png, len, cases[i].w, cases[i].h);
		cr_expect_arr_eq(back, rgb, n, "%ux%u", cases[i].w, cases[i].h);
		free(back);
		free(png);
		free(rgb);
	}
}

Test(png, bad_sizes_are_refused)
{
	unsigned char	 px[3] = { 1, 2, 3 }, *png = (unsigned char *)px;
	size_t		 len = 7;
	char		 err[128];

	cr_expect_eq(kernel_png_encode(px, 0, 1, &png, &len, err, sizeof(err)),
	    -1);
	cr_expect_null(png);
	cr_expect_eq(len, 0);
	cr_expect_str_eq(err, "png: bad image size 0x1");
	cr_expect_eq(kernel_png_encode(px, 1, 65536, &png, &len, err,
	    sizeof(err)), -1);
}

/* ---- sgemm: the generator the GPU shares, and its launch shape ---- */

/* The values the generator gave before it was shared with the GPU. */
Test(sgemm, generator_keeps_its_values)
{
	static const float want_a[9] = {
		0x1.c566e8p-1, -0x1.311c98p-1, -0x1.183e68p-1, 0x1.5cc5b8p-1,
		-0x1.5d82p-7, 0x1.99d8p-7, -0x1.a91a48p-2, 0x1.b37fp-3,
		0x1.2b748p-5 };
	static const float want_b[9] = {
		-0x1.6f77ep-3, -0x1.5add98p-1, -0x1.a91de4p-1, 0x1.d78bd4p-1,
		0x1.03c36p-3, 0x1.9760a8p-2, 0x1.75eef8p-1, -0x1.2c3224p-1,
		-0x1.45278p-5 };
	float	m[9];
	size_t	i;

	kernel_sgemm_fill(m, 3, 7, 0);
	cr_expect_arr_eq(m, want_a, sizeof(m), "seed 7, A");
	kernel_sgemm_fill(m, 3, 4294967295ULL, 1);
	cr_expect_arr_eq(m, want_b, sizeof(m), "seed 2^32 - 1, B");
	for (i = 0; i < 9; i++)
		cr_expect_eq(sgemm_value(sgemm_key(7, 0), i), want_a[i]);
}

/* The threaded fill equals the generator entry by entry, at any size. */
Test(sgemm, fill_is_the_generator)
{
	static const size_t	 sizes[] = { 1, 63, 64, 65, 129, 700 };
	uint64_t		 key = sgemm_key(11, 1);
	float			*m;
	size_t			 i, k, bad;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		m = malloc(sizes[i] * sizes[i] * sizeof(*m));
		cr_assert_not_null(m);
		kernel_sgemm_fill(m, sizes[i], 11, 1);
		for (k = bad = 0; k < sizes[i] * sizes[i]; k++)
			bad += m[k] != sgemm_value(key, k);
		cr_expect_eq(bad, 0, "n=%zu: %zu entries differ", sizes[i], bad);
		free(m);
	}
}

struct shape_case {
	size_t	n, np;
	int	blocks_per_wave, split;
	size_t	kchunk;
};

ParameterizedTestParameters(sgemm, launch_shape)
{
	/* 132 SMs (H100, H200) at 2 blocks each: a wave of 264 blocks. */
	static struct shape_case cases[] = {
		{ 16, 128, 264, 1, 128 },	/* one tile: no slice of 64 */
		{ 129, 256, 264, 2, 128 },
		{ 1000, 1024, 264, 4, 256 },	/* 64 tiles: 256 blocks */
		{ 1024, 1024, 264, 4, 256 },
		{ 1024, 1024, 216, 3, 344 },	/* A100: 108 SMs */
		{ 2048, 2048, 264, 1, 2048 },	/* 256 tiles: 97% of a wave */
		{ 4096, 4096, 264, 1, 4096 },
		{ 8192, 8192, 264, 1, 8192 },
		{ 8191, 8192, 264, 1, 8192 },
		{ 512, 512, 264, 4, 128 },	/* slices of 128 at least */
	};

	return cr_make_param_array(struct shape_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct shape_case *c, sgemm, launch_shape)
{
	size_t	np = sgemm_padded(c->n), tiles = (np / 128) * (np / 128);
	int	split = sgemm_split(np, c->blocks_per_wave);
	size_t	kchunk = sgemm_kchunk(np, split);

	cr_expect_eq(np, c->np, "n=%zu", c->n);
	cr_expect_eq(split, c->split, "n=%zu: split %d", c->n, split);
	cr_expect_eq(kchunk, c->kchunk, "n=%zu: kchunk %zu", c->n, kchunk);
	/* Every slice is whole steps of 8 and none is empty. */
	cr_expect_eq(kchunk % 8, 0);
	cr_expect_geq(kchunk * split, np);
	cr_expect_lt(kchunk * (split - 1), np);
	/* Never more slices than it takes to fill 3/4 of a wave. */
	if (split > 1)
		cr_expect_lt(tiles * (split - 1) * 4,
		    (size_t)c->blocks_per_wave * 3, "n=%zu", c->n);
}

/* The CPU entry on other matrices than the job's: a wrong product. */
static int
sgemm_wrong_seed(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = job;
	int			 rc;

	j->seed++;
	rc = kernel_impl("sgemm")->cpu(job, dev, err, errlen);
	j->seed--;
	return rc;
}

/* The CPU entry, then one sampled entry of C off by 1 (C's RMS is 8). */
static int
sgemm_one_wrong_entry(void *job, int dev, char *err, size_t errlen)
{
	struct sgemm_job	*j = job;
	int			 rc;

	if ((rc = kernel_impl("sgemm")->cpu(job, dev, err, errlen)) == 0 &&
	    j->sample != NULL)
		j->sample->c[SGEMM_SAMPLE_RC * 7 + 3] += 1.0;
	return rc;
}

/*
 * The sampled check catches a wrong product: the job's sgemm_run around
 * CPU entries that multiply other matrices, or get one entry wrong.
 */
Test(sgemm, sampled_check_catches_a_wrong_product)
{
	const struct kernel	*k = kernel_impl("sgemm");
	double			 p[SG__MAX] = { [SG_N] = 600, [SG_SEED] = 4 };
	struct kernel_result	 res;

	memset(&res, 0, sizeof(res));
	cr_assert_eq(k->job(p, KERNEL_CPU, k->cpu, &res), 0, "%s", res.error);
	cr_expect_lt(json_num(res.json, "max_rel_err"), 1e-4, "%s", res.json);
	kernel_result_clear(&res);
	cr_assert_eq(k->job(p, KERNEL_CPU, sgemm_wrong_seed, &res), 0, "%s",
	    res.error);
	cr_expect_gt(json_num(res.json, "max_rel_err"), 0.1, "%s", res.json);
	kernel_result_clear(&res);
	cr_assert_eq(k->job(p, KERNEL_CPU, sgemm_one_wrong_entry, &res), 0,
	    "%s", res.error);
	cr_expect_gt(json_num(res.json, "max_rel_err"), 1e-3, "%s", res.json);
	kernel_result_clear(&res);
}

/*
 * A job on the matrices a larger one left (the CPU path keeps them) gives
 * what it gives on fresh ones: A and B made again, C written whole.
 */
Test(sgemm, kept_matrices_change_nothing)
{
	static const char *const big[] = { "n=700", "seed=9" };
	char		 c1[64], c2[64];
	struct kernel_result res;

	sgemm_checksum(KERNEL_CPU, "n=600", "seed=4", c1, sizeof(c1));
	cr_assert_eq(run_kernel("sgemm", KERNEL_CPU, &res, big, 2), 0, "%s",
	    res.error);
	kernel_result_clear(&res);
	sgemm_checksum(KERNEL_CPU, "n=600", "seed=4", c2, sizeof(c2));
	cr_expect_str_eq(c1, c2);
	sgemm_checksum(KERNEL_CPU, "n=96", "seed=5", c1, sizeof(c1));
	sgemm_checksum(KERNEL_CPU, "n=96", "seed=5", c2, sizeof(c2));
	cr_expect_str_eq(c1, c2);
}

/* The checksum is C's sum (in its fixed order, to within rounding). */
Test(sgemm, checksum_is_the_sum_of_c)
{
	const size_t	 n = 200;
	float		*c = malloc(n * n * sizeof(*c));
	double		 ms, want = 0;
	char		 err[256], got[64];
	size_t		 i;

	cr_assert_not_null(c);
	cr_assert_eq(kernel_sgemm_compute(KERNEL_CPU, n, 3, c, &ms, err,
	    sizeof(err)), 0, "%s", err);
	for (i = 0; i < n * n; i++)
		want += c[i];
	sgemm_checksum(KERNEL_CPU, "n=200", "seed=3", got, sizeof(got));
	cr_expect(fabs(strtod(got + strlen("\"checksum\":"), NULL) - want) <=
	    1e-9 * fabs(want) + 1e-6, "%s vs %.9g", got, want);
	free(c);
}

/* A CPU job past the full reference takes the sampled check. */
Test(sgemm, cpu_sampled_check)
{
	static const char *const kv[] = { "n=600", "seed=4" };
	struct kernel_result	res;

	cr_assert_eq(run_kernel("sgemm", KERNEL_CPU, &res, kv, 2), 0, "%s",
	    res.error);
	cr_expect_lt(json_num(res.json, "max_rel_err"), 1e-4, "%s", res.json);
	cr_expect_gt(json_num(res.json, "max_rel_err"), 0, "%s", res.json);
	kernel_result_clear(&res);
}
