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

/*
 * Waits for everything queued on st so far without spinning a core: the
 * wait is on an event made with cudaEventBlockingSync, so the thread
 * sleeps until the GPU is done (a plain cudaStreamSynchronize spins for
 * the whole job unless the context was made with blocking sync). Returns
 * the first CUDA error (of the wait: the work's own error too).
 */
static inline cudaError_t
kcuda_wait(cudaStream_t st)
{
	cudaEvent_t	ev = NULL;
	cudaError_t	e;

	e = cudaEventCreateWithFlags(&ev, cudaEventBlockingSync |
	    cudaEventDisableTiming);
	if (e == cudaSuccess)
		e = cudaEventRecord(ev, st);
	if (e == cudaSuccess)
		e = cudaEventSynchronize(ev);
	if (ev != NULL)
		(void)cudaEventDestroy(ev);
	return e;
}

/*
 * Device memory for one job: stream-ordered (the device's memory pool),
 * so that allocating and freeing never synchronize the device the way
 * cudaMalloc and cudaFree do. Freed with kcuda_free() on the same stream,
 * NULL being a no-op (for out: labels); a freeing error is left for the
 * next entry's kcuda_clear().
 */
#define KCUDA_ALLOC(ptr, bytes, st)	KCUDA(cudaMallocAsync((void **)&(ptr), \
					    (bytes), (st)))

static inline void
kcuda_free(void *p, cudaStream_t st)
{
	if (p != NULL)
		(void)cudaFreeAsync(p, st);
}

#endif
