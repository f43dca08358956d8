/* mandelbrot: the view to render (the spec the responder reads; mandelbrot.c runs it). */
#include "kernel.h"
#include "mandelbrot.h"

static const struct kparam_spec mandel_params[MB__MAX] = {
	[MB_CX] = KPARAM_NUMBER("cx", KPARAM_FLOAT, -4, 4, -0.5, 0,
	    "Centre (real)", ""),
	[MB_CY] = KPARAM_NUMBER("cy", KPARAM_FLOAT, -4, 4, 0, 0,
	    "Centre (imaginary)", ""),
	[MB_SCALE] = KPARAM_NUMBER("scale", KPARAM_FLOAT, 1e-13, 16, 3, 0,
	    "View width", ""),
	[MB_WIDTH] = KPARAM_NUMBER("width", KPARAM_INT, 16, 4096, 800, 1,
	    "Width", "px"),
	[MB_HEIGHT] = KPARAM_NUMBER("height", KPARAM_INT, 16, 4096, 600, 1,
	    "Height", "px"),
	[MB_ITERS] = KPARAM_NUMBER("iters", KPARAM_INT, 16, 100000, 500, 1,
	    "Iterations", ""),
};

const struct kernel_spec kernel_spec_mandelbrot = {
	.name = "mandelbrot",
	.title = "Mandelbrot set",
	.params = mandel_params,
	.nparams = MB__MAX,
};
