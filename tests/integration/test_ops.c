/*
 * Operations through real nginx (issue 6): drain on SIGTERM, reload on
 * SIGHUP (lock grown under load, broken file refused), crash restart on
 * the same state, /metrics checked by promtool and against
 * /status.json, and the state directory private to the responder. Signals go to the responder itself (its pid file in the
 * sluice-serve prefix): sluice-serve would stop nginx at once.
 */
#include <criterion/criterion.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fill_disk.h"
#include "itest.h"
#include "job.h"
#include "journal.h"

TestSuite(ops, .timeout = 180);

static const char *const form_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };

/*
 * The responder's stderr goes to log while sluice-serve starts; extra as
 * for itest_start.
 */
static void
start_logged_with(struct itest_server *srv, const char *config,
    const char *state, const char *log, const char *const *extra)
{
	int	 fd, saved, rc;

	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	cr_assert(fd != -1, "%s: %s", log, strerror(errno));
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
	rc = itest_start(srv, config, state, extra);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(rc, 0, "sluice-serve did not become ready (log %s)", log);
}

static void
start_logged(struct itest_server *srv, const char *config, const char *state,
    const char *log)
{
	start_logged_with(srv, config, state, log, NULL);
}

static pid_t
responder_pid(const struct itest_server *srv)
{
	char	 path[512];
	FILE	*f;
	long	 pid = -1;

	snprintf(path, sizeof(path), "%s/run/sluice-1.pid", srv->prefix);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	cr_assert_gt(pid, 1, "no responder pid in %s", path);
	return (pid_t)pid;
}

/* A temp dir for state and logs: /tmp/sluice-ops.XXXXXX. */
static void
tmpdir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/sluice-ops.XXXXXX");
	cr_assert(mkdtemp(out) != NULL);
}

/* config as itest_start wants it: relative to top_srcdir. */
static void
rel_config(const char *abs, char *out, size_t len)
{
	/* ".." past / stays at /: any depth of top_srcdir works. */
	snprintf(out, len, "../../../../../../../../../../../..%s", abs);
}

#define submit_id(srv, sid, task, fields, id, status) \
	itest_submit_id(srv, sid, task, fields, id, status)
#define job_field itest_job_field

static void
wait_state(const struct itest_server *srv, const char *sid, const char *id,
    const char *want, int timeout_ms)
{
	char st[32];

	if (itest_wait_state(srv, sid, id, want, timeout_ms, st,
	    sizeof(st)) == -1)
		cr_assert_fail("job %s: state %s, wanted %s", id, st, want);
}

/* A number in /status.json: "key": inside the object of name (or top). */
static double
status_num(const struct itest_server *srv, const char *name, const char *key)
{
	struct itest_resp	 r;
	char			 pat[96];
	const char		*p = NULL;
	double			 v = -1;

	if (itest_req(srv, "GET", "/status.json", NULL, 0, NULL, NULL, &r) ==
	    0 && r.status == 200) {
		p = r.body.data;
		if (name != NULL) {
			snprintf(pat, sizeof(pat), "\"%s\":{", name);
			p = strstr(p, pat);
		}
		snprintf(pat, sizeof(pat), "\"%s\":", key);
		if (p != NULL && (p = strstr(p, pat)) != NULL)
			v = strtod(p + strlen(pat), NULL);
	}
	itest_resp_free(&r);
	return v;
}

/* The value of the sample line that starts with "series " in text. */
static double
metric(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static int
file_has(const char *path, const char *needle)
{
	char	 buf[1 << 16];
	size_t	 n;
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle) != NULL;
}

/* Waits up to timeout_ms for sluice-serve to end; its exit status or -1. */
static int
wait_serve(struct itest_server *srv, int timeout_ms)
{
	int	 st, waited;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		if (waitpid(srv->pid, &st, WNOHANG) == srv->pid) {
			srv->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50000);
	}
	return -1;
}

