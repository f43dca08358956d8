/*
 * device: CUDA device discovery, done once (with the reason when it finds
 * none), the warm-up before a worker's first job, and the per-job device
 * check. Owns the only mutable state of the kernels: what discovery asks
 * (the runtime, or a test's stub), the device count and why it is 0.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel_run.h"
#include "kernel_int.h"
#include "device.h"

#ifdef HAVE_CUDA
#define DEVICE_PROBE	(&kernel_cuda_runtime)
#else
#define DEVICE_PROBE	NULL
#endif

static pthread_once_t	 device_once = PTHREAD_ONCE_INIT;
static int		 device_ran;	/* discovery began (set_probe too late) */
static const struct kernel_cuda_probe *device_probe = DEVICE_PROBE;
/* Written once under device_once, read-only afterwards: */
static int		 device_count;
static int		 device_forced;	/* SLUICE_FORCE_CPU=1 was set */
static char		 device_why[384];	/* why none, when a call failed */

int
kernel_devices_set_probe(const struct kernel_cuda_probe *p)
{
	if (device_ran)
		return -1;
	device_probe = p;
	return 0;
}

/* The driver series each CUDA runtime major version needs, newest first. */
static const struct {
	int		 major;
	const char	*driver;
} device_drivers[] = {
	{ 13, "580" },
	{ 12, "525" },
	{ 11, "450" },
};

void
kernel_cuda_explain(char *out, size_t outlen, const char *err, int driver,
    int runtime)
{
	const char	*need = NULL;
	char		 want[64] = "";
	size_t		 i;

	if (outlen == 0)
		return;
	for (i = 0; i < sizeof(device_drivers) / sizeof(device_drivers[0]);
	    i++)
		if (runtime / 1000 >= device_drivers[i].major) {
			need = device_drivers[i].driver;
			break;
		}
	if (need != NULL)
		snprintf(want, sizeof(want), ": it needs driver %s or newer",
		    need);
	if (driver <= 0)
		snprintf(out, outlen, "%s; no CUDA driver found (libcuda.so.1)"
		    "; this build's runtime is CUDA %d.%d%s", err,
		    runtime / 1000, runtime % 1000 / 10, want);
	else if (driver < runtime)
		snprintf(out, outlen, "%s; the driver supports CUDA %d.%d, "
		    "this build's runtime is CUDA %d.%d%s", err, driver / 1000,
		    driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10,
		    want);
	else
		snprintf(out, outlen, "%s; the driver supports CUDA %d.%d", err,
		    driver / 1000, driver % 1000 / 10);
}

static void
device_discover(void)
{
	const char	*force = getenv("SLUICE_FORCE_CPU");
	char		 err[256];
	int		 n = 0;

	device_ran = 1;
	if (force != NULL && strcmp(force, "1") == 0) {
		device_forced = 1;
		return;
	}
	if (device_probe == NULL)
		return;
	if (device_probe->device_count(&n, err, sizeof(err)) == -1) {
		kernel_cuda_explain(device_why, sizeof(device_why), err,
		    device_probe->driver_version(),
		    device_probe->runtime_version());
		return;
	}
	device_count = n;
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

/* Why there is no device: " (reason)", or "" when CUDA found none. */
static void
device_none_why(char *out, size_t outlen)
{
	if (device_forced)
		snprintf(out, outlen, " (SLUICE_FORCE_CPU=1)");
	else if (device_probe == NULL)
		snprintf(out, outlen, " (built without CUDA)");
	else if (device_why[0] != '\0')
		snprintf(out, outlen, " (%s)", device_why);
	else
		snprintf(out, outlen, "%s", "");
}

/*
 * One line for the log, e.g. "1 CUDA device: cuda:0 NVIDIA H100 (79.1
 * GiB)", "no CUDA device: CPU only (CUDA error: ...; the driver supports
 * CUDA 12.4, this build's runtime is CUDA 13.0: it needs driver 580 or
 * newer)". Always NUL-terminates out when outlen > 0. Thread-safe.
 */
void
kernel_devices_describe(char *out, size_t outlen)
{
	int	n = kernel_devices_init(), i;
	char	name[128], err[256], why[sizeof(device_why) + 8];
	size_t	len, mem;

	if (outlen == 0)
		return;
	if (n == 0) {
		device_none_why(why, sizeof(why));
		snprintf(out, outlen, "no CUDA device: CPU only%s", why);
		return;
	}
	snprintf(out, outlen, "%d CUDA device%s:", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		len = strlen(out);
		if (len + 1 >= outlen)
			break;
		if (device_probe->device_info(i, name, sizeof(name), &mem, err,
		    sizeof(err)) == -1)
			snprintf(out + len, outlen - len, "%s cuda:%d (%s)",
			    i ? "," : "", i, err);
		else
			snprintf(out + len, outlen - len,
			    "%s cuda:%d %s (%.1f GiB)", i ? "," : "", i, name,
			    mem / (1024.0 * 1024.0 * 1024.0));
	}
}

int
kernel_device_warm(int device, char *err, size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	if (device == KERNEL_CPU || device < 0 ||
	    device >= kernel_device_count())
		return 0;
#ifdef HAVE_CUDA
	return kernel_cuda_warm(device, err, errlen);
#else
	return 0;
#endif
}

int
kernel_device_fault_armed(void)
{
	const char *path = getenv("SLUICE_TEST_FAULT_ONCE");

	return path != NULL && *path != '\0' && unlink(path) == 0;
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
