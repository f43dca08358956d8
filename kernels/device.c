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

#include "kernel.h"
#include "kernel_int.h"
#ifdef HAVE_CUDA
#include "kernel_cuda.h"
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

int
kernel_device_select(int device, struct kernel_result *res)
{
	int n;

	if (device == KERNEL_CPU) {
		snprintf(res->device, sizeof(res->device), "cpu");
		return 0;
	}
	snprintf(res->device, sizeof(res->device), "cuda:%d",
	    device < 0 || device > 9999 ? -1 : device);
	n = kernel_device_count();
	if (device < 0 || device >= n)
		return kernel_fail(res, "no CUDA device %d: this machine has "
		    "%d%s", device, n, device_forced ?
		    " (SLUICE_FORCE_CPU=1)" : "");
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
 * Device health: per CUDA device, jobs failed in a row and in total. A job
 * error on a device (launch, allocation, illegal address) fails only that
 * job, but a device that keeps failing is worth an operator's attention:
 * it is logged once per KERNEL_DEVICE_WARN failures in a row and counted
 * for /metrics and /status.json.
 */
#define KERNEL_DEVICE_SLOTS	64
#define KERNEL_DEVICE_WARN	3

static pthread_mutex_t	 health_mu = PTHREAD_MUTEX_INITIALIZER;
static long		 health_fail[KERNEL_DEVICE_SLOTS];
static long		 health_streak[KERNEL_DEVICE_SLOTS];

int
kernel_run(const struct kernel *k, const double *params, int device,
    struct kernel_result *res)
{
	long	 streak = 0;
	int	 rc;

	rc = k->run(params, device, res);
	if (device < 0 || device >= KERNEL_DEVICE_SLOTS)
		return rc;
	pthread_mutex_lock(&health_mu);
	if (rc == 0)
		health_streak[device] = 0;
	else {
		health_fail[device]++;
		streak = ++health_streak[device];
	}
	pthread_mutex_unlock(&health_mu);
	if (streak > 0 && streak % KERNEL_DEVICE_WARN == 0)
		fprintf(stderr, "level=warn msg=\"device keeps failing\" "
		    "device=cuda:%d failures_in_a_row=%ld last_error=\"%.120s\"\n",
		    device, streak, res->error);
	return rc;
}

void
kernel_device_health(int device, long *failures, long *in_a_row)
{
	*failures = *in_a_row = 0;
	if (device < 0 || device >= KERNEL_DEVICE_SLOTS)
		return;
	pthread_mutex_lock(&health_mu);
	*failures = health_fail[device];
	*in_a_row = health_streak[device];
	pthread_mutex_unlock(&health_mu);
}
