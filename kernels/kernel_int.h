/*
 * kernel_int: the helpers every kernel file uses: the device step through
 * the dispatcher, the device check, filling the result. Not used by the responder, which
 * only needs kernel.h. What one kernel shares with its .cu file and the
 * tests is in its own header (burn.h, mandelbrot.h, sgemm.h), not here.
 */
#ifndef SLUICE_KERNEL_INT_H
#define SLUICE_KERNEL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_run.h"

/*
 * Before a function whose loops are written to vectorize (fixed-count
 * inner loops over lanes, no branches): builds x86-64 copies for AVX-512
 * (x86-64-v4: 64-bit lane multiplies) and AVX2 beside the baseline one,
 * picked at load time. Nothing elsewhere, nor under TSan (ifunc
 * resolvers run before its runtime is set up).
 */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(__SANITIZE_THREAD__)
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", \
    "avx2", "default")))
#endif
#endif
#ifndef KERNEL_CLONES
#define KERNEL_CLONES
#endif

/*
 * A kernel's CUDA entry, as its struct kernel names it:
 *	.cuda = KERNEL_CUDA(NAME_cuda),
 * the entry (defined in NAME.cu) in a build with CUDA, NULL without one;
 * then the entry is declared but never referenced, and kernel_dispatch()
 * answers "built without CUDA".
 */
#ifdef HAVE_CUDA
#define KERNEL_CUDA(entry)	(entry)
#else
#define KERNEL_CUDA(entry)	NULL
#endif

/*
 * Computes job (k's job struct) on device through k's entry for it, the
 * device checked as by kernel_dispatch(): the device step alone, for the
 * kernels' own helpers, tests and benchmarks. Returns 0, or -1 with err
 * set. Thread-safe.
 */
int	kernel_compute(const struct kernel *k, int device, void *job,
	    char *err, size_t errlen);

/*
 * Checks that device is usable for a job: KERNEL_CPU always is, an index is
 * when 0 <= device < kernel_device_count(). Returns 0, or -1 with the
 * reason in err ("no CUDA device 3: this machine has 1"). Thread-safe.
 */
int	kernel_device_check(int device, char *err, size_t errlen);

/* Writes device's label, "cpu" or "cuda:N", into out. */
void	kernel_device_label(int device, char *out, size_t outlen);

/* Monotonic clock in milliseconds. Thread-safe. */
double	kernel_now_ms(void);

/*
 * Formats printf-style into a new malloc'd string stored in res->json.
 * Returns 0, or -1 with res->error set (out of memory). The caller of the
 * job frees it with kernel_result_clear().
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

/* Threads the CPU paths use: the CPUs this process may run on (>= 1). */
int	kernel_cpu_threads(void);

#endif
