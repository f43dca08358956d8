/*
 * conf_inputs: a worker task's inputs (DESIGN.md, "Tasks that run the
 * user's own program"), each a group named after its form field, in file
 * order, turned into the parameter specs the params codec and the form
 * use. Every value is checked here: ranges, a default within them,
 * choices that are unique, texts that a form could send. A kernel task's
 * params narrow the kernel's own ranges the same way (the operator's
 * bound on what one job may cost).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf_int.h"
#include "kernel.h"

#define CONF_TEXT_MAX	1000000		/* max_length, characters */
#define CONF_CHOICES_MAX 256
#define CONF_UPLOAD_MAX	(1LL << 30)	/* max_bytes of an upload */
#define CONF_PIXELS_MAX	(65535LL * 65535)	/* IMAGE_SIDE_MAX squared */
#define CONF_SUFFIX_MAX	16		/* bytes of an accept suffix */

/* An input's type, by name. */
static const struct {
	const char		*name;
	enum kparam_type	 type;
	const char *const	*keys;
} conf_input_types[] = {
	{ "int", KPARAM_INT, (const char *const[]){ "type", "label",
	    "optional", "min", "max", "default", "step", "unit", NULL } },
	{ "float", KPARAM_FLOAT, (const char *const[]){ "type", "label",
	    "optional", "min", "max", "default", "step", "unit", NULL } },
	{ "text", KPARAM_TEXT, (const char *const[]){ "type", "label",
	    "optional", "max_length", "default", NULL } },
	{ "choice", KPARAM_CHOICE, (const char *const[]){ "type", "label",
	    "optional", "choices", "default", NULL } },
	{ "bool", KPARAM_BOOL, (const char *const[]){ "type", "label",
	    "optional", "default", NULL } },
	{ "image", KPARAM_IMAGE, (const char *const[]){ "type", "label",
	    "optional", "max_bytes", "max_pixels", NULL } },
	{ "file", KPARAM_FILE, (const char *const[]){ "type", "label",
	    "optional", "max_bytes", "accept", NULL } },
};
#define CONF_NTYPES	(sizeof(conf_input_types) / sizeof(conf_input_types[0]))

/* Input names: form field names that are not the form's own. */
static int
input_name_ok(const char *n)
{
	size_t	 i, len = strlen(n);

	if (len == 0 || len > CONF_NAME_MAX || strcmp(n, "csrf") == 0 ||
	    strcmp(n, "nonce") == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_-", n[i]) == NULL)
			return 0;
	return 1;
}

/* 1 when s could come from a form's text field: no control characters
   but tab and newline (the codec's rule for text). */
static int
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n') ||
		    *s == 0x7f)
			return 0;
	return 1;
}

