/* params: the parameters codec. See params.h for the contract. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kernel.h"
#include "params.h"

/* Integers above this lose their exactness in a double. */
#define PARAMS_EXACT_INT	9007199254740992.0	/* 2^53 */

/* Sets err to "name: why", or to why alone when name is NULL. */
static void
params_err(char *err, size_t errlen, const char *name, const char *why)
{
	if (err == NULL || errlen == 0)
		return;
	if (name != NULL)
		snprintf(err, errlen, "%s: %s", name, why);
	else
		snprintf(err, errlen, "%s", why);
}

/* A JSON value for a number already checked against spec. */
static json_t *
params_number_value(const struct kparam_spec *spec, double v)
{
	if (spec->type == KPARAM_INT)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *
params_value_from_text(const struct kparam_spec *spec, const char *text,
    char *err, size_t errlen)
{
	json_t	*v;
	double	 d;

	if (kernel_parse_param(spec, text, &d, err, errlen) == -1)
		return NULL;
	if ((v = params_number_value(spec, d)) == NULL)
		params_err(err, errlen, NULL, "out of memory");
	return v;
}

json_t *
params_default_value(const struct kparam_spec *spec)
{
	return params_number_value(spec, spec->def);
}

int
params_value_check(const struct kparam_spec *spec, const json_t *v,
    char *err, size_t errlen)
{
	double	 d;

	if (!json_is_number(v)) {
		params_err(err, errlen, NULL, "must be a number");
		return -1;
	}
	d = json_number_value(v);
	if (spec->type == KPARAM_INT && (json_is_real(v) && d != floor(d))) {
		params_err(err, errlen, NULL, "must be a whole number");
		return -1;
	}
	if (!isfinite(d) || d < spec->min || d > spec->max) {
		params_err(err, errlen, NULL, "out of range");
		return -1;
	}
	return 0;
}

/* Checks obj against the specs: every key valid, no other key. */
static int
params_check(const struct kparam_spec *specs, size_t n, const json_t *obj,
    char *err, size_t errlen)
{
	const json_t	*v;
	char		 why[128];
	size_t		 i;

	if (!json_is_object(obj)) {
		params_err(err, errlen, NULL, "not a JSON object");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((v = json_object_get(obj, specs[i].name)) == NULL) {
			params_err(err, errlen, specs[i].name, "missing");
			return -1;
		}
		if (params_value_check(&specs[i], v, why, sizeof(why)) == -1) {
			params_err(err, errlen, specs[i].name, why);
			return -1;
		}
	}
	if (json_object_size(obj) != n) {
		params_err(err, errlen, NULL, "unknown parameter");
		return -1;
	}
	return 0;
}

json_t *
params_decode(const struct kparam_spec *specs, size_t n, const char *text,
    char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*obj;
	char		 why[200];

	if (text == NULL) {
		params_err(err, errlen, NULL, "missing");
		return NULL;
	}
	if ((obj = json_loads(text, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(why, sizeof(why), "malformed JSON: %s", je.text);
		params_err(err, errlen, NULL, why);
		return NULL;
	}
	if (params_check(specs, n, obj, err, errlen) == -1) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/*
 * Writes v into out (at least 32 bytes): whole numbers as integers, others
 * with the fewest of 15, 16 or 17 significant digits that read back as v.
 */
static void
params_number_text(double v, char *out, size_t len)
{
	int	 prec;

	if (fabs(v) < PARAMS_EXACT_INT && v == floor(v)) {
		snprintf(out, len, "%lld", (long long)v);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Appends s to *buf (of *len bytes used, *cap allocated); -1 on ENOMEM. */
static int
params_put(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t	 n = strlen(s);
	char	*grown;

	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap != 0 ? *cap * 2 : 64;
		if ((grown = realloc(*buf, *cap)) == NULL)
			return -1;
		*buf = grown;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

char *
params_encode(const struct kparam_spec *specs, size_t n, const json_t *obj)
{
	const json_t	*v;
	json_t		*name = NULL;
	char		*out = NULL, *key = NULL, num[40];
	size_t		 i, len = 0, cap = 0;
	int		 ok = 0;

	if (params_put(&out, &len, &cap, "{") == -1)
		goto out;
	for (i = 0; i < n; i++) {
		v = json_object_get(obj, specs[i].name);
		if (!json_is_number(v) || !isfinite(json_number_value(v)))
			goto out;
		if ((name = json_string(specs[i].name)) == NULL ||
		    (key = json_dumps(name, JSON_ENCODE_ANY)) == NULL)
			goto out;
		json_decref(name);
		name = NULL;
		params_number_text(json_number_value(v), num, sizeof(num));
		if ((i > 0 && params_put(&out, &len, &cap, ",") == -1) ||
		    params_put(&out, &len, &cap, key) == -1 ||
		    params_put(&out, &len, &cap, ":") == -1 ||
		    params_put(&out, &len, &cap, num) == -1)
			goto out;
		free(key);
		key = NULL;
	}
	ok = params_put(&out, &len, &cap, "}") == 0;
out:
	json_decref(name);
	free(key);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

int
params_numbers(const struct kparam_spec *specs, size_t n, const json_t *obj,
    double *out, char *err, size_t errlen)
{
	size_t	 i;

	if (params_check(specs, n, obj, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = json_number_value(json_object_get(obj,
		    specs[i].name));
	return 0;
}
