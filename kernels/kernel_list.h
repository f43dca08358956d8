/*
 * kernel_list: the built-in kernels, one line each, in the order of the
 * forms. X(NAME) stands for kernel_spec_NAME (kernels/NAME_spec.c: what
 * the responder knows) and kernel_NAME (kernels/NAME.c: how it runs).
 */
#ifndef SLUICE_KERNEL_LIST_H
#define SLUICE_KERNEL_LIST_H

#define KERNEL_LIST(X)	\
	X(mandelbrot)	\
	X(sgemm)	\
	X(burn)

#endif
