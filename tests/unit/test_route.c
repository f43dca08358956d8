/*
 * Unit tests for route: every route by method and path, HEAD as GET,
 * 405 with the Allow header's text, 404, and the {task} and {id}
 * arguments that may reach a handler.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "route.h"

#define ID	"0123456789abcdef0123456789abcdef"

struct route_case {
	const char	*method, *path;
	int		 status;
	enum route_id	 id;
	const char	*arg;
	const char	*allow;		/* with 405 */
};

static const struct route_case cases[] = {
	{ "GET", "/", 200, ROUTE_INDEX, "", NULL },
	{ "POST", "/tasks/burn", 200, ROUTE_TASK_SUBMIT, "burn", NULL },
	{ "POST", "/tasks/A-z_09", 200, ROUTE_TASK_SUBMIT, "A-z_09", NULL },
	{ "GET", "/jobs/" ID, 200, ROUTE_JOB_PAGE, ID, NULL },
	{ "GET", "/jobs/" ID ".json", 200, ROUTE_JOB_JSON, ID, NULL },
	{ "GET", "/jobs/" ID "/result.png", 200, ROUTE_JOB_PNG, ID, NULL },
	{ "POST", "/jobs/" ID "/cancel", 200, ROUTE_JOB_CANCEL, ID, NULL },
	{ "GET", "/jobs/" ID "/files/image", 200, ROUTE_JOB_FILE, ID, NULL },
	{ "GET", "/jobs/" ID "/files/out.v2_a-b", 200, ROUTE_JOB_FILE, ID,
	    NULL },
	{ "GET", "/jobs/" ID "/inputs/photo", 200, ROUTE_JOB_INPUT, ID, NULL },
	{ "POST", "/jobs/" ID "/files/image", 405, ROUTE_JOB_FILE, ID,
	    "GET, HEAD" },
	{ "GET", "/jobs/" ID "/events", 200, ROUTE_JOB_EVENTS, ID, NULL },
	{ "POST", "/jobs/" ID "/events", 405, ROUTE_JOB_EVENTS, ID,
	    "GET, HEAD" },
	{ "GET", "/events", 200, ROUTE_EVENTS, "", NULL },
	{ "GET", "/session.json", 200, ROUTE_SESSION, "", NULL },
	{ "GET", "/status.json", 200, ROUTE_STATUS, "", NULL },
	{ "GET", "/metrics", 200, ROUTE_METRICS, "", NULL },
	{ "GET", "/healthz", 200, ROUTE_HEALTHZ, "", NULL },
	/* HEAD is GET without a body; never POST. */
	{ "HEAD", "/", 200, ROUTE_INDEX, "", NULL },
	{ "HEAD", "/jobs/" ID, 200, ROUTE_JOB_PAGE, ID, NULL },
	{ "HEAD", "/metrics", 200, ROUTE_METRICS, "", NULL },
	{ "HEAD", "/tasks/burn", 405, ROUTE_TASK_SUBMIT, "burn", "POST" },
	/* Wrong method: 405 and what is allowed. */
	{ "POST", "/", 405, ROUTE_INDEX, "", "GET, HEAD" },
	{ "GET", "/tasks/burn", 405, ROUTE_TASK_SUBMIT, "burn", "POST" },
	{ "DELETE", "/jobs/" ID, 405, ROUTE_JOB_PAGE, ID, "GET, HEAD" },
	{ "GET", "/jobs/" ID "/cancel", 405, ROUTE_JOB_CANCEL, ID, "POST" },
	{ "PUT", "/status.json", 405, ROUTE_STATUS, "", "GET, HEAD" },
	{ "get", "/", 405, ROUTE_INDEX, "", "GET, HEAD" },
};

Test(route, every_route)
{
	struct route_match	 m;
	char			 allow[32];
	size_t			 i;
	int			 st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct route_case *c = &cases[i];

		memset(&m, 0x55, sizeof(m));
		st = route_find(c->method, c->path, &m, allow, sizeof(allow));
		cr_expect_eq(st, c->status, "%s %s: %d", c->method, c->path,
		    st);
		cr_expect_eq(m.id, c->id, "%s %s: route %d", c->method,
		    c->path, (int)m.id);
		cr_expect_str_eq(m.arg, c->arg, "%s %s", c->method, c->path);
		if (st == 200)
			cr_expect_eq(m.head, strcmp(c->method, "HEAD") == 0);
		cr_expect_str_eq(allow, c->allow != NULL ? c->allow : "",
		    "%s %s", c->method, c->path);
	}
}

