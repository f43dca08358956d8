/*
 * kernel: what the responder and the worker share of the built-in
 * kernels: their specs (names, titles, parameter tables) and parameter
 * parsing. Running a kernel is kernel_run.h's, which only sluice-worker,
 * sluice-kernel and the tests link (with CUDA and OpenBLAS).
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

#define KERNEL_MAX_PARAMS	64

enum kparam_type {
	KPARAM_INT,	/* whole numbers only: "12", not "12.5" or "1e3" */
	KPARAM_FLOAT,	/* any finite decimal number */
	KPARAM_TEXT,	/* UTF-8, at most max_length characters, no control
			   characters but tab and newline */
	KPARAM_CHOICE,	/* one of choices */
	KPARAM_BOOL,	/* true or false */
	KPARAM_IMAGE,	/* an uploaded PNG or JPEG: max_bytes, max_pixels */
	KPARAM_FILE	/* an uploaded file: max_bytes, accept */
};

/* An upload (image or file), not a value of the params codec. */
#define KPARAM_IS_UPLOAD(t)	((t) == KPARAM_IMAGE || (t) == KPARAM_FILE)

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
	long long		 max_bytes;	/* image, file: bytes */
	long long		 max_pixels;	/* image: width x height */
	const char *const	*accept;	/* file: ".csv", ... (lower
						   case), NULL-terminated;
						   NULL: any name */
};

/* A numeric parameter of a kernel's table. */
#define KPARAM_NUMBER(n, t, lo, hi, d, st, lab, u)			\
	{ .name = (n), .type = (t), .min = (lo), .max = (hi), .def = (d),	\
	  .step = (st), .label = (lab), .unit = (u) }

/* What the responder knows of a built-in kernel: its name and parameters. */
struct kernel_spec {
	const char			*name;
	const char			*title;		/* default task title */
	const struct kparam_spec	*params;
	size_t				 nparams;
};

/* The spec of the kernel called name, or NULL. Thread-safe. */
const struct kernel_spec *kernel_find(const char *name);
/* Kernels in registry order; kernel_at(i) is NULL past the end. */
size_t			 kernel_count(void);
const struct kernel_spec *kernel_at(size_t);

/*
 * Parses one textual value for spec: the whole string must be a number
 * (no leading/trailing space or garbage), finite, whole for KPARAM_INT, and
 * within [min, max]. Returns 0 and sets *out, or -1 with a message for the
 * user in err (e.g. "must be between 16 and 4096"). Thread-safe.
 */
int	kernel_parse_param(const struct kparam_spec *, const char *value,
	    double *out, char *err, size_t errlen);

/* Index of the parameter called name in k, or -1. */
int	kernel_param_index(const struct kernel_spec *k, const char *name);

/* Fills values with every parameter's default. */
void	kernel_defaults(const struct kernel_spec *k, double *values);

#endif
