/*
 * The form flow through real nginx: submit, queue, watch, result, and every
 * error status of the contract.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

TestSuite(flow, .init = setup, .fini = teardown, .timeout = 120);

static const char *const form_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };
static const char *const form_json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };

static int
submit(const char *sid, const char *task, const char *fields,
    const char *const *headers, struct itest_resp *r)
{
	return itest_submit(&srv, sid, task, fields, headers, r);
}

static int
submit_id(const char *sid, const char *task, const char *fields, char id[33])
{
	return itest_submit_id(&srv, sid, task, fields, id, NULL);
}

static void
job_state(const char *sid, const char *id, char *state, size_t len)
{
	itest_job_field(&srv, sid, id, "state", state, len);
}

static void
wait_state(const char *sid, const char *id, const char *want, int timeout_ms)
{
	char st[32];

	if (itest_wait_state(&srv, sid, id, want, timeout_ms, st,
	    sizeof(st)) == -1)
		cr_assert_fail("job %s: state %s, wanted %s", id, st, want);
}

Test(flow, submit_303_job_page_done)
{
	struct itest_resp	 r;
	char			 sid[33], id[33], path[128];
	size_t			 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(sid, "burn", "ms=50", id), 0);
	for (i = 0; i < 32; i++)
		cr_assert(strchr("0123456789abcdef", id[i]) != NULL);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body.data, id) != NULL);
	itest_resp_free(&r);
	wait_state(sid, id, "done", 20000);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect(strstr(r.body.data, "elapsed_ms") != NULL,
	    "result table missing");
	cr_expect(strstr(r.body.data, "http-equiv=\"refresh\"") == NULL,
	    "a finished job page still refreshes");
	itest_resp_free(&r);
}

Test(flow, json_variant_202_and_png)
{
	struct itest_resp	 r;
	char			 sid[33], id[33], path[128], ct[64];
	const char		*p;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit(sid, "mandelbrot", "width=64&height=48&iters=100",
	    form_json_h, &r), 0);
	cr_assert_eq(r.status, 202, "%s", r.body.data);
	cr_assert_not_null(p = strstr(r.body.data, "\"id\":\""));
	memcpy(id, p + 6, 32);
	id[32] = '\0';
	cr_expect(strstr(r.body.data, "\"task\":\"mandelbrot\"") != NULL);
	itest_resp_free(&r);
	wait_state(sid, id, "done", 30000);
	snprintf(path, sizeof(path), "/jobs/%s/result.png", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_assert_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	cr_expect_str_eq(ct, "image/png");
	cr_expect(r.body.len > 8 && memcmp(r.body.data, "\x89PNG", 4) == 0);
	itest_resp_free(&r);
}

Test(flow, csrf_missing_or_wrong_403)
{
	struct itest_resp	 r;
	char			 sid[33], other[33], csrf[65], body[256];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_new_session(&srv, other), 0);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "ms=1", 4, form_h,
	    sid, &r), 0);
	cr_expect_eq(r.status, 403);
	itest_resp_free(&r);
	/* Another session's token is wrong for this one. */
	cr_assert_eq(itest_csrf(&srv, other, csrf), 0);
	snprintf(body, sizeof(body), "csrf=%s&ms=1", csrf);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, strlen(body),
	    form_h, sid, &r), 0);
	cr_expect_eq(r.status, 403);
	itest_resp_free(&r);
}

