/*
 * conf_setting: reading one libconfig setting, and the error messages.
 *
 * Every error is reported as "FILE:LINE: path.to.key: what is wrong", where
 * LINE is the line of the offending setting, or of the enclosing group when
 * a required key is missing. The readers below check a setting's type and
 * range and write such a message into the load's context when it is wrong.
 * No state: each load has its own context.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

#define CONF_MAX_STRING	4096		/* bytes in a path or title */
#define CONF_PATH_MAX	512		/* bytes of a key path in messages */

static void conf_verr(struct conf_ctx *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/* Writes "FILE:LINE: " (LINE when > 0) and the message into ctx->err. */
static void
conf_verr(struct conf_ctx *ctx, int line, const char *fmt, va_list ap)
{
	int	 n;

	if (ctx->err == NULL || ctx->errlen == 0)
		return;
	if (line > 0)
		n = snprintf(ctx->err, ctx->errlen, "%s:%d: ", ctx->file, line);
	else
		n = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->file);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return;
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
}

/* "FILE:LINE: message" (LINE when > 0) into ctx->err. */
void
conf_err(struct conf_ctx *ctx, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verr(ctx, line, fmt, ap);
	va_end(ap);
}

/* The line of s; the root group (line 0) counts as line 1. */
static int
conf_line(const config_setting_t *s)
{
	unsigned int	 line;

	line = s == NULL ? 0 : config_setting_source_line(s);
	return line == 0 ? 1 : (int)line;
}

/*
 * Writes the dotted path of s ("locks.gpu.slots", "x.devices[1]") into
 * out, truncating if needed. Returns out.
 */
static char *
conf_path(const config_setting_t *s, char *out, size_t outlen)
{
	const config_setting_t	*chain[64];
	size_t			 n = 0, len = 0, i;
	const char		*name;
	int			 w;

	out[0] = '\0';
	while (s != NULL && !config_setting_is_root(s) &&
	    n < sizeof(chain) / sizeof(chain[0])) {
		chain[n++] = s;
		s = config_setting_parent(s);
	}
	for (i = n; i > 0 && len < outlen; i--) {
		name = config_setting_name(chain[i - 1]);
		if (name != NULL)
			w = snprintf(out + len, outlen - len, "%s%s",
			    len > 0 ? "." : "", name);
		else
			w = snprintf(out + len, outlen - len, "[%d]",
			    config_setting_index(chain[i - 1]));
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return out;
}

/* "FILE:LINE: path: message" for setting s. */
void
conf_serr(struct conf_ctx *ctx, const config_setting_t *s, const char *fmt,
    ...)
{
	char	 path[CONF_PATH_MAX], msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_err(ctx, conf_line(s), "%s: %s",
	    conf_path(s, path, sizeof(path)), msg);
}

/* "FILE:LINE: parent.key: missing (required)", at the parent's line. */
void
conf_missing(struct conf_ctx *ctx, const config_setting_t *parent,
    const char *key)
{
	char	 path[CONF_PATH_MAX];

	conf_path(parent, path, sizeof(path));
	conf_err(ctx, conf_line(parent), "%s%s%s: missing (required)",
	    path, path[0] != '\0' ? "." : "", key);
}

/* Refuses any member of group s whose name is not in keys. */
int
conf_check_keys(struct conf_ctx *ctx, const config_setting_t *s,
    const char *const *keys)
{
	const config_setting_t	*m;
	const char		*name;
	size_t			 k;
	int			 i, n;

	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned int)i);
		name = config_setting_name(m);
		for (k = 0; keys[k] != NULL; k++)
			if (name != NULL && strcmp(name, keys[k]) == 0)
				break;
		if (keys[k] == NULL) {
			conf_serr(ctx, m, "unknown key");
			return -1;
		}
	}
	return 0;
}

/*
 * Finds the group called key in parent. Returns 0 with *out set (NULL when
 * absent), or -1 when it is there but not a group.
 */
int
conf_group(struct conf_ctx *ctx, const config_setting_t *parent,
    const char *key, config_setting_t **out)
{
	config_setting_t	*s;

	*out = NULL;
	s = config_setting_get_member(parent, key);
	if (s == NULL)
		return 0;
	if (!config_setting_is_group(s)) {
		conf_serr(ctx, s, "must be a group");
		return -1;
	}
	*out = s;
	return 0;
}

