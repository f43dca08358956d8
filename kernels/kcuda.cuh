/*
 * kcuda: the one macro every CUDA call in kernels/ goes through. On error it
 * writes "CUDA error: <text> (<call> at <file>:<line>)" into err (which,
 * with errlen, must be in scope), sets rc = -1 and jumps to the function's
 * out: label, where everything is released. It never exits the process.
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

#define KCUDA(call) do {						\
	cudaError_t kcuda_e_ = (call);					\
	if (kcuda_e_ != cudaSuccess) {					\
		kcuda_error(err, errlen, kcuda_e_, #call, __FILE__,	\
		    __LINE__);						\
		rc = -1;						\
		goto out;						\
	}								\
} while (0)

/* After every launch: launch errors and, with sync, execution errors. */
#define KCUDA_LAUNCHED()	KCUDA(cudaGetLastError())

#endif
