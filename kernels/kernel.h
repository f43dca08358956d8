/*
 * kernel: the one interface between the scheduler and the compute it runs.
 *
 * A kernel has a name, a table of parameter specs (used both to validate a
 * form and to render it), and its job split by device: a job function that
 * turns parameters into a result around one device step, and that step's
 * entry for each device kind (cpu, cuda). Parameters reach the job as an
 * array of doubles in spec order, already validated (integers are whole).
 * A job executes on a scheduler-owned thread, on the device of the job's
 * slot: device >= 0 is a CUDA device index, KERNEL_CPU (-1) means the CPU.
 * It returns 0 and fills res, or -1 with res->error set; it never exits the
 * process. Kernels are stateless between calls and safe to run concurrently.
 */
#ifndef SLUICE_KERNEL_H
#define SLUICE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#define KERNEL_CPU		(-1)
#define KERNEL_MAX_PARAMS	16

enum kparam_type {
	KPARAM_INT,	/* whole numbers only: "12", not "12.5" or "1e3" */
	KPARAM_FLOAT,	/* any finite decimal number */
	KPARAM_TEXT,	/* UTF-8, at most max_length characters, no control
			   characters but tab and newline */
	KPARAM_CHOICE,	/* one of choices */
	KPARAM_BOOL	/* true or false */
};

/*
 * One parameter of a task: a built-in kernel's (a static table) or a
 * worker task's input (from the config, which owns its strings). The
 * params codec (params.h) validates and encodes values against it.
 */
struct kparam_spec {
	const char		*name;	/* form field and JSON key */
	enum kparam_type	 type;
	double			 min, max, def;	/* int, float; bool: def 0/1 */
	double			 step;	/* for <input step>; 0 means "any" */
	const char		*label;	/* human label for the form */
	const char		*unit;	/* "px", "ms", or "" */
	const char		*def_text;	/* text, choice: the default */
	long			 max_length;	/* text: characters */
	const char *const	*choices;	/* choice: the allowed values */
	size_t			 nchoices;
	int			 optional;	/* may be left out (files) */
};

/* A numeric parameter of a kernel's table. */
#define KPARAM_NUMBER(n, t, lo, hi, d, st, lab, u)			\
	{ .name = (n), .type = (t), .min = (lo), .max = (hi), .def = (d),	\
	  .step = (st), .label = (lab), .unit = (u) }

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
	const char			*name;
	const char			*title;		/* default task title */
	const struct kparam_spec	*params;
	size_t				 nparams;
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

/* Returns the kernel called name, or NULL. Thread-safe. */
const struct kernel	*kernel_find(const char *name);
/* Kernels in registry order; kernel_at(i) is NULL past the end. */
size_t			 kernel_count(void);
const struct kernel	*kernel_at(size_t);

/*
 * Parses one textual value for spec: the whole string must be a number
 * (no leading/trailing space or garbage), finite, whole for KPARAM_INT, and
 * within [min, max]. Returns 0 and sets *out, or -1 with a message for the
 * user in err (e.g. "must be between 16 and 4096"). Thread-safe.
 */
int	kernel_parse_param(const struct kparam_spec *, const char *value,
	    double *out, char *err, size_t errlen);

/* Index of the parameter called name in k, or -1. */
int	kernel_param_index(const struct kernel *k, const char *name);

/* Fills values with every parameter's default. */
void	kernel_defaults(const struct kernel *k, double *values);

/* Frees what a job allocated in res and clears it; res may be reused. */
void	kernel_result_clear(struct kernel_result *);

/*
 * Runs one job of k on device, without the device health of kernel_run():
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
 * Runs k on device like kernel_dispatch(), and keeps the device's health:
 * failures in total and in a row, logged as "device keeps failing" every 3
 * in a row. After a failed job on a CUDA device the device is probed; when
 * its context is broken (a sticky error) it is reset as soon as no other
 * job runs on it, and while a reset does not bring it back, jobs on it
 * fail at once ("unusable"), a new reset being tried every 30 s. The
 * scheduler calls kernels through this. Thread-safe; a job may wait here
 * for a reset of its device.
 */
int	kernel_run(const struct kernel *k, const double *params, int device,
	    struct kernel_result *res);

struct kernel_device_health {
	long	 failures;	/* jobs failed on the device so far */
	long	 in_a_row;	/* ... since its last success */
	long	 resets;	/* resets after a broken context */
	int	 unusable;	/* the last reset did not bring it back */
};
/* The health of CUDA device index (zeros for an unknown one). */
void	kernel_device_health(int device, struct kernel_device_health *);

/*
 * How kernel_run probes and resets a device; CUDA's by default. For
 * tests, which have no GPU: ops replaces them (NULL restores the
 * default). probe and reset return 0, or -1 with a message in err.
 */
struct kernel_device_ops {
	int	(*probe)(int device, char *err, size_t errlen);
	int	(*reset)(int device, char *err, size_t errlen);
};
void	kernel_device_set_ops(const struct kernel_device_ops *ops);

#endif
