/*
 * device: CUDA device discovery, done once, and the per-job device check.
 * Owns the only mutable state of the kernels: the device count.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel_run.h"
#include "kernel_int.h"
#ifdef HAVE_CUDA
#include "device.h"
#endif

static pthread_once_t	 device_once = PTHREAD_ONCE_INIT;
static int		 device_count;	/* written once under device_once */
static int		 device_forced;	/* SLUICE_FORCE_CPU=1 was set */

static void
device_discover(void)
{
	const char *force = getenv("SLUICE_FORCE_CPU");

	if (force != NULL && strcmp(force, "1") == 0) {
		device_forced = 1;
		device_count = 0;
		return;
	}
#ifdef HAVE_CUDA
	device_count = kernel_cuda_device_count();
#else
	device_count = 0;
#endif
}

/*
 * Discovers the devices on the first call; later calls return the same
 * count. Thread-safe.
 */
int
kernel_devices_init(void)
{
	pthread_once(&device_once, device_discover);
	return device_count;
}

/* The device count (discovering devices first if needed). Thread-safe. */
int
kernel_device_count(void)
{
	return kernel_devices_init();
}

/*
 * One line for the log, e.g. "1 CUDA device: cuda:0 NVIDIA H100 (79.1
 * GiB)" or "no CUDA device: CPU only". Always NUL-terminates out when
 * outlen > 0. Thread-safe.
 */
void
kernel_devices_describe(char *out, size_t outlen)
{
	int	n = kernel_devices_init();
	size_t	len;
#ifdef HAVE_CUDA
	char	name[128], err[256];
	size_t	mem;
	int	i;
#endif

	if (outlen == 0)
		return;
	if (n == 0) {
#ifdef HAVE_CUDA
		const char *why = "";
#else
		const char *why = " (built without CUDA)";
#endif

		if (device_forced)
			why = " (SLUICE_FORCE_CPU=1)";
		snprintf(out, outlen, "no CUDA device: CPU only%s", why);
		return;
	}
	snprintf(out, outlen, "%d CUDA device%s:", n, n == 1 ? "" : "s");
#ifdef HAVE_CUDA
	for (i = 0; i < n; i++) {
		len = strlen(out);
		if (len + 1 >= outlen)
			break;
		if (kernel_cuda_device_info(i, name, sizeof(name), &mem, err,
		    sizeof(err)) == -1)
			snprintf(out + len, outlen - len, "%s cuda:%d (%s)",
			    i ? "," : "", i, err);
		else
			snprintf(out + len, outlen - len,
			    "%s cuda:%d %s (%.1f GiB)", i ? "," : "", i, name,
			    mem / (1024.0 * 1024.0 * 1024.0));
	}
#else
	(void)len;
#endif
}

void
kernel_device_label(int device, char *out, size_t outlen)
{
	if (device == KERNEL_CPU)
		snprintf(out, outlen, "cpu");
	else
		snprintf(out, outlen, "cuda:%d",
		    device < 0 || device > 9999 ? -1 : device);
}

int
kernel_device_check(int device, char *err, size_t errlen)
{
	int n;

	if (device == KERNEL_CPU)
		return 0;
	n = kernel_device_count();
	if (device < 0 || device >= n) {
		snprintf(err, errlen, "no CUDA device %d: this machine has "
		    "%d%s", device, n, device_forced ?
		    " (SLUICE_FORCE_CPU=1)" : "");
		return -1;
	}
	return 0;
}

double
kernel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * A failed job on a CUDA device may have broken its context for the
 * whole process (a sticky error: an illegal address, a launch failure,
 * ECC), and CUDA documents that some of those need a new process. So the
 * worker asks after every failed job on a GPU, and a worker whose device
 * is broken ends itself: the supervisor starts a fresh process, with a
 * fresh context, for the next job.
 */
int
kernel_device_broken(int device, char *err, size_t errlen)
{
#ifdef HAVE_CUDA
	if (device >= 0 && device < kernel_device_count())
		return kernel_cuda_device_probe(device, err, errlen) == -1;
#else
	(void)device;
#endif
	if (errlen > 0)
		err[0] = '\0';
	return 0;
}
