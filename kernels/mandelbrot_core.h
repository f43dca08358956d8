/*
 * mandelbrot_core: the per-pixel arithmetic shared, as the same inline
 * functions, by the CUDA kernel (mandelbrot.cu) and the CPU path
 * (mandelbrot.c), so that the two cannot drift apart.
 *
 * Escape count: z0 = 0, z(k+1) = z(k)^2 + c; the count of c is the first k
 * with |z(k)|^2 > 4, or iters when no k < iters has it (the point is taken
 * as inside). Colour: escaped points get a smooth value from the count and
 * |z| two iterations later, mapped through a cyclic 8-stop palette; inside
 * points are black.
 *
 * Bit-for-bit agreement needs the same rounding everywhere, so no compiler
 * may fuse a multiply and an add: on the device the arithmetic goes through
 * MUL/ADD macros that become __dmul_rn/__dadd_rn (never fused), and the C
 * files that use these functions are built with -ffp-contract=off.
 */
#ifndef SLUICE_MANDELBROT_CORE_H
#define SLUICE_MANDELBROT_CORE_H

#include <math.h>

#include "device.h"	/* CUDA_CALLABLE */

#ifdef __CUDA_ARCH__
#define MANDEL_MUL(a, b)	__dmul_rn((a), (b))
#define MANDEL_ADD(a, b)	__dadd_rn((a), (b))
#define MANDEL_SUB(a, b)	__dsub_rn((a), (b))
#else
#define MANDEL_MUL(a, b)	((a) * (b))
#define MANDEL_ADD(a, b)	((a) + (b))
#define MANDEL_SUB(a, b)	((a) - (b))
#endif

#define MANDEL_BAILOUT2	4.0	/* |z|^2 beyond which a point has escaped */
#define MANDEL_PERIOD	32.0	/* smooth iterations per palette cycle */

/* One view: centre, width of the view in the complex plane, image size. */
struct mandel_view {
	double	cx, cy, scale;
	int	width, height, iters;
};

/* The point of the complex plane at the centre of pixel (px, py). */
CUDA_CALLABLE void
mandel_coord(const struct mandel_view *v, int px, int py, double *re,
    double *im)
{
	double step = v->scale / v->width;

	*re = MANDEL_ADD(v->cx, MANDEL_MUL(px + 0.5 - 0.5 * v->width, step));
	*im = MANDEL_SUB(v->cy, MANDEL_MUL(py + 0.5 - 0.5 * v->height,
	    step));
}

/* One iteration z = z^2 + c, given x2 = zx^2 and y2 = zy^2. */
CUDA_CALLABLE void
mandel_step(double *zx, double *zy, double x2, double y2, double cre,
    double cim)
{
	double nzy = MANDEL_ADD(MANDEL_MUL(2.0 * *zx, *zy), cim);

	*zx = MANDEL_ADD(x2 - y2, cre);
	*zy = nzy;
}

/* Escape count of c (see above); *zx, *zy get z at that count. */
CUDA_CALLABLE int
mandel_escape(double cre, double cim, int iters, double *zx, double *zy)
{
	double	x = 0.0, y = 0.0, x2, y2;
	int	k;

	for (k = 0; k < iters; k++) {
		x2 = MANDEL_MUL(x, x);
		y2 = MANDEL_MUL(y, y);
		if (x2 + y2 > MANDEL_BAILOUT2)
			break;
		mandel_step(&x, &y, x2, y2, cre, cim);
	}
	*zx = x;
	*zy = y;
	return k;
}

/* Colour stop i (0..7) of the cyclic palette. */
CUDA_CALLABLE void
mandel_stop(int i, double *r, double *g, double *b)
{
	switch (i & 7) {
	case 0: *r = 9;   *g = 1;   *b = 47;  break;
	case 1: *r = 4;   *g = 4;   *b = 73;  break;
	case 2: *r = 12;  *g = 44;  *b = 138; break;
	case 3: *r = 57;  *g = 125; *b = 209; break;
	case 4: *r = 211; *g = 236; *b = 248; break;
	case 5: *r = 248; *g = 201; *b = 95;  break;
	case 6: *r = 204; *g = 128; *b = 0;   break;
	default: *r = 106; *g = 52; *b = 3;   break;
	}
}

/*
 * Writes the colour of a point with escape count k and escape z (zx, zy)
 * to rgb[0..2].
 */
CUDA_CALLABLE void
mandel_colour(int k, double zx, double zy, double cre, double cim, int iters,
    unsigned char *rgb)
{
	double	x2, y2, l, mu, t, f, r0, g0, b0, r1, g1, b1;
	int	i, s;

	if (k >= iters) {
		rgb[0] = rgb[1] = rgb[2] = 0;
		return;
	}
	/* Two more iterations make |z| large enough for a smooth value. */
	for (i = 0; i < 2; i++) {
		x2 = MANDEL_MUL(zx, zx);
		y2 = MANDEL_MUL(zy, zy);
		mandel_step(&zx, &zy, x2, y2, cre, cim);
	}
	l = 0.5 * log2(MANDEL_ADD(MANDEL_MUL(zx, zx), MANDEL_MUL(zy, zy)));
	mu = k + 3.0 - (l > 1.0 ? log2(l) : 0.0);
	if (!(mu > 0.0))
		mu = 0.0;
	t = mu / MANDEL_PERIOD * 8.0;
	t = t - 8.0 * floor(t / 8.0);
	s = (int)t;
	f = t - s;
	mandel_stop(s, &r0, &g0, &b0);
	mandel_stop(s + 1, &r1, &g1, &b1);
	rgb[0] = (unsigned char)(MANDEL_ADD(r0, MANDEL_MUL(r1 - r0, f)) + 0.5);
	rgb[1] = (unsigned char)(MANDEL_ADD(g0, MANDEL_MUL(g1 - g0, f)) + 0.5);
	rgb[2] = (unsigned char)(MANDEL_ADD(b0, MANDEL_MUL(b1 - b0, f)) + 0.5);
}

/* The colour of pixel (px, py) of v, the whole per-pixel job. */
CUDA_CALLABLE void
mandel_pixel(const struct mandel_view *v, int px, int py, unsigned char *rgb)
{
	double	cre, cim, zx, zy;
	int	k;

	mandel_coord(v, px, py, &cre, &cim);
	k = mandel_escape(cre, cim, v->iters, &zx, &zy);
	mandel_colour(k, zx, zy, cre, cim, v->iters, rgb);
}

#endif
