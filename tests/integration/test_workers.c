/*
 * Supervised workers through real nginx (tests/data/workers.conf, the
 * Python test workers of tests/data/workers/): a model loaded once,
 * preload, crashes, hangs and timeouts, cancel of a running job, protocol
 * violations, the slot's environment, progress, typed inputs, a worker
 * that cannot start, and no worker outliving a killed responder.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "itest.h"

static struct itest_server srv;

static void
setup(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/workers.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0, "sluice-serve did not exit cleanly");
}

TestSuite(workers, .init = setup, .fini = teardown, .timeout = 120);

static const char *const form_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };
static const char *const form_json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };

/* ---- helpers ---- */

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the job is in a final state; returns its JSON. */
static json_t *
wait_final(const struct itest_server *s, const char *sid, const char *id,
    int timeout_ms)
{
	json_t	*o = itest_wait_final(s, sid, id, timeout_ms);

	cr_assert_not_null(o, "job %s did not end within %d ms", id,
	    timeout_ms);
	return o;
}

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

static double
num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* Submits and returns the new job's id (asserts 303). */
static void
submit(const struct itest_server *s, const char *sid, const char *task,
    const char *fields, char id[33])
{
	long	 status = 0;

	cr_assert_eq(itest_submit_id(s, sid, task, fields, id, &status), 0,
	    "%s: submit answered %ld", task, status);
}

/* POSTs /jobs/id/cancel; returns the status. */
static long
cancel(const char *sid, const char *id)
{
	struct itest_resp	 r;
	char			 csrf[65], path[96], body[96];
	long			 status;

	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	snprintf(body, sizeof(body), "csrf=%s", csrf);
	cr_assert_eq(itest_req(&srv, "POST", path, body, strlen(body), form_h,
	    sid, &r), 0);
	status = r.status;
	itest_resp_free(&r);
	return status;
}

/* Waits until the job runs (and has reported progress when progress). */
static json_t *
wait_running(const char *sid, const char *id, int progress)
{
	json_t	*o;
	int	 waited;

	for (waited = 0; waited < 20000; waited += 20) {
		if ((o = itest_job_json(&srv, sid, id)) != NULL) {
			if (strcmp(str(o, "state"), "running") == 0 &&
			    (!progress || json_is_number(json_object_get(o,
			    "progress"))))
				return o;
			json_decref(o);
		}
		usleep(20000);
	}
	cr_assert_fail("job %s never ran%s", id, progress ?
	    " with progress" : "");
	return NULL;
}

/* The result's "served" (jobs the worker has served) and "pid". */
static void
served_pid(const json_t *job, int *served, int *pid)
{
	const json_t	*res = json_object_get(job, "result");

	*served = (int)num(res, "served");
	*pid = (int)num(res, "pid");
}

/* ---- a model loaded once ---- */

Test(workers, slow_ready_first_job_waits_the_second_does_not)
{
	char	 sid[33], a[33], b[33];
	json_t	*ja, *jb;
	int	 sa, pa, sb, pb;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "slowready", "", a);
	ja = wait_final(&srv, sid, a, 20000);
	cr_assert_str_eq(str(ja, "state"), "done", "%s", str(ja, "error"));
	cr_expect_geq(num(ja, "started_ms") - num(ja, "created_ms"), 1500,
	    "the first job waits for the worker to load");
	submit(&srv, sid, "slowready", "", b);
	jb = wait_final(&srv, sid, b, 20000);
	cr_assert_str_eq(str(jb, "state"), "done");
	cr_expect_lt(num(jb, "started_ms") - num(jb, "created_ms"), 1000,
	    "the second job does not wait for a load");
	served_pid(ja, &sa, &pa);
	served_pid(jb, &sb, &pb);
	cr_expect_eq(pa, pb, "one worker, loaded once");
	cr_expect_eq(sb, sa + 1);
	json_decref(ja);
	json_decref(jb);
}

/* status.json says how many of a task's slots have a ready worker. */
static int
workers_ready(const char *task)
{
	struct itest_resp	 r;
	json_t			*o;
	int			 n = -1;

	if (itest_req(&srv, "GET", "/status.json", NULL, 0, NULL, NULL,
	    &r) == 0 && (o = json_loads(r.body.data, 0, NULL)) != NULL) {
		n = (int)num(json_object_get(json_object_get(o, "tasks"),
		    task), "workers_ready");
		json_decref(o);
	}
	itest_resp_free(&r);
	return n;
}

