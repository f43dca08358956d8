/*
 * device.h: what device.cu offers device.c and the tests: CUDA device
 * discovery and probes, callable from C. Only built and called
 * when HAVE_CUDA is defined. Each one selects its device with
 * cudaSetDevice, returns 0, or -1 with the CUDA error text (call, file,
 * line) in err; none of them exits or aborts the process. All are
 * thread-safe (the CUDA runtime is; each call owns its buffers). The
 * kernels' own CUDA entries are declared in their headers (burn.h, ...).
 */
#ifndef SLUICE_DEVICE_H
#define SLUICE_DEVICE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices; 0 on any error (no driver, no device). */
int	kernel_cuda_device_count(void);
/* Name and global memory of device dev. */
int	kernel_cuda_device_info(int dev, char *name, size_t namelen,
	    size_t *mem, char *err, size_t errlen);
/* Tries to allocate bytes on dev and frees them (diagnostics, tests). */
int	kernel_cuda_alloc_probe(int dev, size_t bytes, char *err,
	    size_t errlen);
/*
 * 0 when dev's context in this process works, -1 with the error when it
 * does not (a sticky error: illegal address, launch failure, ECC...).
 * Never waits for running kernels.
 */
int	kernel_cuda_device_probe(int dev, char *err, size_t errlen);
/*
 * Breaks dev's context on purpose (a kernel writing to an illegal
 * address), for the tests of a worker that ends on a broken context. Returns -1 with
 * the CUDA error.
 */
int	kernel_cuda_fault(int dev, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
