/*
 * mandelbrot: renders a view of the Mandelbrot set to a PNG. The arithmetic
 * is mandelbrot_core.h's, shared with the CUDA kernel (mandelbrot.cu). The
 * CPU path runs one thread per available CPU, rows interleaved, and steps
 * MANDEL_LANES pixels at once in a loop the compiler vectorizes.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "mandelbrot.h"

#define MANDEL_LANES	8

/* a where mask is all ones, else b: a select without a branch. */
static inline double
mandel_pick(int64_t mask, double a, double b)
{
	uint64_t ua, ub;

	memcpy(&ua, &a, sizeof(ua));
	memcpy(&ub, &b, sizeof(ub));
	ua = (ua & (uint64_t)mask) | (ub & ~(uint64_t)mask);
	memcpy(&a, &ua, sizeof(a));
	return a;
}

/*
 * Escape counts of MANDEL_LANES points at once, with z at escape: the same
 * steps as mandel_escape(), lanes frozen once they escape, stopping when
 * every lane has. Branch-free inside so that it vectorizes.
 */
KERNEL_CLONES static void
mandel_lanes(const double *cre, const double *cim, int iters,
    int64_t *count, double *zxo, double *zyo)
{
	double	zx[MANDEL_LANES], zy[MANDEL_LANES];
	int64_t	live[MANDEL_LANES], any;
	int	it, l;

	for (l = 0; l < MANDEL_LANES; l++) {
		zx[l] = zy[l] = 0.0;
		live[l] = -1;
		count[l] = 0;
	}
	for (it = 0; it < iters; it++) {
		any = 0;
		for (l = 0; l < MANDEL_LANES; l++) {
			double	x2 = zx[l] * zx[l], y2 = zy[l] * zy[l];
			double	nx = zx[l], ny = zy[l];
			int64_t	in = live[l] &
			    -(int64_t)(x2 + y2 <= MANDEL_BAILOUT2);

			mandel_step(&nx, &ny, x2, y2, cre[l], cim[l]);
			zx[l] = mandel_pick(in, nx, zx[l]);
			zy[l] = mandel_pick(in, ny, zy[l]);
			count[l] -= in;
			live[l] = in;
			any |= in;
		}
		if (!any)
			break;
	}
	for (l = 0; l < MANDEL_LANES; l++) {
		zxo[l] = zx[l];
		zyo[l] = zy[l];
	}
}

void
kernel_mandel_escape_cpu(const double *cre, const double *cim, size_t n,
    int iters, int *counts)
{
	double	re[MANDEL_LANES], im[MANDEL_LANES];
	double	zx[MANDEL_LANES], zy[MANDEL_LANES];
	int64_t	cnt[MANDEL_LANES];
	size_t	i, l, m;

	for (i = 0; i < n; i += MANDEL_LANES) {
		m = n - i < MANDEL_LANES ? n - i : MANDEL_LANES;
		for (l = 0; l < MANDEL_LANES; l++) {
			re[l] = cre[i + (l < m ? l : m - 1)];
			im[l] = cim[i + (l < m ? l : m - 1)];
		}
		mandel_lanes(re, im, iters, cnt, zx, zy);
		for (l = 0; l < m; l++)
			counts[i + l] = (int)cnt[l];
	}
}

/* Renders row py of v into row (3 * width bytes). */
static void
mandel_row(const struct mandel_view *v, int py, unsigned char *row)
{
	double	re[MANDEL_LANES], im[MANDEL_LANES];
	double	zx[MANDEL_LANES], zy[MANDEL_LANES];
	int64_t	cnt[MANDEL_LANES];
	int	px, l, m;

	for (px = 0; px < v->width; px += MANDEL_LANES) {
		m = v->width - px < MANDEL_LANES ? v->width - px :
		    MANDEL_LANES;
		for (l = 0; l < MANDEL_LANES; l++)
			mandel_coord(v, px + (l < m ? l : m - 1), py, &re[l],
			    &im[l]);
		mandel_lanes(re, im, v->iters, cnt, zx, zy);
		for (l = 0; l < m; l++)
			mandel_colour((int)cnt[l], zx[l], zy[l], re[l], im[l],
			    v->iters, row + 3 * (size_t)(px + l));
	}
}

/* What the render threads share: rows done, and whether to stop. */
struct mandel_shared {
	atomic_int			 rows;
	atomic_int			 stop;
};

struct mandel_work {
	const struct mandel_view	*v;
	unsigned char			*rgb;
	int				 first, stride;
	struct mandel_shared		*sh;
};

/*
 * Renders every stride-th row from first. The thread of row 0 (the
 * caller's) reports progress by rows and looks for a cancel, about 50
 * times an image; every thread stops at its next row once told to.
 */
