/*
 * conf: loads the libconfig file and validates every value into the plain
 * structs of conf.h. Nothing here keeps state between calls: each load has
 * its own libconfig handle and its own error context, so loads may run on
 * several threads at once.
 *
 * Every error is reported as "FILE:LINE: path.to.key: what is wrong", where
 * LINE is the line of the offending setting, or of the enclosing group when
 * a required key is missing.
 *
 * What libconfig 1.5 gets wrong is handled before it sees the text
 * (conf_prescan): an integer literal that does not fit 32 bits wraps
 * silently (threads = 4294967297 reads as 1), so such literals are given
 * the 64-bit "L" suffix and range-checked like any other; a string left
 * open at the end of the text leaks libconfig's buffer, so it is refused
 * first; and @include is refused, since it would read arbitrary files
 * (from conf_load_string too) and blur which file a line refers to.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* the GNU strerror_r */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "kernel.h"

#ifndef SLUICE_DATADIR
#define SLUICE_DATADIR	"/usr/local/share/sluice"
#endif

#define CONF_MAX_TEXT	(1024 * 1024)	/* bytes of config text accepted */
#define CONF_MAX_DEVICE	1023		/* highest CUDA device index */
#define CONF_MAX_STRING	4096		/* bytes in a path or title */
#define CONF_UNIX_MAX	107		/* sizeof(sun_path) - 1 on Linux */
#define CONF_PATH_MAX	512		/* bytes of a key path in messages */

struct conf_ctx {
	const char	*file;		/* as given, for messages */
	char		*err;
	size_t		 errlen;
};

static const char *const conf_root_keys[] = {
	"server", "results", "sessions", "locks", "tasks", NULL
};
static const char *const conf_server_keys[] = {
	"listen", "threads", "templates", "state", "max_body",
	"drain_timeout", NULL
};
static const char *const conf_results_keys[] = { "ttl", "max_bytes", NULL };
static const char *const conf_sessions_keys[] = { "max_active", NULL };
static const char *const conf_lock_keys[] = {
	"slots", "queue", "wait_timeout", "devices", "order", NULL
};
static const char *const conf_task_keys[] = {
	"kernel", "locks", "title", NULL
};

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

static void conf_err(struct conf_ctx *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_err(struct conf_ctx *ctx, int line, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verr(ctx, line, fmt, ap);
	va_end(ap);
}

/* The line of s; the root group (line 0) counts as line 1. */
/*
 * Responder threads when the file says nothing: twice the online CPUs, at
 * least 4. A responder never waits for a lock, a GPU or an idle kept
 * connection, so threads beyond the cores mostly add context switches
 * (measured on 2 cores: GET / through nginx at 2, 4, 8 and 16 threads,
 * 31k, 28k, 23k and 22k requests/s); a few spare ones cover a request
 * waiting on the journal.
 */
static long long
conf_default_threads(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 4;
	return n > 512 ? 1024 : 2 * (long long)n;
}

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

static void conf_serr(struct conf_ctx *, const config_setting_t *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE: path: message" for setting s. */
static void
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
static void
conf_missing(struct conf_ctx *ctx, const config_setting_t *parent,
    const char *key)
{
	char	 path[CONF_PATH_MAX];

	conf_path(parent, path, sizeof(path));
	conf_err(ctx, conf_line(parent), "%s%s%s: missing (required)",
	    path, path[0] != '\0' ? "." : "", key);
}

/* Refuses any member of group s whose name is not in keys. */
static int
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
static int
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

static int
conf_is_int(const config_setting_t *s)
{
	int	 t = config_setting_type(s);

	return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
}

/*
 * Reads the integer key of group (which may be NULL) into *out, within
 * lo..hi, or def when absent (required: an error when absent).
 */
static int
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
static int
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

/* Lock and task names: [A-Za-z0-9_-], 1..CONF_NAME_MAX bytes. */
static int
conf_name_ok(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CONF_NAME_MAX)
			return 0;
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return 0;
	}
	return 1;
}

/*
 * Checks a listen address: "unix:/absolute/path" or "HOST:PORT" (HOST may
 * be a bracketed IPv6 address). Returns 0, or -1 with the reason in why.
 */
