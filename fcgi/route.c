/* route: method + path -> route. See route.h. */
#include <stdio.h>
#include <string.h>

#include "route.h"

enum arg_kind { ARG_NONE, ARG_TASK, ARG_ID };

struct route_def {
	enum route_id	 id;
	const char	*name;
	const char	*prefix;	/* literal text before the argument */
	enum arg_kind	 arg;
	const char	*suffix;	/* literal text after it */
	const char	*method;	/* "GET" (HEAD implied) or "POST" */
};

static const struct route_def routes[ROUTE__MAX] = {
	{ ROUTE_INDEX, "index", "/", ARG_NONE, "", "GET" },
	{ ROUTE_TASK_SUBMIT, "task_submit", "/tasks/", ARG_TASK, "", "POST" },
	{ ROUTE_JOB_PAGE, "job_page", "/jobs/", ARG_ID, "", "GET" },
	{ ROUTE_JOB_JSON, "job_json", "/jobs/", ARG_ID, ".json", "GET" },
	{ ROUTE_JOB_PNG, "job_png", "/jobs/", ARG_ID, "/result.png", "GET" },
	{ ROUTE_JOB_CANCEL, "job_cancel", "/jobs/", ARG_ID, "/cancel", "POST" },
	{ ROUTE_SESSION, "session", "/session.json", ARG_NONE, "", "GET" },
	{ ROUTE_STATUS, "status", "/status.json", ARG_NONE, "", "GET" },
	{ ROUTE_METRICS, "metrics", "/metrics", ARG_NONE, "", "GET" },
	{ ROUTE_HEALTHZ, "healthz", "/healthz", ARG_NONE, "", "GET" },
};

/* Length of the argument of kind at s (stopping where it must), or 0. */
static size_t
arg_span(enum arg_kind kind, const char *s)
{
	size_t n = 0;

	if (kind == ARG_TASK) {
		while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' &&
		    s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '-')
			n++;
		return n <= 63 ? n : 0;
	}
	while ((s[n] >= 'a' && s[n] <= 'f') || (s[n] >= '0' && s[n] <= '9'))
		n++;
	return n == 32 ? n : 0;
}

/* 1 when path matches def, with the argument copied into arg. */
static int
route_matches(const struct route_def *def, const char *path, char *arg)
{
	size_t	 plen = strlen(def->prefix), n;

	arg[0] = '\0';
	if (strncmp(path, def->prefix, plen) != 0)
		return 0;
	path += plen;
	if (def->arg == ARG_NONE)
		return *path == '\0';
	if ((n = arg_span(def->arg, path)) == 0)
		return 0;
	if (strcmp(path + n, def->suffix) != 0)
		return 0;
	memcpy(arg, path, n);
	arg[n] = '\0';
	return 1;
}

int
route_find(const char *method, const char *path, struct route_match *m,
    char *allow, size_t allowlen)
{
	const struct route_def	*def;
	int			 head = strcmp(method, "HEAD") == 0;
	size_t			 i;

	if (allowlen > 0)
		allow[0] = '\0';
	for (i = 0; i < ROUTE__MAX; i++) {
		def = &routes[i];
		if (!route_matches(def, path, m->arg))
			continue;
		m->id = def->id;
		m->head = head;
		if (strcmp(method, def->method) == 0 ||
		    (head && strcmp(def->method, "GET") == 0))
			return 200;
		snprintf(allow, allowlen, "%s",
		    strcmp(def->method, "GET") == 0 ? "GET, HEAD" : "POST");
		return 405;
	}
	return 404;
}

const char *
route_name(enum route_id id)
{
	if ((unsigned)id >= ROUTE__MAX)
		return "unknown";
	return routes[id].name;
}
