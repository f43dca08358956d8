/*
 * device.h: device discovery's seams and the CUDA device calls device.cu
 * offers device.c, the kernels, sluice-worker and the tests.
 *
 * The first part is in every build: CUDA_CALLABLE, the CUDA runtime calls
 * discovery makes (a table a test replaces with a stub), the explanation
 * of a failed discovery, the warm-up and the test-only fault switch. The
 * second part (kernel_cuda_*) is only built and called when HAVE_CUDA is
 * defined: each selects its device with cudaSetDevice, returns 0, or -1
 * with the CUDA error text (call, file, line) in err; none exits or
 * aborts the process. All are thread-safe (the CUDA runtime is; each call
 * owns its buffers). The kernels' own CUDA entries are declared in their
 * headers (burn.h, ...).
 */
#ifndef SLUICE_DEVICE_H
#define SLUICE_DEVICE_H

#include <stddef.h>

/*
 * A function the CPU path and a CUDA kernel share (mandelbrot_core.h,
 * burn.h, sgemm.h): inline for both under nvcc, static inline for C.
 */
#ifdef __CUDACC__
#define CUDA_CALLABLE	__host__ __device__ __forceinline__
#else
#define CUDA_CALLABLE	static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * What device discovery asks the CUDA runtime (device.cu's
 * kernel_cuda_runtime in a CUDA build), so that a test can stand in for a
 * runtime that fails.
 */
struct kernel_cuda_probe {
	/* cudaGetDeviceCount: 0 with *n, or -1 with the CUDA error text. */
	int	(*device_count)(int *n, char *err, size_t errlen);
	/* cudaDriverGetVersion: 13000 for 13.0; 0 without a driver. */
	int	(*driver_version)(void);
	/* cudaRuntimeGetVersion: the runtime linked in. */
	int	(*runtime_version)(void);
	/* Name and global memory of device dev (as kernel_cuda_device_info). */
	int	(*device_info)(int dev, char *name, size_t namelen,
		    size_t *mem, char *err, size_t errlen);
};

/*
 * Replaces the runtime discovery asks (NULL: none, as in a build without
 * CUDA). For tests: call before anything else discovers devices; once
 * discovery ran, returns -1 and changes nothing, else 0. Not thread-safe.
 */
int	kernel_devices_set_probe(const struct kernel_cuda_probe *);

/*
 * Why discovery found no device, for the log: writes into out what the
 * failing call said (err, e.g. "CUDA driver version is insufficient for
 * CUDA runtime version") and what the versions mean: no driver at all, a
 * driver older than the runtime (and the driver series the runtime needs:
 * CUDA 13 needs 580 or newer), or else the driver's CUDA version.
 * driver and runtime are CUDA versions (12040 is 12.4). Always
 * NUL-terminates out when outlen > 0. Thread-safe.
 */
void	kernel_cuda_explain(char *out, size_t outlen, const char *err,
	    int driver, int runtime);

/*
 * Readies device for jobs before a worker says ready: in a CUDA build the
 * context (made with blocking synchronization, so that a wait sleeps),
 * the memory pool told to keep what jobs free (so that the next job's
 * stream-ordered allocations are not made again); nothing for KERNEL_CPU
 * or without CUDA. Returns 0, or -1 with the CUDA error in err.
 */
int	kernel_device_warm(int device, char *err, size_t errlen);

/*
 * Tests only: 1 when the environment variable SLUICE_TEST_FAULT_ONCE
 * names a file that exists, which this call removes: the GPU burn job
 * that asked then breaks its context on purpose (kernel_cuda_fault), so
 * that the tests of a worker that ends on a broken context can drive the
 * real sluice-worker. Every later job (and every later worker with the
 * same environment) runs normally. 0 otherwise. Thread-safe.
 */
int	kernel_device_fault_armed(void);

#if defined(HAVE_CUDA) || defined(__CUDACC__)
/* device.cu: the CUDA runtime itself, what discovery asks by default. */
extern const struct kernel_cuda_probe kernel_cuda_runtime;

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
 * address), for the tests of a worker that ends on a broken context.
 * Returns -1 with the CUDA error.
 */
int	kernel_cuda_fault(int dev, char *err, size_t errlen);
/* kernel_device_warm's CUDA part. */
int	kernel_cuda_warm(int dev, char *err, size_t errlen);
#endif

#ifdef __cplusplus
}
#endif

#endif