Test(workers, preload_first_job_does_not_wait)
{
	char	 sid[33], id[33];
	json_t	*j;
	int	 waited;

	for (waited = 0; waited < 20000 && workers_ready("preloaded") < 2;
	    waited += 50)
		usleep(50000);
	cr_assert_eq(workers_ready("preloaded"), 2, "preloaded at start-up");
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "preloaded", "", id);
	j = wait_final(&srv, sid, id, 20000);
	cr_assert_str_eq(str(j, "state"), "done");
	cr_expect_lt(num(j, "started_ms") - num(j, "created_ms"), 1000,
	    "a preloaded worker was ready");
	json_decref(j);
}

/* ---- crashes, hangs, timeouts, cancel ---- */

Test(workers, crash_fails_the_job_and_the_next_one_runs)
{
	struct itest_resp	 r;
	char			 sid[33], a[33], b[33];
	json_t			*ja, *jb;
	int			 sa, pa, sb, pb;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "echo", "ms=200&crash=false&crash=true", a);
	ja = wait_final(&srv, sid, a, 20000);
	cr_expect_str_eq(str(ja, "state"), "failed");
	cr_expect_not_null(strstr(str(ja, "error"), "signal 11"), "%s",
	    str(ja, "error"));
	cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200, "the server still answers");
	itest_resp_free(&r);
	submit(&srv, sid, "echo", "ms=0", b);
	jb = wait_final(&srv, sid, b, 20000);
	cr_assert_str_eq(str(jb, "state"), "done", "%s", str(jb, "error"));
	served_pid(jb, &sb, &pb);
	cr_expect_eq(sb, 1, "a fresh worker");
	(void)sa;
	(void)pa;
	json_decref(ja);
	json_decref(jb);
}

Test(workers, timeout_fails_the_job_and_frees_the_slot)
{
	char	 sid[33], a[33], b[33];
	json_t	*ja, *jb;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "hang", "", a);
	submit(&srv, sid, "echo", "", b);	/* same lock, waits */
	ja = wait_final(&srv, sid, a, 20000);
	cr_expect_str_eq(str(ja, "state"), "failed");
	cr_expect_str_eq(str(ja, "error"), "timed out after 2 s");
	jb = wait_final(&srv, sid, b, 20000);
	cr_expect_str_eq(str(jb, "state"), "done", "the slot came back");
	json_decref(ja);
	json_decref(jb);
}

Test(workers, cancel_of_a_job_that_ignores_it_kills_after_the_grace)
{
	char	 sid[33], a[33], b[33];
	json_t	*ja, *jb;
	int64_t	 t0;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "hang", "", a);
	json_decref(wait_running(sid, a, 0));
	submit(&srv, sid, "echo", "", b);
	t0 = now_ms();
	cr_expect_eq(cancel(sid, a), 303);
	ja = wait_final(&srv, sid, a, 10000);
	cr_expect_str_eq(str(ja, "state"), "cancelled");
	cr_expect_not_null(strstr(str(ja, "error"), "killed"), "%s",
	    str(ja, "error"));
	cr_expect_lt(now_ms() - t0, 1900, "killed after the 1 s grace, before "
	    "the 2 s timeout");
	jb = wait_final(&srv, sid, b, 20000);
	cr_expect_str_eq(str(jb, "state"), "done");
	json_decref(ja);
	json_decref(jb);
}

Test(workers, cancel_of_a_running_job_that_honours_it)
{
	char	 sid[33], id[33];
	json_t	*j;
	int64_t	 t0;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "echo", "ms=20000", id);
	json_decref(wait_running(sid, id, 1));
	t0 = now_ms();
	cr_expect_eq(cancel(sid, id), 303);
	j = wait_final(&srv, sid, id, 10000);
	cr_expect_str_eq(str(j, "state"), "cancelled");
	cr_expect_str_eq(str(j, "error"), "cancelled");
	cr_expect_lt(now_ms() - t0, 900, "it stopped at its next step");
	json_decref(j);
	cr_expect_eq(cancel(sid, id), 409, "cancel of an ended job");
}

