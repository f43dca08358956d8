/*
 * device.cu: CUDA device discovery, probes and the warm-up (see
 * device.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "kcuda.cuh"

static int
cuda_device_count(int *n, char *err, size_t errlen)
{
	int	rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	*n = 0;
	KCUDA(cudaGetDeviceCount(n));
	if (*n < 0)
		*n = 0;
out:
	return rc;
}

static int
cuda_driver_version(void)
{
	int v = 0;

	if (cudaDriverGetVersion(&v) != cudaSuccess)
		v = 0;
	kcuda_clear();
	return v;
}

static int
cuda_runtime_version(void)
{
	int v = 0;

	if (cudaRuntimeGetVersion(&v) != cudaSuccess)
		v = 0;
	kcuda_clear();
	return v;
}

extern "C" const struct kernel_cuda_probe kernel_cuda_runtime = {
	cuda_device_count,
	cuda_driver_version,
	cuda_runtime_version,
	kernel_cuda_device_info,
};

extern "C" int
kernel_cuda_device_info(int dev, char *name, size_t namelen, size_t *mem,
    char *err, size_t errlen)
{
	cudaDeviceProp	p;
	int		rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	KCUDA(cudaGetDeviceProperties(&p, dev));
	if (namelen > 0)
		snprintf(name, namelen, "%s", p.name);
	*mem = p.totalGlobalMem;
out:
	return rc;
}

extern "C" int
kernel_cuda_alloc_probe(int dev, size_t bytes, char *err, size_t errlen)
{
	void	*p = NULL;
	int	 rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaMalloc(&p, bytes));
out:
	if (p != NULL)
		cudaFree(p);
	return rc;
}

extern "C" int
kernel_cuda_device_probe(int dev, char *err, size_t errlen)
{
	size_t	 free_b, total_b;
	int	 rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	KCUDA(cudaSetDevice(dev));
	/* Needs the context, and never waits for kernels that run. */
	KCUDA(cudaMemGetInfo(&free_b, &total_b));
out:
	return rc;
}

/* Writes through a pointer to nowhere: an illegal address, on purpose. */
__global__ void
kcuda_fault_kernel(int *nowhere)
{
	*nowhere = 1;
}

extern "C" int
kernel_cuda_fault(int dev, char *err, size_t errlen)
{
	int	 rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	KCUDA(cudaSetDevice(dev));
	kcuda_fault_kernel<<<1, 1>>>((int *)(uintptr_t)0x10);
	KCUDA_LAUNCHED();
	KCUDA(cudaDeviceSynchronize());
	snprintf(err, errlen, "the fault kernel did not fault");
	rc = -1;
out:
	return rc;
}

extern "C" int
kernel_cuda_warm(int dev, char *err, size_t errlen)
{
	cudaMemPool_t	pool;
	uint64_t	keep = UINT64_MAX;
	int		rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	/*
	 * The context now (with CUDA_MODULE_LOADING=EAGER, its modules
	 * too), made with blocking synchronization: a wait sleeps instead of
	 * spinning a core. Should an earlier call have made the context,
	 * its flags are set anew instead.
	 */
	if (cudaInitDevice(dev, cudaDeviceScheduleBlockingSync, 0) !=
	    cudaSuccess) {
		kcuda_clear();
		KCUDA(cudaSetDevice(dev));
		KCUDA(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync));
	}
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaFree(NULL));
	/* What a job frees stays in the pool for the next job. */
	KCUDA(cudaDeviceGetDefaultMemPool(&pool, dev));
	KCUDA(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold,
	    &keep));
	KCUDA(cudaDeviceSynchronize());
out:
	return rc;
}
