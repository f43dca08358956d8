/*
 * The cluster end to end (DESIGN.md, "Several machines: the cluster"):
 * three nodes of tests/cluster/cluster.conf behind one nginx
 * (sluice-serve --cluster), one PostgreSQL (tests/pg/pg-run.sh), each
 * test in a schema of its own. Jobs run tests/cluster/cluster_worker.py,
 * whose log says how often each job ran and on which node (its parent's
 * pid). One test at a time (-j1): the nodes, the nginx and the database
 * are real processes, and one test stops the database.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctest.h"
#include "pg_schema.h"

#define LEASE_MS	3000	/* cluster.conf's cluster.lease */
#define LOST_BOUND_MS	(LEASE_MS + 5000)	/* the bound */
#define MAX_ACTIVE	4	/* cluster.conf's sessions.max_active */
#define LOCAL_SLOTS	2	/* locks.local: per node */
#define SHARED_SLOTS	3	/* locks.shared: the whole cluster */

/* One accepted job, as a test keeps it. */
struct cjob {
	char	id[33];
	int	session;	/* index into the test's sessions */
	int	shared;		/* task share (lock shared), else tick */
	int	node;		/* where it ran (the worker log), 0: nowhere */
	int	runs;
	long long started, finished, created;
};

/* A session: its sid and CSRF token. */
struct csess {
	char	sid[33];
	char	csrf[65];
};

static struct ctest	 ct;
static char		 conninfo[PG_SCHEMA_CONNINFO_MAX];

/* nodes nodes on a new schema; with restart, sluice-serve --restart. */
static void
cluster_up_as(int nodes, int restart)
{
	pg_schema_new(conninfo, sizeof(conninfo));
	cr_assert_eq(ctest_start(&ct, nodes, conninfo, restart), 0,
	    "%d nodes did not become ready", nodes);
}

static void
cluster_up(int nodes)
{
	cluster_up_as(nodes, 0);
}

static void
cluster_down(void)
{
	cr_expect_eq(ctest_stop(&ct), 0, "sluice-serve did not exit cleanly");
}

static void
session_new(const struct itest_server *s, struct csess *cs)
{
	cr_assert_eq(itest_new_session(s, cs->sid), 0, "no session");
	cr_assert_eq(itest_csrf(s, cs->sid, cs->csrf), 0, "no CSRF token");
}

/* Submits, expecting 303: the job's id into id. */
static void
submit_ok(const struct itest_server *s, const struct csess *cs,
    const char *task, const char *fields, char id[33])
{
	long	 st;

	cr_assert_eq(ctest_submit(s, cs->sid, cs->csrf, task, fields, id, &st,
	    NULL, 0), 0, "POST /tasks/%s (%s): %ld, not 303", task, fields, st);
}

/* The same form again (its nonce) through s: the same job, not another. */
static void
resubmit(const struct itest_server *s, const struct csess *cs,
    const char *task, const char *fields, const char *id)
{
	char	 again[33];

	submit_ok(s, cs, task, fields, again);
	cr_expect_str_eq(again, id, "a form resubmitted to another node (%s) "
	    "made job %s besides %s", fields, again, id);
}

/* The job's final JSON on s, or fails the test after timeout_ms. */
static json_t *
final_json(const struct itest_server *s, const char *sid, const char *id,
    int timeout_ms)
{
	json_t	*o = itest_wait_final(s, sid, id, timeout_ms);

	cr_assert_not_null(o, "job %s not final after %d ms", id, timeout_ms);
	return o;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "(null)";
}

static long long
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* Jobs id[0..n) of ses[i / MAX_ACTIVE], asked on s, all end done. */
static void
expect_all_done(const struct itest_server *s, const struct csess *ses,
    char (*id)[33], int n)
{
	json_t	*o;
	int	 i;

	for (i = 0; i < n; i++) {
		o = final_json(s, ses[i / MAX_ACTIVE].sid, id[i], 60000);
		cr_expect_str_eq(jstr(o, "state"), "done", "job %d: %s (%s)",
		    i, jstr(o, "state"), jstr(o, "error"));
		json_decref(o);
	}
}

/* The worker's log, fetched once; the caller frees it. */
static struct ctest_run *
runs_now(size_t *n)
{
	struct ctest_run *runs;

	cr_assert_eq(ctest_runs(&ct, &runs, n), 0, "unreadable worker log");
	return runs;
}