Test(flow, invalid_fields_400_rerendered_and_escaped)
{
	struct itest_resp	 r;
	char			 sid[33];
	const char *bad[] = { "ms=-1", "ms=abc", "ms=12abc", "ms=1e999",
	    "ms=", "ms=%20%2012" };
	size_t			 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(submit(sid, "burn", bad[i], NULL, &r), 0);
		cr_expect_eq(r.status, 400, "%s -> %ld", bad[i], r.status);
		cr_expect(strstr(r.body.data, "field-error") != NULL,
		    "%s: no message beside the field", bad[i]);
		itest_resp_free(&r);
	}
	/* The submitted value comes back, escaped, never as markup. */
	cr_assert_eq(submit(sid, "burn", "ms=%22%3E%3Cimg+src%3Dx+onerror%3D"
	    "alert(1)%3E%3Cscript%3Ealert(2)%3C%2Fscript%3E", NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "<script>alert(2)") == NULL);
	cr_expect(strstr(r.body.data, "<img src=x") == NULL);
	cr_expect(strstr(r.body.data, "&quot;&gt;&lt;img src=x onerror=alert(1)"
	    "&gt;&lt;script&gt;alert(2)&lt;/script&gt;") != NULL);
	itest_resp_free(&r);
	/* JSON clients get the field map. */
	cr_assert_eq(submit(sid, "burn", "ms=zzz", form_json_h, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "\"fields\":{\"ms\":") != NULL, "%s",
	    r.body.data);
	itest_resp_free(&r);
}

Test(flow, unknown_task_404_and_unknown_field_400)
{
	struct itest_resp	 r;
	char			 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit(sid, "nosuch", "ms=1", NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
	cr_assert_eq(submit(sid, "burn", "ms=1&bogus=2", NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "unknown field &#39;bogus&#39;") != NULL,
	    "no message on the page");
	itest_resp_free(&r);
}

/* Submits fields as a JSON client: 400 with exactly the body want. */
static void
expect_json_400(const char *sid, const char *fields, const char *want)
{
	struct itest_resp	 r;

	cr_assert_eq(submit(sid, "burn", fields, form_json_h, &r), 0);
	cr_expect_eq(r.status, 400, "%s: %ld", fields, r.status);
	cr_expect_str_eq(r.body.data, want, "%s", fields);
	itest_resp_free(&r);
}

/*
 * DESIGN.md: a JSON 400 is {"error":...,"fields":{name: message}}. A
 * field that is refused itself (unknown, repeated, a long nonce) is a key
 * of "fields", once per name; an error about the whole body has {}.
 */
Test(flow, json_400_names_each_field)
{
	struct itest_resp	 r;
	char			 sid[33], nonce[128];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	expect_json_400(sid, "ms=1&bogus=2",
	    "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"bogus\":\"unknown field\"}}\n");
	expect_json_400(sid, "bogus=1&ms=1&bogus=2&other=3",
	    "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"bogus\":\"unknown field\",\"other\":\"unknown field\"}}\n");
	expect_json_400(sid, "ms=1&ms=2",
	    "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"ms\":\"given more than once\"}}\n");
	/* Repeated and invalid: still one key for the name. */
	expect_json_400(sid, "ms=zz&ms=1",
	    "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"ms\":\"given more than once\"}}\n");
	snprintf(nonce, sizeof(nonce), "ms=1&nonce=%065d", 0);
	expect_json_400(sid, nonce,
	    "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"nonce\":\"at most 64 characters\"}}\n");
	/* The body as a whole: the message, and no field. */
	cr_assert_eq(submit(sid, "burn", "ms=%zz", form_json_h, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strncmp(r.body.data, "{\"error\":\"malformed", 19) == 0 &&
	    strstr(r.body.data, ",\"fields\":{}}\n") != NULL, "%s",
	    r.body.data);
	itest_resp_free(&r);
	/* HTML keeps the message. */
	cr_assert_eq(submit(sid, "burn", nonce, NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "nonce: at most 64 characters") != NULL,
	    "no message on the page");
	itest_resp_free(&r);
	cr_assert_eq(submit(sid, "burn", "ms=1&ms=2", NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "field &#39;ms&#39; given more than "
	    "once") != NULL, "no message on the page");
	itest_resp_free(&r);
}

/*
 * The page quotes an unknown field name cut to 40 bytes: the cut falls
 * between characters, never inside one (that would be invalid UTF-8).
 */
Test(flow, long_unknown_name_cut_between_characters)
{
	struct itest_resp	 r;
	char			 sid[33], fields[256], want[128];
	int			 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	/* "a" and 20 times U+00E9: byte 40 is inside the 20th. */
	snprintf(fields, sizeof(fields), "ms=1&a");
	snprintf(want, sizeof(want), "unknown field &#39;a");
	for (i = 0; i < 20; i++) {
		strcat(fields, "%C3%A9");
		if (i < 19)
			strcat(want, "\xc3\xa9");
	}
	strcat(fields, "=1");
	strcat(want, "&#39;");
	cr_assert_eq(submit(sid, "burn", fields, NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, want) != NULL, "no '%s' in the page",
	    want);
	cr_expect(strstr(r.body.data, "\xc3&#39;") == NULL,
	    "a character cut in half");
	itest_resp_free(&r);
	/* JSON names the field whole. */
	cr_assert_eq(submit(sid, "burn", fields, form_json_h, &r), 0);
	cr_expect_eq(r.status, 400);
	snprintf(want, sizeof(want), "\"a");
	for (i = 0; i < 20; i++)
		strcat(want, "\xc3\xa9");
	strcat(want, "\":\"unknown field\"");
	cr_expect(strstr(r.body.data, want) != NULL, "%s", r.body.data);
	itest_resp_free(&r);
}

/* JSON is neither form encoding: 415. A urlencoded body sent as
   multipart is malformed multipart: 400. */
Test(flow, wrong_media_type_415)
{
	struct itest_resp	 r;
	char			 sid[33];
	const char *mp[] = { "Content-Type: multipart/form-data; boundary=x",
	    NULL };
	const char *js[] = { "Content-Type: application/json", NULL };

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit(sid, "burn", "ms=1", mp, &r), 0);
	cr_expect_eq(r.status, 400);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "{\"ms\":1}", 8,
	    js, sid, &r), 0);
	cr_expect_eq(r.status, 415);
	itest_resp_free(&r);
}

