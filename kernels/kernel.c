/*
 * kernel: the registry of the kernels' specs (kernel_list.h) and the
 * parsing of a parameter's text. Linked by the responder and the worker.
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
#include "kernel_list.h"

#define KERNEL_DECLARE(name)	extern const struct kernel_spec kernel_spec_##name;
#define KERNEL_ADDRESS(name)	&kernel_spec_##name,

KERNEL_LIST(KERNEL_DECLARE)

static const struct kernel_spec *const kernel_registry[] = {
	KERNEL_LIST(KERNEL_ADDRESS)
};

#define KERNEL_NREG	(sizeof(kernel_registry) / sizeof(kernel_registry[0]))

#define KERNEL_VALUE_MAX	64	/* longest value text we accept */

const struct kernel_spec *
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

const struct kernel_spec *
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
	/*
	 * The range first: 1e309 is out of range, not "not whole". A whole
	 * value in any notation is a whole number (1e3, 100.0: what a
	 * browser's number field may send); an underflow (1e-400) is not.
	 */
	if ((errno == ERANGE && fabs(v) >= 1) || !isfinite(v) ||
	    v < spec->min || v > spec->max) {
		kernel_fmt_bound(lo, sizeof(lo), spec->type, spec->min);
		kernel_fmt_bound(hi, sizeof(hi), spec->type, spec->max);
		snprintf(err, errlen, "must be between %s and %s", lo, hi);
		return -1;
	}
	if (spec->type == KPARAM_INT && (errno == ERANGE || v != floor(v))) {
		snprintf(err, errlen, "must be a whole number");
		return -1;
	}
	*out = v == 0.0 ? 0.0 : v;	/* no "-0" */
	return 0;
not_number:
	snprintf(err, errlen, "must be a number");
	return -1;
}

int
kernel_param_index(const struct kernel_spec *k, const char *name)
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
kernel_defaults(const struct kernel_spec *k, double *values)
{
	size_t i;

	for (i = 0; i < k->nparams; i++)
		values[i] = k->params[i].def;
}
