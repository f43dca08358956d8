/*
 * kernel_int: what the kernel files share among themselves, the standalone
 * tool, the unit tests and the benchmark. Not used by the responder, which
 * only needs kernel.h.
 */
#ifndef SLUICE_KERNEL_INT_H
#define SLUICE_KERNEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "mandelbrot_core.h"

/* The registered kernels (defined next to their run functions). */
extern const struct kernel	kernel_mandelbrot;
extern const struct kernel	kernel_sgemm;
extern const struct kernel	kernel_burn;

/*
 * Checks that device is usable for a job: KERNEL_CPU always is, an index is
 * when 0 <= device < kernel_device_count(). Fills res->device ("cpu" or
 * "cuda:N"). Returns 0, or -1 with res->error set. Thread-safe.
 */
int	kernel_device_select(int device, struct kernel_result *res);

/* Monotonic clock in milliseconds. Thread-safe. */
double	kernel_now_ms(void);

/*
 * Formats printf-style into a new malloc'd string stored in res->json.
 * Returns 0, or -1 with res->error set (out of memory). The caller of run()
 * frees it with kernel_result_clear().
 */
int	kernel_result_json(struct kernel_result *res, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Sets res->error printf-style and returns -1, for "return kernel_fail()". */
int	kernel_fail(struct kernel_result *res, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Encodes w x h 8-bit RGB pixels (rows packed, 3*w bytes each) as a PNG in
 * memory. Returns 0 and sets *out (malloc'd, caller frees) and *len, or -1
 * with a message in err and *out NULL. Thread-safe.
 */
int	kernel_png_encode(const unsigned char *rgb, unsigned w, unsigned h,
	    unsigned char **out, size_t *len, char *err, size_t errlen);

/*
 * Renders the view into rgb (3 * width * height bytes) on device
 * (KERNEL_CPU: every core). *ms gets the render time (GPU: kernel time).
 * Returns 0, or -1 with err set. Thread-safe.
 */
int	kernel_mandel_render(const struct mandel_view *, int device,
	    unsigned char *rgb, double *ms, char *err, size_t errlen);

/*
 * Escape counts of n points (cre[i], cim[i]) through the CPU path's
 * several-pixels-at-once loop (the one the renderer uses). For tests.
 */
void	kernel_mandel_escape_cpu(const double *cre, const double *cim,
	    size_t n, int iters, int *counts);

/* Threads the CPU paths use: the CPUs this process may run on (>= 1). */
int	kernel_cpu_threads(void);

/*
 * Fills the n x n row-major matrix m (which: 0 for A, 1 for B) with values
 * in [-1, 1) derived from seed by a counter-based splitmix64: element i is
 * a function of (seed, which, i) only. Thread-safe.
 */
void	kernel_sgemm_fill(float *m, size_t n, uint64_t seed, int which);

/*
 * C = A * B for the seed's matrices on device (KERNEL_CPU: OpenBLAS), into
 * the caller's n x n buffer c. *ms gets the multiply time only. Returns 0,
 * or -1 with err set. Thread-safe.
 */
int	kernel_sgemm_compute(int device, size_t n, uint64_t seed, float *c,
	    double *ms, char *err, size_t errlen);

/*
 * Relative error used everywhere for sgemm: |got - want| / max(|want|,
 * scale), scale being the RMS of the compared reference entries, so that
 * entries near zero (where float rounding is absolute, not relative) do not
 * blow the ratio up. 0 when both are 0.
 */
double	kernel_rel_err(double got, double want, double scale);

#endif
