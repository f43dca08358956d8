/*
 * burn.cu: holds a device busy for a given time. Every SM runs one block
 * that spins until the GPU's nanosecond clock (%globaltimer) passes the
 * deadline; clock64() counts SM cycles, whose rate moves with boost and
 * throttling, so it is only used to pace the spin between timer reads.
 */
#include <stddef.h>
#include <stdint.h>

#include "burn.h"
#include "kcuda.cuh"

__device__ __forceinline__ uint64_t
burn_globaltimer(void)
{
	uint64_t t;

	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
}

__global__ void
burn_kernel(uint64_t ns, unsigned long long *sink)
{
	uint64_t	start = burn_globaltimer();
	long long	c0, spins = 0;

	while (burn_globaltimer() - start < ns) {
		c0 = clock64();
		while (clock64() - c0 < 1000)
			;
		spins++;
	}
	if (threadIdx.x == 0 && spins < 0)	/* never: keeps the loop */
		atomicAdd(sink, 1ULL);
}

extern "C" int
burn_cuda(void *job, int dev, char *err, size_t errlen)
{
	const double		 ms = static_cast<struct burn_job *>(job)->ms;
	unsigned long long	*sink = NULL;
	cudaStream_t		 st = NULL;
	int			 sms = 0, rc = 0;
	uint64_t		 ns;

	kcuda_clear();	/* see kcuda.cuh */
	if (!(ms >= 0.0) || ms > 1e9) {
		snprintf(err, errlen, "burn: bad duration");
		return -1;
	}
	ns = (uint64_t)(ms * 1e6);
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount,
	    dev));
	if (sms < 1)
		sms = 1;
	KCUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
	KCUDA(cudaMalloc(&sink, sizeof(*sink)));
	burn_kernel<<<sms, 32, 0, st>>>(ns, sink);
	KCUDA_LAUNCHED();
	KCUDA(cudaStreamSynchronize(st));
out:
	if (st != NULL)
		cudaStreamDestroy(st);
	if (sink != NULL)
		cudaFree(sink);
	return rc;
}