Test(ops, drain_finishes_accepted_jobs_and_refuses_new)
{
	struct itest_server	 srv;
	struct itest_resp	 r;
	struct journal		*jr;
	struct job		 j;
	char			 dir[64], state[128], log[128], sid[33];
	char			 ids[3][33], id[33], st[32], ra[16], err[256];
	long			 status = 0;
	int			 i, waited;

	tmpdir(dir, sizeof(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	start_logged(&srv, "tests/data/ops.conf", state, log);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(submit_id(&srv, sid, "burn", "ms=1200", ids[i],
		    NULL), 0);
	wait_state(&srv, sid, ids[0], "running", 10000);

	cr_assert_eq(kill(responder_pid(&srv), SIGTERM), 0);
	for (waited = 0; waited < 5000; waited += 50) {
		cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL,
		    NULL, &r), 0);
		status = r.status;
		itest_resp_free(&r);
		if (status == 503)
			break;
		usleep(50000);
	}
	cr_assert_eq(status, 503, "/healthz does not say draining");
	cr_expect_neq(submit_id(&srv, sid, "burn", "ms=10", id, &status), 0);
	cr_expect_eq(status, 503, "a POST while draining got %ld", status);
	{
		char	 csrf[65], body[256];

		cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
		snprintf(body, sizeof(body), "csrf=%s&ms=10", csrf);
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body,
		    strlen(body), form_h, sid, &r), 0);
		cr_expect_eq(r.status, 503);
		cr_expect_eq(itest_header(&r, "Retry-After", ra, sizeof(ra)),
		    0, "503 while draining without Retry-After");
		itest_resp_free(&r);
	}
	/* Job pages keep answering meanwhile. */
	job_field(&srv, sid, ids[2], "state", st, sizeof(st));
	cr_expect(strcmp(st, "queued") == 0 || strcmp(st, "running") == 0,
	    "job page while draining: %s", st);

	/* The responder exits 0 once all ran; sluice-serve then stops. */
	wait_serve(&srv, 60000);
	if (srv.pid > 0)
		itest_stop(&srv);
	cr_expect(file_has(log, "a child exited (status 0)"),
	    "the responder did not exit 0 (see %s)", log);
	cr_expect(file_has(log, "msg=\"stopped\""));
	cr_expect(file_has(log, "event=job_done"));

	jr = journal_open(state, err, sizeof(err));
	cr_assert(jr != NULL, "%s", err);
	for (i = 0; i < 3; i++) {
		memset(&j, 0, sizeof(j));
		cr_assert_eq(journal_get(jr, ids[i], &j), 1);
		cr_expect_eq(j.state, JOB_DONE, "job %d: %s", i,
		    job_state_name(j.state));
		job_clear(&j);
	}
	journal_close(jr);
}

static void
write_conf(const char *path, int slots, int broken)
{
	FILE	*f = fopen(path, "w");

	cr_assert(f != NULL);
	fprintf(f, "server = { threads = 8; drain_timeout = 5; };\n"
	    "sessions = { max_active = 100; };\n"
	    "clients = { max_active = 0; };\n"
	    "locks = { one = { slots = %d; queue = 20; order = \"fifo\"; }; };\n"
	    "tasks = { burn = { kernel = \"burn\"; locks = [\"one\"]; }; };\n",
	    slots);
	if (broken)
		fprintf(f, "locks = { this is not libconfig\n");
	fclose(f);
}

/*
 * Starts a server on a one-slot write_conf file in a fresh directory dir
 * (64 bytes) that a test rewrites: conf and log (128 bytes each) are its
 * paths, sid a new session. Returns the responder's pid.
 */
static pid_t
start_reloadable(struct itest_server *srv, char *dir, char *conf, char *log,
    char sid[33])
{
	char	 rel[256];

	tmpdir(dir, 64);
	snprintf(conf, 128, "%s/reload.conf", dir);
	snprintf(log, 128, "%s/log", dir);
	write_conf(conf, 1, 0);
	rel_config(conf, rel, sizeof(rel));
	start_logged(srv, rel, NULL, log);
	cr_assert_eq(itest_new_session(srv, sid), 0);
	return responder_pid(srv);
}

