/*
 * device.cu: CUDA device discovery and probes (see kernel_cuda.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "kernel_cuda.h"
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
