/*
 * sluice-worker --kernel NAME: the built-in kernels as a worker program
 * (worker protocol v1, through the C helper library sluice_worker.h).
 * Sluice starts one per (task, slot). Before it says ready it opens its
 * device (CUDA_VISIBLE_DEVICES makes the slot's GPU device 0) and runs a
 * warm-up job, so that context creation, module loading and the first
 * launch never land on the first job. A
 * job's params are read with the params codec, the kernel reports
 * progress and sees a cancel through kernel_hooks, its image is written
 * to the job's directory. After a failed job on a GPU whose context the
 * error broke, the worker ends itself: the next job gets a fresh process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "device.h"
#include "kernel_run.h"
#include "params.h"
#include "sluice_worker.h"

#define WORKER_PROGRESS_MS	100	/* at most ten progress lines a second */

/* One worker: its kernel, device and connection; the hooks' state. */
struct kworker {
	const struct kernel	*k;
	int			 device;	/* 0, or KERNEL_CPU */
	struct sw		*w;
	pthread_mutex_t		 mu;		/* w is not thread-safe */
	double			 last_ms;	/* last progress sent */
	int			 cancelled;
};

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* kernel_hooks: progress, at most every WORKER_PROGRESS_MS, and at 1. */
static void
hook_progress(void *arg, double fraction, const char *message)
{
	struct kworker	*kw = arg;
	double		 t = now_ms();

	pthread_mutex_lock(&kw->mu);
	if (fraction >= 1 || t - kw->last_ms >= WORKER_PROGRESS_MS) {
		kw->last_ms = t;
		(void)sw_progress(kw->w, fraction, message);
	}
	pthread_mutex_unlock(&kw->mu);
}

static int
hook_cancelled(void *arg)
{
	struct kworker	*kw = arg;
	int		 c;

	pthread_mutex_lock(&kw->mu);
	if (!kw->cancelled)
		kw->cancelled = sw_cancelled(kw->w);
	c = kw->cancelled;
	pthread_mutex_unlock(&kw->mu);
	return c;
}

/* Writes data to DIR/name; 0 or -1 (reason on stderr). */
static int
write_out(const char *dir, const char *name, const unsigned char *data,
    size_t len)
{
	char	 path[4096];
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "sluice-worker: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "sluice-worker: %s: %s\n", path,
		    strerror(errno));
	close(fd);
	return rc;
}

/* Sends the kernel's result (and its image) for the current job. */
static int
answer_result(struct kworker *kw, const struct sw_job *job,
    struct kernel_result *res)
{
	static const struct sw_file image = { "image", "result.png",
	    "image/png" };
	json_t	*r;

	r = res->json != NULL ? json_loads(res->json, 0, NULL) : NULL;
	if (res->png != NULL && write_out(job->out, image.path, res->png,
	    res->png_len) == -1) {
		json_decref(r);
		return sw_error(kw->w, "the result image could not be "
		    "written");
	}
	return sw_result(kw->w, r, res->png != NULL ? &image : NULL,
	    res->png != NULL ? 1 : 0);
}

/* One job: params through the codec, the kernel, the answer. */
static int
run_job(struct sw *w, const struct sw_job *job, void *arg)
{
	struct kworker		*kw = arg;
	const struct kernel_spec *sp = kw->k->spec;
	struct kernel_hooks	 hooks = { hook_progress, hook_cancelled, kw };
	struct kernel_result	 res;
	double			 values[KERNEL_MAX_PARAMS];
	char			 why[256];
	int			 rc;

	memset(&res, 0, sizeof(res));
	if (sp->nparams > KERNEL_MAX_PARAMS || params_numbers(sp->params,
	    sp->nparams, job->params, values, why, sizeof(why)) == -1)
		return sw_error(w, sp->nparams > KERNEL_MAX_PARAMS ?
		    "too many parameters" : why);
	kw->cancelled = 0;
	kw->last_ms = 0;
	kernel_hooks_set(&hooks);
	rc = kernel_dispatch(kw->k, values, kw->device, &res);
	kernel_hooks_set(NULL);
	if (rc == 0)
		rc = answer_result(kw, job, &res);
	else
		rc = sw_error(w, kw->cancelled ? "cancelled" : res.error);
	kernel_result_clear(&res);
	if (kw->device != KERNEL_CPU && kernel_device_broken(kw->device, why,
	    sizeof(why))) {
		fprintf(stderr, "sluice-worker: the CUDA context is broken "
		    "(%s): ending, so that the next job gets a fresh one\n",
		    why);
		exit(3);
	}
	return rc;
}

