/*
 * Integration through real nginx: sluice-serve on a free port, libcurl.
 * The app page, the session cookie, static files, routing errors, limits.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "itest.h"

static struct itest_server srv;

static void
setup(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/it.conf", NULL, NULL), 0,
	    "sluice-serve did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0, "sluice-serve did not exit cleanly");
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 120);

Test(http, app_page_lists_every_task_and_lock)
{
	struct itest_resp r;
	char ct[128];

	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	cr_expect(strstr(ct, "text/html") != NULL);
	cr_expect(strstr(r.body.data, "action=\"/tasks/burn\"") != NULL);
	cr_expect(strstr(r.body.data, "action=\"/tasks/mandelbrot\"") != NULL);
	cr_expect(strstr(r.body.data, "action=\"/tasks/both\"") != NULL);
	cr_expect(strstr(r.body.data, "data-lock=\"one\"") != NULL);
	cr_expect(strstr(r.body.data, "data-lock=\"pool\"") != NULL);
	cr_expect(strstr(r.body.data, "Mandelbrot set") != NULL);
	cr_expect(strstr(r.body.data, "/static/app.css") != NULL);
	cr_expect(strstr(r.body.data, "name=\"csrf\"") != NULL);
	itest_resp_free(&r);
}

/*
 * Production nginx (nginx/sluice.conf) answers /status.json and /metrics
 * to loopback only: a page linking to them hands remote users a 403.
 */
Test(http, pages_link_no_loopback_only_path)
{
	struct itest_resp	 r;
	const char		*paths[] = { "/", "/jobs/nosuch" };
	size_t			 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_assert_eq(itest_req(&srv, "GET", paths[i], NULL, 0, NULL,
		    NULL, &r), 0);
		cr_expect(strstr(r.body.data, "<footer") != NULL,
		    "%s: no footer", paths[i]);
		cr_expect(strstr(r.body.data, "href=\"/status.json\"") ==
		    NULL, "%s links to /status.json", paths[i]);
		cr_expect(strstr(r.body.data, "href=\"/metrics\"") == NULL,
		    "%s links to /metrics", paths[i]);
		itest_resp_free(&r);
	}
}

Test(http, sid_cookie_set_once_and_kept)
{
	struct itest_resp r;
	char v[256], sid[33];
	size_t i;

	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_assert_eq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0,
	    "no Set-Cookie on the first visit");
	cr_assert(strncmp(v, "sid=", 4) == 0, "cookie: %s", v);
	memcpy(sid, v + 4, 32);
	sid[32] = '\0';
	for (i = 0; i < 32; i++)
		cr_assert(strchr("0123456789abcdef", sid[i]) != NULL &&
		    sid[i] != '\0', "sid not 32 hex: %s", v);
	cr_expect(v[36] == ';', "sid longer than 32: %s", v);
	cr_expect(strstr(v, "HttpOnly") != NULL);
	cr_expect(strstr(v, "SameSite=Lax") != NULL);
	cr_expect(strstr(v, "Path=/") != NULL);
	itest_resp_free(&r);

	/* Second visit with the cookie: kept, no new one. */
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_expect_neq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0,
	    "a valid sid was replaced: %s", v);
	itest_resp_free(&r);
}

Test(http, malformed_sid_gets_a_fresh_session)
{
	struct itest_resp r;
	char v[256];

	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL,
	    "not-hex\";<script>", &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0);
	cr_expect(strncmp(v, "sid=", 4) == 0 && v[36] == ';', "%s", v);
	itest_resp_free(&r);
}