Test(ops, reload_grows_a_lock_and_refuses_a_broken_file)
{
	struct itest_server	 srv;
	char			 dir[64], conf[128], log[128];
	char			 sid[33], id[33];
	double			 busy = 0, slots = 0;
	int			 i, waited;
	pid_t			 pid;

	pid = start_reloadable(&srv, dir, conf, log, sid);
	for (i = 0; i < 4; i++)
		cr_assert_eq(submit_id(&srv, sid, "burn", "ms=3000", id, NULL),
		    0);
	usleep(300000);
	cr_expect_eq(status_num(&srv, "one", "busy"), 1);
	cr_expect_eq(status_num(&srv, "one", "queued"), 3);

	write_conf(conf, 2, 0);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	for (waited = 0; waited < 10000; waited += 50) {
		slots = status_num(&srv, "one", "slots");
		busy = status_num(&srv, "one", "busy");
		/* The scheduler changes first, then the reload is counted. */
		if (slots == 2 && busy == 2 &&
		    status_num(&srv, "server", "reloads") == 1)
			break;
		usleep(50000);
	}
	cr_expect_eq(slots, 2, "slots after reload: %g", slots);
	cr_expect_eq(busy, 2, "two jobs should run at once after the reload");
	cr_expect_eq(status_num(&srv, "server", "reloads"), 1);

	/* A broken file: refused, logged, the old config stays. */
	write_conf(conf, 1, 1);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	for (waited = 0; waited < 10000; waited += 50) {
		if (file_has(log, "msg=\"reload refused\""))
			break;
		usleep(50000);
	}
	cr_expect(file_has(log, "msg=\"reload refused\" error=\""),
	    "no refusal in %s", log);
	cr_expect(file_has(log, "reload.conf:"), "the error names the file");
	cr_expect_eq(status_num(&srv, "server", "reload_errors"), 1);
	cr_expect_eq(status_num(&srv, "one", "slots"), 2);
	cr_expect_eq(submit_id(&srv, sid, "burn", "ms=10", id, NULL), 0,
	    "still serving after a refused reload");
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * A SIGHUP that narrows a kernel task's range (tasks.NAME.params): the
 * next submission and the page take the new bounds at once; what the old
 * range allowed is 400 naming the field.
 */
static int	file_count_lines(const char *, const char *, const char *);

Test(ops, reload_narrows_a_kernel_range)
{
	static const char *const json_h[] = {
	    "Content-Type: application/x-www-form-urlencoded",
	    "Accept: application/json", NULL };
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], conf[128], log[128], sid[33], id[33];
	FILE			*f;
	json_t			*o;
	int			 waited;
	pid_t			 pid;

	pid = start_reloadable(&srv, dir, conf, log, sid);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=6000", id, NULL), 0,
	    "the kernel's own range first");
	cr_assert((f = fopen(conf, "w")) != NULL);
	fprintf(f, "server = { threads = 8; drain_timeout = 5; };\n"
	    "sessions = { max_active = 100; };\n"
	    "clients = { max_active = 0; };\n"
	    "locks = { one = { slots = 1; queue = 20; }; };\n"
	    "tasks = { burn = { kernel = \"burn\"; locks = [\"one\"];\n"
	    "  params = { ms = { max = 5000; default = 50; }; }; }; };\n");
	fclose(f);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	for (waited = 0; waited < 10000; waited += 50) {
		if (status_num(&srv, "server", "reloads") == 1)
			break;
		usleep(50000);
	}
	cr_assert_eq(status_num(&srv, "server", "reloads"), 1);
	cr_assert_eq(itest_submit(&srv, sid, "burn", "ms=6000", json_h, &r),
	    0);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(r.body.data, "{\"error\":\"invalid fields\","
	    "\"fields\":{\"ms\":\"must be between 0 and 5000\"}}\n");
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect(strstr(r.body.data, "name=\"ms\" value=\"50\" min=\"0\" "
	    "max=\"5000\"") != NULL, "the page's input has the new range");
	itest_resp_free(&r);
	/* The job taken under the old range runs to its end. */
	o = itest_wait_final(&srv, sid, id, 30000);
	cr_assert_not_null(o, "the job did not end");
	cr_expect_str_eq(json_string_value(json_object_get(o, "state")),
	    "done");
	json_decref(o);
	/* Narrowing is no reason to restart the kernel's worker. */
	cr_expect_eq(file_count_lines(log, "msg=\"worker started\"",
	    "task=burn"), 1, "the burn worker was restarted by the reload");
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * The cluster group is fixed at start (README "Cluster"): a reload that
 * adds one is refused, naming the keys, and the responder goes on
 * serving on its own journal.
 */
