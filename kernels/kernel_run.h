/*
 * kernel_run: running the built-in kernels, in sluice-worker (and
 * sluice-kernel, the tests and the benchmark): the kernel structs with
 * their CPU and CUDA entries, the dispatcher, devices and their health.
 * The responder never links this (nor the CUDA runtime).
 */
#ifndef SLUICE_KERNEL_RUN_H
#define SLUICE_KERNEL_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

#define KERNEL_CPU		(-1)

struct kernel_result {
	char		*json;		/* malloc'd JSON object, e.g. {"ms":1.5} */
	unsigned char	*png;		/* malloc'd PNG bytes, or NULL */
	size_t		 png_len;
	char		 error[256];	/* set when a job returns -1 */
	char		 device[16];	/* "cpu" or "cuda:N", set by dispatch */
};

/*
 * A kernel's device step: computes job (the kernel's own struct, declared
 * in its kernels/NAME.h: inputs and outputs) on dev, a CUDA index for a
 * cuda entry, KERNEL_CPU for a cpu entry. Returns 0, or -1 with a message
 * in err; never exits the process. Thread-safe (each call owns its job).
 */
typedef int	kernel_entry_fn(void *job, int dev, char *err, size_t errlen);

struct kernel {
	const struct kernel_spec	*spec;
	/*
	 * A kernel not split by device (test doubles standing in for a
	 * device): kernel_dispatch() calls run for any device, unchecked,
	 * instead of the three below. NULL for the registered kernels.
	 */
	int	(*run)(const double *params, int device,
		    struct kernel_result *);
	/*
	 * The job around the device step: checks and prepares, calls
	 * compute(job, device, ...) (the device's entry, never NULL) for
	 * the device part, writes res. Returns 0, or -1 with res->error.
	 */
	int	(*job)(const double *params, int device,
		    kernel_entry_fn *compute, struct kernel_result *res);
	kernel_entry_fn			*cpu;
	kernel_entry_fn			*cuda;	/* NULL: no CUDA (build, path) */
};

/* Frees what a job allocated in res and clears it; res may be reused. */
void	kernel_result_clear(struct kernel_result *);

/*
 * Runs one job of k on device:
 * checks the device (KERNEL_CPU, or an index below kernel_device_count()),
 * fills res->device ("cpu" or "cuda:N"), and runs k->job with the device's
 * entry (k->cpu or k->cuda); k->run instead when k has one. Returns 0 and
 * fills res, or -1 with res->error set ("no CUDA device ...", "built
 * without CUDA", "NAME: no CUDA path", or the job's own). The caller frees res with
 * kernel_result_clear(). Thread-safe.
 */
int	kernel_dispatch(const struct kernel *k, const double *params,
	    int device, struct kernel_result *res);

/*
 * Devices. kernel_devices_init() discovers CUDA devices once at start-up
 * (any CUDA error means none; SLUICE_FORCE_CPU=1 forces none) and returns
 * how many there are. kernel_device_count() returns that number afterwards.
 * kernel_devices_describe() writes a one-line summary for the log.
 */
int	kernel_devices_init(void);
int	kernel_device_count(void);
void	kernel_devices_describe(char *out, size_t outlen);

/*
 * 1 when device's CUDA context in this process is broken (a sticky error
 * of the last job: the process must end for the device to work again),
 * with the error in err; 0 for a working device, the CPU or no CUDA.
 * Never waits for running kernels. Thread-safe.
 */
int	kernel_device_broken(int device, char *err, size_t errlen);

/*
 * How a running kernel reports progress and learns that its job was
 * cancelled: set by the worker around each job (sluice-worker: the
 * protocol), NULL outside one. A kernel calls kernel_progress() and
 * kernel_cancelled() from any of its threads; the hooks must be
 * thread-safe and cheap (they may be called once per image row).
 */
struct kernel_hooks {
	void	(*progress)(void *arg, double fraction, const char *message);
	int	(*cancelled)(void *arg);
	void	*arg;
};
void	kernel_hooks_set(const struct kernel_hooks *);
/* Reports progress 0..1 with an optional message; no-op without hooks. */
void	kernel_progress(double fraction, const char *message);
/* 1 once the running job should stop (then fail it "cancelled"). */
int	kernel_cancelled(void);

/* The kernel called name, to run, or NULL. Thread-safe. */
const struct kernel	*kernel_impl(const char *name);

#endif