/* Paths no route takes, arguments that never reach a handler among them. */
Test(route, not_found)
{
	static const char *const paths[] = {
		"", "/index.html", "//", "/tasks/", "/tasks",
		"/tasks/burn/", "/tasks/bu.rn", "/tasks/bu%2Frn",
		"/tasks/..", "/tasks/bu rn",
		"/tasks/0123456789012345678901234567890123456789"
		    "012345678901234567890123",	/* 64 characters */
		"/jobs/", "/jobs/0123456789abcdef0123456789abcde",
		"/jobs/0123456789abcdef0123456789abcdef0",
		"/jobs/0123456789ABCDEF0123456789ABCDEF",
		"/jobs/0123456789abcdeg0123456789abcdef",
		"/jobs/" ID "/", "/jobs/" ID ".JSON", "/jobs/" ID "/result",
		"/jobs/" ID "/../" ID,
		"/jobs/%30123456789abcdef0123456789abcde",
		"/metrics/", "/healthz?x", "/status.json.bak",
		"/session.json/x",
		/* A file's {name}: no slash, dot segment, escape or dotfile. */
		"/jobs/" ID "/files/", "/jobs/" ID "/files",
		"/jobs/" ID "/files/a/b", "/jobs/" ID "/files/..",
		"/jobs/" ID "/files/../../etc/passwd",
		"/jobs/" ID "/files/a%2Fb", "/jobs/" ID "/files/%2e%2e",
		"/jobs/" ID "/files/.hidden", "/jobs/" ID "/files/a b",
		"/jobs/" ID "/files/image/", "/jobs/" ID "/inputs/",
		"/jobs/" ID "/inputs/..%2fjobs.db", "/jobs/" ID "/input/photo",
		"/jobs/" ID "/files/0123456789012345678901234567890123456789"
		    "0123456789012345678901234",	/* 65 characters */
	};
	struct route_match	 m;
	char			 allow[32];
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_expect_eq(route_find("GET", paths[i], &m, allow,
		    sizeof(allow)), 404, "GET %s", paths[i]);
		cr_expect_eq(route_find("POST", paths[i], &m, allow,
		    sizeof(allow)), 404, "POST %s", paths[i]);
		cr_expect_str_eq(allow, "");
	}
}

Test(route, task_of_63_characters_is_taken)
{
	char			 path[80], task[64];
	struct route_match	 m;
	char			 allow[32];

	memset(task, 'a', 63);
	task[63] = '\0';
	snprintf(path, sizeof(path), "/tasks/%s", task);
	cr_assert_eq(route_find("POST", path, &m, allow, sizeof(allow)), 200);
	cr_expect_str_eq(m.arg, task);
}

/* The {name} of a file route reaches the handler as given. */
Test(route, file_name_is_taken)
{
	struct route_match	 m;
	char			 allow[32];

	cr_assert_eq(route_find("GET", "/jobs/" ID "/files/result.png", &m,
	    allow, sizeof(allow)), 200);
	cr_expect_str_eq(m.arg, ID);
	cr_expect_str_eq(m.name, "result.png");
	cr_assert_eq(route_find("GET", "/jobs/" ID ".json", &m, allow,
	    sizeof(allow)), 200);
	cr_expect_str_eq(m.name, "", "no {name}: empty");
}

Test(route, allow_fits_any_buffer)
{
	struct route_match	 m;
	char			 allow[4] = "xyz";

	cr_expect_eq(route_find("POST", "/", &m, allow, sizeof(allow)), 405);
	cr_expect_str_eq(allow, "GET");
	cr_expect_eq(route_find("POST", "/", &m, NULL, 0), 405);
}

Test(route, names)
{
	static const char *const names[ROUTE__MAX] = {
		[ROUTE_INDEX] = "index", [ROUTE_TASK_SUBMIT] = "task_submit",
		[ROUTE_JOB_PAGE] = "job_page", [ROUTE_JOB_JSON] = "job_json",
		[ROUTE_JOB_PNG] = "job_png", [ROUTE_JOB_CANCEL] = "job_cancel",
		[ROUTE_JOB_FILE] = "job_file", [ROUTE_JOB_INPUT] = "job_input",
		[ROUTE_JOB_EVENTS] = "job_events", [ROUTE_EVENTS] = "events",
		[ROUTE_SESSION] = "session", [ROUTE_STATUS] = "status",
		[ROUTE_METRICS] = "metrics", [ROUTE_HEALTHZ] = "healthz",
	};
	int	 i;

	for (i = 0; i < ROUTE__MAX; i++)
		cr_expect_str_eq(route_name((enum route_id)i), names[i]);
	cr_expect_str_eq(route_name(ROUTE__MAX), "unknown");
	cr_expect_str_eq(route_name((enum route_id)-1), "unknown");
}