Test(ops, reload_refuses_a_new_cluster_group)
{
	struct itest_server	 srv;
	char			 dir[64], conf[128], log[128], sid[33], id[33];
	int			 waited;
	pid_t			 pid;
	FILE			*f;

	pid = start_reloadable(&srv, dir, conf, log, sid);
	write_conf(conf, 2, 0);
	cr_assert_not_null(f = fopen(conf, "a"));
	fprintf(f, "cluster = { database = \"dbname=sluice\"; node = \"n1\"; };\n");
	fclose(f);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	for (waited = 0; waited < 10000; waited += 50) {
		if (file_has(log, "msg=\"reload refused\""))
			break;
		usleep(50000);
	}
	cr_expect(file_has(log, "cluster.database and cluster.node take a "
	    "restart to change"), "no refusal naming the keys in %s", log);
	cr_expect_eq(status_num(&srv, "server", "reloads"), 0);
	cr_expect_eq(status_num(&srv, "one", "slots"), 1, "the old config");
	cr_expect_eq(submit_id(&srv, sid, "burn", "ms=10", id, NULL), 0,
	    "still serving");
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * Fifty reloads leave one config generation in memory (issue 15 item 15):
 * each old one is freed once the requests that began on it ended, not
 * kept until exit (33 KB a reload). Each SIGHUP waits for the one before
 * it to be counted, as signals sent at once would merge into one.
 */
Test(ops, fifty_reloads_keep_one_generation)
{
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], conf[128], log[128], sid[33];
	int			 i, waited;
	pid_t			 pid;

	pid = start_reloadable(&srv, dir, conf, log, sid);
	cr_expect_eq(status_num(&srv, "server", "generations"), 1);
	for (i = 1; i <= 50; i++) {
		write_conf(conf, 1 + i % 2, 0);
		cr_assert_eq(kill(pid, SIGHUP), 0);
		for (waited = 0; waited < 10000; waited += 10) {
			if (status_num(&srv, "server", "reloads") == i)
				break;
			usleep(10000);
		}
		cr_assert_eq(status_num(&srv, "server", "reloads"), i,
		    "reload %d not counted", i);
		/* The page renders from the new generation between reloads. */
		cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid,
		    &r), 0);
		cr_expect_eq(r.status, 200);
		itest_resp_free(&r);
	}
	cr_expect_eq(status_num(&srv, "one", "slots"), 1);
	cr_expect_eq(status_num(&srv, "server", "generations"), 1,
	    "generations alive after 50 reloads");
	cr_assert_eq(itest_req(&srv, "GET", "/metrics", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(metric(r.body.data, "sluice_config_generations"), 1,
	    "%s", r.body.data);
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * ETA and Retry-After under a long job (issue 15 item 7): a 4 s burn holds
 * the only slot; the waiter's eta_ms counts the burn's remaining time
 * (its ms parameter is its cost), not the task's seeded 1 s or a few ms,
 * and the full queue's 503 asks to come back when the burn ends.
 */
Test(ops, eta_and_retry_after_count_the_running_job)
{
	static const char *const json[] = { "Accept: application/json",
					    "Content-Type: "
					    "application/x-www-form-urlencoded",
					    NULL };
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], conf[128], rel[256], log[128];
	char			 sid[33], a[33], b[33], v[32], last[32];
	json_t			*o;
	double			 eta, elapsed_ms;
	int64_t			 t0;
	FILE			*f;

	tmpdir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/eta.conf", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	cr_assert((f = fopen(conf, "w")) != NULL);
	fprintf(f, "sessions = { max_active = 10; };\n"
	    "locks = { one = { slots = 1; queue = 1; }; };\n"
	    "tasks = { burn = { kernel = \"burn\"; locks = [\"one\"]; }; };\n");
	fclose(f);
	rel_config(conf, rel, sizeof(rel));
	start_logged(&srv, rel, NULL, log);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	t0 = job_now_ms();
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=4000", a, NULL), 0);
	cr_assert_eq(itest_wait_state(&srv, sid, a, "running", 10000, last,
	    sizeof(last)), 0, "last %s", last);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=10", b, NULL), 0);
	o = itest_job_json(&srv, sid, b);
	elapsed_ms = (double)(job_now_ms() - t0);
	cr_assert_not_null(o);
	eta = json_number_value(json_object_get(o, "eta_ms"));
	json_decref(o);
	/* The burn has at least 4000 ms less what passed since its submit. */
	cr_expect_geq(eta, 4000 - elapsed_ms, "eta_ms %g after %g ms", eta,
	    elapsed_ms);
	cr_assert_eq(itest_submit(&srv, sid, "burn", "ms=10", json, &r), 0);
	cr_expect_eq(r.status, 503, "queue full: %ld", r.status);
	cr_assert_eq(itest_header(&r, "Retry-After", v, sizeof(v)), 0);
	elapsed_ms = (double)(job_now_ms() - t0);
	cr_expect_gt(atoi(v), 1, "Retry-After %s", v);
	cr_expect_geq(atoi(v) * 1000.0, 4000 - elapsed_ms, "Retry-After %s "
	    "after %g ms", v, elapsed_ms);
	itest_resp_free(&r);
	o = itest_wait_final(&srv, sid, b, 20000);
	cr_expect_not_null(o);
	json_decref(o);
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * A template directory that lost a page has no syntax error in it: the
 * reload must still be refused, naming the page, and the old templates
 * keep serving (they were compiled into memory at start).
 */
Test(ops, reload_refuses_a_template_dir_without_a_page)
{
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], conf[128], rel[256], log[128];
	char			 tdir[128], src[512], cmd[1024], sid[33];
	const char		*extra[] = { "--templates", tdir, NULL };
	int			 waited;
	pid_t			 pid;

	tmpdir(dir, sizeof(dir));
	snprintf(conf, sizeof(conf), "%s/reload.conf", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(tdir, sizeof(tdir), "%s/templates", dir);
	write_conf(conf, 1, 0);
	rel_config(conf, rel, sizeof(rel));
	snprintf(cmd, sizeof(cmd), "mkdir %s && cp %s/*.html %s", tdir,
	    itest_src("templates", src, sizeof(src)), tdir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	start_logged_with(&srv, rel, NULL, log, extra);
	pid = responder_pid(&srv);
	cr_assert_eq(itest_new_session(&srv, sid), 0);

	snprintf(cmd, sizeof(cmd), "%s/index.html", tdir);
	cr_assert_eq(unlink(cmd), 0);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	for (waited = 0; waited < 10000; waited += 50) {
		if (file_has(log, "msg=\"reload refused\""))
			break;
		usleep(50000);
	}
	cr_expect(file_has(log, "index.html:0: missing template 'index'"),
	    "no refusal naming index.html in %s", log);
	cr_expect_eq(status_num(&srv, "server", "reload_errors"), 1);
	cr_expect_eq(status_num(&srv, "server", "reloads"), 0);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200, "the old templates stay: %ld", r.status);
	cr_expect(strstr(r.body.data, "id=\"task-burn\"") != NULL,
	    "the app page is rendered");
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&srv), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

/* How many lines of file hold both a and b. */
static int
file_count_lines(const char *file, const char *a, const char *b)
{
	char	 line[1024];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(file, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, a) != NULL && strstr(line, b) != NULL;
	fclose(f);
	return n;
}

/* 1 when a line of file holds both a and b. */
static int
file_has_line(const char *file, const char *a, const char *b)
{
	return file_count_lines(file, a, b) > 0;
}

Test(ops, crash_restart_keeps_every_accepted_job)
{
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], state[128], log[128], sid[33];
	char			 png[33], run[33], q1[33], q2[33], path[128];
	char			 v[64], s1[32], s2[32], ct[64];
	int			 st;

	tmpdir(dir, sizeof(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	start_logged(&srv, "tests/data/ops.conf", state, log);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(&srv, sid, "mandelbrot",
	    "width=64&height=48&iters=100", png, NULL), 0);
	wait_state(&srv, sid, png, "done", 20000);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=20000", run, NULL), 0);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=100", q1, NULL), 0);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=100", q2, NULL), 0);
	wait_state(&srv, sid, run, "running", 10000);
	usleep(200000);	/* the start is journaled by the worker */

	/* kill -9 nginx, the responder and sluice-serve (one group). */
	cr_assert_eq(kill(-srv.pid, SIGKILL), 0);
	waitpid(srv.pid, &st, 0);
	srv.pid = 0;

	start_logged(&srv, "tests/data/ops.conf", state, log);
	wait_state(&srv, sid, q2, "done", 20000);
	wait_state(&srv, sid, q1, "done", 1000);
	job_field(&srv, sid, run, "state", v, sizeof(v));
	cr_expect_str_eq(v, "failed");
	job_field(&srv, sid, run, "error", v, sizeof(v));
	cr_expect_str_eq(v, "interrupted by restart");
	/* Logged like every other transition (issue 15 item 18). */
	snprintf(path, sizeof(path), "event=job_failed id=%s ", run);
	cr_expect(file_has_line(log, path, "error=\"interrupted by restart\""),
	    "no job_failed line for %s in %s", run, log);
	job_field(&srv, sid, q1, "started_ms", s1, sizeof(s1));
	job_field(&srv, sid, q2, "started_ms", s2, sizeof(s2));
	cr_expect(strtoll(s1, NULL, 10) <= strtoll(s2, NULL, 10),
	    "queued jobs ran out of order: %s > %s", s1, s2);

	/* The result from before the crash, PNG included. */
	job_field(&srv, sid, png, "state", v, sizeof(v));
	cr_expect_str_eq(v, "done");
	snprintf(path, sizeof(path), "/jobs/%s/result.png", png);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	cr_expect(strstr(ct, "image/png") != NULL);
	cr_expect(r.body.len > 8 && memcmp(r.body.data, "\x89PNG", 4) == 0);
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&srv), 0);
}

