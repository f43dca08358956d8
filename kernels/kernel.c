/*
 * kernel: the registry of kernels, parameter validation, and the helpers
 * every kernel shares to fill its result.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "kernel_int.h"

/*
 * The registry: one line per kernel, in the order of kernel_at() (the
 * order of the forms). X(NAME) stands for kernel_NAME, the struct kernel
 * that kernels/NAME.c defines.
 */
#define KERNEL_LIST(X)	\
	X(mandelbrot)	\
	X(sgemm)	\
	X(burn)

#define KERNEL_DECLARE(name)	extern const struct kernel kernel_##name;
#define KERNEL_ADDRESS(name)	&kernel_##name,

KERNEL_LIST(KERNEL_DECLARE)

static const struct kernel *const kernel_registry[] = {
	KERNEL_LIST(KERNEL_ADDRESS)
};

#define KERNEL_NREG	(sizeof(kernel_registry) / sizeof(kernel_registry[0]))

#define KERNEL_VALUE_MAX	64	/* longest value text we accept */

const struct kernel *
kernel_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < KERNEL_NREG; i++)
		if (strcmp(kernel_registry[i]->name, name) == 0)
			return kernel_registry[i];
	return NULL;
}

size_t
kernel_count(void)
{
	return KERNEL_NREG;
}

const struct kernel *
kernel_at(size_t i)
{
	return i < KERNEL_NREG ? kernel_registry[i] : NULL;
}

/* Formats a range bound: integers without a fraction, floats with %g. */
static void
kernel_fmt_bound(char *buf, size_t len, enum kparam_type type, double v)
{
	if (type == KPARAM_INT)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%g", v);
}

int
kernel_parse_param(const struct kparam_spec *spec, const char *value,
    double *out, char *err, size_t errlen)
{
	char		 lo[32], hi[32];
	char		*end;
	const char	*p;
	size_t		 len;
	double		 v;
	int		 digits = 0;

	if (value == NULL || (len = strlen(value)) == 0) {
		snprintf(err, errlen, "is required");
		return -1;
	}
	if (len > KERNEL_VALUE_MAX)
		goto not_number;
	/*
	 * Decimal notation only: this refuses leading or trailing space,
	 * "inf", "nan" and hexadecimal before strtod() can accept them.
	 */
	for (p = value; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (strchr("+-.eE", *p) == NULL)
			goto not_number;
	}
	if (digits == 0)
		goto not_number;
	errno = 0;
	v = strtod(value, &end);
	if (end == value || *end != '\0')
		goto not_number;
	if (spec->type == KPARAM_INT &&
	    (strpbrk(value, ".eE") != NULL || v != floor(v))) {
		snprintf(err, errlen, "must be a whole number");
		return -1;
	}
	if (errno == ERANGE || !isfinite(v) || v < spec->min ||
	    v > spec->max) {
		kernel_fmt_bound(lo, sizeof(lo), spec->type, spec->min);
		kernel_fmt_bound(hi, sizeof(hi), spec->type, spec->max);
		snprintf(err, errlen, "must be between %s and %s", lo, hi);
		return -1;
	}
	*out = v == 0.0 ? 0.0 : v;	/* no "-0" */
	return 0;
not_number:
	snprintf(err, errlen, "must be a number");
	return -1;
}

int
kernel_param_index(const struct kernel *k, const char *name)
{
	size_t i;

	if (k == NULL || name == NULL)
		return -1;
	for (i = 0; i < k->nparams; i++)
		if (strcmp(k->params[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
kernel_defaults(const struct kernel *k, double *values)
{
	size_t i;

	for (i = 0; i < k->nparams; i++)
		values[i] = k->params[i].def;
}

void
kernel_result_clear(struct kernel_result *res)
{
	if (res == NULL)
		return;
	free(res->json);
	free(res->png);
	memset(res, 0, sizeof(*res));
}

int
kernel_fail(struct kernel_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return -1;
}

int
kernel_result_json(struct kernel_result *res, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kernel_fail(res, "out of memory formatting the result");
	free(res->json);
	res->json = s;
	return 0;
}

int
kernel_cpu_threads(void)
{
	cpu_set_t	set;
	long		n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 1024 ? 1024 : n) : 1;
}