Test(flow, session_cap_429_and_full_queue_503)
{
	struct itest_resp	 r;
	char			 a[33], b[33], c[33], id[33], ra[16];

	/* lock "one": 1 slot, queue 2; max_active 2 per session. */
	cr_assert_eq(itest_new_session(&srv, a), 0);
	cr_assert_eq(itest_new_session(&srv, b), 0);
	cr_assert_eq(itest_new_session(&srv, c), 0);
	cr_assert_eq(submit_id(a, "burn", "ms=1500", id), 0);
	wait_state(a, id, "running", 10000);
	cr_assert_eq(submit_id(a, "burn", "ms=1", id), 0);
	cr_assert_eq(submit(a, "burn", "ms=1", NULL, &r), 0);
	cr_expect_eq(r.status, 429);
	cr_expect_eq(itest_header(&r, "Retry-After", ra, sizeof(ra)), 0);
	itest_resp_free(&r);
	cr_assert_eq(submit_id(b, "burn", "ms=1", id), 0);
	cr_assert_eq(submit(c, "burn", "ms=1", NULL, &r), 0);
	cr_expect_eq(r.status, 503);
	cr_expect_eq(itest_header(&r, "Retry-After", ra, sizeof(ra)), 0);
	cr_expect_gt(atoi(ra), 0);
	itest_resp_free(&r);
}

Test(flow, session_isolation_404)
{
	struct itest_resp	 r;
	char			 a[33], b[33], id[33], path[128];

	cr_assert_eq(itest_new_session(&srv, a), 0);
	cr_assert_eq(itest_new_session(&srv, b), 0);
	cr_assert_eq(submit_id(a, "burn", "ms=1", id), 0);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, b, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, b, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, a, &r), 0);
	cr_expect_eq(r.status, 200);
	itest_resp_free(&r);
}