/* nftw: counts what the group or others may read, and what was seen. */
static int	 open_to_others, state_files;
static char	 first_open[300];

static int
note_mode(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F || type == FTW_D) {
		state_files += type == FTW_F;
		if ((st->st_mode & 077) && open_to_others++ == 0)
			snprintf(first_open, sizeof(first_open), "%s: mode %04o",
			    path, (unsigned)(st->st_mode & 07777));
	}
	return 0;
}

/* Issue 15 item 4: the journal holds every session id. */
Test(ops, state_files_are_private_whatever_the_umask)
{
	struct itest_server	 srv;
	char			 dir[64], state[128], log[128], sid[33], id[33];
	mode_t			 old;

	tmpdir(dir, sizeof(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	old = umask(0);		/* the worst an operator's shell may pass on */
	start_logged(&srv, "tests/data/ops.conf", state, log);
	umask(old);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(&srv, sid, "mandelbrot",
	    "width=64&height=48&iters=100", id, NULL), 0);
	wait_state(&srv, sid, id, "done", 20000);
	open_to_others = state_files = 0;
	cr_assert_eq(nftw(state, note_mode, 16, FTW_PHYS), 0);
	cr_expect_geq(state_files, 2, "jobs.db and the result: %d files",
	    state_files);
	cr_expect_eq(open_to_others, 0, "%d state files or directories open "
	    "to the group or others, the first %s", open_to_others, first_open);
	cr_expect_eq(itest_stop(&srv), 0);
}

Test(ops, metrics_pass_promtool_and_agree_with_status)
{
	struct itest_server	 srv;
	struct itest_resp	 m;
	char			 dir[64], log[128], sid[33], id[4][33];
	char			 mfile[128], cmd[512];
	FILE			*f;
	int			 i, rc;

	tmpdir(dir, sizeof(dir));
	snprintf(log, sizeof(log), "%s/log", dir);
	start_logged(&srv, "tests/data/ops.conf", NULL, log);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(submit_id(&srv, sid, "burn", "ms=20", id[i],
		    NULL), 0);
	cr_assert_eq(submit_id(&srv, sid, "mandelbrot",
	    "width=32&height=24&iters=50", id[3], NULL), 0);
	for (i = 0; i < 4; i++)
		wait_state(&srv, sid, id[i], "done", 20000);

	cr_assert_eq(itest_req(&srv, "GET", "/metrics", NULL, 0, NULL, NULL,
	    &m), 0);
	cr_assert_eq(m.status, 200);
	buf_cstr(&m.body);
	cr_expect_eq(metric(m.body.data, "sluice_lock_slots{lock=\"one\"}"), 1);
	cr_expect_eq(metric(m.body.data,
	    "sluice_lock_started_total{lock=\"one\"}"), 3);
	cr_expect_eq(metric(m.body.data,
	    "sluice_lock_finished_total{lock=\"one\",state=\"done\"}"), 3);
	cr_expect_eq(metric(m.body.data,
	    "sluice_lock_wait_seconds_count{lock=\"one\"}"), 3);
	cr_expect_eq(metric(m.body.data,
	    "sluice_lock_run_seconds_bucket{lock=\"one\",le=\"+Inf\"}"), 3);
	cr_expect_eq(metric(m.body.data,
	    "sluice_task_finished_total{task=\"mandelbrot\",state=\"done\"}"),
	    1);
	cr_expect_gt(metric(m.body.data,
	    "sluice_http_requests_total{status=\"303\"}"), 3.5);
	cr_expect_eq(metric(m.body.data, "sluice_responder_threads"), 8);
	/* The same numbers in /status.json. */
	cr_expect_eq(status_num(&srv, "one", "started"), metric(m.body.data,
	    "sluice_lock_started_total{lock=\"one\"}"));
	cr_expect_eq(status_num(&srv, "one", "admitted"), metric(m.body.data,
	    "sluice_lock_admitted_total{lock=\"one\"}"));
	cr_expect_eq(status_num(&srv, "one", "done"), metric(m.body.data,
	    "sluice_lock_finished_total{lock=\"one\",state=\"done\"}"));
	cr_expect_eq(status_num(&srv, "pool", "done"), metric(m.body.data,
	    "sluice_lock_finished_total{lock=\"pool\",state=\"done\"}"));
	cr_expect_eq(status_num(&srv, "one", "busy"), metric(m.body.data,
	    "sluice_lock_busy{lock=\"one\"}"));
	cr_expect_eq(status_num(&srv, "one", "queued"), metric(m.body.data,
	    "sluice_lock_queued{lock=\"one\"}"));
	cr_expect_eq(status_num(&srv, "server", "threads"), metric(m.body.data,
	    "sluice_responder_threads"));

	snprintf(mfile, sizeof(mfile), "%s/metrics.txt", dir);
	cr_assert((f = fopen(mfile, "w")) != NULL);
	fwrite(m.body.data, 1, m.body.len, f);
	fclose(f);
	itest_resp_free(&m);
	cr_expect_eq(itest_stop(&srv), 0);

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		cr_skip_test("promtool not installed (Debian: prometheus)");
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s >&2", mfile);
	rc = system(cmd);
	cr_expect_eq(rc, 0, "promtool check metrics failed on %s", mfile);
}

/*
 * Issue 15 item 1: a full disk. State on a 2 MB tmpfs: once it is full,
 * submissions get 503 with Retry-After, /healthz says why, a queued job
 * does not start (its start cannot be journaled) and a finished one says
 * it is unsaved; after kill -9 the responder starts read-only on the
 * full disk, and once there is room again every job ends, none of them
 * run twice.
 */
static const char *const json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };

