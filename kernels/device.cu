/*
 * device.cu: CUDA device discovery and probes (see device.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "kcuda.cuh"

extern "C" int
kernel_cuda_device_count(void)
{
	int n = 0;

	kcuda_clear();	/* see kcuda.cuh */
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		kcuda_clear();	/* this call set it: no device */
		return 0;
	}
	return n < 0 ? 0 : n;
}

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