Test(flow, same_nonce_same_job)
{
	char	 sid[33], id1[33], id2[33], id3[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(sid, "burn", "ms=1&nonce=abc123", id1), 0);
	cr_assert_eq(submit_id(sid, "burn", "ms=1&nonce=abc123", id2), 0);
	cr_expect_str_eq(id1, id2, "a repeated nonce started a second job");
	cr_assert_eq(submit_id(sid, "burn", "ms=1&nonce=abc124", id3), 0);
	cr_expect_str_neq(id1, id3);
}

Test(flow, nonce_of_another_task_409)
{
	struct itest_resp	 r;
	char			 sid[33], id[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(sid, "burn", "ms=1&nonce=n-1", id), 0);
	cr_assert_eq(submit(sid, "mandelbrot", "width=16&height=16&nonce=n-1",
	    NULL, &r), 0);
	cr_expect_eq(r.status, 409, "a nonce of a burn job reused for "
	    "mandelbrot answered %ld", r.status);
	itest_resp_free(&r);
}

Test(flow, app_page_has_one_nonce_per_form)
{
	struct itest_resp	 r;
	char			 sid[33], seen[8][33];
	const char		*p;
	int			 n = 0, i, j;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	for (p = r.body.data; n < 8 &&
	    (p = strstr(p, "name=\"nonce\" value=\"")) != NULL; p += 20) {
		memcpy(seen[n], p + 20, 32);
		seen[n++][32] = '\0';
	}
	cr_expect_eq(n, 3, "forms with a nonce: %d", n);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_expect_str_neq(seen[i], seen[j]);
	itest_resp_free(&r);
}

/*
 * Cancel of a queued job: 303, cancelled at once. Of a running one: 303,
 * its worker is told to stop (burn stops within its 100 ms step) and it
 * ends cancelled. Of a job that has ended: 409.
 */
Test(flow, cancel_queued_303_running_303_ended_409)
{
	struct itest_resp	 r;
	char			 sid[33], run[33], q[33], csrf[65], path[128];
	char			 body[128], st[32];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	cr_assert_eq(submit_id(sid, "burn", "ms=30000", run), 0);
	wait_state(sid, run, "running", 10000);
	cr_assert_eq(submit_id(sid, "burn", "ms=1", q), 0);
	snprintf(path, sizeof(path), "/jobs/%s/cancel", q);
	cr_assert_eq(itest_req(&srv, "POST", path, body, strlen(body), form_h,
	    sid, &r), 0);
	cr_expect_eq(r.status, 303);
	itest_resp_free(&r);
	job_state(sid, q, st, sizeof(st));
	cr_expect_str_eq(st, "cancelled");
	snprintf(path, sizeof(path), "/jobs/%s/cancel", run);
	cr_assert_eq(itest_req(&srv, "POST", path, body, strlen(body), form_h,
	    sid, &r), 0);
	cr_expect_eq(r.status, 303);
	itest_resp_free(&r);
	wait_state(sid, run, "cancelled", 10000);
	cr_assert_eq(itest_req(&srv, "POST", path, body, strlen(body), form_h,
	    sid, &r), 0);
	cr_expect_eq(r.status, 409, "cancel of an ended job");
	itest_resp_free(&r);
	/* Cancel without the token: 403. */
	cr_assert_eq(itest_req(&srv, "POST", path, "", 0, form_h, sid, &r), 0);
	cr_expect_eq(r.status, 403);
	itest_resp_free(&r);
}

Test(flow, status_json_counts)
{
	struct itest_resp	 r;

	cr_assert_eq(itest_req(&srv, "GET", "/status.json", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body.data, "\"locks\"") != NULL, "%s", r.body.data);
	cr_expect(strstr(r.body.data, "\"one\"") != NULL);
	cr_expect(strstr(r.body.data, "\"server\"") != NULL);
	itest_resp_free(&r);
}