/* ---- protocol violations ---- */

struct violation {
	const char	*task;
	const char	*error;		/* a part of the job's error */
};

Test(workers, protocol_violations_fail_the_job_with_the_reason)
{
	static const struct violation v[] = {
		{ "garbage", "worker broke the protocol: not JSON" },
		{ "longline", "worker broke the protocol: a line longer than "
		    "1 MiB" },
		{ "escape", "result file secret: outside the job's directory" },
		{ "symlink", "result file image: outside the job's directory "
		    "(or through a symbolic link)" },
	};
	char	 sid[33], id[33];
	json_t	*j;
	size_t	 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		submit(&srv, sid, v[i].task, "", id);
		j = wait_final(&srv, sid, id, 20000);
		cr_expect_str_eq(str(j, "state"), "failed", "%s", v[i].task);
		cr_expect_not_null(strstr(str(j, "error"), v[i].error),
		    "%s: %s", v[i].task, str(j, "error"));
		cr_expect_eq(json_is_false(json_object_get(j, "has_png")), 1,
		    "%s: nothing outside out was read", v[i].task);
		json_decref(j);
	}
}

/* Issue 15 item 14: the page and the JSON name no server path. */
Test(workers, errors_shown_to_users_name_no_server_path)
{
	struct itest_resp	 r;
	char			 sid[33], id[33], path[64];
	const char		*p;
	json_t			*j;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "echo", "fail=cannot+open+%2Fvar%2Flib%2Fsluice%2F"
	    "work%2Fecho.0%2Fmodel.bin%3A+No+such+file", id);
	j = wait_final(&srv, sid, id, 20000);
	cr_expect_str_eq(str(j, "state"), "failed");
	cr_expect_not_null(strstr(str(j, "error"), "cannot open model.bin: "
	    "No such file"), "%s", str(j, "error"));
	cr_expect_null(strstr(str(j, "error"), "/var/lib"), "%s",
	    str(j, "error"));
	json_decref(j);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_not_null(strstr(r.body.data, "cannot open model.bin"));
	/* Once: the params table shows the user's own input as given. */
	p = strstr(r.body.data, "/var/lib");
	cr_expect(p != NULL && strstr(p + 1, "/var/lib") == NULL,
	    "the page shows the error's path");
	itest_resp_free(&r);
}

Test(workers, a_worker_that_cannot_start_fails_its_jobs_at_once)
{
	struct itest_resp	 r;
	char			 sid[33], id[33];
	json_t			*j;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "early", "", id);
	j = wait_final(&srv, sid, id, 20000);
	cr_expect_str_eq(str(j, "state"), "failed");
	cr_expect_not_null(strstr(str(j, "error"), "status 3"), "%s",
	    str(j, "error"));
	cr_expect_not_null(strstr(str(j, "error"), "cannot load the model"),
	    "%s", str(j, "error"));
	json_decref(j);
	/* The next one fails at once, and the app page says why. */
	submit(&srv, sid, "early", "", id);
	j = wait_final(&srv, sid, id, 5000);
	cr_expect_str_eq(str(j, "state"), "failed");
	cr_expect_lt(num(j, "finished_ms") - num(j, "created_ms"), 1000);
	json_decref(j);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect_not_null(strstr(r.body.data, "Its workers fail to start"));
	itest_resp_free(&r);
}

/* ---- the slot's environment, progress ---- */

