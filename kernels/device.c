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
 * Device health: per CUDA device, jobs failed in a row and in total. A job
 * error on a device (launch, allocation) fails only that job, but a device
 * that keeps failing is worth an operator's attention: it is logged once
 * per KERNEL_DEVICE_WARN failures in a row and counted for /metrics.
 *
 * A sticky error (illegal address, launch failure, ECC) is worse: it
 * corrupts the device's context for the whole process, and every later
 * job on that device would fail at once, swallowing its queue. So after a
 * failed job the device is probed; when its context is gone, it is reset
 * (cudaDeviceReset) once nothing else runs on it: jobs hold the device's
 * guard shared, a reset holds it alone. If the reset does not bring it
 * back, jobs on it fail at once with that reason ("unusable") and a new
 * reset is tried every KERNEL_DEVICE_RETRY_MS.
 */
#define KERNEL_DEVICE_SLOTS	64
#define KERNEL_DEVICE_WARN	3
#define KERNEL_DEVICE_RETRY_MS	30000.0

struct device_guard {
	pthread_rwlock_t rw;		/* jobs: shared; a reset: alone */
	/* Written under rw held alone, read under rw held shared. */
	unsigned long	 resets;	/* resets tried */
	int		 unusable;	/* the last reset failed */
	double		 retry_ms;	/* then: next reset not before */
	char		 why[160];	/* then: its error */
};

static pthread_mutex_t	 health_mu = PTHREAD_MUTEX_INITIALIZER;
static long		 health_fail[KERNEL_DEVICE_SLOTS];
static long		 health_streak[KERNEL_DEVICE_SLOTS];

static pthread_once_t	 guard_once = PTHREAD_ONCE_INIT;
static struct device_guard guards[KERNEL_DEVICE_SLOTS];

#ifdef HAVE_CUDA
static const struct kernel_device_ops device_ops_cuda = {
	kernel_cuda_device_probe, kernel_cuda_device_reset
};
static const struct kernel_device_ops *_Atomic device_ops = &device_ops_cuda;
#else
static const struct kernel_device_ops *_Atomic device_ops = NULL;
#endif

static void
guards_init(void)
{
	pthread_rwlockattr_t	 a;
	int			 i;

	/* A stream of jobs must not keep a reset waiting for ever. */
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < KERNEL_DEVICE_SLOTS; i++)
		pthread_rwlock_init(&guards[i].rw, &a);
	pthread_rwlockattr_destroy(&a);
}

void
kernel_device_set_ops(const struct kernel_device_ops *ops)
{
#ifdef HAVE_CUDA
	device_ops = ops != NULL ? ops : &device_ops_cuda;
#else
	device_ops = ops;
#endif
}

/*
 * Resets device unless another thread did since this one read resets as
 * seen, then records the outcome. Called with the guard not held.
 */
static void
device_reset(int device, unsigned long seen, const char *why)
{
	const struct kernel_device_ops	*ops = device_ops;
	struct device_guard		*g = &guards[device];
	char				 err[160];
	int				 rc;

	if (ops == NULL)
		return;
	pthread_rwlock_wrlock(&g->rw);
	if (g->resets != seen)
		goto out;	/* done meanwhile by a job that failed too */
	g->resets++;
	err[0] = '\0';
	rc = ops->reset(device, err, sizeof(err));
	g->unusable = rc == -1;
	g->retry_ms = kernel_now_ms() + KERNEL_DEVICE_RETRY_MS;
	snprintf(g->why, sizeof(g->why), "%s", rc == -1 ? err : "");
	if (rc == 0)
		fprintf(stderr, "level=warn msg=\"device reset after an error "
		    "that broke its context\" device=cuda:%d error=\"%.120s\"\n",
		    device, why);
	else
		fprintf(stderr, "level=error msg=\"device unusable: reset "
		    "failed; jobs on it fail until a reset works (tried every "
		    "%.0f s) or sluice restarts\" device=cuda:%d "
		    "error=\"%.120s\"\n", KERNEL_DEVICE_RETRY_MS / 1000, device,
		    err);
out:
	pthread_rwlock_unlock(&g->rw);
}

/* Whether device exists (test ops pretend that every index does). */
static int
device_known(const struct kernel_device_ops *ops, int device)
{
#ifdef HAVE_CUDA
	if (ops == &device_ops_cuda)
		return device < kernel_device_count();
#endif
	(void)ops;
	(void)device;
	return 1;
}

/* Runs k on a CUDA device under its guard; see above. */
static int
device_run(const struct kernel *k, const double *params, int device,
    struct kernel_result *res)
{
	const struct kernel_device_ops	*ops = device_ops;
	struct device_guard		*g = &guards[device];
	unsigned long			 seen;
	char				 err[160];
	int				 rc, retry;

	pthread_once(&guard_once, guards_init);
	pthread_rwlock_rdlock(&g->rw);
	retry = g->unusable && kernel_now_ms() >= g->retry_ms;
	if (retry) {
		seen = g->resets;
		pthread_rwlock_unlock(&g->rw);
		device_reset(device, seen, "retrying an unusable device");
		pthread_rwlock_rdlock(&g->rw);
	}
	if (g->unusable) {
		rc = kernel_fail(res, "CUDA device %d is unusable: %s", device,
		    g->why);
		pthread_rwlock_unlock(&g->rw);
		return rc;
	}
	seen = g->resets;
	rc = kernel_dispatch(k, params, device, res);
	pthread_rwlock_unlock(&g->rw);
	/*
	 * Most failures (a failed allocation) leave the context working; a
	 * device this machine does not have has none to reset.
	 */
	if (rc == -1 && ops != NULL && device_known(ops, device) &&
	    ops->probe(device, err, sizeof(err)) == -1)
		device_reset(device, seen, res->error);
	return rc;
}

int
kernel_run(const struct kernel *k, const double *params, int device,
    struct kernel_result *res)
{
	long	 streak = 0;
	int	 rc;

	if (device < 0 || device >= KERNEL_DEVICE_SLOTS)
		return kernel_dispatch(k, params, device, res);
	rc = device_run(k, params, device, res);
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
kernel_device_health(int device, struct kernel_device_health *h)
{
	struct device_guard	*g;

	memset(h, 0, sizeof(*h));
	if (device < 0 || device >= KERNEL_DEVICE_SLOTS)
		return;
	pthread_mutex_lock(&health_mu);
	h->failures = health_fail[device];
	h->in_a_row = health_streak[device];
	pthread_mutex_unlock(&health_mu);
	pthread_once(&guard_once, guards_init);
	g = &guards[device];
	pthread_rwlock_rdlock(&g->rw);
	h->resets = (long)g->resets;
	h->unusable = g->unusable;
	pthread_rwlock_unlock(&g->rw);
}