static void *
mandel_thread(void *arg)
{
	const struct mandel_work	*w = arg;
	int				 py, done, every, h = w->v->height;
	char				 msg[64];

	every = h / 50 > 0 ? h / 50 : 1;
	for (py = w->first; py < h; py += w->stride) {
		if (atomic_load(&w->sh->stop))
			break;
		mandel_row(w->v, py, w->rgb + (size_t)py * 3 * w->v->width);
		done = atomic_fetch_add(&w->sh->rows, 1) + 1;
		if (w->first != 0 || (py / w->stride) % every != 0)
			continue;
		if (kernel_cancelled())
			atomic_store(&w->sh->stop, 1);
		snprintf(msg, sizeof(msg), "%d of %d rows", done, h);
		kernel_progress(0.95 * done / h, msg);
	}
	return NULL;
}

/* Renders v on every CPU; a thread that cannot start is run inline. */
static int
mandel_render_cpu(const struct mandel_view *v, unsigned char *rgb,
    char *err, size_t errlen)
{
	struct mandel_shared	 sh;
	struct mandel_work	*work = NULL;
	pthread_t		*tid = NULL;
	char			*started = NULL;
	int			 n, i, rc = -1;

	atomic_init(&sh.rows, 0);
	atomic_init(&sh.stop, 0);
	n = kernel_cpu_threads();
	if (n > v->height)
		n = v->height;
	work = calloc(n, sizeof(*work));
	tid = calloc(n, sizeof(*tid));
	started = calloc(n, 1);
	if (work == NULL || tid == NULL || started == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		work[i].v = v;
		work[i].rgb = rgb;
		work[i].first = i;
		work[i].stride = n;
		work[i].sh = &sh;
		if (i > 0 && pthread_create(&tid[i], NULL, mandel_thread,
		    &work[i]) == 0)
			started[i] = 1;
	}
	for (i = 0; i < n; i++)
		if (!started[i])
			mandel_thread(&work[i]);
	for (i = 0; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	if (atomic_load(&sh.stop)) {
		snprintf(err, errlen, "cancelled");
		goto out;
	}
	rc = 0;
out:
	free(work);
	free(tid);
	free(started);
	return rc;
}

/* mandelbrot's CPU entry: renders on every CPU. */
static int
mandel_cpu(void *job, int dev, char *err, size_t errlen)
{
	struct mandel_job	*j = job;
	double			 t0 = kernel_now_ms();

	(void)dev;
	if (mandel_render_cpu(&j->v, j->rgb, err, errlen) == -1)
		return -1;
	j->ms = kernel_now_ms() - t0;
	return 0;
}

static int
mandel_run(const double *params, int device, kernel_entry_fn *compute,
    struct kernel_result *res)
{
	struct mandel_job	 j = { .rgb = NULL };
	struct mandel_view	*v = &j.v;
	size_t			 npix;
	int			 i, rc = -1;

	for (i = 0; i < MB__MAX; i++)
		if (!(params[i] >= kernel_spec_mandelbrot.params[i].min &&
		    params[i] <= kernel_spec_mandelbrot.params[i].max)) {
			kernel_fail(res, "%s: out of range",
			    kernel_spec_mandelbrot.params[i].name);
			goto out;
		}
	v->cx = params[MB_CX];
	v->cy = params[MB_CY];
	v->scale = params[MB_SCALE];
	v->width = (int)params[MB_WIDTH];
	v->height = (int)params[MB_HEIGHT];
	v->iters = (int)params[MB_ITERS];
	npix = (size_t)v->width * (size_t)v->height;	/* <= 4096^2 */
	if ((j.rgb = malloc(3 * npix)) == NULL) {
		kernel_fail(res, "out of memory for a %dx%d image", v->width,
		    v->height);
		goto out;
	}
	if (compute(&j, device, res->error, sizeof(res->error)) == -1)
		goto out;
	if (kernel_png_encode(j.rgb, v->width, v->height, &res->png,
	    &res->png_len, res->error, sizeof(res->error)) == -1)
		goto out;
	if (kernel_result_json(res, "{\"ms\":%.3f,\"mpix_s\":%.3f,"
	    "\"width\":%d,\"height\":%d,\"iters\":%d}", j.ms,
	    j.ms > 0 ? npix / (j.ms * 1e3) : 0.0, v->width, v->height,
	    v->iters) == -1)
		goto out;
	rc = 0;
out:
	free(j.rgb);
	return rc;
}

const struct kernel kernel_mandelbrot = {
	.spec = &kernel_spec_mandelbrot,
	.job = mandel_run,
	.cpu = mandel_cpu,
	.cuda = KERNEL_CUDA(mandel_cuda),
};

int
kernel_mandel_render(const struct mandel_view *v, int device,
    unsigned char *rgb, double *ms, char *err, size_t errlen)
{
	struct mandel_job j = { .rgb = rgb };

	if (v->width < 1 || v->height < 1 || v->iters < 1 ||
	    v->width > 65535 || v->height > 65535) {
		snprintf(err, errlen, "mandelbrot: bad view");
		return -1;
	}
	j.v = *v;
	if (kernel_compute(&kernel_mandelbrot, device, &j, err, errlen) == -1)
		return -1;
	*ms = j.ms;
	return 0;
}