Test(workers, environment_as_the_slot_says)
{
	char		 sid[33], a[33], b[33];
	json_t		*j[2];
	const json_t	*env;
	char		 want[16];
	int		 i, slot;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "devs", "ms=1500", a);
	submit(&srv, sid, "devs", "ms=1500", b);
	j[0] = wait_final(&srv, sid, a, 20000);
	j[1] = wait_final(&srv, sid, b, 20000);
	for (i = 0; i < 2; i++) {
		cr_assert_str_eq(str(j[i], "state"), "done");
		env = json_object_get(json_object_get(j[i], "result"), "env");
		slot = (int)num(j[i], "slot");
		cr_expect_str_eq(str(env, "SLUICE_PROTOCOL"), "1");
		cr_expect_str_eq(str(env, "SLUICE_FD"), "3");
		cr_expect_str_eq(str(env, "SLUICE_TASK"), "devs");
		snprintf(want, sizeof(want), "%d", slot);
		cr_expect_str_eq(str(env, "SLUICE_SLOT"), want);
		snprintf(want, sizeof(want), "%d", slot == 0 ? 3 : 5);
		cr_expect_str_eq(str(env, "CUDA_VISIBLE_DEVICES"), want);
		snprintf(want, sizeof(want), "cuda:%d", slot == 0 ? 3 : 5);
		cr_expect_str_eq(str(env, "SLUICE_DEVICE"), want);
		cr_expect_str_eq(str(j[i], "device"), want);
	}
	cr_expect_neq(num(j[0], "slot"), num(j[1], "slot"), "both slots ran");
	json_decref(j[0]);
	json_decref(j[1]);
}

/* Progress rises while the job runs, for a worker and a built-in kernel. */
static void
progress_rises(const char *task, const char *fields)
{
	char	 sid[33], id[33];
	json_t	*j;
	double	 first, last = -1;
	int	 waited;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, task, fields, id);
	j = wait_running(sid, id, 1);
	first = num(j, "progress");
	cr_expect(first >= 0 && first < 1, "%s: %g", task, first);
	cr_expect(json_is_string(json_object_get(j, "progress_message")));
	json_decref(j);
	for (waited = 0; waited < 5000; waited += 100) {
		j = itest_job_json(&srv, sid, id);
		if (strcmp(str(j, "state"), "running") == 0)
			last = num(j, "progress");
		json_decref(j);
		if (last > first)
			break;
		usleep(100000);
	}
	cr_expect_gt(last, first, "%s: progress did not rise", task);
	json_decref(wait_final(&srv, sid, id, 20000));
}

Test(workers, progress_visible_while_running)
{
	progress_rises("echo", "ms=3000");
	progress_rises("burn", "ms=3000");
}

/* The job page shows a progress bar while it runs, and a Cancel button. */
Test(workers, job_page_has_a_progress_bar_and_cancel_while_running)
{
	struct itest_resp	 r;
	char			 sid[33], id[33], path[96];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "echo", "ms=5000", id);
	json_decref(wait_running(sid, id, 1));
	snprintf(path, sizeof(path), "/jobs/%s", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_not_null(strstr(r.body.data, "<progress id=\"job-progress\""));
	cr_expect_not_null(strstr(r.body.data, "aria-valuenow=\""));
	cr_expect_not_null(strstr(r.body.data, "/cancel\""));
	itest_resp_free(&r);
	cr_expect_eq(cancel(sid, id), 303);
	json_decref(wait_final(&srv, sid, id, 10000));
}

/* ---- typed inputs ---- */

struct bad_input {
	const char	*fields;
	const char	*field;		/* the key under "fields" */
	const char	*message;
};

Test(workers, inputs_are_validated_by_type)
{
	static const struct bad_input bad[] = {
		{ "ms=1.5", "ms", "must be a whole number" },
		{ "ratio=2", "ratio", "must be between 0 and 1" },
		{ "style=pop", "style", "must be one of ink, watercolour, neon" },
		{ "crash=on", "crash", "must be true or false" },
		{ "crash=1", "crash", "must be true or false" },
		{ "crash=true&crash=false", "crash", "given more than once" },
		{ "fail=a%01b", "fail", "must not contain control characters" },
		{ "note=%1b%5b31m", "note", "must not contain control characters" },
	};
	struct itest_resp	 r;
	char			 sid[33], key[64];
	json_t			*o;
	size_t			 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(itest_submit(&srv, sid, "echo", bad[i].fields,
		    form_json_h, &r), 0);
		cr_expect_eq(r.status, 400, "%s", bad[i].fields);
		o = json_loads(r.body.data, 0, NULL);
		snprintf(key, sizeof(key), "%s", bad[i].field);
		cr_expect_str_eq(str(json_object_get(o, "fields"), key),
		    bad[i].message, "%s: %s", bad[i].fields, r.body.data);
		json_decref(o);
		itest_resp_free(&r);
	}
	/* Invalid UTF-8 is refused before the fields are looked at. */
	cr_assert_eq(itest_submit(&srv, sid, "echo", "note=%ff%fe", form_h,
	    &r), 0);
	cr_expect_eq(r.status, 400);
	itest_resp_free(&r);
}