static int
conf_listen_ok(const char *v, const char **why)
{
	const char	*colon, *p;
	size_t		 hostlen;
	long		 port;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/') {
			*why = "unix socket path must be absolute";
			return -1;
		}
		if (strlen(v + 5) > CONF_UNIX_MAX) {
			*why = "unix socket path must be at most 107 bytes";
			return -1;
		}
		return 0;
	}
	if ((colon = strrchr(v, ':')) == NULL) {
		*why = "must be \"unix:/path\" or \"HOST:PORT\"";
		return -1;
	}
	hostlen = (size_t)(colon - v);
	if (hostlen == 0) {
		*why = "host is missing (use HOST:PORT)";
		return -1;
	}
	if (v[0] == '[') {
		if (hostlen < 3 || v[hostlen - 1] != ']') {
			*why = "bad IPv6 address (use [ADDR]:PORT)";
			return -1;
		}
	} else if (memchr(v, ':', hostlen) != NULL) {
		*why = "an IPv6 host must be in brackets ([ADDR]:PORT)";
		return -1;
	}
	for (p = v; p < colon; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) ||
		    *p == '/') {
			*why = "bad character in host";
			return -1;
		}
	p = colon + 1;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
	    strlen(p) > 5) {
		*why = "port must be 1..65535";
		return -1;
	}
	port = strtol(p, NULL, 10);
	if (port < 1 || port > 65535) {
		*why = "port must be 1..65535";
		return -1;
	}
	return 0;
}

static int
conf_load_server(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g, *s;
	long long		 v;
	const char		*why;

	if (conf_group(ctx, root, "server", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_server_keys) == -1)
		return -1;
	if (conf_str(ctx, g, "listen", "127.0.0.1:9000", 0, &c->listen,
	    &s) == -1)
		return -1;
	if (s != NULL && conf_listen_ok(c->listen, &why) == -1) {
		conf_serr(ctx, s, "%s", why);
		return -1;
	}
	if (conf_int(ctx, g, "threads", 1, 1024, conf_default_threads(), 0,
	    &v) == -1)
		return -1;
	c->threads = (int)v;
	if (conf_str(ctx, g, "templates", SLUICE_DATADIR "/templates", 0,
	    &c->templates, NULL) == -1)
		return -1;
	if (conf_str(ctx, g, "state", "/var/lib/sluice", 0, &c->state,
	    NULL) == -1)
		return -1;
	if (conf_int(ctx, g, "max_body", 1, 1073741824, 65536, 0, &v) == -1)
		return -1;
	c->max_body = (long)v;
	if (conf_int(ctx, g, "drain_timeout", 0, 86400, 30, 0, &v) == -1)
		return -1;
	c->drain_timeout = (int)v;
	return 0;
}

static int
conf_load_results(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g;
	long long		 v;

	if (conf_group(ctx, root, "results", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_results_keys) == -1)
		return -1;
	if (conf_int(ctx, g, "ttl", 1, 31536000, 3600, 0, &v) == -1)
		return -1;
	c->results_ttl = (long)v;
	if (conf_int(ctx, g, "max_bytes", 1, INT64_MAX, 1073741824LL, 0,
	    &v) == -1)
		return -1;
	c->results_max_bytes = (int64_t)v;
	return 0;
}

static int
conf_load_sessions(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g;
	long long		 v;

	if (conf_group(ctx, root, "sessions", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_sessions_keys) == -1)
		return -1;
	if (conf_int(ctx, g, "max_active", 1, 1000000, 2, 0, &v) == -1)
		return -1;
	c->max_active = (int)v;
	return 0;
}

