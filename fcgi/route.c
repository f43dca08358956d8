/* route: method + path -> route. See route.h. */
#include <stdio.h>
#include <string.h>

#include "jobdir.h"
#include "route.h"

enum arg_kind { ARG_NONE, ARG_TASK, ARG_ID };

struct route_def {
	enum route_id	 id;
	const char	*name;
	const char	*prefix;	/* literal text before the argument */
	enum arg_kind	 arg;
	const char	*suffix;	/* literal text after it */
	const char	*method;	/* "GET" (HEAD implied) or "POST" */
	int		 named;		/* a {name} follows the suffix */
};

static const struct route_def routes[ROUTE__MAX] = {
	{ ROUTE_INDEX, "index", "/", ARG_NONE, "", "GET", 0 },
	{ ROUTE_TASK_SUBMIT, "task_submit", "/tasks/", ARG_TASK, "", "POST", 0 },
	{ ROUTE_JOB_PAGE, "job_page", "/jobs/", ARG_ID, "", "GET", 0 },
	{ ROUTE_JOB_JSON, "job_json", "/jobs/", ARG_ID, ".json", "GET", 0 },
	{ ROUTE_JOB_PNG, "job_png", "/jobs/", ARG_ID, "/result.png", "GET", 0 },
	{ ROUTE_JOB_CANCEL, "job_cancel", "/jobs/", ARG_ID, "/cancel", "POST", 0 },
	{ ROUTE_JOB_FILE, "job_file", "/jobs/", ARG_ID, "/files/", "GET", 1 },
	{ ROUTE_JOB_INPUT, "job_input", "/jobs/", ARG_ID, "/inputs/", "GET", 1 },
	{ ROUTE_JOB_EVENTS, "job_events", "/jobs/", ARG_ID, "/events", "GET",
	    0 },
	{ ROUTE_EVENTS, "events", "/events", ARG_NONE, "", "GET", 0 },
	{ ROUTE_SESSION, "session", "/session.json", ARG_NONE, "", "GET", 0 },
	{ ROUTE_STATUS, "status", "/status.json", ARG_NONE, "", "GET", 0 },
	{ ROUTE_METRICS, "metrics", "/metrics", ARG_NONE, "", "GET", 0 },
	{ ROUTE_HEALTHZ, "healthz", "/healthz", ARG_NONE, "", "GET", 0 },
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

/*
 * 1 when rest (after the argument) is def's suffix, with a valid {name}
 * after it when def has one (copied into name).
 */
static int
suffix_matches(const struct route_def *def, const char *rest, char *name)
{
	size_t	 slen = strlen(def->suffix);

	if (!def->named)
		return strcmp(rest, def->suffix) == 0;
	if (strncmp(rest, def->suffix, slen) != 0 ||
	    !jobdir_name_ok(rest + slen))
		return 0;
	snprintf(name, ROUTE_NAME_MAX + 1, "%s", rest + slen);
	return 1;
}

/* 1 when path matches def, with the arguments copied into m. */
static int
route_matches(const struct route_def *def, const char *path,
    struct route_match *m)
{
	size_t	 plen = strlen(def->prefix), n;

	m->arg[0] = '\0';
	m->name[0] = '\0';
	if (strncmp(path, def->prefix, plen) != 0)
		return 0;
	path += plen;
	if (def->arg == ARG_NONE)
		return *path == '\0';
	if ((n = arg_span(def->arg, path)) == 0)
		return 0;
	if (!suffix_matches(def, path + n, m->name))
		return 0;
	memcpy(m->arg, path, n);
	m->arg[n] = '\0';
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
		if (!route_matches(def, path, m))
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
