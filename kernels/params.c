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

/* Characters of UTF-8 s[0..n). */
static size_t
params_chars(const char *s, size_t n)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/*
 * A text's rules: no control character but tab and newline (a form's
 * CR LF and lone CR become LF first, in out), at most max_length
 * characters. Returns 0, or -1 with the reason for the user.
 */
static int
params_text_ok(const struct kparam_spec *spec, const char *s, size_t n,
    char *out, size_t *outlen, char *err, size_t errlen)
{
	char	 why[64];
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 < n && s[i + 1] == '\n')
				continue;
			out[o++] = '\n';
			continue;
		}
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n') || s[i] == 0x7f) {
			params_err(err, errlen, NULL, "must not contain "
			    "control characters");
			return -1;
		}
		out[o++] = s[i];
	}
	*outlen = o;
	if (params_chars(out, o) > (size_t)spec->max_length) {
		snprintf(why, sizeof(why), "must be at most %ld characters",
		    spec->max_length);
		params_err(err, errlen, NULL, why);
		return -1;
	}
	return 0;
}

/* The index of text among spec's choices, or -1. */
static int
params_choice(const struct kparam_spec *spec, const char *text)
{
	size_t	 i;

	for (i = 0; i < spec->nchoices; i++)
		if (strcmp(spec->choices[i], text) == 0)
			return (int)i;
	return -1;
}

/* "must be one of a, b, c" (the list cut to fit). */
static void
params_choice_err(const struct kparam_spec *spec, char *err, size_t errlen)
{
	size_t	 i, n;

	if (err == NULL || errlen == 0)
		return;
	n = (size_t)snprintf(err, errlen, "must be one of");
	for (i = 0; i < spec->nchoices && n < errlen; i++)
		n += (size_t)snprintf(err + n, errlen - n, "%s %s", i > 0 ?
		    "," : "", spec->choices[i]);
}

static json_t *
params_text_from_text(const struct kparam_spec *spec, const char *text,
    char *err, size_t errlen)
{
	json_t	*v = NULL;
	char	*norm;
	size_t	 n = strlen(text), len;

	if ((norm = malloc(n + 1)) == NULL) {
		params_err(err, errlen, NULL, "out of memory");
		return NULL;
	}
	if (params_text_ok(spec, text, n, norm, &len, err, errlen) == 0 &&
	    (v = json_stringn(norm, len)) == NULL)
		params_err(err, errlen, NULL, "must be valid UTF-8 text");
	free(norm);
	return v;
}

json_t *
params_value_from_text(const struct kparam_spec *spec, const char *text,
    char *err, size_t errlen)
{
	json_t	*v;
	double	 d;

	switch (spec->type) {
	case KPARAM_TEXT:
		return params_text_from_text(spec, text, err, errlen);
	case KPARAM_CHOICE:
		if (params_choice(spec, text) < 0) {
			params_choice_err(spec, err, errlen);
			return NULL;
		}
		return json_string(text);
	case KPARAM_BOOL:
		if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
			params_err(err, errlen, NULL, "must be true or false");
			return NULL;
		}
		return json_boolean(text[0] == 't');
	case KPARAM_IMAGE:
	case KPARAM_FILE:
		params_err(err, errlen, NULL, "must be a file (the form must "
		    "be sent as multipart/form-data)");
		return NULL;
	default:
		break;
	}
	if (kernel_parse_param(spec, text, &d, err, errlen) == -1)
		return NULL;
	if ((v = params_number_value(spec, d)) == NULL)
		params_err(err, errlen, NULL, "out of memory");
	return v;
}

json_t *
params_default_value(const struct kparam_spec *spec)
{
	switch (spec->type) {
	case KPARAM_TEXT:
	case KPARAM_CHOICE:
		return json_string(spec->def_text != NULL ? spec->def_text : "");
	case KPARAM_BOOL:
		return json_boolean(spec->def != 0);
	case KPARAM_IMAGE:
	case KPARAM_FILE:
		return NULL;	/* uploads have no value here */
	default:
		return params_number_value(spec, spec->def);
	}
}