static int
conf_load_devices(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_lock *l)
{
	config_setting_t	*s, *e;
	long long		 v;
	int			 i, n;

	if ((s = config_setting_get_member(g, "devices")) == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_serr(ctx, s, "must be an array of integers");
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (!conf_is_int(e)) {
			conf_serr(ctx, s, "must be an array of integers");
			return -1;
		}
	}
	if (n != l->slots) {
		conf_serr(ctx, s, "must list one device per slot "
		    "(slots = %d, devices has %d)", l->slots, n);
		return -1;
	}
	if ((l->devices = calloc((size_t)n, sizeof(*l->devices))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		v = config_setting_get_int64(e);
		if (v < 0 || v > CONF_MAX_DEVICE) {
			conf_serr(ctx, e, "must be a device index 0..%d",
			    CONF_MAX_DEVICE);
			return -1;
		}
		l->devices[i] = (int)v;
	}
	return 0;
}

static int
conf_load_lock(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_lock *l)
{
	config_setting_t	*s;
	const char		*name = config_setting_name(g);
	char			*order = NULL;
	long long		 v;
	int			 rc = -1;

	if (!conf_name_ok(name)) {
		conf_serr(ctx, g, "lock names must be 1..%d characters of "
		    "A-Z a-z 0-9 _ -", CONF_NAME_MAX);
		goto out;
	}
	if (!config_setting_is_group(g)) {
		conf_serr(ctx, g, "must be a group");
		goto out;
	}
	if ((l->name = strdup(name)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		goto out;
	}
	if (conf_check_keys(ctx, g, conf_lock_keys) == -1)
		goto out;
	if (conf_int(ctx, g, "slots", 1, CONF_MAX_SLOTS, 0, 1, &v) == -1)
		goto out;
	l->slots = (int)v;
	if (conf_int(ctx, g, "queue", 0, 1000000, 64, 0, &v) == -1)
		goto out;
	l->queue = (int)v;
	if (conf_int(ctx, g, "wait_timeout", 0, 31536000, 600, 0, &v) == -1)
		goto out;
	l->wait_timeout = (int)v;
	if (conf_load_devices(ctx, g, l) == -1)
		goto out;
	if (conf_str(ctx, g, "order", "fifo", 0, &order, &s) == -1)
		goto out;
	if (strcmp(order, "fifo") == 0)
		l->order = CONF_ORDER_FIFO;
	else if (strcmp(order, "fair") == 0)
		l->order = CONF_ORDER_FAIR;
	else {
		conf_serr(ctx, s, "must be \"fifo\" or \"fair\"");
		goto out;
	}
	rc = 0;
out:
	free(order);
	return rc;
}

static int
conf_lock_ptr_cmp(const void *a, const void *b)
{
	const struct conf_lock	*la = *(const struct conf_lock *const *)a;
	const struct conf_lock	*lb = *(const struct conf_lock *const *)b;

	return strcmp(la->name, lb->name);
}

/*
 * Resolves the task's lock names against the locks, sorted by name in
 * sorted (so that a long list costs n log n). seen[i] == stamp marks lock i
 * as already named by this task.
 */
static int
conf_task_locks(struct conf_ctx *ctx, const config_setting_t *s,
    struct conf_task *t, const struct conf *c,
    struct conf_lock *const *sorted, size_t *seen, size_t stamp)
{
	config_setting_t	*e;
	struct conf_lock	 key, *kp = &key, *const *hit;
	const char		*v;
	size_t			 idx;
	int			 i, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_serr(ctx, s, "must be an array of strings");
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_serr(ctx, s, "must be an array of strings");
			return -1;
		}
	}
	if (n <= 0) {
		conf_serr(ctx, s, "must name at least one lock");
		return -1;
	}
	t->locks = calloc((size_t)n, sizeof(*t->locks));
	t->lock_index = calloc((size_t)n, sizeof(*t->lock_index));
	if (t->locks == NULL || t->lock_index == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		v = config_setting_get_string(e);
		key.name = (char *)(v == NULL ? "" : v);
		hit = c->nlocks == 0 ? NULL : bsearch(&kp, sorted, c->nlocks,
		    sizeof(*sorted), conf_lock_ptr_cmp);
		if (hit == NULL) {
			conf_serr(ctx, e, "unknown lock \"%s\"", key.name);
			return -1;
		}
		idx = (size_t)(*hit - c->locks);
		if (seen[idx] == stamp) {
			conf_serr(ctx, e, "lock \"%s\" named twice", key.name);
			return -1;
		}
		seen[idx] = stamp;
		if ((t->locks[i] = strdup(key.name)) == NULL) {
			conf_err(ctx, 0, "out of memory");
			return -1;
		}
		t->lock_index[i] = idx;
		t->nlocks = (size_t)i + 1;
	}
	return 0;
}

/*
 * A job runs on one device: the device of its slot of the first of its
 * locks that has devices. A second lock with devices would only hold a
 * slot (and so a GPU) that the job never uses: refused.
 */
static int
conf_task_devices(struct conf_ctx *ctx, const config_setting_t *s,
    const struct conf_task *t, const struct conf *c)
{
	const char	*first = NULL, *name;
	size_t		 i;

	for (i = 0; i < t->nlocks; i++) {
		if (c->locks[t->lock_index[i]].devices == NULL)
			continue;
		name = c->locks[t->lock_index[i]].name;
		if (first != NULL) {
			conf_serr(ctx, s, "locks \"%s\" and \"%s\" both have "
			    "devices; a job runs on one device, so at most one "
			    "of a task's locks may list devices", first, name);
			return -1;
		}
		first = name;
	}
	return 0;
}

