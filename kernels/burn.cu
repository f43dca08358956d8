/*
 * burn.cu: holds a device busy for a given time. A first kernel sets the
 * deadline on the GPU's nanosecond clock (%globaltimer); then step after
 * step every SM runs one block that spins until the step's end or the
 * deadline, whichever comes first (burn_before(), signed: a clock that
 * steps back never ends the burn early). Between steps the host, asleep
 * while a step runs, reports progress and sees a cancel. clock64() counts
 * SM cycles, whose rate moves with boost and throttling, so it only paces
 * the spin between timer reads.
 */
#include <stddef.h>
#include <stdint.h>

#include "burn.h"
#include "device.h"
#include "kcuda.cuh"

__device__ __forceinline__ uint64_t
burn_globaltimer(void)
{
	uint64_t t;

	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
}

/* clk[0] = the deadline, ns from now; clk[1] = now. */
__global__ void
burn_start_kernel(uint64_t ns, unsigned long long *clk)
{
	uint64_t now = burn_globaltimer();

	clk[0] = burn_deadline(now, ns);
	clk[1] = now;
}

/* Spins for step ns or until the deadline clk[0]; clk[1] = when it ended. */
__global__ void
burn_step_kernel(uint64_t step, unsigned long long *clk)
{
	__shared__ uint64_t	until;
	long long		c0;

	if (threadIdx.x == 0) {
		uint64_t end = burn_deadline(burn_globaltimer(), step);

		until = burn_before(end, clk[0]) ? end : clk[0];
	}
	__syncthreads();
	while (burn_before(burn_globaltimer(), until)) {
		c0 = clock64();
		while (clock64() - c0 < 1000)
			;
	}
	if (blockIdx.x == 0 && threadIdx.x == 0)
		clk[1] = burn_globaltimer();
}

extern "C" int
burn_cuda(void *job, int dev, char *err, size_t errlen)
{
	const struct burn_job	*j = static_cast<struct burn_job *>(job);
	unsigned long long	*clk = NULL, host[2];
	cudaStream_t		 st = NULL;
	int			 sms = 0, rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	if (!(j->ms >= 0.0) || j->ms > 1e9) {
		snprintf(err, errlen, "burn: bad duration");
		return -1;
	}
	if (kernel_device_fault_armed())	/* tests only: see device.h */
		return kernel_cuda_fault(dev, err, errlen);
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount,
	    dev));
	KCUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
	KCUDA_ALLOC(clk, sizeof(host), st);
	burn_start_kernel<<<1, 1, 0, st>>>((uint64_t)(j->ms * 1e6), clk);
	KCUDA_LAUNCHED();
	for (;;) {
		burn_step_kernel<<<sms > 0 ? sms : 1, 32, 0, st>>>(
		    BURN_STEP_MS * 1000000ULL, clk);
		KCUDA_LAUNCHED();
		KCUDA(kcuda_wait(st));
		KCUDA(cudaMemcpyAsync(host, clk, sizeof(host),
		    cudaMemcpyDeviceToHost, st));
		KCUDA(kcuda_wait(st));
		if (!burn_before(host[1], host[0]))
			break;
		if (j->tick != NULL && j->tick(j->ms - (double)(host[0] -
		    host[1]) / 1e6, j->ms)) {
			snprintf(err, errlen, "cancelled");
			rc = -1;
			goto out;
		}
	}
	if (j->tick != NULL)
		(void)j->tick(j->ms, j->ms);
out:
	kcuda_free(clk, st);
	if (st != NULL)
		cudaStreamDestroy(st);
	return rc;
}