/* GET /healthz: its status, the body into out. */
static long
healthz(const struct itest_server *srv, char *out, size_t len)
{
	struct itest_resp	 r;
	long			 st = -1;

	out[0] = '\0';
	if (itest_req(srv, "GET", "/healthz", NULL, 0, NULL, NULL, &r) == 0) {
		st = r.status;
		snprintf(out, len, "%.*s", (int)r.body.len, r.body.data);
	}
	itest_resp_free(&r);
	return st;
}

/* A job's state stays want for ms (sampled every 100 ms). */
static void
stays(const struct itest_server *srv, const char *sid, const char *id,
    const char *want, int ms)
{
	char	 v[32];
	int	 t;

	for (t = 0; t < ms; t += 100) {
		job_field(srv, sid, id, "state", v, sizeof(v));
		cr_assert_str_eq(v, want, "job %s: %s after %d ms, wanted it "
		    "to stay %s", id, v, t, want);
		usleep(100000);
	}
}

/* Mounts a tmpfs of size at dir/fs into fs; skips the test unless root. */
static void
mount_small(const char *dir, const char *size, char *fs, size_t len)
{
	char	 opt[32];

	if (geteuid() != 0)
		cr_skip_test("needs root to mount a small tmpfs (CI runs as "
		    "root)");
	snprintf(fs, len, "%s/fs", dir);
	snprintf(opt, sizeof(opt), "size=%s,mode=0700", size);
	cr_assert_eq(mkdir(fs, 0700), 0);
	if (mount("tmpfs", fs, "tmpfs", 0, opt) == -1)
		cr_skip_test("mount tmpfs: %s", strerror(errno));
}

