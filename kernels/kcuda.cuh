/*
 * kcuda: the one macro every CUDA call in kernels/ goes through. On error it
 * writes "CUDA error: <text> (<call> at <file>:<line>)" into err (which,
 * with errlen, must be in scope), sets rc = -1 and jumps to the function's
 * out: label, where everything is released. It never exits the process.
 * Entry points call kcuda_clear() first (see there).
 */
#ifndef SLUICE_KCUDA_CUH
#define SLUICE_KCUDA_CUH

#include <stdio.h>
#include <string.h>
#include <cuda_runtime.h>

static inline void
kcuda_error(char *err, size_t errlen, cudaError_t e, const char *call,
    const char *file, int line)
{
	const char *base = strrchr(file, '/');

	if (err == NULL || errlen == 0)
		return;
	snprintf(err, errlen, "CUDA error: %s (%s at %s:%d)",
	    cudaGetErrorString(e), call, base ? base + 1 : file, line);
}

/*
 * Clears this thread's last CUDA error. cudaGetLastError() reports the
 * last error of any earlier runtime call on the calling thread, not only
 * of the launch just made, so without this a failed cudaMalloc in one job
 * would fail the next job that a worker thread runs (at its
 * KCUDA_LAUNCHED). Every extern "C" entry point of a .cu file calls it
 * first, which also covers errors of the clean-up calls after an out:
 * label. A sticky error (a corrupted context) is not cleared: every call
 * fails then.
 */
static inline void
kcuda_clear(void)
{
	(void)cudaGetLastError();
}

/* The failing call also set the thread's last error: cleared, reported. */
#define KCUDA(call) do {						\
	cudaError_t kcuda_e_ = (call);					\
	if (kcuda_e_ != cudaSuccess) {					\
		kcuda_error(err, errlen, kcuda_e_, #call, __FILE__,	\
		    __LINE__);						\
		kcuda_clear();						\
		rc = -1;						\
		goto out;						\
	}								\
} while (0)

/*
 * After every launch: launch errors and, with sync, execution errors.
 * Only meaningful because the entry point began with kcuda_clear().
 */
#define KCUDA_LAUNCHED()	KCUDA(cudaGetLastError())

#endif
