/*
 * Bounded run time through real nginx (tests/data/bounds.conf): a kernel
 * task's params narrow the form, the JSON 400 and the page's input
 * attributes; a built-in kernel's job past its task's timeout fails.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "itest.h"

static struct itest_server srv;

static void
setup(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/bounds.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0, "sluice-serve did not exit cleanly");
}

TestSuite(bounds, .init = setup, .fini = teardown, .timeout = 120);

static const char *const form_json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };

/* Submits fields to task as a JSON client: 400 with exactly want. */
static void
expect_json_400(const char *sid, const char *task, const char *fields,
    const char *want)
{
	struct itest_resp	 r;

	cr_assert_eq(itest_submit(&srv, sid, task, fields, form_json_h, &r),
	    0);
	cr_expect_eq(r.status, 400, "%s: %ld", fields, r.status);
	cr_expect_str_eq(r.body.data, want, "%s", fields);
	itest_resp_free(&r);
}

Test(bounds, a_value_above_the_narrowed_max_is_400_naming_the_field)
{
	struct itest_resp	 r;
	char			 sid[33], id[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	/* Within the kernel's own 0..600000, above the task's 5000. */
	expect_json_400(sid, "burn", "ms=5001", "{\"error\":\"invalid fields\","
	    "\"fields\":{\"ms\":\"must be between 0 and 5000\"}}\n");
	expect_json_400(sid, "mandelbrot", "width=257&height=48&iters=500&"
	    "cx=0&cy=0&scale=3", "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"width\":\"must be between 16 and 256\"}}\n");
	expect_json_400(sid, "mandelbrot", "width=64&height=48&iters=16&"
	    "cx=0&cy=0&scale=3", "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"iters\":\"must be between 32 and 1000\"}}\n");
	/* The form gets its page again, the message beside the field. */
	cr_assert_eq(itest_submit(&srv, sid, "burn", "ms=6000", NULL, &r), 0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body.data, "must be between 0 and 5000") != NULL,
	    "no message on the page");
	itest_resp_free(&r);
	/* The task without params keeps the kernel's range. */
	cr_assert_eq(itest_submit_id(&srv, sid, "plain", "ms=6000", id, NULL),
	    0, "the kernel's own range applies");
	/* At the narrowed max a job is taken. */
	cr_assert_eq(itest_submit_id(&srv, sid, "mandelbrot", "width=256&"
	    "height=256&iters=1000&cx=0&cy=0&scale=3", id, NULL), 0);
}

Test(bounds, the_page_shows_the_narrowed_range_and_default)
{
	struct itest_resp	 r;
	char			 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_expect(strstr(r.body.data, "name=\"ms\" value=\"100\" min=\"0\" "
	    "max=\"5000\"") != NULL, "burn's narrowed ms");
	cr_expect(strstr(r.body.data, "name=\"width\" value=\"64\" min=\"16\" "
	    "max=\"256\"") != NULL, "mandelbrot's narrowed width");
	cr_expect(strstr(r.body.data, "name=\"iters\" value=\"500\" "
	    "min=\"32\" max=\"1000\"") != NULL, "iters: the kernel's default");
	cr_expect(strstr(r.body.data, "name=\"ms\" value=\"1000\" min=\"0\" "
	    "max=\"600000\"") != NULL, "plain keeps the kernel's range");
	itest_resp_free(&r);
}

Test(bounds, a_kernel_job_past_its_timeout_fails)
{
	char		 sid[33], id[33];
	const char	*err;
	json_t		*o;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	/* burn on the CPU sleeps 4 s; the task allows 1. */
	cr_assert_eq(itest_submit_id(&srv, sid, "burn", "ms=4000", id, NULL),
	    0);
	o = itest_wait_final(&srv, sid, id, 30000);
	cr_assert_not_null(o, "the job did not end");
	cr_expect_str_eq(json_string_value(json_object_get(o, "state")),
	    "failed");
	err = json_string_value(json_object_get(o, "error"));
	cr_expect_str_eq(err != NULL ? err : "(null)", "timed out after 1 s");
	json_decref(o);
	/* The slot is free again, for a job that fits. */
	cr_assert_eq(itest_submit_id(&srv, sid, "burn", "ms=10", id, NULL), 0);
	o = itest_wait_final(&srv, sid, id, 30000);
	cr_assert_not_null(o, "the next job did not end");
	cr_expect_str_eq(json_string_value(json_object_get(o, "state")),
	    "done");
	json_decref(o);
}