int
conf_is_int(const config_setting_t *s)
{
	int	 t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

/*
 * Reads the integer key of group (which may be NULL) into *out, within
 * lo..hi, or def when absent (required: an error when absent).
 */
int
conf_int(struct conf_ctx *ctx, const config_setting_t *group, const char *key,
    long long lo, long long hi, long long def, int required, long long *out)
{
	config_setting_t	*s;
	long long		 v;

	*out = def;
	s = group == NULL ? NULL : config_setting_get_member(group, key);
	if (s == NULL) {
		if (required) {
			conf_missing(ctx, group, key);
			return -1;
		}
		return 0;
	}
	if (!conf_is_int(s)) {
		conf_serr(ctx, s, "must be an integer");
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		if (hi == INT64_MAX)
			conf_serr(ctx, s, "must be >= %lld", lo);
		else
			conf_serr(ctx, s, "must be %lld..%lld", lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * Reads the string key of group (which may be NULL) as a malloc'd copy in
 * *out: def copied when absent, or an error when required. *valp, when not
 * NULL, gets the setting (NULL when absent) for later messages.
 */
int
conf_str(struct conf_ctx *ctx, const config_setting_t *group, const char *key,
    const char *def, int required, char **out, config_setting_t **valp)
{
	config_setting_t	*s;
	const char		*v;
	size_t			 len;

	*out = NULL;
	s = group == NULL ? NULL : config_setting_get_member(group, key);
	if (valp != NULL)
		*valp = s;
	if (s == NULL) {
		if (required) {
			conf_missing(ctx, group, key);
			return -1;
		}
		v = def;
	} else {
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			conf_serr(ctx, s, "must be a string");
			return -1;
		}
		v = config_setting_get_string(s);
		len = v == NULL ? 0 : strlen(v);
		if (len == 0) {
			conf_serr(ctx, s, "must not be empty");
			return -1;
		}
		if (len > CONF_MAX_STRING) {
			conf_serr(ctx, s, "must be at most %d bytes",
			    CONF_MAX_STRING);
			return -1;
		}
	}
	if (v == NULL)
		return 0;
	if ((*out = strdup(v)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Reads the boolean key of group (which may be NULL) into *out, or def
 * when absent.
 */
int
conf_bool(struct conf_ctx *ctx, const config_setting_t *group,
    const char *key, int def, int *out)
{
	config_setting_t	*s;

	*out = def;
	s = group == NULL ? NULL : config_setting_get_member(group, key);
	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		conf_serr(ctx, s, "must be true or false");
		return -1;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

/*
 * Reads the number key (integer or float) of group into *out, or def when
 * absent (required: an error when absent). A finite value only.
 */
int
conf_num(struct conf_ctx *ctx, const config_setting_t *group,
    const char *key, double def, int required, double *out)
{
	config_setting_t	*s;
	double			 v;

	*out = def;
	s = group == NULL ? NULL : config_setting_get_member(group, key);
	if (s == NULL) {
		if (required) {
			conf_missing(ctx, group, key);
			return -1;
		}
		return 0;
	}
	if (conf_is_int(s))
		v = (double)config_setting_get_int64(s);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else {
		conf_serr(ctx, s, "must be a number");
		return -1;
	}
	if (!isfinite(v) || fabs(v) > 1e15) {
		conf_serr(ctx, s, "must be a finite number of at most 1e15");
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * The array (or list) of strings s as a NULL-terminated malloc'd array
 * (conf_strings_free), at least min of them, each 1..CONF_MAX_STRING
 * bytes unless empty_ok. 0, or -1 with the error (*out NULL).
 */
int
conf_strings(struct conf_ctx *ctx, const config_setting_t *s, int min,
    int empty_ok, char ***out)
{
	config_setting_t	*e;
	const char		*v;
	char			**a;
	int			 i, n;

	*out = NULL;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_serr(ctx, s, "must be an array of strings");
		return -1;
	}
	n = config_setting_length(s);
	if (n < min) {
		conf_serr(ctx, s, "must have at least %d element%s", min,
		    min == 1 ? "" : "s");
		return -1;
	}
	if ((a = calloc((size_t)n + 1, sizeof(*a))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    (v = config_setting_get_string(e)) == NULL) {
			conf_serr(ctx, s, "must be an array of strings");
			goto fail;
		}
		if ((!empty_ok && v[0] == '\0') ||
		    strlen(v) > CONF_MAX_STRING) {
			conf_serr(ctx, e, "must be 1..%d bytes", CONF_MAX_STRING);
			goto fail;
		}
		if ((a[i] = strdup(v)) == NULL) {
			conf_err(ctx, 0, "out of memory");
			goto fail;
		}
	}
	*out = a;
	return 0;
fail:
	conf_strings_free(a);
	return -1;
}

void
conf_strings_free(char **a)
{
	size_t	 i;

	for (i = 0; a != NULL && a[i] != NULL; i++)
		free(a[i]);
	free(a);
}

int
conf_enum(struct conf_ctx *ctx, const config_setting_t *group,
    const char *key, const char *const names[], int def, int *out)
{
	config_setting_t	*s;
	char			*v = NULL, list[256];
	size_t			 len = 0;
	int			 i, rc = -1;

	*out = def;
	if (conf_str(ctx, group, key, NULL, 0, &v, &s) == -1)
		goto out;
	if (v == NULL) {
		rc = 0;
		goto out;
	}
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			rc = 0;
			goto out;
		}
	list[0] = '\0';
	for (i = 0; names[i] != NULL && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s\"%s\"", i == 0 ? "" : names[i + 1] == NULL ? " or " :
		    ", ", names[i]);
	conf_serr(ctx, s, "must be %s", list);
out:
	free(v);
	return rc;
}