/* Characters of UTF-8 s. */
static long
utf8_chars(const char *s)
{
	long	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A string key that may be empty (a text's default). */
static int
conf_text(struct conf_ctx *ctx, const config_setting_t *g, const char *key,
    const char *def, char **out, config_setting_t **sp)
{
	config_setting_t	*s = config_setting_get_member(g, key);
	const char		*v = def;

	*sp = s;
	if (s != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			conf_serr(ctx, s, "must be a string");
			return -1;
		}
		v = config_setting_get_string(s);
	}
	if ((*out = strdup(v != NULL ? v : "")) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	if (s != NULL && !text_ok(*out)) {
		conf_serr(ctx, s, "must not hold control characters other "
		    "than tab and newline");
		return -1;
	}
	return 0;
}

/* A number's range as read from group g: min <= default <= max, whole
   for int. */
static int
number_range_ok(struct conf_ctx *ctx, const config_setting_t *g,
    const struct kparam_spec *p)
{
	config_setting_t	*d = config_setting_get_member(g, "default");

	if (p->min > p->max) {
		conf_serr(ctx, config_setting_get_member(g, "max"),
		    "must not be below min");
		return -1;
	}
	if (p->type == KPARAM_INT && (p->min != floor(p->min) ||
	    p->max != floor(p->max) || p->def != floor(p->def))) {
		conf_serr(ctx, g, "min, max and default of an int must be "
		    "whole numbers");
		return -1;
	}
	if (p->def < p->min || p->def > p->max) {
		conf_serr(ctx, d != NULL ? d : g, "must be within min..max");
		return -1;
	}
	return 0;
}

/* int and float: the range, a step, a unit. */
static int
input_number(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	int	 isint = p->type == KPARAM_INT;

	if (conf_num(ctx, g, "min", 0, 1, &p->min) == -1 ||
	    conf_num(ctx, g, "max", 0, 1, &p->max) == -1 ||
	    conf_num(ctx, g, "default", p->min, 0, &p->def) == -1 ||
	    conf_num(ctx, g, "step", isint ? 1 : 0, 0, &p->step) == -1 ||
	    number_range_ok(ctx, g, p) == -1)
		return -1;
	if (p->step < 0) {
		conf_serr(ctx, config_setting_get_member(g, "step"),
		    "must not be negative");
		return -1;
	}
	return conf_str(ctx, g, "unit", "", 0, (char **)&p->unit, NULL);
}

static int
input_text(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	config_setting_t	*s;
	long long		 n;

	if (conf_int(ctx, g, "max_length", 1, CONF_TEXT_MAX, 1000, 0, &n) ==
	    -1 || conf_text(ctx, g, "default", "", (char **)&p->def_text,
	    &s) == -1)
		return -1;
	p->max_length = (long)n;
	if (utf8_chars(p->def_text) > p->max_length) {
		conf_serr(ctx, s, "is longer than max_length");
		return -1;
	}
	return 0;
}

static int
input_choice(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	config_setting_t	*s = config_setting_get_member(g, "choices");
	char			**c;
	size_t			 i, j;

	if (s == NULL) {
		conf_missing(ctx, g, "choices");
		return -1;
	}
	if (conf_strings(ctx, s, 1, 0, &c) == -1)
		return -1;
	p->choices = (const char *const *)c;
	for (i = 0; c[i] != NULL; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(c[i], c[j]) == 0) {
				conf_serr(ctx, s, "\"%s\" given twice", c[i]);
				return -1;
			}
		if (!text_ok(c[i]) || strchr(c[i], '\n') != NULL) {
			conf_serr(ctx, s, "a choice must be one line of text");
			return -1;
		}
	}
	p->nchoices = i;
	if (i > CONF_CHOICES_MAX) {
		conf_serr(ctx, s, "at most %d choices", CONF_CHOICES_MAX);
		return -1;
	}
	if (conf_text(ctx, g, "default", c[0], (char **)&p->def_text, &s) == -1)
		return -1;
	for (i = 0; i < p->nchoices; i++)
		if (strcmp(p->def_text, c[i]) == 0)
			return 0;
	conf_serr(ctx, s, "must be one of the choices");
	return -1;
}

static int
input_bool(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	int	 d;

	if (conf_bool(ctx, g, "default", 0, &d) == -1)
		return -1;
	p->def = d;
	return 0;
}

/* 1 for a file name suffix accept may list: ".csv", ".tar.gz". */
static int
suffix_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len < 2 || len > CONF_SUFFIX_MAX || s[0] != '.' || s[len - 1] == '.')
		return 0;
	for (i = 1; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789.", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

/* image: max_bytes (8 MiB) and max_pixels (16 Mpx); file: max_bytes
   (1 MiB) and accept, the suffixes a name may end in. */
static int
input_upload(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	config_setting_t	*s = config_setting_get_member(g, "accept");
	int			 image = p->type == KPARAM_IMAGE;
	char			**c;
	size_t			 i;

	if (conf_int(ctx, g, "max_bytes", 1, CONF_UPLOAD_MAX, image ?
	    8388608 : 1048576, 0, &p->max_bytes) == -1 ||
	    (image && conf_int(ctx, g, "max_pixels", 1, CONF_PIXELS_MAX,
	    16777216, 0, &p->max_pixels) == -1))
		return -1;
	if (s == NULL)
		return 0;
	if (conf_strings(ctx, s, 1, 0, &c) == -1)
		return -1;
	p->accept = (const char *const *)c;
	for (i = 0; c[i] != NULL; i++)
		if (!suffix_ok(c[i])) {
			conf_serr(ctx, s, "\"%s\": a suffix is a dot and up to "
			    "%d of a-z 0-9 . (lower case: names are matched "
			    "without case)", c[i], CONF_SUFFIX_MAX - 1);
			return -1;
		}
	return 0;
}

/* One input, the group g, into p. */
static int
conf_load_input(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	config_setting_t	*ts;
	char			*type = NULL;
	size_t			 i;
	int			 rc = -1;

	if (!config_setting_is_group(g) || !input_name_ok(
	    config_setting_name(g))) {
		conf_serr(ctx, g, "an input is a group named 1..%d characters "
		    "of A-Z a-z 0-9 _ - (not csrf or nonce)", CONF_NAME_MAX);
		return -1;
	}
	if ((p->name = strdup(config_setting_name(g))) == NULL ||
	    conf_str(ctx, g, "type", NULL, 1, &type, &ts) == -1)
		goto out;
	for (i = 0; i < CONF_NTYPES; i++)
		if (strcmp(type, conf_input_types[i].name) == 0)
			break;
	if (i == CONF_NTYPES) {
		conf_serr(ctx, ts, "must be int, float, text, choice, bool, "
		    "image or file");
		goto out;
	}
	p->type = conf_input_types[i].type;
	if (conf_check_keys(ctx, g, conf_input_types[i].keys) == -1 ||
	    conf_str(ctx, g, "label", p->name, 0, (char **)&p->label,
	    NULL) == -1 || conf_bool(ctx, g, "optional", 0, &p->optional) == -1)
		goto out;
	if (p->type == KPARAM_INT || p->type == KPARAM_FLOAT)
		rc = input_number(ctx, g, p);
	else if (p->type == KPARAM_TEXT)
		rc = input_text(ctx, g, p);
	else if (p->type == KPARAM_CHOICE)
		rc = input_choice(ctx, g, p);
	else if (KPARAM_IS_UPLOAD(p->type))
		rc = input_upload(ctx, g, p);
	else
		rc = input_bool(ctx, g, p);
out:
	if (p->name == NULL)
		conf_err(ctx, 0, "out of memory");
	free(type);
	return rc;
}

int
conf_load_inputs(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t)
{
	size_t	 i, n;
	int	 len;

	if (g == NULL || (len = config_setting_length(g)) <= 0)
		return 0;
	n = (size_t)len;
	if (n > KERNEL_MAX_PARAMS) {
		conf_serr(ctx, g, "at most %d inputs", KERNEL_MAX_PARAMS);
		return -1;
	}
	if ((t->own_inputs = calloc(n, sizeof(*t->own_inputs))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		t->ninputs = i + 1;
		if (conf_load_input(ctx, config_setting_get_elem(g,
		    (unsigned int)i), &t->own_inputs[i]) == -1)
			return -1;
	}
	t->inputs = t->own_inputs;
	return 0;
}

/*
 * A kernel's own range, as text for messages: "16" or "1e-13". %.17g
 * would show 1e-13 as 1.0000000000000000e-13.
 */
static void
range_text(double v, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.15g", v);
}

/*
 * One narrowing, the group g, of kernel parameter p (a copy of the
 * kernel's spec): min and max only within the kernel's own, and a
 * default within them (the kernel's, moved into the range, when absent).
 */
static int
narrow_one(struct conf_ctx *ctx, const config_setting_t *g,
    struct kparam_spec *p)
{
	static const char *const keys[] = { "min", "max", "default", NULL };
	const double		 lo = p->min, hi = p->max;
	char			 a[32], b[32];

	if (!config_setting_is_group(g)) {
		conf_serr(ctx, g, "must be a group (min, max, default)");
		return -1;
	}
	if (conf_check_keys(ctx, g, keys) == -1 ||
	    conf_num(ctx, g, "min", lo, 0, &p->min) == -1 ||
	    conf_num(ctx, g, "max", hi, 0, &p->max) == -1)
		return -1;
	range_text(lo, a, sizeof(a));
	range_text(hi, b, sizeof(b));
	if (p->min < lo || p->min > hi || p->max < lo || p->max > hi) {
		conf_serr(ctx, config_setting_get_member(g, p->min < lo ||
		    p->min > hi ? "min" : "max"), "must be within the "
		    "kernel's own range %s..%s (a task only narrows it)", a, b);
		return -1;
	}
	p->def = fmin(fmax(p->def, p->min), p->max);
	if (conf_num(ctx, g, "default", p->def, 0, &p->def) == -1)
		return -1;
	return number_range_ok(ctx, g, p);
}

int
conf_load_narrow(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t, const struct kernel_spec *k)
{
	config_setting_t	*m;
	unsigned int		 i, n;
	int			 idx;

	t->inputs = k->params;
	t->ninputs = k->nparams;
	if (g == NULL || config_setting_length(g) <= 0)
		return 0;
	if ((t->own_inputs = calloc(k->nparams, sizeof(*t->own_inputs))) ==
	    NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	/* A shallow copy: the strings stay the kernel's (static). */
	memcpy(t->own_inputs, k->params, k->nparams * sizeof(*k->params));
	t->inputs = t->own_inputs;
	n = (unsigned int)config_setting_length(g);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(g, i);
		if ((idx = kernel_param_index(k, config_setting_name(m))) ==
		    -1) {
			conf_serr(ctx, m, "the kernel %s has no such "
			    "parameter", k->name);
			return -1;
		}
		if (t->own_inputs[idx].type != KPARAM_INT &&
		    t->own_inputs[idx].type != KPARAM_FLOAT) {
			conf_serr(ctx, m, "only a number's range narrows");
			return -1;
		}
		if (narrow_one(ctx, m, &t->own_inputs[idx]) == -1)
			return -1;
	}
	return 0;
}

void
conf_free_inputs(struct conf_task *t)
{
	struct kparam_spec	*p;
	size_t			 i;

	/* A kernel task's narrowed copy borrows the kernel's strings. */
	for (i = 0; t->kernel == NULL && t->own_inputs != NULL &&
	    i < t->ninputs; i++) {
		p = &t->own_inputs[i];
		free((char *)p->name);
		free((char *)p->label);
		free((char *)p->unit);
		free((char *)p->def_text);
		conf_strings_free((char **)p->choices);
		conf_strings_free((char **)p->accept);
	}
	free(t->own_inputs);
	t->own_inputs = NULL;
	t->inputs = NULL;
	t->ninputs = 0;
}

/* One spec as a JSON object, every field that matters to a job. */
static json_t *
spec_json(const struct kparam_spec *p)
{
	json_t	*o, *c;
	size_t	 i;

	o = json_pack("{s:s,s:i,s:f,s:f,s:f,s:s,s:I,s:b,s:I,s:I}", "name",
	    p->name, "type", (int)p->type, "min", p->min, "max", p->max,
	    "default", p->def, "text", p->def_text != NULL ? p->def_text : "",
	    "max_length", (json_int_t)p->max_length, "optional", p->optional,
	    "max_bytes", (json_int_t)p->max_bytes, "max_pixels",
	    (json_int_t)p->max_pixels);
	if (o == NULL || (p->choices == NULL && p->accept == NULL))
		return o;
	if ((c = json_array()) == NULL || json_object_set_new(o, p->choices !=
	    NULL ? "choices" : "accept", c) == -1) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; p->choices != NULL && i < p->nchoices; i++)
		json_array_append_new(c, json_string(p->choices[i]));
	for (i = 0; p->accept != NULL && p->accept[i] != NULL; i++)
		json_array_append_new(c, json_string(p->accept[i]));
	return o;
}

char *
conf_inputs_sig(const struct conf_task *t)
{
	json_t	*a;
	char	*s = NULL, *specs = NULL;
	size_t	 i;

	if (t->kernel != NULL && t->own_inputs == NULL)
		return asprintf(&s, "kernel:%s", t->kernel) == -1 ? NULL : s;
	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < t->ninputs; i++)
		if (json_array_append_new(a, spec_json(&t->inputs[i])) == -1)
			goto out;
	if ((specs = json_dumps(a, JSON_COMPACT)) == NULL)
		goto out;
	/* A narrowed kernel: its name and ranges (other ranges are another
	   form, whose values a reload must not mix with these). */
	if (t->kernel == NULL)
		s = specs, specs = NULL;
	else if (asprintf(&s, "kernel:%s:%s", t->kernel, specs) == -1)
		s = NULL;
out:
	free(specs);
	json_decref(a);
	return s;
}
