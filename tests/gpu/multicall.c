/*
 * multicall: the GPU bundle's one program (make gpu-bundle). sluice-worker,
 * sluice-kernel, the GPU tests and the kernel benchmark, each compiled
 * with its main renamed (-Dmain=multi_NAME), linked into one binary with
 * the static CUDA runtime and static libraries: OpenBLAS alone is 25 MiB
 * static, and four copies would not fit the bundle. Which one runs is the
 * first argument (the bundle's bin/NAME scripts pass it):
 *
 *	sluice-bundle sluice-worker --kernel burn
 */
#include <stdio.h>
#include <string.h>

int	multi_sluice_worker(int, char *[]);
int	multi_sluice_kernel(int, char *[]);
int	multi_test_gpu(int, char *[]);
int	multi_bench_kernels(int, char *[]);

static const struct {
	const char	*name;
	int		(*main)(int, char *[]);
} multi_progs[] = {
	{ "sluice-worker", multi_sluice_worker },
	{ "sluice-kernel", multi_sluice_kernel },
	{ "test_gpu", multi_test_gpu },
	{ "bench_kernels", multi_bench_kernels },
};

int
main(int argc, char *argv[])
{
	size_t	i;

	for (i = 0; argc > 1 && i < sizeof(multi_progs) /
	    sizeof(multi_progs[0]); i++)
		if (strcmp(argv[1], multi_progs[i].name) == 0)
			return multi_progs[i].main(argc - 1, argv + 1);
	fprintf(stderr, "usage: sluice-bundle PROGRAM [ARG ...]\n"
	    "  PROGRAM: sluice-worker, sluice-kernel, test_gpu or "
	    "bench_kernels\n");
	return 2;
}
