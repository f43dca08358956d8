/*
 * Scale-out behind one nginx: two responders, one slot and a queue of 1
 * each. A full queue (503) spills a submission over to the other
 * responder, and job pages reach whichever responder holds the job.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "itest.h"

static struct itest_server srv;

static void
setup(void)
{
	const char *extra[] = { "--backends", "2", NULL };

	cr_assert_eq(itest_start(&srv, "tests/data/scale.conf", NULL, extra),
	    0, "sluice-serve --backends 2 did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0);
}

TestSuite(scale, .init = setup, .fini = teardown, .timeout = 120);

Test(scale, spill_over_and_job_pages_reach_their_holder)
{
	static const char *const form_h[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL };
	struct itest_resp	 r;
	char			 sid[33], csrf[65], body[256], loc[128];
	char			 ids[5][33], path[128];
	int			 i, j;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	snprintf(body, sizeof(body), "csrf=%s&ms=1500", csrf);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body,
		    strlen(body), form_h, sid, &r), 0);
		cr_assert_eq(r.status, 303, "submission %d answered %ld: %s",
		    i + 1, r.status, r.body.data);
		cr_assert_eq(itest_header(&r, "Location", loc, sizeof(loc)), 0);
		cr_assert_eq(strlen(loc), 38, "Location %s", loc);
		memcpy(ids[i], loc + 6, 32);
		ids[i][32] = '\0';
		itest_resp_free(&r);
	}
	/* Both responders are full now: the fifth is refused by both. */
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, strlen(body),
	    form_h, sid, &r), 0);
	cr_expect_eq(r.status, 503);
	itest_resp_free(&r);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 2; j++) {
			snprintf(path, sizeof(path), j == 0 ? "/jobs/%s" :
			    "/jobs/%s.json", ids[i]);
			cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL,
			    sid, &r), 0);
			cr_expect_eq(r.status, 200, "%s answered %ld", path,
			    r.status);
			itest_resp_free(&r);
		}
	/* Still no access for another session. */
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	itest_resp_free(&r);
}
