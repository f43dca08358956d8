/*
 * params: the one codec of a job's parameters. Uploads (KPARAM_IMAGE,
 * KPARAM_FILE) are not parameters: every function here skips them (they
 * travel as the job's inputs, jobdir.h). A task's parameters are
 * declared as an array of struct kparam_spec (kernel.h); their values
 * travel as one JSON object (jansson) whose keys are the spec names, in
 * spec order, each with its JSON type (integers for KPARAM_INT, numbers
 * for KPARAM_FLOAT, strings for KPARAM_TEXT and KPARAM_CHOICE, booleans
 * for KPARAM_BOOL). The same functions serve every place that meets
 * them: the form layer turns field texts into values, the journal keeps
 * params_encode()'s text, recovery and the kernels read it back with
 * params_decode(), and the job page shows the decoded object.
 *
 * Every function is thread-safe (no shared state). Returned json_t are
 * new references: the caller json_decref()s them.
 */
#ifndef SLUICE_PARAMS_H
#define SLUICE_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "kernel.h"

/*
 * The value of one form field for spec, from its text. A number: the
 * whole text (kernel_parse_param's rules: no blanks or garbage, finite,
 * whole for KPARAM_INT, within [min, max]). A text: valid UTF-8, CR LF
 * and CR read as LF, no control character but tab and newline, at most
 * max_length characters. A choice: one of choices, exactly. A bool:
 * "true" or "false", as the form sends it. Returns a new JSON value, or
 * NULL with a message for the user in err (e.g. "must be between 16 and
 * 4096"; "out of memory" on ENOMEM).
 */
json_t	*params_value_from_text(const struct kparam_spec *, const char *text,
	    char *err, size_t errlen);

/* The spec's default as a JSON value; NULL on ENOMEM. */
json_t	*params_default_value(const struct kparam_spec *);

/*
 * Checks one JSON value against spec, as params_value_from_text would
 * have made it: a number (an integer, or a real that is whole, for
 * KPARAM_INT) within [min, max], a string of the text's rules or one of
 * the choices, a boolean. Returns 0, or -1 with a message in err.
 */
int	 params_value_check(const struct kparam_spec *, const json_t *v,
	    char *err, size_t errlen);

/*
 * Parses the JSON text of a whole params object and checks it against
 * the n specs: an object holding every spec's key with a valid value and
 * no other key. Returns a new object, or NULL with "NAME: reason" (or
 * what is wrong with the text) in err.
 */
json_t	*params_decode(const struct kparam_spec *, size_t n, const char *text,
	    char *err, size_t errlen);

/*
 * Compact JSON text of obj with the n specs' keys in spec order, numbers
 * written in the shortest form that reads back exactly (0.1, not
 * 0.10000000000000001), a float's whole value with ".0" (3.0) so that a
 * worker reads a float, an int's without (12). Returns a malloc'd string
 * the caller frees, or NULL on ENOMEM or when obj lacks a key or holds a
 * value of another type.
 */
char	*params_encode(const struct kparam_spec *, size_t n, const json_t *obj);

/*
 * The values of obj (checked as params_decode does) as doubles in spec
 * order, into out[0..n), for the built-in kernels (numbers; a bool is 0
 * or 1). Returns 0, or -1 with
 * "NAME: reason" in err.
 */
int	 params_numbers(const struct kparam_spec *, size_t n, const json_t *obj,
	    double *out, char *err, size_t errlen);

#endif