/* Every node answers /healthz 200 on its own server within timeout_ms. */
static void
all_healthy(int timeout_ms)
{
	struct itest_resp	 r;
	int			 i, waited;

	for (i = 1; i <= ct.nodes; i++) {
		for (waited = 0;; waited += 100) {
			r.status = 0;
			if (itest_req(&ct.node[i], "GET", "/healthz", NULL, 0,
			    NULL, NULL, &r) == 0 && r.status == 200) {
				itest_resp_free(&r);
				break;
			}
			itest_resp_free(&r);
			cr_assert_lt(waited, timeout_ms, "node %d: /healthz %ld "
			    "after %d ms", i, r.status, timeout_ms);
			usleep(100000);
		}
	}
}

/*
 * Interval sweep: the most of intervals [start, end) that overlap, among
 * those whose key matches (key < 0: all). An end at the same millisecond
 * as a start comes first: the holder let go before the next took over.
 */
struct span {
	long long	t;
	int		d;	/* +1 start, -1 end */
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;
}

static int
max_overlap(const struct cjob *jobs, size_t n, int which,
    int (*match)(const struct cjob *, int))
{
	struct span	*v = calloc(2 * n + 1, sizeof(*v));
	size_t		 i, k = 0;
	int		 cur = 0, best = 0;

	cr_assert_not_null(v);
	for (i = 0; i < n; i++) {
		if (!match(&jobs[i], which))
			continue;
		v[k].t = which >= 1000 ? jobs[i].created : jobs[i].started;
		v[k++].d = 1;
		v[k].t = jobs[i].finished;
		v[k++].d = -1;
	}
	qsort(v, k, sizeof(*v), span_cmp);
	for (i = 0; i < k; i++) {
		cur += v[i].d;
		if (cur > best)
			best = cur;
	}
	free(v);
	return best;
}

/* Matchers for max_overlap: which is a node, 0 for shared, or 1000+s. */
static int
on_node_local(const struct cjob *j, int node)
{
	return !j->shared && j->node == node;
}

static int
is_shared(const struct cjob *j, int unused)
{
	(void)unused;
	return j->shared;
}

static int
of_session(const struct cjob *j, int which)
{
	return j->session == which - 1000;
}

#define BOUNDARY	"----sluiceclusterboundary42"