Test(workers, inputs_reach_the_worker_with_their_json_types)
{
	char		 sid[33], id[33];
	json_t		*j;
	const json_t	*p;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	submit(&srv, sid, "echo", "ms=0&ratio=1&style=neon&crash=false&"
	    "crash=true&fail=&note=line+one%0D%0Aline+two", id);
	j = wait_final(&srv, sid, id, 20000);
	/* crash=true made it crash: the params are in the job, as sent. */
	p = json_object_get(j, "params");
	cr_expect(json_is_integer(json_object_get(p, "ms")));
	cr_expect(json_is_real(json_object_get(p, "ratio")), "ratio is 1.0");
	cr_expect_str_eq(str(p, "style"), "neon");
	cr_expect(json_is_true(json_object_get(p, "crash")));
	cr_expect_str_eq(str(p, "note"), "line one\nline two");
	json_decref(j);
	/* Unchecked, the checkbox's hidden "false" alone is false. */
	submit(&srv, sid, "echo", "crash=false", id);
	j = wait_final(&srv, sid, id, 20000);
	cr_expect_str_eq(str(j, "state"), "done");
	p = json_object_get(json_object_get(j, "result"), "params");
	cr_expect(json_is_false(json_object_get(p, "crash")));
	cr_expect(json_is_real(json_object_get(p, "ratio")));
	cr_expect_eq(num(p, "ratio"), 0.5);
	json_decref(j);
}

Test(workers, form_renders_each_input_type)
{
	struct itest_resp	 r;
	char			 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect_not_null(strstr(r.body.data, "<select name=\"style\""));
	cr_expect_not_null(strstr(r.body.data, "<option selected>ink</option>"));
	cr_expect_not_null(strstr(r.body.data, "type=\"checkbox\" name=\"crash\" "
	    "value=\"true\""));
	cr_expect_not_null(strstr(r.body.data, "<input type=\"hidden\" "
	    "name=\"crash\" value=\"false\">"));
	cr_expect_not_null(strstr(r.body.data, "<textarea name=\"note\""));
	cr_expect_not_null(strstr(r.body.data, "type=\"text\" name=\"fail\""));
	cr_expect_not_null(strstr(r.body.data, "step=\"0.05\""));
	itest_resp_free(&r);
}

/* ---- the responder killed: no worker survives it ---- */