static int
conf_load_task(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t, const struct conf *c,
    struct conf_lock *const *sorted, size_t *seen, size_t stamp)
{
	config_setting_t	*s;
	const struct kernel	*k;
	const char		*name = config_setting_name(g);

	if (!conf_name_ok(name)) {
		conf_serr(ctx, g, "task names must be 1..%d characters of "
		    "A-Z a-z 0-9 _ -", CONF_NAME_MAX);
		return -1;
	}
	if (!config_setting_is_group(g)) {
		conf_serr(ctx, g, "must be a group");
		return -1;
	}
	if ((t->name = strdup(name)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	if (conf_check_keys(ctx, g, conf_task_keys) == -1)
		return -1;
	if (conf_str(ctx, g, "kernel", NULL, 1, &t->kernel, &s) == -1)
		return -1;
	if ((k = kernel_find(t->kernel)) == NULL) {
		conf_serr(ctx, s, "unknown kernel \"%s\"", t->kernel);
		return -1;
	}
	if ((s = config_setting_get_member(g, "locks")) == NULL) {
		conf_missing(ctx, g, "locks");
		return -1;
	}
	if (conf_task_locks(ctx, s, t, c, sorted, seen, stamp) == -1 ||
	    conf_task_devices(ctx, s, t, c) == -1)
		return -1;
	return conf_str(ctx, g, "title",
	    k->title != NULL && k->title[0] != '\0' ? k->title : t->name, 0,
	    &t->title, NULL);
}

static int
conf_load_locks(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g;
	size_t			 i, n;
	long long		 total = 0;
	int			 len;

	if (conf_group(ctx, root, "locks", &g) == -1)
		return -1;
	if (g == NULL || (len = config_setting_length(g)) <= 0)
		return 0;
	n = (size_t)len;
	if ((c->locks = calloc(n, sizeof(*c->locks))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	c->nlocks = n;
	for (i = 0; i < n; i++) {
		if (conf_load_lock(ctx, config_setting_get_elem(g,
		    (unsigned int)i), &c->locks[i]) == -1)
			return -1;
		total += c->locks[i].slots;
	}
	if (total > CONF_MAX_TOTAL_SLOTS) {
		conf_serr(ctx, g, "the slots of all locks add up to %lld, more "
		    "than %d (one worker thread runs each held slot)", total,
		    CONF_MAX_TOTAL_SLOTS);
		return -1;
	}
	return 0;
}

static int
conf_load_tasks(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	 *g;
	struct conf_lock	**sorted = NULL;
	size_t			 *seen = NULL, i, n;
	int			  len, rc = -1;

	if (conf_group(ctx, root, "tasks", &g) == -1)
		goto out;
	if (g == NULL) {
		conf_err(ctx, 1, "tasks: missing (at least one task is "
		    "required)");
		goto out;
	}
	if ((len = config_setting_length(g)) <= 0) {
		conf_serr(ctx, g, "at least one task is required");
		goto out;
	}
	n = (size_t)len;
	if ((c->tasks = calloc(n, sizeof(*c->tasks))) == NULL)
		goto oom;
	c->ntasks = n;
	if (c->nlocks > 0) {
		sorted = calloc(c->nlocks, sizeof(*sorted));
		seen = calloc(c->nlocks, sizeof(*seen));
		if (sorted == NULL || seen == NULL)
			goto oom;
		for (i = 0; i < c->nlocks; i++)
			sorted[i] = &c->locks[i];
		qsort(sorted, c->nlocks, sizeof(*sorted), conf_lock_ptr_cmp);
	}
	for (i = 0; i < n; i++)
		if (conf_load_task(ctx, config_setting_get_elem(g,
		    (unsigned int)i), &c->tasks[i], c, sorted,
		    seen, i + 1) == -1)
			goto out;
	rc = 0;
	goto out;
oom:
	conf_err(ctx, 0, "out of memory");
out:
	free(sorted);
	free(seen);
	return rc;
}

/*
 * The pre-scan: a copy of the text as libconfig 1.5's scanner will see it,
 * token by token (strings, comments, names, numbers, punctuation).
 */
struct conf_scan {
	const char	*text;
	size_t		 len, i;	/* input and position */
	char		*out;		/* the copy, built as we go */
	size_t		 o;
	int		 line;
	int		 prev;		/* last token: see conf_scan_string() */
	char		*stack;		/* open brackets, innermost last */
	size_t		 depth;
	int		 lost;		/* brackets mismatched: stop judging */
};

static int
conf_scan_peek(const struct conf_scan *sc, size_t ahead)
{
	return sc->i + ahead < sc->len ? (unsigned char)sc->text[sc->i + ahead]
	    : -1;
}

/* Copies one byte, counting lines. */
static void
conf_scan_copy(struct conf_scan *sc)
{
	if (sc->text[sc->i] == '\n')
		sc->line++;
	sc->out[sc->o++] = sc->text[sc->i++];
}

/*
 * A string literal. libconfig 1.5 leaks a string's buffer when the string
 * is left open at the end of the text, and when a string is the token at
 * which bison finds a syntax error. A string can only be valid after "=" or
 * ":", "[" or "(", another string (they concatenate), or "," inside [ ] or
 * ( ); anywhere else it is a syntax error, so its bytes are replaced with a
 * "!" (a token libconfig refuses without allocating) and blanks, keeping
 * the newlines: libconfig still reports the first error at its own line.
 */
static int
conf_scan_string(struct conf_ctx *ctx, struct conf_scan *sc)
{
	size_t	 start = sc->o, k;
	int	 sline = sc->line, ok, top;

	top = sc->depth > 0 ? sc->stack[sc->depth - 1] : 0;
	ok = sc->lost || sc->prev == '"' || sc->prev == '=' ||
	    sc->prev == '[' || sc->prev == '(' ||
	    (sc->prev == ',' && (top == '[' || top == '('));
	conf_scan_copy(sc);
	while (sc->i < sc->len && sc->text[sc->i] != '"' &&
	    sc->text[sc->i] != '\0') {
		if (sc->text[sc->i] == '\\' && conf_scan_peek(sc, 1) > 0)
			conf_scan_copy(sc);
		conf_scan_copy(sc);
	}
	if (sc->i >= sc->len) {
		conf_err(ctx, sline, "syntax error: unterminated string");
		return -1;
	}
	if (sc->text[sc->i] == '"')
		conf_scan_copy(sc);
	if (!ok) {
		sc->out[start] = '!';
		for (k = start + 1; k < sc->o; k++)
			if (sc->out[k] != '\n')
				sc->out[k] = ' ';
	}
	sc->prev = '"';
	return 0;
}

/* # and // comments to the end of the line, and block comments. */
static void
conf_scan_comment(struct conf_scan *sc)
{
	if (sc->text[sc->i] != '/' || conf_scan_peek(sc, 1) != '*') {
		while (sc->i < sc->len && sc->text[sc->i] != '\n' &&
		    sc->text[sc->i] != '\0')
			conf_scan_copy(sc);
		return;
	}
	conf_scan_copy(sc);
	conf_scan_copy(sc);
	while (sc->i < sc->len && sc->text[sc->i] != '\0' &&
	    !(sc->text[sc->i] == '*' && conf_scan_peek(sc, 1) == '/'))
		conf_scan_copy(sc);
	if (sc->i < sc->len && sc->text[sc->i] == '*') {
		conf_scan_copy(sc);
		conf_scan_copy(sc);
	}
}

/* Skips a float's fraction and exponent from position j; returns the end. */
static size_t
conf_scan_float_end(const struct conf_scan *sc, size_t j)
{
	const char	*t = sc->text;

	if (j < sc->len && t[j] == '.')
		for (j++; j < sc->len && isdigit((unsigned char)t[j]);)
			j++;
	if (j < sc->len && (t[j] == 'e' || t[j] == 'E')) {
		j++;
		if (j < sc->len && (t[j] == '+' || t[j] == '-'))
			j++;
		while (j < sc->len && isdigit((unsigned char)t[j]))
			j++;
	}
	return j;
}

/*
 * A number: decimal or hex integer (optionally with L), or a float. An
 * integer beyond 32 bits gets an "L" so that libconfig reads it as 64-bit
 * instead of wrapping it; one beyond 64 bits is refused.
 */
static int
conf_scan_number(struct conf_ctx *ctx, struct conf_scan *sc)
{
	const char	*t = sc->text;
	size_t		 j = sc->i, start = sc->i;
	uint64_t	 v = 0, d, base;
	int		 neg, over = 0;

	neg = t[j] == '-';
	if (t[j] == '-' || t[j] == '+')
		j++;
	base = 10;
	if (t[j] == '0' && j + 2 < sc->len && (t[j + 1] == 'x' ||
	    t[j + 1] == 'X') && isxdigit((unsigned char)t[j + 2])) {
		base = 16;
		j += 2;
	}
	if (base == 10 && t[j] == '.') {
		j = conf_scan_float_end(sc, j);
		goto copy;
	}
	for (; j < sc->len && (base == 16 ? isxdigit((unsigned char)t[j]) :
	    isdigit((unsigned char)t[j])); j++) {
		d = isdigit((unsigned char)t[j]) ? (uint64_t)(t[j] - '0') :
		    (uint64_t)(tolower((unsigned char)t[j]) - 'a' + 10);
		if (v > (UINT64_MAX - d) / base)
			over = 1;
		else
			v = v * base + d;
	}
	if (base == 10 && j < sc->len && (t[j] == '.' || t[j] == 'e' ||
	    t[j] == 'E')) {
		j = conf_scan_float_end(sc, j);
		goto copy;
	}
	/* Largest magnitude: INT64_MAX, one more when negative. */
	if (over || v > (uint64_t)INT64_MAX + (neg && base == 10)) {
		conf_err(ctx, sc->line, "syntax error: integer out of range");
		return -1;
	}
	memcpy(sc->out + sc->o, t + start, j - start);
	sc->o += j - start;
	sc->i = j;
	if ((j >= sc->len || t[j] != 'L') &&
	    v > (uint64_t)INT32_MAX + (neg && base == 10))
		sc->out[sc->o++] = 'L';
	sc->prev = 'n';
	return 0;
copy:
	memcpy(sc->out + sc->o, t + start, j - start);
	sc->o += j - start;
	sc->i = j;
	sc->prev = 'n';
	return 0;
}

/* Punctuation: tracks brackets and the previous token. */
static void
conf_scan_punct(struct conf_scan *sc)
{
	int	 ch = (unsigned char)sc->text[sc->i];
	int	 open;

	switch (ch) {
	case '{': case '[': case '(':
		sc->stack[sc->depth++] = (char)ch;
		sc->prev = ch;
		break;
	case '}': case ']': case ')':
		open = ch == '}' ? '{' : ch == ']' ? '[' : '(';
		if (sc->depth == 0 || sc->stack[sc->depth - 1] != open)
			sc->lost = 1;
		else
			sc->depth--;
		sc->prev = ch;
		break;
	case '=': case ':':
		sc->prev = '=';
		break;
	case ',': case ';':
		sc->prev = ch;
		break;
	default:
		if (!isspace(ch))
			sc->prev = 'x';
		break;
	}
	conf_scan_copy(sc);
}

/*
 * Copies len bytes of text into *outp (NUL-terminated, to be freed) as
 * conf_scan_*() amend it. Refuses NUL bytes, @include, strings left open
 * and integers beyond 64 bits with an error in ctx.
 */
static int
conf_prescan(struct conf_ctx *ctx, const char *text, size_t len, char **outp)
{
	struct conf_scan	 sc;
	int			 ch, rc = -1;

	*outp = NULL;
	memset(&sc, 0, sizeof(sc));
	sc.text = text;
	sc.len = len;
	sc.line = 1;
	/* Each added 'L' follows at least 10 bytes of literal. */
	sc.out = malloc(len + len / 10 + 2);
	sc.stack = malloc(len + 1);
	if (sc.out == NULL || sc.stack == NULL) {
		conf_err(ctx, 0, "out of memory");
		goto out;
	}
	while (sc.i < len) {
		ch = (unsigned char)text[sc.i];
		if (ch == '\0') {
			conf_err(ctx, sc.line, "syntax error: NUL byte in "
			    "file");
			goto out;
		} else if (ch == '"') {
			if (conf_scan_string(ctx, &sc) == -1)
				goto out;
		} else if (ch == '#' || (ch == '/' &&
		    (conf_scan_peek(&sc, 1) == '/' ||
		    conf_scan_peek(&sc, 1) == '*'))) {
			conf_scan_comment(&sc);
		} else if (ch == '@' && len - sc.i >= 8 &&
		    strncmp(text + sc.i, "@include", 8) == 0) {
			conf_err(ctx, sc.line, "syntax error: @include is "
			    "not supported");
			goto out;
		} else if (isalpha(ch) || ch == '*') {
			while (sc.i < len && (isalnum((unsigned char)
			    text[sc.i]) || text[sc.i] == '-' ||
			    text[sc.i] == '_' || text[sc.i] == '*'))
				conf_scan_copy(&sc);
			sc.prev = 'x';
		} else if (isdigit(ch) || ((ch == '-' || ch == '+' ||
		    ch == '.') && conf_scan_peek(&sc, 1) >= 0 &&
		    isdigit(conf_scan_peek(&sc, 1))) || ((ch == '-' ||
		    ch == '+') && conf_scan_peek(&sc, 1) == '.' &&
		    conf_scan_peek(&sc, 2) >= 0 &&
		    isdigit(conf_scan_peek(&sc, 2)))) {
			if (conf_scan_number(ctx, &sc) == -1)
				goto out;
		} else
			conf_scan_punct(&sc);
	}
	sc.out[sc.o] = '\0';
	*outp = sc.out;
	sc.out = NULL;
	rc = 0;
out:
	free(sc.out);
	free(sc.stack);
	return rc;
}

static struct conf *
conf_parse(const char *text, size_t len, const char *file, char *err,
    size_t errlen)
{
	struct conf_ctx		 ctx = { file, err, errlen };
	struct conf		*c = NULL;
	config_t		 cfg;
	config_setting_t	*root;
	char			*clean = NULL;
	int			 ok = 0;

	config_init(&cfg);
	if (len > CONF_MAX_TEXT) {
		conf_err(&ctx, 0, "too large (more than %d bytes)",
		    CONF_MAX_TEXT);
		goto out;
	}
	if (conf_prescan(&ctx, text, len, &clean) == -1)
		goto out;
	if (!config_read_string(&cfg, clean)) {
		conf_err(&ctx, config_error_line(&cfg) > 0 ?
		    config_error_line(&cfg) : 1, "syntax error: %s",
		    config_error_text(&cfg) != NULL ?
		    config_error_text(&cfg) : "unknown error");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(file)) == NULL) {
		conf_err(&ctx, 0, "out of memory");
		goto out;
	}
	root = config_root_setting(&cfg);
	if (conf_check_keys(&ctx, root, conf_root_keys) == -1 ||
	    conf_load_server(&ctx, root, c) == -1 ||
	    conf_load_results(&ctx, root, c) == -1 ||
	    conf_load_sessions(&ctx, root, c) == -1 ||
	    conf_load_locks(&ctx, root, c) == -1 ||
	    conf_load_tasks(&ctx, root, c) == -1)
		goto out;
	ok = 1;
out:
	config_destroy(&cfg);
	free(clean);
	if (!ok) {
		conf_free(c);
		c = NULL;
	} else if (err != NULL && errlen > 0)
		err[0] = '\0';
	return c;
}

/*
 * Loads and validates the file at path. Returns a config to be freed with
 * conf_free(), or NULL with "FILE:LINE: key.path: problem" in err (when
 * err is not NULL and errlen > 0). Thread-safe.
 */
struct conf *
conf_load(const char *path, char *err, size_t errlen)
{
	struct conf_ctx	 ctx = { path, err, errlen };
	struct conf	*c = NULL;
	FILE		*f = NULL;
	char		*text = NULL, ebuf[128];
	size_t		 len = 0, n;

	if (path == NULL) {
		ctx.file = "(null)";
		conf_err(&ctx, 0, "no file name");
		goto out;
	}
	if ((f = fopen(path, "r")) == NULL) {
		conf_err(&ctx, 0, "cannot open: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if ((text = malloc(CONF_MAX_TEXT + 1)) == NULL) {
		conf_err(&ctx, 0, "out of memory");
		goto out;
	}
	while (len <= CONF_MAX_TEXT &&
	    (n = fread(text + len, 1, CONF_MAX_TEXT + 1 - len, f)) > 0)
		len += n;
	if (ferror(f)) {
		conf_err(&ctx, 0, "cannot read: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	c = conf_parse(text, len, path, err, errlen);
out:
	if (f != NULL)
		fclose(f);
	free(text);
	return c;
}

/*
 * As conf_load(), from the NUL-terminated text; name stands for the file in
 * messages ("(string)" when NULL). Thread-safe.
 */
struct conf *
conf_load_string(const char *text, const char *name, char *err,
    size_t errlen)
{
	struct conf_ctx	 ctx;

	if (name == NULL)
		name = "(string)";
	if (text == NULL) {
		ctx.file = name;
		ctx.err = err;
		ctx.errlen = errlen;
		conf_err(&ctx, 0, "no text");
		return NULL;
	}
	return conf_parse(text, strlen(text), name, err, errlen);
}

/* Frees c and everything it owns; NULL is a no-op. */
void
conf_free(struct conf *c)
{
	size_t	 i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlocks; i++) {
		free(c->locks[i].name);
		free(c->locks[i].devices);
	}
	free(c->locks);
	for (i = 0; i < c->ntasks; i++) {
		free(c->tasks[i].name);
		free(c->tasks[i].kernel);
		free(c->tasks[i].title);
		for (j = 0; j < c->tasks[i].nlocks; j++)
			free(c->tasks[i].locks[j]);
		free(c->tasks[i].locks);
		free(c->tasks[i].lock_index);
	}
	free(c->tasks);
	free(c->path);
	free(c->listen);
	free(c->templates);
	free(c->state);
	free(c);
}

/* The lock called name, or NULL. Thread-safe on a loaded config. */
const struct conf_lock *
conf_find_lock(const struct conf *c, const char *name)
{
	size_t	 i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->nlocks; i++)
		if (c->locks[i].name != NULL &&
		    strcmp(c->locks[i].name, name) == 0)
			return &c->locks[i];
	return NULL;
}

/* The task called name, or NULL. Thread-safe on a loaded config. */
const struct conf_task *
conf_find_task(const struct conf *c, const char *name)
{
	size_t	 i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->ntasks; i++)
		if (c->tasks[i].name != NULL &&
		    strcmp(c->tasks[i].name, name) == 0)
			return &c->tasks[i];
	return NULL;
}

/*
 * The settings conf_value prints: the scalars of server, results and
 * sessions. Scripts that need one (sluice-serve sizes nginx's
 * client_max_body_size from server.max_body) ask sluice instead of
 * parsing libconfig themselves (hex, ':' for '=', comments, defaults).
 */
enum conf_vtype { CONF_V_STR, CONF_V_INT, CONF_V_LONG, CONF_V_I64 };

static const struct conf_vkey {
	const char	*name;
	enum conf_vtype	 type;
	size_t		 off;
} conf_vkeys[] = {
	{ "server.listen", CONF_V_STR, offsetof(struct conf, listen) },
	{ "server.threads", CONF_V_INT, offsetof(struct conf, threads) },
	{ "server.templates", CONF_V_STR, offsetof(struct conf, templates) },
	{ "server.state", CONF_V_STR, offsetof(struct conf, state) },
	{ "server.max_body", CONF_V_LONG, offsetof(struct conf, max_body) },
	{ "server.drain_timeout", CONF_V_INT,
	    offsetof(struct conf, drain_timeout) },
	{ "results.ttl", CONF_V_LONG, offsetof(struct conf, results_ttl) },
	{ "results.max_bytes", CONF_V_I64,
	    offsetof(struct conf, results_max_bytes) },
	{ "sessions.max_active", CONF_V_INT,
	    offsetof(struct conf, max_active) },
};

int
conf_value(const struct conf *c, const char *key, char *out, size_t outlen)
{
	const struct conf_vkey	*k;
	const void		*v;
	size_t			 i;
	int			 n = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (c == NULL || key == NULL)
		return -1;
	for (i = 0; i < sizeof(conf_vkeys) / sizeof(conf_vkeys[0]); i++) {
		k = &conf_vkeys[i];
		if (strcmp(k->name, key) != 0)
			continue;
		v = (const char *)c + k->off;
		switch (k->type) {
		case CONF_V_STR:
			n = snprintf(out, outlen, "%s", *(char *const *)v !=
			    NULL ? *(char *const *)v : "");
			break;
		case CONF_V_INT:
			n = snprintf(out, outlen, "%d", *(const int *)v);
			break;
		case CONF_V_LONG:
			n = snprintf(out, outlen, "%ld", *(const long *)v);
			break;
		case CONF_V_I64:
			n = snprintf(out, outlen, "%lld",
			    (long long)*(const int64_t *)v);
			break;
		}
		return n >= 0 && (size_t)n < outlen ? 0 : -1;
	}
	return -1;
}

const char *
conf_value_keys(size_t i)
{
	return i < sizeof(conf_vkeys) / sizeof(conf_vkeys[0]) ?
	    conf_vkeys[i].name : NULL;
}