Test(ops, full_disk_refuses_jobs_and_runs_none_twice)
{
	struct itest_server	 srv;
	struct itest_resp	 r;
	char			 dir[64], fs[96], log[128], fill[128], sid[33];
	char			 a[33], b[33], v[160], ra[16], pat[96];
	long			 st;
	int			 tries, wst;

	tmpdir(dir, sizeof(dir));
	mount_small(dir, "2m", fs, sizeof(fs));
	snprintf(log, sizeof(log), "%s/log", dir);
	start_logged_with(&srv, "tests/data/ops.conf", fs, log,
	    (const char *const[]){ "--restart", NULL });
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=1500", a, NULL), 0);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=100", b, NULL), 0);
	wait_state(&srv, sid, a, "running", 10000);
	usleep(200000);	/* a's start is journaled */
	fill_disk(fs, fill, sizeof(fill));

	/* New jobs: 503 with Retry-After (the WAL may take one or two). */
	for (tries = 0, st = 0; tries < 20 && st != 503; tries++) {
		cr_assert_eq(itest_submit(&srv, sid, "burn", "ms=1", json_h,
		    &r), 0);
		st = r.status;
		if (st == 503) {
			cr_expect_eq(itest_header(&r, "Retry-After", ra,
			    sizeof(ra)), 0);
			cr_expect_geq(atoi(ra), 1);
			cr_expect(strstr(r.body.data, "cannot record") != NULL,
			    "body: %s", r.body.data);
		} else
			cr_assert_eq(st, 303, "a submission on a full disk: "
			    "%ld", st);
		itest_resp_free(&r);
	}
	cr_assert_eq(st, 503, "20 submissions accepted on a full disk");
	cr_assert_eq(healthz(&srv, v, sizeof(v)), 503);
	cr_expect(strstr(v, "read-only") && strstr(v, "disk is full"),
	    "healthz: %s", v);
	cr_expect(strstr(v, fs) == NULL, "healthz names a path: %s", v);

	/* a ends (unsaved: the page says so); b cannot start. */
	wait_state(&srv, sid, a, "done", 10000);
	job_field(&srv, sid, a, "saved", v, sizeof(v));
	cr_expect_str_eq(v, "false");
	stays(&srv, sid, b, "queued", 2500);

	/* kill -9 the responder: sluice-serve starts another, read-only. */
	cr_assert_eq(kill(responder_pid(&srv), SIGKILL), 0);
	for (tries = 0; tries < 100; tries++) {
		usleep(100000);
		if (healthz(&srv, v, sizeof(v)) == 503 && strstr(v,
		    "read-only") != NULL && file_has_line(log,
		    "starting read-only", "disk is full"))
			break;
	}
	cr_assert_lt(tries, 100, "no read-only start on a full disk (log %s)",
	    log);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200, "the app page on a read-only start");
	itest_resp_free(&r);
	job_field(&srv, sid, a, "state", v, sizeof(v));
	cr_expect_str_eq(v, "failed");	/* its done was never journaled */
	stays(&srv, sid, b, "queued", 1000);

	/* Room again: b runs, a's interruption is saved, healthz is ok. */
	cr_assert_eq(unlink(fill), 0);
	wait_state(&srv, sid, b, "done", 15000);
	for (tries = 0; tries < 50 && healthz(&srv, v, sizeof(v)) != 200;
	    tries++)
		usleep(100000);
	cr_expect(strncmp(v, "ok", 2) == 0, "healthz with room: %s", v);
	snprintf(pat, sizeof(pat), "event=job_started id=%s ", a);
	cr_expect_eq(file_count_lines(log, pat, "task=burn"), 1,
	    "job %s started more than once", a);
	snprintf(pat, sizeof(pat), "event=job_started id=%s ", b);
	cr_expect_eq(file_count_lines(log, pat, "task=burn"), 1,
	    "job %s started more than once", b);
	cr_expect(file_has_line(log, "level=error", "journal cannot be "
	    "written"));
	kill(-srv.pid, SIGKILL);
	waitpid(srv.pid, &wst, 0);
	(void)umount2(fs, MNT_DETACH);	/* its processes may still be ending */
}