/* Posts a job of task echo (ms, and doc an upload) to s: its id into id. */
static void
submit_upload(const struct itest_server *s, const struct csess *cs,
    int ms, const char *doc, char id[33])
{
	static const char *const mp[] = {
		"Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL };
	struct itest_resp	 r;
	struct buf		 b;

	buf_init(&b);
	buf_printf(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"\r\n\r\n%s\r\n--" BOUNDARY "\r\n"
	    "Content-Disposition: form-data; name=\"ms\"\r\n\r\n%d\r\n"
	    "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"doc\"; "
	    "filename=\"doc.txt\"\r\nContent-Type: text/plain\r\n\r\n%s"
	    "\r\n--" BOUNDARY "--\r\n", cs->csrf, ms, doc);
	cr_assert(buf_ok(&b));
	cr_assert_eq(itest_req(s, "POST", "/tasks/echo", b.data, b.len, mp,
	    cs->sid, &r), 0);
	cr_assert_eq(itest_job_location(&r, id), 0, "upload: %ld %s",
	    r.status, buf_cstr(&r.body));
	itest_resp_free(&r);
	buf_free(&b);
}

/* GET path on s as sid answers 200 with exactly want. */
static void
expect_body(const struct itest_server *s, const char *sid, const char *path,
    const char *want, int node)
{
	struct itest_resp	 r;

	cr_assert_eq(itest_req(s, "GET", path, NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200, "node %d: %s: %ld", node, path, r.status);
	cr_expect_str_eq(buf_cstr(&r.body), want, "node %d: %s", node, path);
	itest_resp_free(&r);
}

/* How many job directories node i's results directory holds. */
static int
job_dirs(int node)
{
	char		 path[600];
	struct dirent	*e;
	DIR		*d;
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/node-%d/results", ct.srv.state, node);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += strlen(e->d_name) == 32;
	closedir(d);
	return n;
}

TestSuite(cluster, .timeout = 240);

/*
 * 600 jobs from 32 sessions over a node lock and a cluster lock, sent
 * through nginx (spread over the nodes) and to each node directly: every
 * job ran exactly once, no lock had more holders than slots (per node
 * for "local", across the cluster for "shared"), no session more active
 * jobs than sessions.max_active; a form sent again (its nonce) to a node
 * answers the job it made.
 */
Test(cluster, many_jobs_once_within_slots_and_caps)
{
	enum { SESSIONS = 32, JOBS = 600 };
	struct csess	 ses[SESSIONS];
	struct cjob	*jobs = calloc(JOBS, sizeof(*jobs));
	struct ctest_run *runs;
	const struct itest_server *via;
	char		 fields[128], ra[32];
	size_t		 nruns, i;
	long		 st;
	int		 accepted = 0, k = 0, s, round_ok, rounds = 0, node;
	int		 refused = 0;
	json_t		*o;

	cr_assert_not_null(jobs);
	cluster_up(3);
	for (s = 0; s < SESSIONS; s++)
		session_new(&ct.srv, &ses[s]);
	/* Round after round over the sessions; a session at its cap (429)
	   waits for the next round. */
	while (accepted < JOBS) {
		round_ok = 0;
		for (s = 0; s < SESSIONS && accepted < JOBS; s++, k++) {
			struct cjob *j = &jobs[accepted];

			j->shared = k % 2;
			j->session = s;
			/* One in four straight to a node, the rest via nginx. */
			via = k % 4 == 3 ? &ct.node[1 + k / 4 % 3] : &ct.srv;
			snprintf(fields, sizeof(fields), "ms=%d&nonce=n%d",
			    10 + k % 4 * 10, k);
			if (ctest_submit(via, ses[s].sid, ses[s].csrf,
			    j->shared ? "share" : "tick", fields, j->id, &st, ra,
			    sizeof(ra)) == 0) {
				if (accepted % 50 == 0)
					resubmit(&ct.node[1 + k % 3], &ses[s],
					    j->shared ? "share" : "tick", fields,
					    j->id);
				accepted++;
				round_ok++;
				continue;
			}
			cr_assert_eq(st, 429, "submission %d: %ld", k, st);
			cr_assert_neq(ra[0], '\0', "429 without Retry-After");
			refused++;
		}
		if (round_ok == 0)
			usleep(20000);
		cr_assert_lt(++rounds, 20000, "600 jobs not accepted");
	}
	for (i = 0; i < JOBS; i++) {
		o = final_json(&ct.srv, ses[jobs[i].session].sid, jobs[i].id,
		    120000);
		cr_assert_str_eq(jstr(o, "state"), "done", "job %s: %s (%s)",
		    jobs[i].id, jstr(o, "state"), jstr(o, "error"));
		jobs[i].created = jint(o, "created_ms");
		jobs[i].started = jint(o, "started_ms");
		jobs[i].finished = jint(o, "finished_ms");
		cr_assert(jobs[i].created > 0 && jobs[i].created <=
		    jobs[i].started && jobs[i].started <= jobs[i].finished,
		    "job %s: created %lld started %lld finished %lld",
		    jobs[i].id, jobs[i].created, jobs[i].started,
		    jobs[i].finished);
		json_decref(o);
	}
	runs = runs_now(&nruns);
	cr_assert_eq(nruns, (size_t)JOBS, "%zu worker runs for %d jobs",
	    nruns, JOBS);
	for (i = 0; i < JOBS; i++) {
		jobs[i].runs = ctest_run_count(runs, nruns, jobs[i].id, &node);
		jobs[i].node = node;
		cr_assert_eq(jobs[i].runs, 1, "job %s ran %d times", jobs[i].id,
		    jobs[i].runs);
		cr_assert(node >= 1 && node <= 3, "job %s ran outside the "
		    "cluster's nodes", jobs[i].id);
	}
	for (node = 1; node <= 3; node++)
		cr_expect_leq(max_overlap(jobs, JOBS, node, on_node_local),
		    LOCAL_SLOTS, "node %d: lock local over its slots", node);
	cr_expect_leq(max_overlap(jobs, JOBS, 0, is_shared), SHARED_SLOTS,
	    "lock shared over its slots across the cluster");
	for (s = 0; s < SESSIONS; s++)
		cr_expect_leq(max_overlap(jobs, JOBS, 1000 + s, of_session),
		    MAX_ACTIVE, "session %d over sessions.max_active", s);
	cr_log_info("%d submissions refused 429 on the way", refused);
	free(runs);
	free(jobs);
	cluster_down();
}

/*
 * sessions.max_active and the nonce across the cluster, and every node
 * answering any job: four long jobs, each accepted by another node; a
 * fifth is refused by a fourth; the first form sent again (its nonce) to
 * another node answers its job; another node shows the page, the JSON
 * and the stream, and cancels; every node serves a job's file.
 */
Test(cluster, caps_nonce_and_any_node_answers)
{
	struct csess		 cs;
	struct itest_resp	 r;
	char			 id[MAX_ACTIVE][33], again[33], path[256];
	char			 fields[64], ra[32], token[96];
	struct ctest_run	*runs;
	size_t			 nruns;
	long			 st;
	int			 i, ran = 0;
	json_t			*o;

	cluster_up(3);
	session_new(&ct.srv, &cs);
	for (i = 0; i < MAX_ACTIVE; i++) {
		snprintf(fields, sizeof(fields), "ms=60000&nonce=cap%d", i);
		submit_ok(&ct.node[1 + i % 3], &cs, i % 2 ? "share" : "tick",
		    fields, id[i]);
	}
	cr_expect_neq(ctest_submit(&ct.node[2], cs.sid, cs.csrf, "tick",
	    "ms=0&nonce=cap9", again, &st, ra, sizeof(ra)), 0,
	    "a fifth active job was accepted");
	cr_expect_eq(st, 429, "the fifth: %ld, not 429", st);
	cr_expect_neq(ra[0], '\0', "429 without Retry-After");
	/* The same form (nonce cap0, accepted by node 1) to node 3. */
	resubmit(&ct.node[3], &cs, "tick", "ms=60000&nonce=cap0", id[0]);
	snprintf(path, sizeof(path), "/jobs/%s", id[0]);
	cr_assert_eq(itest_req(&ct.node[2], "GET", path, NULL, 0, NULL, cs.sid,
	    &r), 0);
	cr_expect_eq(r.status, 200, "node 2: the page of node 1's job: %ld",
	    r.status);
	itest_resp_free(&r);
	snprintf(token, sizeof(token), "csrf=%s", cs.csrf);
	for (i = 0; i < MAX_ACTIVE; i++) {
		static const char *const json_h[] = { "Accept: application/json",
		    "Content-Type: application/x-www-form-urlencoded", NULL };

		snprintf(path, sizeof(path), "/jobs/%s/cancel", id[i]);
		cr_assert_eq(itest_req(&ct.node[1 + (i + 1) % 3], "POST", path,
		    token, strlen(token), json_h, cs.sid, &r), 0);
		cr_expect_eq(r.status, 200, "cancel of %s on another node: "
		    "%ld", id[i], r.status);
		itest_resp_free(&r);
		o = final_json(&ct.node[1 + (i + 2) % 3], cs.sid, id[i], 30000);
		cr_expect_str_eq(jstr(o, "state"), "cancelled");
		json_decref(o);
	}
	/* The stream of a job that ended (it ends with the final event). */
	snprintf(path, sizeof(path), "/jobs/%s/events", id[0]);
	cr_assert_eq(itest_stream(&ct.node[3], path, cs.sid, &r), 0);
	cr_expect_eq(r.status, 200, "node 3: the stream of node 1's job: %ld",
	    r.status);
	cr_expect_not_null(strstr(buf_cstr(&r.body), "\"cancelled\""),
	    "node 3's stream has no final event of node 1's job");
	itest_resp_free(&r);
	/* Room again: the session's cap counts cluster-wide ends too. The
	   job's file, from every node (the database has it). */
	submit_ok(&ct.node[2], &cs, "tick", "ms=0&file=true&nonce=after", again);
	o = final_json(&ct.srv, cs.sid, again, 30000);
	cr_expect_str_eq(jstr(o, "state"), "done");
	json_decref(o);
	runs = runs_now(&nruns);
	cr_expect_eq(ctest_run_count(runs, nruns, again, &ran), 1);
	free(runs);
	cr_assert(ran >= 1 && ran <= 3, "job %s ran on no node", again);
	snprintf(path, sizeof(path), "/jobs/%s/files/note", again);
	snprintf(fields, sizeof(fields), "job %s\n", again);
	for (i = 1; i <= 3; i++)
		expect_body(&ct.node[i], cs.sid, path, fields, i);
	cluster_down();
}

/*
 * Work conservation: six jobs of the node lock queued through node 1,
 * which can run two at once; the idle nodes take the rest while node 1
 * runs its two (3 s each).
 */
Test(cluster, idle_node_takes_work_queued_elsewhere)
{
	enum { N = 6 };
	struct csess	 ses[2];
	struct ctest_run *runs;
	char		 id[N][33], fields[64];
	size_t		 nruns;
	int		 i, node, elsewhere = 0;

	cluster_up(3);
	/* sessions.max_active is 4: two sessions. */
	session_new(&ct.node[1], &ses[0]);
	session_new(&ct.node[1], &ses[1]);
	for (i = 0; i < N; i++) {
		snprintf(fields, sizeof(fields), "ms=3000&nonce=w%d", i);
		submit_ok(&ct.node[1], &ses[i / MAX_ACTIVE], "tick", fields,
		    id[i]);
	}
	expect_all_done(&ct.node[1], ses, id, N);
	runs = runs_now(&nruns);
	cr_expect_eq(nruns, (size_t)N, "%zu runs of %d jobs", nruns, N);
	for (i = 0; i < N; i++) {
		cr_expect_eq(ctest_run_count(runs, nruns, id[i], &node), 1,
		    "job %d did not run once", i);
		if (node != 1)
			elsewhere++;
	}
	cr_expect_geq(elsewhere, 1, "no job queued through node 1 ran on the "
	    "idle nodes");
	cr_log_info("%d of %d jobs queued through node 1 ran elsewhere",
	    elsewhere, N);
	free(runs);
	cluster_down();
}

/*
 * The cluster's files: six jobs with an upload, all sent to node 1 (which
 * runs two at once): the others run some, fetching the uploads from the
 * database; every node serves every job's upload and output; and once
 * the jobs ended no node's disk holds their files (the database does).
 */
Test(cluster, uploads_run_anywhere_and_every_node_serves_files)
{
	enum { N = 6 };
	struct csess	 ses[2];
	struct ctest_run *runs;
	char		 id[N][33], doc[N][64], path[256], want[320];
	size_t		 nruns;
	int		 i, k, node, elsewhere = 0;

	cluster_up(3);
	session_new(&ct.node[1], &ses[0]);
	session_new(&ct.node[1], &ses[1]);
	for (i = 0; i < N; i++) {
		snprintf(doc[i], sizeof(doc[i]), "upload %d of the cluster", i);
		submit_upload(&ct.node[1], &ses[i / MAX_ACTIVE], 2000, doc[i],
		    id[i]);
	}
	expect_all_done(&ct.node[1], ses, id, N);
	runs = runs_now(&nruns);
	for (i = 0; i < N; i++) {
		cr_expect_eq(ctest_run_count(runs, nruns, id[i], &node), 1,
		    "job %d did not run once", i);
		elsewhere += node != 1;
		snprintf(want, sizeof(want), "job %.32s: %.63s", id[i], doc[i]);
		for (k = 1; k <= 3; k++) {
			snprintf(path, sizeof(path), "/jobs/%s/inputs/doc",
			    id[i]);
			expect_body(&ct.node[k], ses[i / MAX_ACTIVE].sid, path,
			    doc[i], k);
			snprintf(path, sizeof(path), "/jobs/%s/files/echo",
			    id[i]);
			expect_body(&ct.node[k], ses[i / MAX_ACTIVE].sid, path,
			    want, k);
		}
	}
	free(runs);
	cr_expect_geq(elsewhere, 1, "no upload job ran on another node");
	for (k = 1; k <= 3; k++)
		cr_expect_eq(job_dirs(k), 0, "node %d keeps job files on its "
		    "disk", k);
	cluster_down();
}

/* Polls the worker log until node has run at least want jobs; 0 or -1. */
static int
wait_runs_on(int node, int want, int timeout_ms)
{
	struct ctest_run *runs;
	size_t		 n, i;
	int		 waited, count;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		runs = runs_now(&n);
		for (count = 0, i = 0; i < n; i++)
			count += runs[i].node == node;
		free(runs);
		if (count >= want)
			return 0;
		usleep(50000);
	}
	return -1;
}

/* ms from now until the Unix ms deadline, at least 1. */
static int
until(long long deadline)
{
	long long left = deadline - ctest_now_ms();

	return left > 1 ? (int)left : 1;
}

/* How many lines the worker log has now. */
static size_t
runs_cut(void)
{
	size_t n;

	free(runs_now(&n));
	return n;
}

/*
 * The jobs of a batch after one of the nodes (gone) was lost, cut the
 * worker log's length when it could run nothing more of its old life: a
 * job it ran before then ended failed "node lost" and never ran again;
 * any other job either ran once (elsewhere, or on gone after it came
 * back) and is done, or never reached a worker and ended "node lost"
 * (started on gone, its worker killed or stopped before it was given the
 * job). Returns how many ran elsewhere than on gone.
 */
static int
check_after_loss(struct cjob *jobs, int n, const struct csess *ses,
    int gone, size_t cut, const struct itest_server *ask)
{
	struct ctest_run *runs;
	size_t		 nruns;
	int		 i, node, moved = 0, was_lost;
	json_t		*o;

	for (i = 0; i < n; i++) {
		o = final_json(ask, ses[jobs[i].session].sid, jobs[i].id,
		    60000);
		runs = runs_now(&nruns);
		node = 0;
		jobs[i].runs = ctest_run_count(runs, nruns, jobs[i].id, &node);
		was_lost = ctest_run_count(runs, cut, jobs[i].id, NULL) > 0 &&
		    node == gone;
		free(runs);
		cr_expect_leq(jobs[i].runs, 1, "job %s ran %d times",
		    jobs[i].id, jobs[i].runs);
		if (jobs[i].runs == 1 && !was_lost) {
			cr_expect_str_eq(jstr(o, "state"), "done", "job %s "
			    "(node %d): %s (%s)", jobs[i].id, node,
			    jstr(o, "state"), jstr(o, "error"));
			moved += node != gone;
		} else {
			cr_expect_str_eq(jstr(o, "state"), "failed", "job %s "
			    "(%d runs) of the lost node: %s", jobs[i].id,
			    jobs[i].runs, jstr(o, "state"));
			cr_expect_str_eq(jstr(o, "error"), "node lost");
			cr_expect(json_object_get(o, "result") == NULL ||
			    json_is_null(json_object_get(o, "result")),
			    "job %s lost with its node has a result",
			    jobs[i].id);
		}
		json_decref(o);
	}
	return moved;
}

/*
 * Sends sig (SIGKILL, SIGSTOP) to node 1 while it runs jobs of the batch:
 * those it was running end failed "node lost" within lease + 5 s, as
 * node 2 sees them. Returns when sig was sent (Unix ms).
 */
static long long
lose_node_1(struct cjob *jobs, int n, const struct csess *ses, int sig)
{
	struct ctest_run *runs;
	size_t		 nruns, k;
	long long	 t0;
	int		 i, lost = 0;
	json_t		*o;

	cr_assert_eq(wait_runs_on(1, 1, 30000), 0, "node 1 ran no job");
	t0 = ctest_now_ms();
	cr_assert_eq(ctest_signal(&ct, 1, sig), 0);
	runs = runs_now(&nruns);
	for (k = 0; k < nruns; k++) {
		if (runs[k].node != 1)
			continue;
		for (i = 0; i < n && strcmp(jobs[i].id, runs[k].job) != 0; i++)
			;
		cr_assert_lt(i, n, "node 1 ran a job of no batch");
		o = itest_wait_final(&ct.node[2], ses[jobs[i].session].sid,
		    jobs[i].id, until(t0 + LOST_BOUND_MS));
		cr_assert_not_null(o, "job %s of node 1 (signal %d) not final "
		    "within lease + 5 s", jobs[i].id, sig);
		cr_expect_str_eq(jstr(o, "state"), "failed");
		cr_expect_str_eq(jstr(o, "error"), "node lost");
		cr_expect_leq(jint(o, "finished_ms"), t0 + LOST_BOUND_MS,
		    "finished_ms past lease + 5 s");
		json_decref(o);
		lost++;
	}
	free(runs);
	cr_assert_geq(lost, 1);
	return t0;
}

/* n jobs of task tick, ms each, through s, sessions made as needed. */
static void
submit_batch(const struct itest_server *s, struct cjob *jobs, int n,
    struct csess *ses, int ms, const char *tag)
{
	char	 fields[96];
	int	 i;

	for (i = 0; i < n; i++) {
		if (i % MAX_ACTIVE == 0)
			session_new(s, &ses[i / MAX_ACTIVE]);
		jobs[i].session = i / MAX_ACTIVE;
		snprintf(fields, sizeof(fields), "ms=%d&nonce=%s%d", ms, tag, i);
		submit_ok(s, &ses[jobs[i].session], "tick", fields, jobs[i].id);
	}
}

/*
 * kill -9 of a node running jobs: they end failed "node lost" within
 * lease + 5 s, the jobs queued through it run on the others, and nginx
 * moves requests off it (sluice-serve keeps the rest up).
 */
Test(cluster, killed_node_jobs_end_node_lost)
{
	enum { N = 12 };
	struct cjob		 jobs[N];
	struct csess		 ses[N / MAX_ACTIVE];
	struct itest_resp	 r;
	int			 i;

	memset(jobs, 0, sizeof(jobs));
	cluster_up(3);
	submit_batch(&ct.node[1], jobs, N, ses, 4000, "k");
	(void)lose_node_1(jobs, N, ses, SIGKILL);
	cr_expect_geq(check_after_loss(jobs, N, ses, 1, runs_cut(),
	    &ct.node[2]), 1,
	    "no job queued through the killed node ran elsewhere");
	/* nginx: the dead node's socket refuses, the next node answers. */
	for (i = 0; i < 9; i++) {
		cr_assert_eq(itest_req(&ct.srv, "GET", "/healthz", NULL, 0, NULL,
		    NULL, &r), 0);
		cr_expect_eq(r.status, 200, "through nginx with a node dead: %ld",
		    r.status);
		itest_resp_free(&r);
	}
	cluster_down();
}

/*
 * SIGSTOP of a node past its lease: its running jobs end failed "node
 * lost"; after SIGCONT its workers' late results are refused (the jobs
 * stay lost) and it rejoins: it answers and runs jobs again, in the same
 * process or, should a fenced node exit, started again as systemd would
 * (sluice-serve --restart).
 */
Test(cluster, stopped_node_is_fenced_and_rejoins)
{
	enum { N = 9, M = 8 };
	struct cjob		 jobs[N], more[M];
	struct csess		 ses[N / MAX_ACTIVE + 1], ses2[M / MAX_ACTIVE];
	struct ctest_run	*runs;
	size_t			 nruns, cut;
	long long		 t0;
	int			 i, back = 0, node;
	json_t			*o;

	memset(jobs, 0, sizeof(jobs));
	memset(more, 0, sizeof(more));
	cluster_up_as(3, 1);
	submit_batch(&ct.srv, jobs, N, ses, 2500, "s");
	t0 = lose_node_1(jobs, N, ses, SIGSTOP);
	/* Its workers (not stopped) have finished: their results wait in
	   the stopped node's socket. */
	usleep((useconds_t)until(t0 + 3000) * 1000);
	cut = runs_cut();
	cr_assert_eq(ctest_signal(&ct, 1, SIGCONT), 0);
	all_healthy(30000);
	/* Rejoined: more jobs than nodes 2 and 3 hold at once. */
	submit_batch(&ct.node[1], more, M, ses2, 1500, "b");
	for (i = 0; i < M; i++) {
		o = final_json(&ct.node[1], ses2[more[i].session].sid,
		    more[i].id, 60000);
		cr_expect_str_eq(jstr(o, "state"), "done", "after the rejoin: "
		    "%s (%s)", jstr(o, "state"), jstr(o, "error"));
		json_decref(o);
	}
	runs = runs_now(&nruns);
	for (i = 0; i < M; i++) {
		cr_expect_eq(ctest_run_count(runs, nruns, more[i].id, &node), 1);
		back += node == 1;
	}
	free(runs);
	cr_expect_geq(back, 1, "node 1 ran none of %d jobs after SIGCONT", M);
	/* Long after its late results came: the lost jobs stay lost. */
	check_after_loss(jobs, N, ses, 1, cut, &ct.node[1]);
	cluster_down();
}

/*
 * PostgreSQL stopped for 10 s under load: every submission meanwhile is
 * 503 with Retry-After; once it is back every accepted job ends, none
 * ran twice, those that had not run yet are done, and no final state is
 * written again later.
 */
Test(cluster, database_away_10s)
{
	enum { SESSIONS = 8, A = 16, B = 16 };
	struct csess		 ses[SESSIONS];
	struct cjob		 jobs[A + B];
	struct ctest_run	*runs;
	char			 fields[96], ra[32], none[33];
	char			*before[A + B];
	size_t			 nruns;
	long long		 t_up;
	long			 st;
	int			 i, k, node, down = 0, ran_before[A + B];
	json_t			*o;

	memset(jobs, 0, sizeof(jobs));
	cluster_up(3);
	for (i = 0; i < SESSIONS; i++)
		session_new(&ct.srv, &ses[i]);
	for (i = 0; i < A; i++) {
		jobs[i].session = i % SESSIONS;
		snprintf(fields, sizeof(fields), "ms=300&nonce=a%d", i);
		submit_ok(&ct.srv, &ses[jobs[i].session], "tick", fields,
		    jobs[i].id);
	}
	cr_assert_eq(ctest_pg("stop"), 0, "pg_ctl stop failed");
	runs = runs_now(&nruns);
	for (i = 0; i < A; i++)
		ran_before[i] = ctest_run_count(runs, nruns, jobs[i].id, NULL);
	free(runs);
	t_up = ctest_now_ms() + 10000;
	for (k = 0; ctest_now_ms() < t_up; k++) {
		snprintf(fields, sizeof(fields), "ms=0&nonce=d%d", k);
		cr_expect_neq(ctest_submit(&ct.srv, ses[k % SESSIONS].sid,
		    ses[k % SESSIONS].csrf, "tick", fields, none, &st, ra,
		    sizeof(ra)), 0, "accepted with the database away");
		cr_expect_eq(st, 503, "submission with the database away: %ld",
		    st);
		cr_expect_neq(ra[0], '\0', "503 without Retry-After");
		down++;
		usleep(100000);
	}
	cr_assert_eq(ctest_pg("start"), 0, "pg_ctl start failed");
	cr_assert_geq(down, 1);
	all_healthy(60000);
	for (i = A; i < A + B; i++) {
		jobs[i].session = i % SESSIONS;
		ran_before[i] = 0;
		snprintf(fields, sizeof(fields), "ms=100&nonce=b%d", i);
		for (k = 0; k < 300; k++) {
			if (ctest_submit(&ct.srv, ses[jobs[i].session].sid,
			    ses[jobs[i].session].csrf, "tick", fields,
			    jobs[i].id, &st, NULL, 0) == 0)
				break;
			/* 429: the session's earlier jobs still finishing. */
			cr_assert(st == 503 || st == 429, "after the database "
			    "came back: %ld", st);
			usleep(100000);
		}
		cr_assert_lt(k, 300, "no submission accepted after the "
		    "database came back");
	}
	for (i = 0; i < A + B; i++) {
		o = final_json(&ct.srv, ses[jobs[i].session].sid, jobs[i].id,
		    90000);
		runs = runs_now(&nruns);
		jobs[i].runs = ctest_run_count(runs, nruns, jobs[i].id, &node);
		free(runs);
		cr_expect_leq(jobs[i].runs, 1, "job %s ran %d times", jobs[i].id,
		    jobs[i].runs);
		if (!ran_before[i])
			cr_expect_str_eq(jstr(o, "state"), "done", "job %s (not "
			    "started before the outage): %s (%s)", jobs[i].id,
			    jstr(o, "state"), jstr(o, "error"));
		else if (strcmp(jstr(o, "state"), "done") != 0)
			cr_log_info("job %s, running when the database went: "
			    "%s (%s)", jobs[i].id, jstr(o, "state"),
			    jstr(o, "error"));
		if (strcmp(jstr(o, "state"), "done") == 0)
			cr_expect_eq(jobs[i].runs, 1, "done job %s ran %d times",
			    jobs[i].id, jobs[i].runs);
		before[i] = json_dumps(o, JSON_SORT_KEYS);
		json_decref(o);
	}
	/* A final state is written once: nothing changes a moment later. */
	sleep(2);
	for (i = 0; i < A + B; i++) {
		char *now;

		o = itest_job_json(&ct.srv, ses[jobs[i].session].sid, jobs[i].id);
		cr_assert_not_null(o);
		now = json_dumps(o, JSON_SORT_KEYS);
		cr_expect_str_eq(now, before[i], "job %s changed after its end",
		    jobs[i].id);
		free(now);
		free(before[i]);
		json_decref(o);
	}
	cluster_down();
}

/*
 * Two nodes starting at once on an empty database: both come up, one
 * schema (one schema_version row), both in nodes, both run jobs.
 */
Test(cluster, two_nodes_start_at_once_on_empty_database)
{
	struct csess	 cs;
	char		 id[33];
	int		 i;
	json_t		*o;

	cluster_up(2);
	all_healthy(10000);
	cr_expect_eq(pg_schema_int(conninfo, "SELECT count(*) FROM "
	    "schema_version"), 1, "schema_version rows");
	cr_expect_geq(pg_schema_int(conninfo, "SELECT MAX(version) FROM "
	    "schema_version"), 2, "schema version");
	cr_expect_eq(pg_schema_int(conninfo, "SELECT count(*) FROM nodes"), 2,
	    "nodes in the nodes table");
	for (i = 1; i <= 2; i++) {
		char fields[32];

		session_new(&ct.node[i], &cs);
		snprintf(fields, sizeof(fields), "ms=0&nonce=t%d", i);
		submit_ok(&ct.node[i], &cs, "tick", fields, id);
		o = final_json(&ct.node[i], cs.sid, id, 30000);
		cr_expect_str_eq(jstr(o, "state"), "done");
		json_decref(o);
	}
	cluster_down();
}
