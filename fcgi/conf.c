/*
 * conf: loads the libconfig file and validates every value into the plain
 * structs of conf.h. Nothing here keeps state between calls: each load has
 * its own libconfig handle and its own error context, so loads may run on
 * several threads at once.
 *
 * A load reads the text (at most CONF_MAX_TEXT bytes), pre-scans it for
 * what libconfig 1.5 gets wrong (conf_scan.c), parses it with libconfig,
 * then reads the sections in order: server, results, sessions
 * (conf_server.c), locks and tasks (conf_locks.c). Every error is
 * reported as "FILE:LINE: path.to.key: what is wrong" (conf_setting.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* the GNU strerror_r */
#endif
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_int.h"

#define CONF_MAX_TEXT	(1024 * 1024)	/* bytes of config text accepted */

static const char *const conf_root_keys[] = {
	"server", "results", "sessions", "clients", "events", "cluster",
	"locks", "tasks", NULL
};

/*
 * Loads text[0..len) (not NUL-terminated), file naming it in messages.
 * Returns the config, or NULL with the message in err.
 */
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
	    conf_load_clients(&ctx, root, c) == -1 ||
	    conf_load_events(&ctx, root, c) == -1 ||
	    conf_load_cluster(&ctx, root, c) == -1 ||
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
		conf_free_inputs(&c->tasks[i]);	/* reads kernel: first */
		free(c->tasks[i].kernel);
		conf_strings_free(c->tasks[i].worker);
		free(c->tasks[i].inputs_sig);
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
	free(c->events_publisher);
	free(c->cluster_database);
	free(c->cluster_node);
	free(c);
}

/* prog in directory dir (n bytes of it) into out, if it is executable. */
static int
conf_program_in(const char *dir, size_t n, const char *prog, char *out,
    size_t outlen)
{
	return (size_t)snprintf(out, outlen, "%.*s/%s", (int)n,
	    n == 0 ? "." : dir, prog) < outlen && access(out, X_OK) == 0 ?
	    0 : -1;
}

int
conf_program_path(const char *prog, char *out, size_t outlen)
{
	const char	*path = getenv("PATH"), *p, *end;
	char		 self[4096], *slash;
	ssize_t		 n;

	if (strchr(prog, '/') != NULL) {
		if ((size_t)snprintf(out, outlen, "%s", prog) >= outlen)
			return -1;
		return access(out, X_OK);
	}
	for (p = path != NULL ? path : "/usr/bin:/bin"; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if (conf_program_in(p, (size_t)(end - p), prog, out,
		    outlen) == 0)
			return 0;
		if (*end == '\0')
			break;
	}
	/*
	 * Then sluice's own programs: beside this one (the build tree),
	 * in ../libexec/sluice from it (an install, wherever it was put),
	 * and where it was configured to go.
	 */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL &&
		    (conf_program_in(self, (size_t)(slash - self), prog, out,
		    outlen) == 0 || ((size_t)snprintf(slash, sizeof(self) -
		    (size_t)(slash - self), "/../libexec/sluice") <
		    sizeof(self) - (size_t)(slash - self) &&
		    conf_program_in(self, strlen(self), prog, out,
		    outlen) == 0)))
			return 0;
	}
	return conf_program_in(SLUICE_LIBEXECDIR, strlen(SLUICE_LIBEXECDIR),
	    prog, out, outlen);
}

int
conf_check_programs(const struct conf *c, char *err, size_t errlen)
{
	char	 path[4096];
	size_t	 i;

	for (i = 0; i < c->ntasks; i++) {
		if (c->tasks[i].worker == NULL || conf_program_path(
		    c->tasks[i].worker[0], path, sizeof(path)) == 0)
			continue;
		snprintf(err, errlen, "%s:%d: tasks.%s.worker: program \"%s\" "
		    "not found or not executable", c->path != NULL ? c->path :
		    "?", c->tasks[i].worker_line, c->tasks[i].name,
		    c->tasks[i].worker[0]);
		return -1;
	}
	return 0;
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
 * sessions, and tasks.max_body (derived). Scripts that need one
 * (sluice-serve sizes nginx's client_max_body_size from tasks.max_body)
 * ask sluice instead of parsing libconfig themselves (hex, ':' for '=',
 * comments, defaults).
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
	/* Derived: the body of the task with the largest uploads. */
	{ "tasks.max_body", CONF_V_LONG,
	    offsetof(struct conf, max_request_body) },
	{ "server.drain_timeout", CONF_V_INT,
	    offsetof(struct conf, drain_timeout) },
	{ "results.ttl", CONF_V_LONG, offsetof(struct conf, results_ttl) },
	{ "results.max_bytes", CONF_V_I64,
	    offsetof(struct conf, results_max_bytes) },
	{ "sessions.max_active", CONF_V_INT,
	    offsetof(struct conf, max_active) },
	{ "clients.max_active", CONF_V_INT,
	    offsetof(struct conf, client_max_active) },
	{ "events.publisher", CONF_V_STR,
	    offsetof(struct conf, events_publisher) },
	{ "cluster.database", CONF_V_STR,
	    offsetof(struct conf, cluster_database) },
	{ "cluster.node", CONF_V_STR, offsetof(struct conf, cluster_node) },
	{ "cluster.lease", CONF_V_INT, offsetof(struct conf, cluster_lease) },
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