/*
 * Warms the worker up before it says ready (on the CPU too): one job of
 * its kernel with every parameter at its smallest, on its device, so that
 * the first launch, the memory pool's first allocations and the
 * libraries' own start-up (OpenBLAS's threads, libpng) are paid now, not
 * by the first user. A failed warm-up is logged; a broken context ends
 * the worker as after any job.
 */
static void
warm_up(const struct kernel *k, int device)
{
	const struct kernel_spec	*sp = k->spec;
	struct kernel_result		 res;
	double				 values[KERNEL_MAX_PARAMS], t0;
	char				 why[256];
	size_t				 i;

	memset(&res, 0, sizeof(res));
	for (i = 0; i < sp->nparams && i < KERNEL_MAX_PARAMS; i++)
		values[i] = sp->params[i].min;
	t0 = now_ms();
	if (kernel_dispatch(k, values, device, &res) == -1)
		fprintf(stderr, "sluice-worker: warm-up %s job failed: %s\n",
		    sp->name, res.error);
	else
		fprintf(stderr, "sluice-worker: warm-up %s job: %.1f ms\n",
		    sp->name, now_ms() - t0);
	kernel_result_clear(&res);
	if (device != KERNEL_CPU && kernel_device_broken(device, why,
	    sizeof(why))) {
		fprintf(stderr, "sluice-worker: the CUDA context is broken "
		    "(%s): ending\n", why);
		exit(3);
	}
}

/*
 * The device of this worker: the slot's GPU (device 0 of the ones
 * CUDA_VISIBLE_DEVICES shows) when the slot names one and CUDA finds it,
 * else the CPU. Its context (blocking sync, every module loaded:
 * CUDA_MODULE_LOADING=EAGER unless the environment says otherwise) is
 * made now, and a warm-up job run, all before ready; with
 * SLUICE_WORKER_WARM=0 neither (but for the device check, which makes a
 * plain context), to measure what they save.
 */
static int
pick_device(const struct kernel *k, char *name, size_t len)
{
	const char	*slot_dev = getenv("SLUICE_DEVICE");
	const char	*warm = getenv("SLUICE_WORKER_WARM");
	char		 devs[512], err[256];
	double		 t0 = now_ms();
	int		 device = KERNEL_CPU, cold;

	/* SLUICE_WORKER_WARM=0: none of it (to measure what it saves). */
	cold = warm != NULL && strcmp(warm, "0") == 0;
	/* Read when CUDA starts: before the first CUDA call. */
	if (!cold)
		setenv("CUDA_MODULE_LOADING", "EAGER", 0);
	kernel_devices_init();
	kernel_devices_describe(devs, sizeof(devs));
	fprintf(stderr, "sluice-worker: %s\n", devs);
	if (slot_dev != NULL && strncmp(slot_dev, "cuda:", 5) == 0 &&
	    kernel_device_count() > 0) {
		device = 0;
		if ((!cold && kernel_device_warm(device, err, sizeof(err)) ==
		    -1) || kernel_device_broken(device, err, sizeof(err))) {
			fprintf(stderr, "sluice-worker: %s: %s\n", slot_dev,
			    err);
			exit(3);
		}
		fprintf(stderr, "sluice-worker: %s: context ready in %.1f ms\n",
		    slot_dev, now_ms() - t0);
	}
	if (!cold)
		warm_up(k, device);
	snprintf(name, len, "%s", device == KERNEL_CPU ? "cpu" : slot_dev);
	return device;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sluice-worker --kernel NAME\n"
	    "  (started by sluice for tasks with kernel = \"NAME\")\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct kworker	 kw;
	char		 err[256], device[32];
	int		 rc;

	if (argc != 3 || strcmp(argv[1], "--kernel") != 0)
		usage();
	memset(&kw, 0, sizeof(kw));
	if ((kw.k = kernel_impl(argv[2])) == NULL) {
		fprintf(stderr, "sluice-worker: unknown kernel \"%s\"\n",
		    argv[2]);
		return 2;
	}
	if ((kw.w = sw_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice-worker: %s\n", err);
		return 2;
	}
	pthread_mutex_init(&kw.mu, NULL);
	kw.device = pick_device(kw.k, device, sizeof(device));
	rc = sw_serve(kw.w, device, run_job, &kw);
	sw_close(kw.w);
	return rc == 0 ? 0 : 1;
}