Test(http, static_asset_served_by_nginx)
{
	struct itest_resp r;
	char v[256];

	cr_assert_eq(itest_req(&srv, "GET", "/static/app.css", NULL, 0, NULL,
	    NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(itest_header(&r, "Content-Type", v, sizeof(v)), 0);
	cr_expect(strstr(v, "text/css") != NULL, "%s", v);
	cr_expect_eq(itest_header(&r, "Last-Modified", v, sizeof(v)), 0);
	cr_expect_eq(itest_header(&r, "ETag", v, sizeof(v)), 0);
	cr_expect_eq(itest_header(&r, "Expires", v, sizeof(v)), 0);
	cr_assert_eq(itest_header(&r, "Cache-Control", v, sizeof(v)), 0);
	cr_expect(strstr(v, "max-age=3600") != NULL, "%s", v);
	cr_expect(strstr(r.body.data, "--accent") != NULL);
	itest_resp_free(&r);
}

Test(http, unknown_path_404)
{
	struct itest_resp r;

	cr_assert_eq(itest_req(&srv, "GET", "/nope", NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "GET", "/jobs/0123", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
}

Test(http, wrong_method_405_with_allow)
{
	struct itest_resp r;
	char v[64];

	cr_assert_eq(itest_req(&srv, "GET", "/tasks/burn", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 405);
	cr_assert_eq(itest_header(&r, "Allow", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "POST");
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "POST", "/", "a=b", 3, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 405);
	cr_assert_eq(itest_header(&r, "Allow", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "GET, HEAD");
	itest_resp_free(&r);
}

Test(http, head_like_get_without_body)
{
	struct itest_resp r;
	char v[64];

	cr_assert_eq(itest_req(&srv, "HEAD", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.body.len, 0);
	cr_assert_eq(itest_header(&r, "Content-Length", v, sizeof(v)), 0);
	cr_expect_gt(atol(v), 500);
	itest_resp_free(&r);
}

Test(http, body_over_limit_413_from_nginx_by_default)
{
	struct itest_resp r;
	const char *h[] = { "Content-Type: application/x-www-form-urlencoded",
	    NULL };
	char body[4096];

	/* sluice-serve sets nginx's limit to the config's max_body (1024). */
	memset(body, 'a', sizeof(body));
	memcpy(body, "ms=", 3);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, sizeof(body),
	    h, NULL, &r), 0);
	cr_expect_eq(r.status, 413);
	itest_resp_free(&r);
}

/* The responder's own limit, with nginx's raised far above it. */
Test(http_raised, body_over_limit_413_from_responder,
    .timeout = 120)
{
	struct itest_server big;
	struct itest_resp r;
	const char *extra[] = { "--client-max-body", "16m", NULL };
	const char *h[] = { "Content-Type: application/x-www-form-urlencoded",
	    NULL };
	char body[4096];

	cr_assert_eq(itest_start(&big, "tests/data/it.conf", NULL, extra), 0);
	memset(body, 'a', sizeof(body));
	memcpy(body, "ms=", 3);
	cr_assert_eq(itest_req(&big, "POST", "/tasks/burn", body, sizeof(body),
	    h, NULL, &r), 0);
	cr_expect_eq(r.status, 413);
	cr_expect(strstr(r.body.data, "larger than 1024") != NULL, "%s",
	    r.body.data);
	itest_resp_free(&r);
	/* Exactly at the limit passes the length check (and fails CSRF). */
	cr_assert_eq(itest_req(&big, "POST", "/tasks/burn", body, 1024, h,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&big), 0);
}

Test(http, healthz_ok)
{
	struct itest_resp r;

	cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strncmp(r.body.data, "ok", 2) == 0);
	itest_resp_free(&r);
}

/*
 * The hardening headers (README, HTTP), each exactly once, on what the
 * responder answers (pages, JSON, errors, a redirect) and on what nginx
 * answers itself (static files, its 413 pages, an event stream).
 */
static const char *const hardening[][2] = {
	{ "Content-Security-Policy", "default-src 'self'; img-src 'self' "
	    "data:; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "Referrer-Policy", "same-origin" },
};

static void
expect_hardened(const struct itest_server *s, const char *method,
    const char *path, const char *body, size_t len,
    const char *const *headers, const char *sid, long status)
{
	struct itest_resp	 r;
	char			 v[256];
	size_t			 i;

	cr_assert_eq(itest_req(s, method, path, body, len, headers, sid, &r),
	    0, "%s %s", method, path);
	cr_expect_eq(r.status, status, "%s %s: %ld", method, path, r.status);
	for (i = 0; i < sizeof(hardening) / sizeof(hardening[0]); i++) {
		cr_expect_eq(itest_header_count(&r, hardening[i][0]), 1,
		    "%s %s: %s sent %d times", method, path, hardening[i][0],
		    itest_header_count(&r, hardening[i][0]));
		if (itest_header(&r, hardening[i][0], v, sizeof(v)) == 0)
			cr_expect_str_eq(v, hardening[i][1], "%s %s: %s",
			    method, path, hardening[i][0]);
	}
	itest_resp_free(&r);
}

Test(http, hardening_headers_once_on_every_answer, .timeout = 60)
{
	const char *form[] = { "Content-Type: application/x-www-form-urlencoded",
	    NULL };
	const char *form_json[] = { "Content-Type: "
	    "application/x-www-form-urlencoded", "Accept: application/json",
	    NULL };
	const char *sse[] = { "Accept: text/event-stream", NULL };
	char	 sid[33], csrf[65], id[33], path[128], bad[160], big[4096];
	long	 st;
	json_t	*j;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	cr_assert_eq(itest_submit_id(&srv, sid, "burn", "ms=50", id, &st), 0);
	cr_assert_not_null(j = itest_wait_final(&srv, sid, id, 20000));
	json_decref(j);

	expect_hardened(&srv, "GET", "/", NULL, 0, NULL, sid, 200);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	expect_hardened(&srv, "GET", path, NULL, 0, NULL, sid, 200);
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	expect_hardened(&srv, "GET", path, NULL, 0, NULL, sid, 200);
	/* nchan's stream, after the responder's X-Accel-Redirect. */
	snprintf(path, sizeof(path), "/jobs/%s/events", id);
	expect_hardened(&srv, "GET", path, NULL, 0, sse, sid, 200);
	expect_hardened(&srv, "GET", "/static/app.css", NULL, 0, NULL, NULL, 200);
	expect_hardened(&srv, "GET", "/static/app.js", NULL, 0, NULL, NULL, 200);
	expect_hardened(&srv, "GET", "/nope", NULL, 0, NULL, sid, 404);
	expect_hardened(&srv, "GET", "/tasks/burn", NULL, 0, NULL, sid, 405);
	/* A field error (the form again), and a submit's redirect. */
	snprintf(bad, sizeof(bad), "csrf=%s&nonce=h1&ms=99999999", csrf);
	expect_hardened(&srv, "POST", "/tasks/burn", bad, strlen(bad), form, sid,
	    400);
	snprintf(bad, sizeof(bad), "csrf=%s&nonce=h2&ms=50", csrf);
	expect_hardened(&srv, "POST", "/tasks/burn", bad, strlen(bad), form, sid,
	    303);
	/* nginx's own 413, both forms (client_max_body_size is 1024). */
	memset(big, 'a', sizeof(big));
	memcpy(big, "ms=", 3);
	expect_hardened(&srv, "POST", "/tasks/burn", big, sizeof(big), form, sid,
	    413);
	expect_hardened(&srv, "POST", "/tasks/burn", big, sizeof(big), form_json,
	    sid, 413);
}