/*
 * Issue 15 item 2: jobs.db-wal deleted under the running responder. No
 * job accepted before or after is lost across a kill -9, and the log
 * says what happened at level=error.
 */
Test(ops, removed_wal_loses_no_accepted_job)
{
	struct itest_server	 srv;
	char			 dir[64], state[128], log[128], wal[160];
	char			 sid[33], run[33], ids[16][33], v[32];
	int			 i, st;

	tmpdir(dir, sizeof(dir));
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(wal, sizeof(wal), "%s/jobs.db-wal", state);
	start_logged(&srv, "tests/data/ops.conf", state, log);
	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit_id(&srv, sid, "burn", "ms=30000", run, NULL), 0);
	for (i = 0; i < 8; i++)
		cr_assert_eq(submit_id(&srv, sid, "burn", "ms=1", ids[i],
		    NULL), 0);
	cr_assert_eq(unlink(wal), 0, "unlink %s: %s", wal, strerror(errno));
	for (; i < 16; i++)
		cr_assert_eq(submit_id(&srv, sid, "burn", "ms=1", ids[i],
		    NULL), 0);
	cr_expect(file_has_line(log, "level=error", "jobs.db-wal was "
	    "removed"), "no level=error line about the WAL in %s", log);
	cr_assert_eq(kill(-srv.pid, SIGKILL), 0);
	waitpid(srv.pid, &st, 0);
	srv.pid = 0;

	start_logged(&srv, "tests/data/ops.conf", state, log);
	for (i = 0; i < 16; i++) {
		job_field(&srv, sid, ids[i], "state", v, sizeof(v));
		cr_expect(strcmp(v, "queued") == 0 || strcmp(v, "running") ==
		    0 || strcmp(v, "done") == 0, "job %d (%s) after the "
		    "restart: %s", i, ids[i], v);
	}
	cr_expect_eq(itest_stop(&srv), 0);
}