static pid_t
read_pid(const char *path)
{
	FILE	*f;
	long	 pid = -1;

	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

/* 1 while pid is a live process (a zombie is not). */
static int
alive(pid_t pid)
{
	char	 path[64], buf[256], *p;
	FILE	*f;
	int	 live = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		live = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return live;
}

Test(workers_kill, no_worker_outlives_a_killed_responder, .timeout = 120)
{
	struct itest_server	 s;
	char			 sid[33], id[33], path[512], state[300];
	const char		*msg, *p;
	json_t			*j;
	pid_t			 worker, responder;
	int			 waited;

	cr_assert_eq(itest_start(&s, "tests/data/workers.conf", NULL, NULL), 0);
	snprintf(state, sizeof(state), "%s", s.state);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	submit(&s, sid, "echo", "ms=30000", id);
	for (waited = 0, worker = 0; waited < 20000 && worker == 0;
	    waited += 50) {
		j = itest_job_json(&s, sid, id);
		msg = json_string_value(json_object_get(j, "progress_message"));
		if (msg != NULL && (p = strstr(msg, "(pid ")) != NULL)
			worker = (pid_t)atoi(p + 5);
		json_decref(j);
		usleep(50000);
	}
	cr_assert_gt(worker, 1, "the worker never said its pid");
	cr_assert(alive(worker));
	snprintf(path, sizeof(path), "%s/run/sluice-1.pid", s.prefix);
	cr_assert_gt((responder = read_pid(path)), 1);
	cr_assert_eq(kill(responder, SIGKILL), 0);
	for (waited = 0; waited < 5000 && alive(worker); waited += 20)
		usleep(20000);
	cr_expect_not(alive(worker), "worker %d outlived the responder",
	    (int)worker);
	(void)itest_stop(&s);
	/* Restarted on the same state: the job was interrupted, as before. */
	cr_assert_eq(itest_start(&s, "tests/data/workers.conf", state, NULL),
	    0);
	j = itest_job_json(&s, sid, id);
	cr_assert_not_null(j);
	cr_expect_str_eq(str(j, "state"), "failed");
	cr_expect_str_eq(str(j, "error"), "interrupted by restart");
	json_decref(j);
	cr_expect_eq(itest_stop(&s), 0);
}

/* ---- SIGHUP: new workers for a changed task, none for a removed one ---- */

static void
write_reload_conf(const char *path, int version)
{
	FILE	*f = fopen(path, "w");

	cr_assert_not_null(f);
	fprintf(f, "server = { threads = 4; };\n"
	    "sessions = { max_active = 16; };\n"
	    "clients = { max_active = 0; };\n"
	    "locks = { w = { slots = 1; queue = 8; }; };\n"
	    "tasks = {\n"
	    "  r = { worker = [\"python3\", \"-m\", \"sluice_testworker\", "
	    "\"echo\"%s]; locks = [\"w\"];\n"
	    "    inputs = { ms = { type = \"int\"; min = 0; max = 60000; }; };"
	    " };\n", version == 1 ? "" : ", \"v2\"");
	if (version == 1)
		fprintf(f, "  gone = { worker = [\"python3\", \"-m\", "
		    "\"sluice_testworker\", \"echo\"]; locks = [\"w\"]; };\n");
	fprintf(f, "};\n");
	fclose(f);
}

/* Runs one job of task and returns its worker's pid and jobs served. */
static void
one_job(const struct itest_server *s, const char *sid, const char *task,
    const char *fields, int *pid, int *served)
{
	char	 id[33];
	json_t	*j;

	submit(s, sid, task, fields, id);
	j = wait_final(s, sid, id, 20000);
	cr_assert_str_eq(str(j, "state"), "done", "%s: %s", task,
	    str(j, "error"));
	served_pid(j, served, pid);
	json_decref(j);
}

Test(workers_reload, changed_task_gets_new_workers_removed_task_none,
    .timeout = 120)
{
	struct itest_server	 s;
	char			 dir[] = "/tmp/sluice-wrl.XXXXXX", conf[128];
	char			 rel[256], path[512], sid[33], id[33];
	int			 p1, s1, p2, s2, g, sg, waited;
	json_t			*j;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/w.conf", dir);
	write_reload_conf(conf, 1);
	snprintf(rel, sizeof(rel), "../../../../../../../../../../..%s", conf);
	cr_assert_eq(itest_start(&s, rel, NULL, NULL), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	one_job(&s, sid, "r", "ms=0", &p1, &s1);
	one_job(&s, sid, "gone", "", &g, &sg);
	cr_assert(alive(g));
	/* A job runs while the config changes under it. */
	submit(&s, sid, "r", "ms=2500", id);
	for (waited = 0; waited < 10000; waited += 50) {
		j = itest_job_json(&s, sid, id);
		if (strcmp(str(j, "state"), "running") == 0) {
			json_decref(j);
			break;
		}
		json_decref(j);
		usleep(50000);
	}
	write_reload_conf(conf, 2);
	snprintf(path, sizeof(path), "%s/run/sluice-1.pid", s.prefix);
	cr_assert_eq(kill(read_pid(path), SIGHUP), 0);
	j = wait_final(&s, sid, id, 20000);
	cr_expect_str_eq(str(j, "state"), "done", "the running job finished");
	cr_expect_eq((int)num(json_object_get(j, "result"), "pid"), p1,
	    "on its old worker");
	json_decref(j);
	for (waited = 0; waited < 5000 && alive(g); waited += 50)
		usleep(50000);
	cr_expect_not(alive(g), "the removed task's worker still runs");
	one_job(&s, sid, "r", "ms=0", &p2, &s2);
	cr_expect_neq(p2, p1, "a changed task gets a new worker");
	cr_expect_eq(s2, 1);
	cr_expect_eq(itest_stop(&s), 0);
	unlink(conf);
	rmdir(dir);
}
