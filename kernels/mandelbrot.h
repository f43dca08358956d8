/*
 * mandelbrot.h: what mandelbrot.c, mandelbrot.cu and the tests share:
 * the kernel's job, its CUDA entry, and the CPU path's hooks for tests and
 * benchmarks. The per-pixel arithmetic itself is in mandelbrot_core.h.
 */
#ifndef SLUICE_MANDELBROT_H
#define SLUICE_MANDELBROT_H

#include <stddef.h>

#include "mandelbrot_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Its parameters, in the order of its spec table (mandelbrot_spec.c). */
enum { MB_CX, MB_CY, MB_SCALE, MB_WIDTH, MB_HEIGHT, MB_ITERS, MB__MAX };

/* Its spec (mandelbrot_spec.c): name, title and the parameter table. */
struct kernel_spec;
extern const struct kernel_spec kernel_spec_mandelbrot;

/* One render: the view, the caller's pixels, the time it took. */
struct mandel_job {
	struct mandel_view	 v;
	unsigned char		*rgb;	/* 3 * width * height bytes */
	double			 ms;	/* out: render time (GPU: kernel) */
};

/*
 * mandelbrot.cu, a kernel_entry_fn: renders the job's view into its rgb,
 * one thread per pixel. Returns 0, or -1 with the CUDA error in err.
 */
int	mandel_cuda(void *job, int dev, char *err, size_t errlen);

/*
 * Renders the view into rgb (3 * width * height bytes) on device
 * (KERNEL_CPU: every core) through the dispatcher. *ms gets the render
 * time (GPU: kernel time). Returns 0, or -1 with err set. Thread-safe.
 */
int	kernel_mandel_render(const struct mandel_view *, int device,
	    unsigned char *rgb, double *ms, char *err, size_t errlen);

/*
 * Escape counts of n points (cre[i], cim[i]) through the CPU path's
 * several-pixels-at-once loop (the one the renderer uses). For tests.
 */
void	kernel_mandel_escape_cpu(const double *cre, const double *cim,
	    size_t n, int iters, int *counts);

#ifdef __cplusplus
}
#endif

#endif
