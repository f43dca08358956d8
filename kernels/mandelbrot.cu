/*
 * mandelbrot.cu: one thread per pixel, each running mandel_pixel() from
 * mandelbrot_core.h, the function the CPU path shares. The image buffer
 * comes from the device's memory pool on the job's stream (no device-wide
 * synchronization), and the host sleeps while the GPU renders.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kcuda.cuh"
#include "mandelbrot.h"

__global__ void
mandel_kernel(struct mandel_view v, unsigned char *rgb)
{
	int px = blockIdx.x * blockDim.x + threadIdx.x;
	int py = blockIdx.y * blockDim.y + threadIdx.y;

	if (px >= v.width || py >= v.height)
		return;
	mandel_pixel(&v, px, py, rgb + 3 * ((size_t)py * v.width + px));
}

extern "C" int
mandel_cuda(void *job, int dev, char *err, size_t errlen)
{
	struct mandel_job		*j =
					    static_cast<struct mandel_job *>(job);
	const struct mandel_view	*v = &j->v;
	unsigned char			*rgb = j->rgb;
	unsigned char			*d = NULL;
	cudaStream_t			 st = NULL;
	cudaEvent_t			 e0 = NULL, e1 = NULL;
	size_t				 bytes;
	float				 t = 0;
	dim3				 block(16, 16), grid;
	int				 rc = 0;

	kcuda_clear();	/* see kcuda.cuh */
	if (v->width < 1 || v->height < 1 || v->width > 65535 ||
	    v->height > 65535) {
		snprintf(err, errlen, "mandelbrot: bad image size");
		return -1;
	}
	bytes = 3 * (size_t)v->width * (size_t)v->height;
	grid = dim3((v->width + block.x - 1) / block.x,
	    (v->height + block.y - 1) / block.y);
	KCUDA(cudaSetDevice(dev));
	KCUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
	KCUDA(cudaEventCreate(&e0));
	KCUDA(cudaEventCreate(&e1));
	KCUDA_ALLOC(d, bytes, st);
	/* Loads the kernel's module now, not inside the timed region. */
	{
		cudaFuncAttributes fa;

		KCUDA(cudaFuncGetAttributes(&fa, mandel_kernel));
	}
	KCUDA(cudaEventRecord(e0, st));
	mandel_kernel<<<grid, block, 0, st>>>(*v, d);
	KCUDA_LAUNCHED();
	KCUDA(cudaEventRecord(e1, st));
	/* Asleep until the render is done; then the (pageable) copy. */
	KCUDA(kcuda_wait(st));
	KCUDA(cudaMemcpyAsync(rgb, d, bytes, cudaMemcpyDeviceToHost, st));
	KCUDA(kcuda_wait(st));
	KCUDA(cudaEventElapsedTime(&t, e0, e1));
	j->ms = t;
out:
	kcuda_free(d, st);
	if (e0 != NULL)
		cudaEventDestroy(e0);
	if (e1 != NULL)
		cudaEventDestroy(e1);
	if (st != NULL)
		cudaStreamDestroy(st);
	return rc;
}
