/*
 * dispatch: the one place that chooses where a kernel's job runs. It
 * checks the device, picks the kernel's cpu or cuda entry for it, and
 * says "built without CUDA" when a build has no cuda entries; kernels
 * themselves never test for CUDA.
 */
#include "config.h"

#include <stdio.h>

#include "kernel_run.h"
#include "kernel_int.h"

#ifdef HAVE_CUDA
static const int	dispatch_with_cuda = 1;
#else
static const int	dispatch_with_cuda = 0;
#endif

/*
 * k's entry for device, once the device is checked; NULL with the reason
 * in err when the device is not usable or k has no entry for it: in a
 * build without CUDA no kernel has a cuda entry, in one with CUDA a
 * CPU-only kernel has none.
 */
static kernel_entry_fn *
dispatch_entry(const struct kernel *k, int device, char *err, size_t errlen)
{
	kernel_entry_fn *entry;

	if (kernel_device_check(device, err, errlen) == -1)
		return NULL;
	entry = device == KERNEL_CPU ? k->cpu : k->cuda;
	if (entry != NULL)
		return entry;
	if (device == KERNEL_CPU)
		snprintf(err, errlen, "%s: no CPU path", k->spec->name);
	else if (dispatch_with_cuda)
		snprintf(err, errlen, "%s: no CUDA path", k->spec->name);
	else
		snprintf(err, errlen, "built without CUDA");
	return NULL;
}

int
kernel_dispatch(const struct kernel *k, const double *params, int device,
    struct kernel_result *res)
{
	kernel_entry_fn *entry;

	if (k->run != NULL)
		return k->run(params, device, res);
	kernel_device_label(device, res->device, sizeof(res->device));
	entry = dispatch_entry(k, device, res->error, sizeof(res->error));
	if (entry == NULL)
		return -1;
	return k->job(params, device, entry, res);
}

int
kernel_compute(const struct kernel *k, int device, void *job, char *err,
    size_t errlen)
{
	kernel_entry_fn *entry;

	if ((entry = dispatch_entry(k, device, err, errlen)) == NULL)
		return -1;
	return entry(job, device, err, errlen);
}
