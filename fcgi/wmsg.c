/* wmsg: worker messages, parsed and checked. See wmsg.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wmsg.h"

static const char *const wmsg_names[] = {
	[WMSG_READY] = "ready",
	[WMSG_PROGRESS] = "progress",
	[WMSG_RESULT] = "result",
	[WMSG_ERROR] = "error",
};
#define WMSG_NTYPES	(sizeof(wmsg_names) / sizeof(wmsg_names[0]))

const char *
wmsg_type_name(enum wmsg_type t)
{
	return (size_t)t < WMSG_NTYPES ? wmsg_names[t] : "unknown";
}

/* A copy of s cut to at most max bytes, on a UTF-8 character boundary. */
static char *
dup_cut(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

/* At most max characters of s (UTF-8, as jansson guarantees). */
static char *
dup_chars(const char *s, size_t max)
{
	size_t	 n, chars = 0;

	for (n = 0; s[n] != '\0'; n++)
		if (((unsigned char)s[n] & 0xc0) != 0x80 && chars++ == max)
			break;
	return strndup(s, n);
}

static int
name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > WMSG_NAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", s[i]) == NULL)
			return 0;
	return 1;
}

static int
device_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789:", s[i]) == NULL)
			return 0;
	return n > 0 && n < 32;
}

static int
bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

static int
parse_ready(const json_t *o, struct wmsg *m, char *err, size_t errlen)
{
	const json_t	*d = json_object_get(o, "device");

	if (d == NULL || json_is_null(d))
		return 0;
	if (!json_is_string(d) || !device_ok(json_string_value(d)))
		return bad(err, errlen, "ready: device must be like \"cpu\" "
		    "or \"cuda:0\"");
	snprintf(m->device, sizeof(m->device), "%s", json_string_value(d));
	return 0;
}

static int
parse_progress(const json_t *o, struct wmsg *m, char *err, size_t errlen)
{
	const json_t	*f = json_object_get(o, "fraction");
	const json_t	*t = json_object_get(o, "message");

	if (!json_is_number(f) || !(json_number_value(f) >= 0 &&
	    json_number_value(f) <= 1))
		return bad(err, errlen, "progress: fraction must be a number "
		    "0..1");
	m->fraction = json_number_value(f);
	if (t == NULL || json_is_null(t))
		return 0;
	if (!json_is_string(t))
		return bad(err, errlen, "progress: message must be a string");
	if ((m->message = dup_chars(json_string_value(t),
	    WMSG_MESSAGE_MAX)) == NULL)
		return bad(err, errlen, "out of memory");
	return 0;
}

static int
parse_file(const json_t *f, struct wmsg_file *out, char *err, size_t errlen)
{
	const json_t	*n = json_object_get(f, "name");
	const json_t	*p = json_object_get(f, "path");
	const json_t	*t = json_object_get(f, "type");

	if (!json_is_object(f) || !json_is_string(n) || !json_is_string(p) ||
	    (t != NULL && !json_is_string(t)))
		return bad(err, errlen, "result: each file must be "
		    "{\"name\",\"path\",\"type\"} strings");
	if (!name_ok(json_string_value(n)))
		return bad(err, errlen, "result: a file name must be 1-64 of "
		    "[A-Za-z0-9._-]");
	snprintf(out->name, sizeof(out->name), "%s", json_string_value(n));
	out->path = strdup(json_string_value(p));
	out->type = strdup(t != NULL ? json_string_value(t) :
	    "application/octet-stream");
	if (out->path == NULL || out->type == NULL)
		return bad(err, errlen, "out of memory");
	return 0;
}

static int
parse_result(const json_t *o, struct wmsg *m, char *err, size_t errlen)
{
	const json_t	*r = json_object_get(o, "result");
	const json_t	*fs = json_object_get(o, "files");
	size_t		 i, j;

	if (r != NULL && !json_is_object(r) && !json_is_null(r))
		return bad(err, errlen, "result: result must be an object");
	/* For reading: 15 digits keep "1.263" as it was written. */
	m->result = r != NULL && json_is_object(r) ? json_dumps(r,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) :
	    strdup("{}");
	if (m->result == NULL)
		return bad(err, errlen, "out of memory");
	if (fs == NULL || json_is_null(fs))
		return 0;
	if (!json_is_array(fs) || json_array_size(fs) > WMSG_FILES_MAX)
		return bad(err, errlen, "result: files must be an array of at "
		    "most 64");
	if (json_array_size(fs) > 0 && (m->files = calloc(json_array_size(fs),
	    sizeof(*m->files))) == NULL)
		return bad(err, errlen, "out of memory");
	for (i = 0; i < json_array_size(fs); i++) {
		m->nfiles++;
		if (parse_file(json_array_get(fs, i), &m->files[i], err,
		    errlen) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(m->files[j].name, m->files[i].name) == 0)
				return bad(err, errlen, "result: two files "
				    "with one name");
	}
	return 0;
}

static int
parse_error(const json_t *o, struct wmsg *m, char *err, size_t errlen)
{
	const json_t	*e = json_object_get(o, "error");

	if (!json_is_string(e))
		return bad(err, errlen, "error: error must be a string");
	if ((m->error = dup_cut(json_string_value(e), WMSG_ERROR_MAX)) == NULL)
		return bad(err, errlen, "out of memory");
	return 0;
}

static int (*const wmsg_parsers[])(const json_t *, struct wmsg *, char *,
    size_t) = {
	[WMSG_READY] = parse_ready,
	[WMSG_PROGRESS] = parse_progress,
	[WMSG_RESULT] = parse_result,
	[WMSG_ERROR] = parse_error,
};

/* The type and job id every message but ready carries. */
static int
parse_head(const json_t *o, struct wmsg *m, char *err, size_t errlen)
{
	const json_t	*t = json_object_get(o, "type"), *id;
	size_t		 i;

	if (!json_is_string(t))
		return bad(err, errlen, "a message must have a string type");
	for (i = 0; i < WMSG_NTYPES; i++)
		if (strcmp(json_string_value(t), wmsg_names[i]) == 0)
			break;
	if (i == WMSG_NTYPES)
		return bad(err, errlen, "unknown message type");
	m->type = (enum wmsg_type)i;
	if (m->type == WMSG_READY)
		return 0;
	id = json_object_get(o, "job");
	if (!json_is_string(id) || strlen(json_string_value(id)) !=
	    sizeof(m->job) - 1)
		return bad(err, errlen, "a job message must name its job");
	snprintf(m->job, sizeof(m->job), "%s", json_string_value(id));
	return 0;
}

int
wmsg_parse(const char *line, size_t len, struct wmsg *m, char *err,
    size_t errlen)
{
	json_error_t	 je;
	json_t		*o;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > WMSG_LINE_MAX)
		return bad(err, errlen, "line longer than 1 MiB");
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "not JSON: %s", je.text);
		return -1;
	}
	if (!json_is_object(o))
		(void)bad(err, errlen, "a message must be a JSON object");
	else if (parse_head(o, m, err, errlen) == 0)
		rc = wmsg_parsers[m->type](o, m, err, errlen);
	json_decref(o);
	if (rc == -1)
		wmsg_free(m);
	return rc;
}

void
wmsg_free(struct wmsg *m)
{
	size_t	 i;

	for (i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].type);
	}
	free(m->files);
	free(m->message);
	free(m->result);
	free(m->error);
	memset(m, 0, sizeof(*m));
}