/* A stored string for a text or choice spec. */
static int
params_string_check(const struct kparam_spec *spec, const json_t *v,
    char *err, size_t errlen)
{
	const char	*s = json_string_value(v);
	char		*tmp;
	size_t		 n, len;
	int		 rc;

	if (s == NULL) {
		params_err(err, errlen, NULL, "must be a string");
		return -1;
	}
	if (spec->type == KPARAM_CHOICE) {
		if (params_choice(spec, s) >= 0)
			return 0;
		params_choice_err(spec, err, errlen);
		return -1;
	}
	n = json_string_length(v);
	if (strlen(s) != n || (tmp = malloc(n + 1)) == NULL) {
		params_err(err, errlen, NULL, "must be text");
		return -1;
	}
	rc = params_text_ok(spec, s, n, tmp, &len, err, errlen);
	free(tmp);
	return rc;
}

int
params_value_check(const struct kparam_spec *spec, const json_t *v,
    char *err, size_t errlen)
{
	double	 d;

	if (spec->type == KPARAM_TEXT || spec->type == KPARAM_CHOICE)
		return params_string_check(spec, v, err, errlen);
	if (spec->type == KPARAM_BOOL) {
		if (json_is_boolean(v))
			return 0;
		params_err(err, errlen, NULL, "must be true or false");
		return -1;
	}
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
	size_t		 i, nvalues = 0;

	if (!json_is_object(obj)) {
		params_err(err, errlen, NULL, "not a JSON object");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (KPARAM_IS_UPLOAD(specs[i].type))
			continue;
		nvalues++;
		if ((v = json_object_get(obj, specs[i].name)) == NULL) {
			params_err(err, errlen, specs[i].name, "missing");
			return -1;
		}
		if (params_value_check(&specs[i], v, why, sizeof(why)) == -1) {
			params_err(err, errlen, specs[i].name, why);
			return -1;
		}
	}
	if (json_object_size(obj) != nvalues) {
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

/*
 * The JSON text of value v of spec (malloc'd), or NULL when v does not
 * fit spec or on ENOMEM: numbers in their shortest exact form (a float's
 * whole value as 3.0, so that a worker reads a float), strings and
 * booleans as jansson writes them.
 */
static char *
params_value_text(const struct kparam_spec *spec, const json_t *v)
{
	char	 num[48];
	size_t	 n;

	if (spec->type == KPARAM_TEXT || spec->type == KPARAM_CHOICE)
		return json_is_string(v) ? json_dumps(v, JSON_ENCODE_ANY) :
		    NULL;
	if (spec->type == KPARAM_BOOL)
		return json_is_boolean(v) ? strdup(json_is_true(v) ? "true" :
		    "false") : NULL;
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return NULL;
	params_number_text(json_number_value(v), num, sizeof(num) - 2);
	n = strlen(num);
	if (spec->type == KPARAM_FLOAT && strpbrk(num, ".eEn") == NULL)
		snprintf(num + n, sizeof(num) - n, ".0");
	return strdup(num);
}

char *
params_encode(const struct kparam_spec *specs, size_t n, const json_t *obj)
{
	json_t	*name = NULL;
	char	*out = NULL, *key = NULL, *val = NULL;
	size_t	 i, len = 0, cap = 0;
	int	 ok = 0;

	if (params_put(&out, &len, &cap, "{") == -1)
		goto out;
	for (i = 0; i < n; i++) {
		if (KPARAM_IS_UPLOAD(specs[i].type))
			continue;
		if ((val = params_value_text(&specs[i], json_object_get(obj,
		    specs[i].name))) == NULL)
			goto out;
		if ((name = json_string(specs[i].name)) == NULL ||
		    (key = json_dumps(name, JSON_ENCODE_ANY)) == NULL)
			goto out;
		json_decref(name);
		name = NULL;
		if ((len > 1 && params_put(&out, &len, &cap, ",") == -1) ||
		    params_put(&out, &len, &cap, key) == -1 ||
		    params_put(&out, &len, &cap, ":") == -1 ||
		    params_put(&out, &len, &cap, val) == -1)
			goto out;
		free(key);
		free(val);
		key = val = NULL;
	}
	ok = params_put(&out, &len, &cap, "}") == 0;
out:
	json_decref(name);
	free(key);
	free(val);
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
	const json_t	*v;
	size_t		 i;

	if (params_check(specs, n, obj, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (KPARAM_IS_UPLOAD(specs[i].type)) {
			out[i] = 0;
			continue;
		}
		v = json_object_get(obj, specs[i].name);
		out[i] = json_is_boolean(v) ? json_is_true(v) :
		    json_number_value(v);
	}
	return 0;
}
