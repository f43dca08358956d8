/*
 * Unit tests for sched.c: order (fifo, fair), admission (queue, max_active),
 * expiry, cancel, devices, nonces, drain, stats, a stress test of the
 * six invariants of issue 3, and sched_reconfigure (grow, shrink, removed
 * task or lock, queue/timeout/order changes, 40 reloads under load). Jobs run through opts.run_hook, instrumented
 * here; the journal is NULL (memory only). Deterministic: blocking hooks
 * are released by the test, never by a timer.
 */
/* The TSan build runs without Criterion: see tap_standalone.h. */
#ifdef SLUICE_TAP_STANDALONE
#include "tap_standalone.h"
#else
#include <criterion/criterion.h>
#endif
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "conf.h"
#include "job.h"
#include "journal.h"
#include "kernel.h"
#include "lock.h"
#include "sched.h"

/* ---------------------------------------------------------------------- */
/* Config built by hand (independent of conf.c) */

struct tlock {
	const char	*name;
	int		 slots, queue, wait_timeout;
	enum conf_order	 order;
	const int	*devices;
};

struct ttask {
	const char	*name;
	const char	*locks[5];	/* NULL-terminated */
};

static char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	cr_assert(p != NULL);
	return p;
}

static struct conf *
mkconf(const struct tlock *tl, size_t nl, const struct ttask *tt, size_t nt,
    int max_active)
{
	struct conf	*c;
	size_t		 i, k, m;

	c = calloc(1, sizeof(*c));
	cr_assert(c != NULL);
	c->max_active = max_active;
	c->threads = 4;
	c->nlocks = nl;
	c->locks = calloc(nl, sizeof(*c->locks));
	cr_assert(c->locks != NULL);
	for (i = 0; i < nl; i++) {
		c->locks[i].name = xstrdup(tl[i].name);
		c->locks[i].slots = tl[i].slots;
		c->locks[i].queue = tl[i].queue;
		c->locks[i].wait_timeout = tl[i].wait_timeout;
		c->locks[i].order = tl[i].order;
		if (tl[i].devices != NULL) {
			c->locks[i].devices = calloc(tl[i].slots, sizeof(int));
			cr_assert(c->locks[i].devices != NULL);
			memcpy(c->locks[i].devices, tl[i].devices,
			    tl[i].slots * sizeof(int));
		}
	}
	c->ntasks = nt;
	c->tasks = calloc(nt, sizeof(*c->tasks));
	cr_assert(c->tasks != NULL);
	for (i = 0; i < nt; i++) {
		c->tasks[i].name = xstrdup(tt[i].name);
		/* No such kernel: the hook runs instead. */
		c->tasks[i].kernel = xstrdup("test-hook");
		for (m = 0; tt[i].locks[m] != NULL; m++)
			continue;
		c->tasks[i].nlocks = m;
		c->tasks[i].locks = calloc(m, sizeof(char *));
		c->tasks[i].lock_index = calloc(m, sizeof(size_t));
		cr_assert(c->tasks[i].locks && c->tasks[i].lock_index);
		for (k = 0; k < m; k++) {
			c->tasks[i].locks[k] = xstrdup(tt[i].locks[k]);
			for (c->tasks[i].lock_index[k] = 0;
			    c->tasks[i].lock_index[k] < nl &&
			    strcmp(tl[c->tasks[i].lock_index[k]].name,
			    tt[i].locks[k]) != 0;
			    c->tasks[i].lock_index[k]++)
				continue;
			cr_assert(c->tasks[i].lock_index[k] < nl);
			/* As conf_load: the lock with devices picks the slot. */
			if (tl[c->tasks[i].lock_index[k]].devices != NULL &&
			    c->tasks[i].worker_lock == 0 &&
			    tl[c->tasks[i].lock_index[0]].devices == NULL)
				c->tasks[i].worker_lock = k;
		}
	}
	return c;
}

static void
freeconf(struct conf *c)
{
	size_t	 i, k;

	for (i = 0; i < c->nlocks; i++) {
		free(c->locks[i].name);
		free(c->locks[i].devices);
	}
	for (i = 0; i < c->ntasks; i++) {
		free(c->tasks[i].name);
		free(c->tasks[i].kernel);
		free(c->tasks[i].inputs_sig);
		for (k = 0; k < c->tasks[i].nlocks; k++)
			free(c->tasks[i].locks[k]);
		free(c->tasks[i].locks);
		free(c->tasks[i].lock_index);
	}
	free(c->locks);
	free(c->tasks);
	free(c);
}

/* ---------------------------------------------------------------------- */
/* Instrumented hook */

#define MAXREC	256

struct hctx {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 gate;		/* hooks wait while gate == 0 ... */
	int		 gated;		/* ... if gated */
	int		 inside;	/* hooks currently running */
	int		 nrec;
	char		 ids[MAXREC][JOB_ID_LEN + 1];
	char		 sessions[MAXREC][JOB_SESSION_LEN + 1];
	int		 slots[MAXREC], devices[MAXREC];
	int		 overlap_pairs;	/* devices test */
};

static double
param_ms(const struct job *job)
{
	const char	*p;

	if (job->params == NULL || (p = strstr(job->params, "\"ms\":")) == NULL)
		return 0;
	return strtod(p + 5, NULL);
}

static void
sleep_ms(double ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	nanosleep(&ts, NULL);
}

static int
hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	struct hctx	*h = arg;
	double		 ms = param_ms(job);

	pthread_mutex_lock(&h->mu);
	if (h->nrec < MAXREC) {
		memcpy(h->ids[h->nrec], job->id, sizeof(h->ids[0]));
		memcpy(h->sessions[h->nrec], job->session,
		    sizeof(h->sessions[0]));
		h->slots[h->nrec] = slots[0];
		h->devices[h->nrec] = device;
		h->nrec++;
	}
	h->inside++;
	pthread_cond_broadcast(&h->cv);
	while (h->gated && !h->gate)
		pthread_cond_wait(&h->cv, &h->mu);
	h->inside--;
	pthread_mutex_unlock(&h->mu);
	sleep_ms(ms);
	if (ms < 0) {	/* negative ms: fail, as a broken kernel would */
		snprintf(err, errlen, "boom %g", ms);
		return -1;
	}
	return 0;
}

static void
hctx_init(struct hctx *h, int gated)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->gated = gated;
}

static void
hctx_open(struct hctx *h)
{
	pthread_mutex_lock(&h->mu);
	h->gate = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void
hctx_close(struct hctx *h)
{
	pthread_mutex_lock(&h->mu);
	h->gate = 0;
	pthread_mutex_unlock(&h->mu);
}

/* The realtime deadline 30 s from now, for the cond waits below. */
static void
in_30s(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += 30;
}

/* Waits until at least n hooks are inside (blocked at the gate). */
static void
hctx_wait_inside(struct hctx *h, int n)
{
	struct timespec	 ts;
	int		 ok;

	in_30s(&ts);
	pthread_mutex_lock(&h->mu);
	while (h->inside < n)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) != 0)
			break;
	ok = h->inside >= n;
	pthread_mutex_unlock(&h->mu);
	cr_assert(ok, "hooks did not start");
}

static int
hctx_count(struct hctx *h)
{
	int	 n;

	pthread_mutex_lock(&h->mu);
	n = h->nrec;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static int
hctx_ran(struct hctx *h, const char *id)
{
	int	 i, n = 0;

	pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->nrec; i++)
		if (strcmp(h->ids[i], id) == 0)
			n++;
	pthread_mutex_unlock(&h->mu);
	return n;
}

/* A scheduler on c (journal jr, or none) whose jobs run hook with h. */
static struct sched *
mksched_on(const struct conf *c, struct journal *jr, struct hctx *h,
    int threads)
{
	struct sched_opts	 o;
	struct sched		*s;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.run_hook = hook;
	o.run_arg = h;
	o.threads = threads;
	s = sched_create(c, jr, &o, err, sizeof(err));
	cr_assert(s != NULL, "sched_create: %s", err);
	return s;
}

static struct sched *
mksched(const struct conf *c, struct hctx *h, int threads)
{
	return mksched_on(c, NULL, h, threads);
}

/* Makes the directory of template dir and opens a journal in it. */
static struct journal *
tmp_journal(char *dir)
{
	struct journal	*jr;
	char		 err[256];

	cr_assert(mkdtemp(dir) != NULL);
	jr = journal_open(dir, err, sizeof(err));
	cr_assert(jr != NULL, "journal_open: %s", err);
	return jr;
}

/* Removes a tmp_journal() directory. */
static void
rm_tree(const char *dir)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

/* Session i as 32 hex. */
static void
sid(char out[JOB_SESSION_LEN + 1], int i)
{
	snprintf(out, JOB_SESSION_LEN + 1, "%032x", i);
}

static enum sched_rc
submit(struct sched *s, const char *task, int session, const char *nonce,
    double ms, char id[JOB_ID_LEN + 1], int *retry)
{
	char	 sess[JOB_SESSION_LEN + 1], pj[64];
	int	 r;

	sid(sess, session);
	snprintf(pj, sizeof(pj), "{\"ms\":%g}", ms);
	return sched_submit(s, task, NULL, sess, nonce, pj, id,
	    retry != NULL ? retry : &r);
}

/* submit, for session from client (an address; NULL: none). */
static enum sched_rc
submit_from(struct sched *s, int session, const char *client,
    char id[JOB_ID_LEN + 1], int *retry)
{
	struct sched_request	 rq;
	char			 sess[JOB_SESSION_LEN + 1];
	int			 r;

	sid(sess, session);
	memset(&rq, 0, sizeof(rq));
	rq.task = "t";
	rq.session = sess;
	rq.client = client;
	rq.params = "{\"ms\":0}";
	return sched_submit_req(s, &rq, id, retry != NULL ? retry : &r);
}

static enum job_state
state_of(struct sched *s, const char *id)
{
	struct job	 j;
	enum job_state	 st;

	cr_assert_eq(sched_lookup(s, id, NULL, &j), SCHED_OK);
	st = j.state;
	job_clear(&j);
	return st;
}

static void
audit_ok(struct sched *s)
{
	char	 err[256] = "";

	cr_assert_eq(sched_audit(s, err, sizeof(err)), 0, "%s", err);
}

/* The stats of lock name in ss (failing the test when absent). */
static const struct sched_lock_stats *
lock_st(const struct sched_stats *ss, const char *name)
{
	size_t	 i;

	for (i = 0; i < ss->nlocks; i++)
		if (strcmp(ss->locks[i].name, name) == 0)
			return &ss->locks[i];
	cr_assert(0, "no lock %s in the stats", name);
	return NULL;
}

/* The stats of task name in ss (failing the test when absent). */
static const struct sched_task_stats *
task_st(const struct sched_stats *ss, const char *name)
{
	size_t	 i;

	for (i = 0; i < ss->ntasks; i++)
		if (strcmp(ss->tasks[i].name, name) == 0)
			return &ss->tasks[i];
	cr_assert(0, "no task %s in the stats", name);
	return NULL;
}

/* A snapshot of s's stats into ss (sched_stats_free it). */
static void
stats_take(struct sched *s, struct sched_stats *ss)
{
	cr_assert_eq(sched_stats_get(s, ss), 0);
}

/* ---------------------------------------------------------------------- */

Test(sched, fifo_order_exact)
{
	struct tlock	 tl[] = { { "one", 1, 100, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 ids[21][JOB_ID_LEN + 1];
	int		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 0, "", 0, ids[0], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	/* Alternate sessions: fifo ignores them. */
	for (i = 1; i <= 20; i++)
		cr_assert_eq(submit(s, "t", i % 3, "", 0, ids[i], NULL),
		    SCHED_OK);
	audit_ok(s);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), 21);
	for (i = 0; i <= 20; i++)
		cr_expect_str_eq(h.ids[i], ids[i], "start %d out of order", i);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, fair_round_robin_exact)
{
	struct tlock	 tl[] = { { "one", 1, 100, 0, CONF_ORDER_FAIR, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 id[JOB_ID_LEN + 1], want[JOB_SESSION_LEN + 1];
	/* X blocks; then A submits 3, B 3, C 1, A 1 more. */
	static const int subs[] = { 1, 1, 1, 2, 2, 2, 3, 1 };
	static const int order[] = { 9, 1, 2, 3, 1, 2, 1, 2, 1 };
	size_t		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 9, "", 0, id, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		cr_assert_eq(submit(s, "t", subs[i], "", 0, id, NULL),
		    SCHED_OK);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), 9);
	for (i = 0; i < 9; i++) {
		sid(want, order[i]);
		cr_expect_str_eq(h.sessions[i], want, "turn %zu", i);
	}
	sched_destroy(s);
	freeconf(c);
}

/*
 * Fair lock, one slot: A1 runs; A submits A2, then B submits B1. A was
 * just served, so B1 goes first; A2 must not win the tie on arrival
 * because A's turn was reset when it started waiting again.
 */
Test(sched, fair_served_session_waits_its_turn)
{
	struct tlock	 tl[] = { { "one", 1, 100, 0, CONF_ORDER_FAIR, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 a1[JOB_ID_LEN + 1], a2[JOB_ID_LEN + 1];
	char		 b1[JOB_ID_LEN + 1];

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, a1, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "t", 1, "", 0, a2, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 2, "", 0, b1, NULL), SCHED_OK);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), 3);
	cr_expect_str_eq(h.ids[0], a1);
	cr_expect_str_eq(h.ids[1], b1, "B1 must start before A2");
	cr_expect_str_eq(h.ids[2], a2);
	sched_destroy(s);
	freeconf(c);
}

/*
 * A fair lock's first startable waiter behind more than the front of its
 * order that cannot start (their other lock is full): it starts now,
 * not when the front can.
 */
Test(sched, fair_startable_behind_a_long_blocked_front, .timeout = 60)
{
	enum { N = LOCK_FRONT_MAX + 6 };
	struct tlock	 tl[] = {
		{ "f", 2, N + 10, 0, CONF_ORDER_FAIR, NULL },
		{ "x", 1, N + 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "a", { "f", "x", NULL } },
			    { "b", { "f", NULL } } };
	struct conf	*c = mkconf(tl, 2, tt, 2, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 id[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];
	int		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "a", 0, "", 0, id, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	for (i = 1; i <= N; i++)
		cr_assert_eq(submit(s, "a", i, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "b", N + 1, "", 0, b, NULL), SCHED_OK);
	hctx_wait_inside(&h, 2);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), N + 2);
	cr_expect_str_eq(h.ids[1], b, "b starts beside the running a");
	sched_destroy(s);
	freeconf(c);
}

Test(sched, queue_full_exact_counts)
{
	struct tlock	 tl[] = { { "one", 1, 3, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct sched_stats ss;
	char		 id[JOB_ID_LEN + 1];
	int		 i, ok = 0, full = 0, retry, busy, queued;
	enum sched_rc	 rc;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 100, "", 0, id, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	for (i = 0; i < 9; i++) {
		retry = -1;
		rc = submit(s, "t", i, "", 0, id, &retry);
		if (rc == SCHED_OK)
			ok++;
		else {
			cr_expect_eq(rc, SCHED_QUEUE_FULL);
			cr_expect_geq(retry, 1);
			full++;
		}
	}
	cr_expect_eq(ok, 3);
	cr_expect_eq(full, 6);
	sched_lock_counts(s, 0, &busy, &queued);
	cr_expect_eq(busy, 1);
	cr_expect_eq(queued, 3);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	stats_take(s, &ss);
	cr_expect_eq(lock_st(&ss, "one")->admitted, 4);
	cr_expect_eq(lock_st(&ss, "one")->refused, 6);
	cr_expect_eq(lock_st(&ss, "one")->ended[JOB_DONE], 4);
	sched_stats_free(&ss);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, queue_zero_runs_when_free)
{
	struct tlock	 tl[] = { { "one", 1, 0, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 id[JOB_ID_LEN + 1];

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_expect_eq(submit(s, "t", 2, "", 0, id, NULL), SCHED_QUEUE_FULL);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, max_active_per_session)
{
	struct tlock	 tl[] = { { "one", 1, 100, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 2);
	struct hctx	 h;
	struct sched	*s;
	char		 id[JOB_ID_LEN + 1];
	int		 retry = -1;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_expect_eq(submit(s, "t", 1, "", 0, id, &retry),
	    SCHED_SESSION_LIMIT);
	cr_expect_geq(retry, 1);
	cr_expect_eq(submit(s, "t", 2, "", 0, id, NULL), SCHED_OK,
	    "another session is not limited");
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_DRAINING);
	sched_destroy(s);

	/* After its jobs end, the session may submit again. */
	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

/*
 * clients.max_active: fresh sessions from one address stop at the
 * client's cap (the session's cap is checked first); another address and
 * a submission without one are not limited; 0 means no cap; once the
 * jobs end the address may submit again.
 */
Test(sched, max_active_per_client)
{
	struct tlock	 tl[] = { { "one", 1, 100, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 2);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 id[JOB_ID_LEN + 1];
	int		 i, retry = -1;

	c->client_max_active = 3;
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit_from(s, 1, "192.0.2.1", id, NULL), SCHED_OK);
	cr_assert_eq(sched_lookup(s, id, NULL, &j), SCHED_OK);
	cr_expect_str_eq(j.client, "192.0.2.1", "the job keeps its address");
	job_clear(&j);
	cr_assert_eq(submit_from(s, 1, "192.0.2.1", id, NULL), SCHED_OK);
	cr_expect_eq(submit_from(s, 1, "192.0.2.1", id, NULL),
	    SCHED_SESSION_LIMIT, "the session's cap first");
	cr_assert_eq(submit_from(s, 2, "192.0.2.1", id, NULL), SCHED_OK);
	for (i = 3; i < 40; i++)
		cr_expect_eq(submit_from(s, i, "192.0.2.1", id, &retry),
		    SCHED_CLIENT_LIMIT, "fresh session %d", i);
	cr_expect_geq(retry, 1);
	cr_expect_eq(submit_from(s, 40, "192.0.2.2", id, NULL), SCHED_OK,
	    "another address is not limited");
	cr_expect_eq(submit_from(s, 41, NULL, id, NULL), SCHED_OK,
	    "no address: not counted");
	audit_ok(s);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);

	/* The jobs ended: the address has room again; 0 is no cap. */
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	for (i = 0; i < 3; i++)
		cr_expect_eq(submit_from(s, 50 + i, "192.0.2.1", id, NULL),
		    SCHED_OK);
	cr_expect_eq(submit_from(s, 60, "192.0.2.1", id, NULL),
	    SCHED_CLIENT_LIMIT);
	c->client_max_active = 0;
	for (i = 0; i < 10; i++)
		cr_expect_eq(submit_from(s, 70 + i, "192.0.2.1", id, NULL),
		    SCHED_OK, "clients.max_active 0: no cap");
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, wait_timeout_expires)
{
	struct tlock	 tl[] = { { "one", 1, 10, 1, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	struct sched_stats ss;
	char		 id0[JOB_ID_LEN + 1], id1[JOB_ID_LEN + 1];
	int		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id0, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "t", 2, "", 0, id1, NULL), SCHED_OK);
	cr_expect_eq(state_of(s, id1), JOB_QUEUED);
	for (i = 0; i < 300 && state_of(s, id1) == JOB_QUEUED; i++)
		sleep_ms(50);	/* at most 15 s for a 1 s timeout */
	cr_assert_eq(sched_lookup(s, id1, NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_EXPIRED);
	cr_expect(j.error != NULL && strstr(j.error, "wait") != NULL);
	cr_expect_gt(j.finished_ms, 0);
	job_clear(&j);
	cr_expect_eq(state_of(s, id0), JOB_RUNNING);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(hctx_ran(&h, id1), 0, "an expired job never runs");
	cr_expect_eq(state_of(s, id0), JOB_DONE);
	stats_take(s, &ss);
	cr_expect_eq(lock_st(&ss, "one")->ended[JOB_EXPIRED], 1);
	sched_stats_free(&ss);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, cancel_queued_and_running)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 id0[JOB_ID_LEN + 1], id1[JOB_ID_LEN + 1];
	char		 s1[JOB_SESSION_LEN + 1], s2[JOB_SESSION_LEN + 1];

	sid(s1, 1);
	sid(s2, 2);
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id0, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "t", 1, "", 0, id1, NULL), SCHED_OK);
	cr_expect_eq(sched_cancel(s, id1, s2), SCHED_NOT_FOUND,
	    "another session's job is not found");
	cr_expect_eq(sched_cancel(s, "0123456789abcdef0123456789abcdef", s1),
	    SCHED_NOT_FOUND);
	cr_expect_eq(sched_cancel(s, id0, s1), SCHED_CONFLICT, "running");
	cr_expect_eq(sched_cancel(s, id1, s1), SCHED_OK);
	cr_expect_eq(state_of(s, id1), JOB_CANCELLED);
	cr_expect_eq(sched_cancel(s, id1, s1), SCHED_CONFLICT, "ended");
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(hctx_ran(&h, id1), 0);
	cr_expect_eq(state_of(s, id0), JOB_DONE);
	cr_expect_eq(sched_cancel(s, id0, s1), SCHED_CONFLICT, "done");
	sched_destroy(s);
	freeconf(c);
}

Test(sched, devices_map_slots)
{
	static const int devs[] = { 3, 5 };
	struct tlock	 tl[] = { { "gpu", 2, 100, 0, CONF_ORDER_FIFO, devs } };
	struct ttask	 tt[] = { { "t", { "gpu", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 ida[JOB_ID_LEN + 1], idb[JOB_ID_LEN + 1], want[16];
	int		 round, k, seen;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	for (round = 0; round < 10; round++) {
		hctx_close(&h);
		pthread_mutex_lock(&h.mu);
		h.nrec = 0;
		pthread_mutex_unlock(&h.mu);
		cr_assert_eq(submit(s, "t", 1, "", 0, ida, NULL), SCHED_OK);
		cr_assert_eq(submit(s, "t", 2, "", 0, idb, NULL), SCHED_OK);
		hctx_wait_inside(&h, 2);	/* both run at once */
		seen = 0;
		pthread_mutex_lock(&h.mu);
		for (k = 0; k < 2; k++) {
			cr_expect(h.slots[k] == 0 || h.slots[k] == 1);
			cr_expect_eq(h.devices[k], devs[h.slots[k]]);
			seen |= 1 << h.slots[k];
		}
		pthread_mutex_unlock(&h.mu);
		cr_expect_eq(seen, 3, "slots 0 and 1, never both on one");
		cr_assert_eq(sched_lookup(s, ida, NULL, &j), SCHED_OK);
		/* The slot's device, as configured (no worker said otherwise). */
		snprintf(want, sizeof(want), "cuda:%d", devs[j.slot]);
		cr_expect_str_eq(j.device, want);
		job_clear(&j);
		hctx_open(&h);
		cr_assert_eq(sched_drain(s, 30000), 0);
		/* sched_drain stops admission: make a fresh scheduler. */
		sched_destroy(s);
		s = mksched(c, &h, 0);
	}
	sched_destroy(s);
	freeconf(c);
}

/*
 * The device comes from the first of the job's locks that has devices,
 * not only from its first lock: ["cpu", "gpu"] runs on gpu's device.
 */
Test(sched, device_from_first_lock_with_devices)
{
	static const int devs[] = { 7 };
	struct tlock	 tl[] = {
		{ "cpu", 2, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "gpu", 1, 10, 0, CONF_ORDER_FIFO, devs },
	};
	struct ttask	 tt[] = {
		{ "t", { "cpu", "gpu", NULL } },
		{ "c", { "cpu", NULL } },
	};
	struct conf	*c = mkconf(tl, 2, tt, 2, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 id[JOB_ID_LEN + 1], idc[JOB_ID_LEN + 1];

	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), 1);
	cr_expect_eq(h.devices[0], 7, "hook got device %d", h.devices[0]);
	cr_assert_eq(sched_lookup(s, id, NULL, &j), SCHED_OK);
	cr_expect_str_eq(j.device, "cuda:7");
	job_clear(&j);
	sched_destroy(s);

	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "c", 1, "", 0, idc, NULL), SCHED_OK);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(h.devices[0], -1, "no lock with devices");
	sched_destroy(s);
	freeconf(c);
}

/* More slots in all than worker threads can run: refused. */
Test(sched, refuses_more_slots_than_workers)
{
	struct tlock	 tl[] = {
		{ "a", 1024, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "b", 1024, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "c", 1024, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "d", 1024, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "e", 1, 10, 0, CONF_ORDER_FIFO, NULL },
	};
	struct ttask	 tt[] = { { "t", { "a", NULL } } };
	struct conf	*c = mkconf(tl, 5, tt, 1, 100);
	struct sched_opts o;
	char		 err[256] = "";

	memset(&o, 0, sizeof(o));
	o.run_hook = hook;
	cr_expect(sched_create(c, NULL, &o, err, sizeof(err)) == NULL);
	cr_expect(strstr(err, "locks:") != NULL, "%s", err);
	freeconf(c);
}

/*
 * The caller validated params against one generation's inputs; the
 * scheduler's task has others (a reload in between): refused with
 * SCHED_CHANGED, nothing admitted. The matching inputs are admitted.
 */
Test(sched, submit_with_another_kernel_refused)
{
	struct tlock		 tl[] = { { "cpu", 1, 10, 0, CONF_ORDER_FIFO,
				    NULL } };
	struct ttask		 tt[] = { { "t", { "cpu", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 1, 100);
	const char		*burn = "kernel:burn";
	const char		*mandel = "kernel:mandelbrot";
	struct hctx		 h;
	struct sched		*s;
	struct sched_stats	 ss;
	char			 id[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	int			 retry = 0;

	free(c->tasks[0].kernel);
	c->tasks[0].kernel = xstrdup("burn");
	c->tasks[0].inputs_sig = xstrdup(burn);
	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	sid(sess, 1);
	cr_expect_eq(sched_submit(s, "t", mandel, sess, "", NULL, id,
	    &retry), SCHED_CHANGED);
	cr_expect_eq(retry, 1);
	cr_expect_eq(sched_submit(s, "t", NULL, sess, "", "{\"ms\":0}", id,
	    &retry), SCHED_CHANGED);
	cr_expect_eq(sched_submit(s, "t", burn, sess, "", "{\"ms\":0}", id,
	    &retry), SCHED_OK);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(hctx_count(&h), 1, "only the matching one ran");
	stats_take(s, &ss);
	cr_expect_eq(lock_st(&ss, "cpu")->admitted, 1);
	sched_stats_free(&ss);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, nonce_reuse)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];
	int		 i;

	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "n1", 0, a, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 1, "n1", 0, b, NULL), SCHED_OK);
	cr_expect_str_eq(a, b, "same (session, nonce): same job");
	for (i = 0; i < 600 && state_of(s, a) != JOB_DONE; i++)
		sleep_ms(10);
	cr_assert_eq(state_of(s, a), JOB_DONE);
	cr_assert_eq(submit(s, "t", 1, "n1", 0, b, NULL), SCHED_OK);
	cr_expect_str_eq(a, b, "also once the job has ended");
	cr_assert_eq(submit(s, "t", 2, "n1", 0, b, NULL), SCHED_OK);
	cr_expect_str_neq(a, b, "another session's nonce is its own");
	cr_assert_eq(submit(s, "t", 1, "", 0, a, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 1, "", 0, b, NULL), SCHED_OK);
	cr_expect_str_neq(a, b, "no nonce: two jobs");
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(hctx_count(&h), 4);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, drain)
{
	struct tlock	 tl[] = { { "one", 2, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 id[JOB_ID_LEN + 1];
	int		 i;

	/* Jobs that end in time: drain returns 0 and admits no more. */
	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	for (i = 0; i < 6; i++)
		cr_assert_eq(submit(s, "t", i, "", 5, id, NULL), SCHED_OK);
	cr_expect_eq(sched_drain(s, 60000), 0);
	cr_expect_eq(hctx_count(&h), 6);
	cr_expect_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_DRAINING);
	sched_destroy(s);

	/* Jobs that cannot end in time: drain says how many are left. */
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	for (i = 0; i < 5; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, id, NULL), SCHED_OK);
	hctx_wait_inside(&h, 2);
	cr_expect_eq(sched_drain(s, 50), 5, "2 running + 3 queued");
	hctx_open(&h);
	cr_expect_eq(sched_drain(s, 60000), 0, "queued jobs still run");
	cr_expect_eq(hctx_count(&h), 5);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, stats_after_known_workload)
{
	struct tlock	 tl[] = {
		{ "a", 2, 50, 0, CONF_ORDER_FIFO, NULL },
		{ "b", 1, 50, 1, CONF_ORDER_FAIR, NULL },
	};
	struct ttask	 tt[] = {
		{ "ta", { "a", NULL } },
		{ "tab", { "a", "b", NULL } },
	};
	struct conf	*c = mkconf(tl, 2, tt, 2, 100);
	struct hctx	 h;
	struct sched	*s;
	struct sched_stats ss;
	struct job	 j;
	char		 id[JOB_ID_LEN + 1], blk[JOB_ID_LEN + 1];
	char		 fail[JOB_ID_LEN + 1], canc[JOB_ID_LEN + 1];
	int		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	/* tab blocker holds a and b; then one tab waits (to be expired
	 * after 1 s) and one (to be cancelled): they wait on a and b. */
	cr_assert_eq(submit(s, "tab", 1, "", 0, blk, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "tab", 2, "", 0, id, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "tab", 3, "", 0, canc, NULL), SCHED_OK);
	cr_assert_eq(sched_cancel(s, canc, NULL), SCHED_OK);
	for (i = 0; i < 300 && state_of(s, id) == JOB_QUEUED; i++)
		sleep_ms(50);
	cr_assert_eq(state_of(s, id), JOB_EXPIRED);
	hctx_open(&h);
	/* ta: 3 done, 1 failed (negative ms makes the hook fail). */
	for (i = 0; i < 3; i++)
		cr_assert_eq(submit(s, "ta", 10 + i, "", 1, id, NULL),
		    SCHED_OK);
	cr_assert_eq(submit(s, "ta", 20, "", -1, fail, NULL), SCHED_OK);
	cr_assert_eq(sched_drain(s, 60000), 0);
	cr_assert_eq(sched_lookup(s, fail, NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_FAILED);
	cr_expect(j.error != NULL && strcmp(j.error, "boom -1") == 0);
	job_clear(&j);

	stats_take(s, &ss);
	/* lock a: 3 tab + 4 ta admitted; started 1 tab + 4 ta. */
	cr_expect_eq(lock_st(&ss, "a")->admitted, 7);
	cr_expect_eq(lock_st(&ss, "a")->started, 5);
	cr_expect_eq(lock_st(&ss, "a")->ended[JOB_DONE], 4);
	cr_expect_eq(lock_st(&ss, "a")->ended[JOB_FAILED], 1);
	cr_expect_eq(lock_st(&ss, "a")->ended[JOB_EXPIRED], 1);
	cr_expect_eq(lock_st(&ss, "a")->ended[JOB_CANCELLED], 1);
	cr_expect_eq(lock_st(&ss, "a")->busy, 0);
	cr_expect_eq(lock_st(&ss, "a")->queued, 0);
	cr_expect_eq(lock_st(&ss, "b")->admitted, 3);
	cr_expect_eq(lock_st(&ss, "b")->started, 1);
	cr_expect_eq(lock_st(&ss, "b")->ended[JOB_DONE], 1);
	cr_expect_eq(lock_st(&ss, "b")->ended[JOB_EXPIRED], 1);
	cr_expect_eq(lock_st(&ss, "b")->ended[JOB_CANCELLED], 1);
	cr_expect_eq(lock_st(&ss, "a")->run.count, 5, "a's run_ms");
	cr_expect_eq(task_st(&ss, "ta")->ended[JOB_DONE], 3);
	cr_expect_eq(task_st(&ss, "ta")->ended[JOB_FAILED], 1);
	cr_expect_eq(task_st(&ss, "tab")->ended[JOB_DONE], 1);
	cr_expect_eq(task_st(&ss, "tab")->ended[JOB_EXPIRED], 1);
	cr_expect_eq(task_st(&ss, "tab")->ended[JOB_CANCELLED], 1);
	for (i = 0; (size_t)i < ss.ntasks; i++)
		cr_expect_gt(ss.tasks[i].run_n, 0, "a mean run time");
	sched_stats_free(&ss);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, position_and_eta)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 ids[4][JOB_ID_LEN + 1];
	int64_t		 last = 0;
	int		 i;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	cr_expect_eq(sched_task_eta(s, "t"), 1000, "seed before any run");
	cr_expect_eq(sched_task_eta(s, "nope"), -1);
	for (i = 0; i < 4; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(sched_lookup(s, ids[0], NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_RUNNING);
	cr_expect_eq(j.slot, 0);
	job_clear(&j);
	for (i = 1; i < 4; i++) {
		cr_assert_eq(sched_lookup(s, ids[i], NULL, &j), SCHED_OK);
		cr_expect_eq(j.state, JOB_QUEUED);
		cr_expect_eq(j.position, i - 1);
		cr_expect_gt(j.eta_ms, last);
		last = j.eta_ms;
		job_clear(&j);
	}
	cr_expect_geq(sched_task_eta(s, "t"), last);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_lt(sched_task_eta(s, "t"), 1000, "learned from runs");
	sched_destroy(s);
	freeconf(c);
}

/* ---- positions from the order-statistic treaps (issue 16) ---- */

#define PH_MAX	400

/* A hook that runs one job per permit, recording the start order. */
struct phook {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 permits, started;
	char		 ids[PH_MAX][JOB_ID_LEN + 1];
};

static int
permit_hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	struct phook	*p = arg;

	(void)slots, (void)device, (void)err, (void)errlen;
	pthread_mutex_lock(&p->mu);
	if (p->started < PH_MAX)
		memcpy(p->ids[p->started], job->id, JOB_ID_LEN + 1);
	p->started++;
	pthread_cond_broadcast(&p->cv);
	while (p->permits == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	p->permits--;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Lets the running job end; waits for the next start (one is queued). */
static void
phook_next(struct phook *p)
{
	struct timespec	 ts;
	int		 want;

	in_30s(&ts);
	pthread_mutex_lock(&p->mu);
	want = p->started + 1;
	p->permits++;
	pthread_cond_broadcast(&p->cv);
	while (p->started < want)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) != 0)
			break;
	want = p->started >= want;
	pthread_mutex_unlock(&p->mu);
	cr_assert(want, "no job started");
}

/*
 * Every queued job's position, from the treaps: a permutation of
 * 0..queued-1; the id of the job at position 0 in first (NUL: none).
 */
static void
check_positions(struct sched *s, char (*ids)[JOB_ID_LEN + 1], int n,
    char first[JOB_ID_LEN + 1])
{
	static char	 seen[PH_MAX];
	struct job	 j;
	int		 i, queued, q = 0;

	sched_lock_counts(s, 0, NULL, &queued);
	memset(seen, 0, sizeof(seen));
	first[0] = '\0';
	for (i = 0; i < n; i++) {
		cr_assert_eq(sched_lookup(s, ids[i], NULL, &j), SCHED_OK);
		if (j.state == JOB_QUEUED) {
			cr_assert(j.position >= 0 && j.position < queued &&
			    !seen[j.position], "position %d of %d", j.position,
			    queued);
			seen[j.position] = 1;
			cr_assert_gt(j.eta_ms, 0);
			if (j.position == 0)
				memcpy(first, ids[i], JOB_ID_LEN + 1);
			q++;
		}
		job_clear(&j);
	}
	cr_assert_eq(q, queued);
}

/*
 * Random submit / cancel / dispatch sequences through the scheduler:
 * two tasks of other costs on one lock, five sessions. After every step
 * sched_audit checks each waiter's position and cost ahead (the treaps)
 * against a walk, the positions are a permutation, and the job at
 * position 0 is the one that starts next.
 */
static void
random_sched(enum conf_order order, unsigned seed)
{
	struct tlock	 tl[] = { { "one", 1, PH_MAX, 0, order, NULL } };
	struct ttask	 tt[] = { { "a", { "one", NULL } },
			    { "b", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 2, PH_MAX);
	static char	 ids[PH_MAX][JOB_ID_LEN + 1];
	char		 first[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	char		 pj[32];
	struct sched_opts o;
	struct phook	 p;
	struct sched	*s;
	struct timespec	 ts;
	char		 err[256];
	int		 n = 0, step, k, started;

	free(c->tasks[0].kernel);
	c->tasks[0].kernel = xstrdup("burn");	/* its ms are its units */
	memset(&p, 0, sizeof(p));
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	memset(&o, 0, sizeof(o));
	o.run_hook = permit_hook;
	o.run_arg = &p;
	cr_assert((s = sched_create(c, NULL, &o, err, sizeof(err))) != NULL,
	    "%s", err);
	/* One job holds the slot, inside its hook, before any dispatch step. */
	sid(sess, 1);
	cr_assert_eq(sched_submit(s, "a", NULL, sess, "", "{\"ms\":1}",
	    ids[n++], NULL), SCHED_OK);
	in_30s(&ts);
	pthread_mutex_lock(&p.mu);
	while (p.started == 0 && pthread_cond_timedwait(&p.cv, &p.mu,
	    &ts) == 0)
		continue;
	started = p.started;
	pthread_mutex_unlock(&p.mu);
	cr_assert_eq(started, 1);
	for (step = 0; step < 600; step++) {
		k = rand_r(&seed) % 10;
		if (k < 6 && n < PH_MAX) {
			sid(sess, 1 + rand_r(&seed) % 5);
			snprintf(pj, sizeof(pj), "{\"ms\":%d}",
			    1 + rand_r(&seed) % 50);
			cr_assert_eq(sched_submit(s, rand_r(&seed) % 2 ? "a" :
			    "b", NULL, sess, "", pj, ids[n], NULL), SCHED_OK);
			n++;
		} else if (k < 8 && n > 0)
			(void)sched_cancel(s, ids[rand_r(&seed) % n], NULL);
		else {
			check_positions(s, ids, n, first);
			if (first[0] == '\0')
				continue;
			phook_next(&p);
			pthread_mutex_lock(&p.mu);
			started = p.started;
			pthread_mutex_unlock(&p.mu);
			if (started <= PH_MAX)
				cr_assert_str_eq(p.ids[started - 1], first,
				    "step %d: position 0 started next", step);
		}
		audit_ok(s);
		check_positions(s, ids, n, first);
	}
	pthread_mutex_lock(&p.mu);
	cr_assert_gt(p.started, 50, "dispatches were tried");
	p.permits = 1 << 20;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, positions_match_a_walk_fifo)
{
	random_sched(CONF_ORDER_FIFO, 11);
}

Test(sched, positions_match_a_walk_fair)
{
	random_sched(CONF_ORDER_FAIR, 12);
}

/* ---- estimates under long jobs (issue 15 item 7) ---- */

/* The estimates' clock: CLOCK_MONOTONIC plus an offset, or frozen. */
struct fake_clock {
	atomic_llong	 offset_ns;
	atomic_llong	 frozen_ns;	/* 0: not frozen */
};

static int64_t
fake_now(void *arg)
{
	struct fake_clock	*fc = arg;
	int64_t			 f = atomic_load(&fc->frozen_ns);

	return f != 0 ? f : sched_mono_ns() + atomic_load(&fc->offset_ns);
}

static struct sched *
mksched_clocked(const struct conf *c, struct hctx *h, struct fake_clock *fc)
{
	struct sched_opts	 o;
	struct sched		*s;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.run_hook = hook;
	o.run_arg = h;
	o.est_clock = fake_now;
	o.est_clock_arg = fc;
	s = sched_create(c, NULL, &o, err, sizeof(err));
	cr_assert(s != NULL, "sched_create: %s", err);
	return s;
}

static int64_t
eta_of(struct sched *s, const char *id, enum job_state want)
{
	struct job	 j;
	int64_t		 eta;

	cr_assert_eq(sched_lookup(s, id, NULL, &j), SCHED_OK);
	cr_assert_eq(j.state, want, "%s: state %d", id, j.state);
	eta = j.eta_ms;
	job_clear(&j);
	return eta;
}

Test(sched, estimates_are_pure_and_clamped)
{
	/* Within the estimate: what is left of it. */
	cr_expect_eq(sched_left_ms(1000, 400, -1), 600);
	/* Past it: as long again as it overran, not a few ms. */
	cr_expect_eq(sched_left_ms(7, 1620000, -1), 1620000 - 7);
	cr_expect_geq(sched_left_ms(1000, 999, -1), 100, "a tenth at least");
	/* Progress wins: 30 s for a quarter, 90 s for the rest. */
	cr_expect_eq(sched_left_ms(1000, 30000, 0.25), 90000);
	cr_expect_eq(sched_left_ms(1000, 30000, 1), 0);
	cr_expect_eq(sched_cost_units("mandelbrot",
	    "{\"width\":800,\"height\":600,\"iters\":500,\"cx\":-0.5}"),
	    800.0 * 600 * 500);
	cr_expect_eq(sched_cost_units("sgemm", "{\"n\":100,\"seed\":1}"), 1e6);
	cr_expect_eq(sched_cost_units("burn", "{\"ms\":2500}"), 2500);
	cr_expect_eq(sched_cost_units(NULL, "{\"ms\":2500}"), 1, "a worker");
	cr_expect_eq(sched_retry_after_secs(7), 1);
	cr_expect_eq(sched_retry_after_secs(599001), 600);
	cr_expect_eq(sched_retry_after_secs(1e12), 3600);
	cr_expect_eq(sched_retry_after_secs(-5), 1);
}

/*
 * A waiter behind a job that has run far past its estimate (the 27-minute
 * mandelbrot): its ETA and a full queue's Retry-After come from the
 * running job's elapsed time, not from the task's 1 s run time.
 */
Test(sched, waiter_behind_a_long_job_waits_at_least_its_overrun)
{
	struct tlock		 tl[] = { { "one", 1, 1, 0, CONF_ORDER_FIFO,
				    NULL } };
	struct ttask		 tt[] = { { "t", { "one", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 1, 100);
	struct fake_clock	 fc;
	struct hctx		 h;
	struct sched		*s;
	char			 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];
	char			 x[JOB_ID_LEN + 1];
	int			 retry = 0;

	memset(&fc, 0, sizeof(fc));
	hctx_init(&h, 1);
	s = mksched_clocked(c, &h, &fc);
	cr_assert_eq(submit(s, "t", 0, "", 0, a, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "t", 1, "", 0, b, NULL), SCHED_OK);
	/* Seeded 1 s a job: before the clock moves, about 2 s. */
	cr_expect_leq(eta_of(s, b, JOB_QUEUED), 2000);
	atomic_store(&fc.offset_ns, 600LL * 1000000000);	/* 10 min on */
	cr_expect_geq(eta_of(s, a, JOB_RUNNING), 599000);
	cr_expect_geq(eta_of(s, b, JOB_QUEUED), 599000 + 1000,
	    "the overrun plus its own run");
	cr_expect_eq(submit(s, "t", 2, "", 0, x, &retry), SCHED_QUEUE_FULL);
	cr_expect_geq(retry, 599, "Retry-After %d", retry);
	cr_expect_leq(retry, 601, "Retry-After %d", retry);
	atomic_store(&fc.offset_ns, 7200LL * 1000000000);	/* 2 h on */
	cr_expect_eq(submit(s, "t", 2, "", 0, x, &retry), SCHED_QUEUE_FULL);
	cr_expect_eq(retry, 3600, "clamped");
	/* Reported progress: a quarter done in 2 h, 6 h left. */
	sched_job_progress(s, a, 0.25, NULL);
	cr_expect_geq(eta_of(s, a, JOB_RUNNING), 6LL * 3600 * 1000);
	cr_expect_leq(eta_of(s, a, JOB_RUNNING), 6LL * 3600 * 1000 + 1000);
	cr_expect_geq(eta_of(s, b, JOB_QUEUED), 6LL * 3600 * 1000 + 1000);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

/*
 * The cost model: after one mandelbrot is done, one with 4x the pixels
 * is expected to take 4x its run time (the clock frozen before it
 * starts, so its elapsed time is 0 and its ETA its whole estimate).
 */
Test(sched, a_4x_mandelbrot_is_estimated_4x_longer)
{
	struct tlock		 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO,
				    NULL } };
	struct ttask		 tt[] = { { "mb", { "one", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 1, 100);
	struct fake_clock	 fc;
	struct sched_stats	 ss;
	struct hctx		 h;
	struct sched		*s;
	char			 id[JOB_ID_LEN + 1], id2[JOB_ID_LEN + 1];
	char			 sess[JOB_SESSION_LEN + 1];
	double			 run, eta;
	int			 r;

	free(c->tasks[0].kernel);
	c->tasks[0].kernel = xstrdup("mandelbrot");
	memset(&fc, 0, sizeof(fc));
	hctx_init(&h, 0);
	s = mksched_clocked(c, &h, &fc);
	sid(sess, 0);
	cr_assert_eq(sched_submit(s, "mb", NULL, sess, "", "{\"width\":100,"
	    "\"height\":100,\"iters\":100,\"ms\":100}", id, &r), SCHED_OK);
	for (r = 0; r < 1000 && state_of(s, id) != JOB_DONE; r++)
		sleep_ms(10);
	cr_assert_eq(state_of(s, id), JOB_DONE);
	cr_assert_eq(sched_stats_get(s, &ss), 0);
	run = ss.tasks[0].run_sum_ms;
	sched_stats_free(&ss);
	cr_assert_geq(run, 100);
	hctx_close(&h);
	h.gated = 1;
	atomic_store(&fc.frozen_ns, sched_mono_ns());
	cr_assert_eq(sched_submit(s, "mb", NULL, sess, "", "{\"width\":200,"
	    "\"height\":200,\"iters\":100,\"ms\":0}", id, &r), SCHED_OK);
	hctx_wait_inside(&h, 1);
	eta = (double)eta_of(s, id, JOB_RUNNING);
	cr_expect(eta >= 4 * run - 1 && eta <= 4 * run + 1,
	    "4x the pixels: %g ms after a run of %g ms", eta, run);
	/* And a waiter behind it: its own (1x) plus the 4x one. */
	cr_assert_eq(sched_submit(s, "mb", NULL, sess, "2", "{\"width\":100,"
	    "\"height\":100,\"iters\":100,\"ms\":0}", id2, &r), SCHED_OK);
	eta = (double)eta_of(s, id2, JOB_QUEUED);
	cr_expect(eta >= 5 * run - 2 && eta <= 5 * run + 2, "waiter: %g ms",
	    eta);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, unknown_task_and_lookup_scope)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 id[JOB_ID_LEN + 1], s1[JOB_SESSION_LEN + 1];
	char		 s2[JOB_SESSION_LEN + 1];

	sid(s1, 1);
	sid(s2, 2);
	hctx_init(&h, 0);
	s = mksched(c, &h, 0);
	cr_expect_eq(submit(s, "nope", 1, "", 0, id, NULL),
	    SCHED_UNKNOWN_TASK);
	cr_assert_eq(submit(s, "t", 1, "", 0, id, NULL), SCHED_OK);
	cr_expect_eq(strlen(id), 32);
	cr_expect_eq(sched_lookup(s, id, s2, &j), SCHED_NOT_FOUND);
	cr_assert_eq(sched_lookup(s, id, s1, &j), SCHED_OK);
	cr_expect_str_eq(j.task, "t");
	cr_expect_str_eq(j.locks, "[\"one\"]");
	cr_expect_str_eq(j.params, "{\"ms\":0}");
	cr_expect_gt(j.created_ms, 0);
	job_clear(&j);
	cr_expect_eq(sched_lookup(s, "ffffffffffffffffffffffffffffffff",
	    NULL, &j), SCHED_NOT_FOUND);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	freeconf(c);
}

/*
 * fifo passing: x (needs a and b) waits because b is held; y (needs a
 * only), submitted after x, starts at once: x could not start anyway.
 */
Test(sched, fifo_passes_only_blocked_jobs)
{
	struct tlock	 tl[] = {
		{ "a", 1, 10, 0, CONF_ORDER_FIFO, NULL },
		{ "b", 1, 10, 0, CONF_ORDER_FIFO, NULL },
	};
	struct ttask	 tt[] = {
		{ "tab", { "a", "b", NULL } },
		{ "ta", { "a", NULL } },
		{ "tb", { "b", NULL } },
	};
	struct conf	*c = mkconf(tl, 2, tt, 3, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 hb[JOB_ID_LEN + 1], x[JOB_ID_LEN + 1];
	char		 y[JOB_ID_LEN + 1], z[JOB_ID_LEN + 1];

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	sched_audit_starts(s, 1);
	cr_assert_eq(submit(s, "tb", 1, "", 0, hb, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_assert_eq(submit(s, "tab", 2, "", 0, x, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "ta", 3, "", 0, y, NULL), SCHED_OK);
	hctx_wait_inside(&h, 2);
	cr_expect_eq(state_of(s, y), JOB_RUNNING);
	cr_expect_eq(state_of(s, x), JOB_QUEUED);
	/* z (needs a) queues behind x on a: once b and a free up, x first. */
	cr_assert_eq(submit(s, "ta", 4, "", 0, z, NULL), SCHED_OK);
	audit_ok(s);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(state_of(s, x), JOB_DONE);
	cr_expect_eq(state_of(s, z), JOB_DONE);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c);
}

Test(sched, kernel_failure_keeps_worker)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];

	hctx_init(&h, 0);
	s = mksched(c, &h, 1);	/* one worker: it must survive */
	cr_assert_eq(submit(s, "t", 1, "", -2, a, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 2, "", 0, b, NULL), SCHED_OK);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(sched_lookup(s, a, NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_FAILED);
	cr_expect_str_eq(j.error, "boom -2");
	cr_expect_gt(j.finished_ms, 0);
	job_clear(&j);
	cr_expect_eq(state_of(s, b), JOB_DONE);
	sched_destroy(s);
	freeconf(c);
}

static void *
open_later(void *arg)
{
	sleep_ms(200);
	hctx_open(arg);
	return NULL;
}

/*
 * With a journal: jobs still queued when the scheduler stops are queued
 * again, in order, by the next one (sched_create -> journal_recover).
 */
Test(sched, journal_requeues_in_order)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct journal	*jr;
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 dir[] = "/tmp/sluice-sched-XXXXXX";
	char		 ids[4][JOB_ID_LEN + 1];
	pthread_t	 opener;
	int		 i, n;

	jr = tmp_journal(dir);
	hctx_init(&h, 1);
	s = mksched_on(c, jr, &h, 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	/* Let the running job end only once sched_destroy has stopped
	 * dispatching (it waits for running jobs): 3 stay queued. */
	cr_assert_eq(pthread_create(&opener, NULL, open_later, &h), 0);
	sched_destroy(s);
	pthread_join(opener, NULL);
	n = hctx_count(&h);
	cr_expect_eq(n, 1, "a job started after sched_destroy began");
	cr_assert_eq(journal_get(jr, ids[0], &j), 1);
	cr_expect_eq(j.state, JOB_DONE);
	job_clear(&j);

	hctx_init(&h, 0);
	s = mksched_on(c, jr, &h, 0);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(hctx_count(&h), 4 - n);
	for (i = n; i < 4; i++) {
		cr_expect_str_eq(h.ids[i - n], ids[i], "requeued out of order");
		cr_assert_eq(sched_lookup(s, ids[i], NULL, &j), SCHED_OK);
		cr_expect_eq(j.state, JOB_DONE);
		job_clear(&j);
		cr_assert_eq(journal_get(jr, ids[i], &j), 1);
		cr_expect_eq(j.state, JOB_DONE, "journaled at the end");
		job_clear(&j);
	}
	sched_destroy(s);
	journal_close(jr);
	rm_tree(dir);
	freeconf(c);
}

/*
 * The client's cap survives a restart: a queued job the journal gives
 * back counts against its address, as the session's cap counts it.
 */
Test(sched, client_cap_counts_recovered_jobs)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct journal	*jr;
	struct hctx	 h;
	struct sched	*s;
	char		 dir[] = "/tmp/sluice-sched-XXXXXX";
	char		 id[JOB_ID_LEN + 1], queued[JOB_ID_LEN + 1];
	pthread_t	 opener;

	c->client_max_active = 2;
	jr = tmp_journal(dir);
	hctx_init(&h, 1);
	s = mksched_on(c, jr, &h, 0);
	cr_assert_eq(submit_from(s, 1, "192.0.2.7", id, NULL), SCHED_OK);
	cr_assert_eq(submit_from(s, 2, "192.0.2.7", queued, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	/* The first one ends during sched_destroy; the second stays queued. */
	cr_assert_eq(pthread_create(&opener, NULL, open_later, &h), 0);
	sched_destroy(s);
	pthread_join(opener, NULL);

	hctx_init(&h, 1);
	s = mksched_on(c, jr, &h, 0);
	/* Given back (it may have started at once: the slot is free). */
	cr_assert(state_of(s, queued) == JOB_QUEUED ||
	    state_of(s, queued) == JOB_RUNNING, "recovered");
	cr_expect_eq(submit_from(s, 3, "192.0.2.7", id, NULL), SCHED_OK);
	cr_expect_eq(submit_from(s, 4, "192.0.2.7", id, NULL),
	    SCHED_CLIENT_LIMIT, "the recovered job counts");
	cr_expect_eq(submit_from(s, 5, "192.0.2.8", id, NULL), SCHED_OK);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	journal_close(jr);
	rm_tree(dir);
	freeconf(c);
}

/* The state column of job id, read through the test's own connection. */
static void
db_state(sqlite3 *db, const char *table, const char *id, char *out,
    size_t outlen)
{
	sqlite3_stmt	*st;
	char		 sql[128];

	snprintf(sql, sizeof(sql), "SELECT state FROM %s WHERE id = ?1",
	    table);
	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, outlen, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Polls the journal until job id is in state want; 1 when it got there. */
static int
journal_reaches(struct journal *jr, const char *id, enum job_state want)
{
	struct job	 j;
	int		 i, ok = 0;

	for (i = 0; i < 600 && !ok; i++) {
		if (journal_get(jr, id, &j) == 1) {
			ok = j.state == want;
			job_clear(&j);
		}
		if (!ok)
			sleep_ms(50);
	}
	return ok;
}

/*
 * Final writes the journal refuses (here: its table is renamed away by
 * another connection, so every statement fails) are not lost: the rows
 * stay as they were meanwhile, and once the journal works again the timer
 * thread writes the end of the job that ran and of the one cancelled.
 */
Test(sched, final_write_retried_until_journaled, .timeout = 120)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct journal	*jr;
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	sqlite3		*db;
	char		 dir[] = "/tmp/sluice-sched-XXXXXX";
	char		 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1], st[32];
	char		 path[PATH_MAX];
	int		 i;

	jr = tmp_journal(dir);
	hctx_init(&h, 1);
	s = mksched_on(c, jr, &h, 0);
	cr_assert_eq(submit(s, "t", 1, "", 0, a, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 2, "", 0, b, NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);	/* a runs (journaled), b waits */

	snprintf(path, sizeof(path), "%s/jobs.db", dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	cr_assert_eq(sqlite3_exec(db, "ALTER TABLE jobs RENAME TO jobs_off",
	    NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	cr_expect_eq(sched_cancel(s, b, NULL), SCHED_OK);
	hctx_open(&h);
	for (i = 0; i < 600 && state_of(s, a) != JOB_DONE; i++)
		sleep_ms(10);
	cr_assert_eq(state_of(s, a), JOB_DONE);
	sleep_ms(1200);		/* the first retry fails too */
	db_state(db, "jobs_off", a, st, sizeof(st));
	cr_expect_str_eq(st, "running");
	db_state(db, "jobs_off", b, st, sizeof(st));
	cr_expect_str_eq(st, "queued");
	cr_assert_eq(sched_lookup(s, b, NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_CANCELLED, "memory has the final state");
	job_clear(&j);

	cr_assert_eq(sqlite3_exec(db, "ALTER TABLE jobs_off RENAME TO jobs",
	    NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
	cr_expect(journal_reaches(jr, a, JOB_DONE), "a never journaled done");
	cr_expect(journal_reaches(jr, b, JOB_CANCELLED),
	    "b never journaled cancelled");
	cr_assert_eq(journal_get(jr, a, &j), 1);
	cr_expect_gt(j.finished_ms, 0);
	cr_expect_gt(j.started_ms, 0);
	job_clear(&j);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_destroy(s);
	journal_close(jr);
	rm_tree(dir);
	freeconf(c);
}

/*
 * Eviction removes finished jobs from the journal; the scheduler must
 * forget them too, or /jobs/ID would still show them done (with has_png)
 * while their rows and images are gone. Unfinished jobs stay.
 */
Test(sched, evicted_jobs_are_forgotten, .timeout = 60)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct journal	*jr;
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		 dir[] = "/tmp/sluice-sched-XXXXXX";
	char		 ids[4][JOB_ID_LEN + 1], again[JOB_ID_LEN + 1];
	int		 i;

	jr = tmp_journal(dir);
	hctx_init(&h, 0);
	s = mksched_on(c, jr, &h, 0);
	for (i = 0; i < 2; i++)
		cr_assert_eq(submit(s, "t", i, "n", 0, ids[i], NULL), SCHED_OK);
	for (i = 0; i < 2; i++) {
		while (state_of(s, ids[i]) != JOB_DONE)
			sleep_ms(5);
	}
	pthread_mutex_lock(&h.mu);
	h.gated = 1;
	h.gate = 0;
	pthread_mutex_unlock(&h.mu);
	cr_assert_eq(submit(s, "t", 2, "", 0, ids[2], NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 3, "", 0, ids[3], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);	/* 2 runs, 3 waits */
	sleep_ms(5);

	cr_expect_eq(sched_evict(s, job_now_ms(), 0, -1), 2, "%s",
	    journal_error(jr));
	for (i = 0; i < 2; i++) {
		cr_expect_eq(sched_lookup(s, ids[i], NULL, &j),
		    SCHED_NOT_FOUND, "evicted job %d still found", i);
		cr_expect_eq(journal_get(jr, ids[i], &j), 0);
	}
	/* The nonce went with the job: it makes a new one now. */
	cr_assert_eq(submit(s, "t", 0, "n", 0, again, NULL), SCHED_OK);
	cr_expect_str_neq(again, ids[0]);
	cr_expect_eq(state_of(s, ids[2]), JOB_RUNNING);
	cr_expect_eq(state_of(s, ids[3]), JOB_QUEUED);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(state_of(s, ids[3]), JOB_DONE);
	cr_expect_eq(sched_evict(s, job_now_ms() + 1000, 0, -1), 3);
	cr_expect_eq(sched_lookup(s, ids[3], NULL, &j), SCHED_NOT_FOUND);
	sched_destroy(s);
	journal_close(jr);
	rm_tree(dir);
	freeconf(c);
}

/* An executor whose every job is done with a result and two files. */
static void
files_want(void *arg, const char *task, int slot)
{
	(void)arg;
	(void)task;
	(void)slot;
}

static void
files_run(void *arg, const struct sched_run *run, struct sched_outcome *out)
{
	(void)arg;
	(void)run;
	memset(out, 0, sizeof(*out));
	out->state = JOB_DONE;
	out->result = xstrdup("{\"ms\":1.5}");
	out->files = xstrdup("[{\"name\":\"image\",\"type\":\"image/png\","
	    "\"bytes\":100},{\"name\":\"log\",\"type\":\"text/plain\","
	    "\"bytes\":23}]");
	out->files_bytes = 123;
	out->has_png = 1;
}

static int
files_cancel(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return -1;
}

static const struct sched_exec files_exec = { files_want, files_run,
    files_cancel, NULL };

/*
 * A job with uploads (input_bytes) whose worker left files: its files,
 * has_png and every byte (inputs and outputs) are journaled with the
 * final state, and read back the same after a restart; the id asked for
 * is the job's.
 */
Test(sched, files_and_bytes_journaled, .timeout = 60)
{
	struct tlock		 tl[] = { { "cpu", 1, 10, 0, CONF_ORDER_FIFO,
				    NULL } };
	struct ttask		 tt[] = { { "m", { "cpu", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 1, 100);
	struct sched_opts	 o = { .exec = &files_exec };
	struct sched_request	 rq;
	struct journal		*jr;
	struct sched		*s;
	struct job		 j;
	char			 dir[] = "/tmp/sluice-sched-XXXXXX", err[256];
	char			 id[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	char			 want[JOB_ID_LEN + 1];
	int			 i, retry;

	jr = tmp_journal(dir);
	s = sched_create(c, jr, &o, err, sizeof(err));
	cr_assert(s != NULL, "%s", err);
	sid(sess, 1);
	job_new_id(want);
	memset(&rq, 0, sizeof(rq));
	rq.task = "m";
	rq.session = sess;
	rq.params = "{}";
	rq.inputs = "{\"photo\":{\"type\":\"image/jpeg\",\"bytes\":1000,"
	    "\"filename\":\"a.jpg\"}}";
	rq.input_bytes = 1000;
	rq.id = want;
	cr_assert_eq(sched_submit_req(s, &rq, id, &retry), SCHED_OK);
	cr_expect_str_eq(id, want);
	cr_assert_eq(journal_get(jr, id, &j), 1);
	cr_expect_eq(j.file_bytes, 1000, "inputs counted from the start");
	cr_expect(j.inputs != NULL && strstr(j.inputs, "a.jpg") != NULL);
	job_clear(&j);
	sched_worker_ready(s, "m", 0, "cpu");	/* only now can it run */
	cr_assert_eq(sched_drain(s, 30000), 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(journal_get(jr, id, &j), 1);
		cr_expect_eq(j.state, JOB_DONE);
		cr_expect_eq(j.has_png, 1);
		cr_expect_eq(j.file_bytes, 1123);
		cr_expect(j.files != NULL && strstr(j.files, "\"log\"") != NULL);
		cr_expect(j.inputs != NULL && strstr(j.inputs, "a.jpg") != NULL);
		job_clear(&j);
		sched_destroy(s);	/* and after a restart, the same */
		s = i == 0 ? sched_create(c, jr, NULL, err, sizeof(err)) : NULL;
		if (i == 0)
			cr_assert(s != NULL, "%s", err);
	}
	cr_expect_eq(journal_result_bytes(jr), 1123);
	journal_close(jr);
	rm_tree(dir);
	freeconf(c);
}

/* ---------------------------------------------------------------------- */
/* Stress: 16 submitters, 5000 jobs, 4 locks, random subsets. */

#define ST_THREADS	16
#define ST_JOBS		5000
#define ST_PER		(ST_JOBS / ST_THREADS + 1)
#define ST_MAXSEQ	(ST_JOBS + 64)

static const struct tlock st_locks[] = {
	{ "l0", 1, 40, 0, CONF_ORDER_FIFO, NULL },
	{ "l1", 2, 40, 0, CONF_ORDER_FAIR, NULL },
	{ "l2", 3, 40, 0, CONF_ORDER_FIFO, NULL },
	{ "l3", 2, 40, 1, CONF_ORDER_FAIR, NULL },
};

struct stress {
	struct sched	*s;
	struct conf	*c;
	atomic_int	 holders[4];
	atomic_int	 slot_holder[4][3];
	atomic_int	 excess;
	atomic_int	 ran[ST_MAXSEQ];
	atomic_int	 submitted;
	atomic_int	 cancels_ok;
	atomic_int	 audit_fail;
	atomic_int	 stop_audit;
	char		 audit_err[256];
	char		 ids[ST_THREADS][ST_PER][JOB_ID_LEN + 1];
	int		 nids[ST_THREADS];
	int		 task_locks[15];	/* bitmask per task */
};

static struct stress	 st;

static int
stress_hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	struct stress	*x = arg;
	int		 t, mask, l, i = 0, n;

	(void)device;
	(void)err;
	(void)errlen;
	t = atoi(job->task + 1);	/* "t<N>" */
	mask = x->task_locks[t];
	if (job->seq > 0 && job->seq < ST_MAXSEQ)
		atomic_fetch_add(&x->ran[job->seq], 1);
	for (l = 0; l < 4; l++) {
		if (!(mask & (1 << l)))
			continue;
		n = atomic_fetch_add(&x->holders[l], 1) + 1;
		if (n > st_locks[l].slots)
			atomic_fetch_add(&x->excess, 1);
		if (slots[i] < 0 || slots[i] >= st_locks[l].slots ||
		    atomic_fetch_add(&x->slot_holder[l][slots[i]], 1) != 0)
			atomic_fetch_add(&x->excess, 1);
		i++;
	}
	sleep_ms(param_ms(job));
	i = 0;
	for (l = 0; l < 4; l++) {
		if (!(mask & (1 << l)))
			continue;
		if (slots[i] >= 0 && slots[i] < st_locks[l].slots)
			atomic_fetch_sub(&x->slot_holder[l][slots[i]], 1);
		atomic_fetch_sub(&x->holders[l], 1);
		i++;
	}
	return 0;
}

static void *
stress_submitter(void *arg)
{
	int		 t = (int)(intptr_t)arg, n = 0, rc, retry;
	unsigned int	 seed = 12345u + (unsigned int)t;
	char		 task[16], sess[JOB_SESSION_LEN + 1], pj[32];
	char		*id;

	while (atomic_load(&st.submitted) < ST_JOBS && n < ST_PER) {
		snprintf(task, sizeof(task), "t%d", rand_r(&seed) % 15);
		sid(sess, t * 8 + rand_r(&seed) % 8);
		snprintf(pj, sizeof(pj), "{\"ms\":%.2f}",
		    (rand_r(&seed) % 201) / 100.0);
		id = st.ids[t][n];
		rc = sched_submit(st.s, task, NULL, sess, "", pj, id,
		    &retry);
		if (rc == SCHED_QUEUE_FULL || rc == SCHED_SESSION_LIMIT) {
			sleep_ms(1);
			continue;
		}
		if (rc != SCHED_OK)
			return (void *)1;
		atomic_fetch_add(&st.submitted, 1);
		n++;
		if (rand_r(&seed) % 10 == 0) {
			/* Cancel one of ours, queued or not: OK or CONFLICT. */
			char	*victim = st.ids[t][rand_r(&seed) % n];

			rc = sched_cancel(st.s, victim, NULL);
			if (rc == SCHED_OK)
				atomic_fetch_add(&st.cancels_ok, 1);
			else if (rc != SCHED_CONFLICT)
				return (void *)2;
		}
	}
	st.nids[t] = n;
	return NULL;
}

static void *
stress_auditor(void *arg)
{
	char	 err[256];

	(void)arg;
	while (!atomic_load(&st.stop_audit)) {
		if (sched_audit(st.s, err, sizeof(err)) != 0 &&
		    atomic_fetch_add(&st.audit_fail, 1) == 0)
			memcpy(st.audit_err, err, sizeof(err));
		sleep_ms(2);
	}
	return NULL;
}

Test(sched, stress_invariants, .timeout = 300)
{
	struct ttask		 tt[15];
	struct sched_opts	 o;
	struct sched_stats	 ss;
	struct job		 j;
	pthread_t		 th[ST_THREADS], aud;
	char			 names[15][16], err[256];
	void			*ret;
	int64_t			 t0;
	const struct sched_lock_stats *ls;
	uint64_t		 sum;
	int			 i, k, l, m, total = 0, ended[6] = { 0 };
	int			 cancelled = 0;

	memset(&st, 0, sizeof(st));
	/* Tasks t0..t14: every non-empty subset of 4 locks, listed in lock
	 * order (the hook pairs slots[] with locks in that order). */
	for (i = 0; i < 15; i++) {
		snprintf(names[i], sizeof(names[i]), "t%d", i);
		tt[i].name = names[i];
		st.task_locks[i] = i + 1;
	}
	for (i = 0; i < 15; i++) {
		m = 0;
		for (l = 0; l < 4; l++)
			if ((i + 1) & (1 << l))
				tt[i].locks[m++] = st_locks[l].name;
		tt[i].locks[m] = NULL;
	}
	st.c = mkconf(st_locks, 4, tt, 15, 4);
	memset(&o, 0, sizeof(o));
	o.run_hook = stress_hook;
	o.run_arg = &st;
	st.s = sched_create(st.c, NULL, &o, err, sizeof(err));
	cr_assert(st.s != NULL, "%s", err);
	sched_audit_starts(st.s, 1);

	t0 = job_mono_ms();
	cr_assert_eq(pthread_create(&aud, NULL, stress_auditor, NULL), 0);
	for (i = 0; i < ST_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, stress_submitter,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < ST_THREADS; i++) {
		pthread_join(th[i], &ret);
		cr_expect(ret == NULL, "submitter %d failed: %p", i, ret);
	}
	/* Invariant 2: everything ends, well within a generous bound. */
	cr_expect_eq(sched_drain(st.s, 120000), 0, "deadlock or stall");
	atomic_store(&st.stop_audit, 1);
	pthread_join(aud, NULL);
	cr_log_info("stress: %d jobs in %lld ms, %d cancelled by request",
	    atomic_load(&st.submitted), (long long)(job_mono_ms() - t0),
	    atomic_load(&st.cancels_ok));

	/* Invariant 1: never more holders than slots, no slot shared. */
	cr_expect_eq(atomic_load(&st.excess), 0);
	/* Invariants 3 and 4 (sched_audit, checked all along). */
	cr_expect_eq(atomic_load(&st.audit_fail), 0, "%s", st.audit_err);
	audit_ok(st.s);

	/* Invariant 6: every admitted job ended exactly once. */
	for (i = 0; i < ST_THREADS; i++)
		for (k = 0; k < st.nids[i]; k++) {
			cr_assert_eq(sched_lookup(st.s, st.ids[i][k], NULL, &j),
			    SCHED_OK);
			cr_expect(job_state_final(j.state), "job not final");
			ended[j.state]++;
			cancelled += j.state == JOB_CANCELLED;
			if (j.seq > 0 && j.seq < ST_MAXSEQ)
				cr_expect_eq(atomic_load(&st.ran[j.seq]),
				    j.state == JOB_DONE ? 1 : 0,
				    "seq %lld ran %d times in state %d",
				    (long long)j.seq,
				    atomic_load(&st.ran[j.seq]), j.state);
			job_clear(&j);
			total++;
		}
	cr_expect_geq(total, ST_JOBS);
	cr_expect_eq(cancelled, atomic_load(&st.cancels_ok));
	cr_expect_eq(ended[JOB_FAILED], 0);

	/* Stats agree: per lock admitted = started + expired + cancelled. */
	stats_take(st.s, &ss);
	sum = 0;
	for (l = 0; l < 4; l++) {
		ls = lock_st(&ss, st_locks[l].name);
		cr_expect_eq(ls->admitted, ls->started +
		    ls->ended[JOB_EXPIRED] + ls->ended[JOB_CANCELLED],
		    "lock %d", l);
		cr_expect_eq(ls->busy, 0);
		sum += ls->ended[JOB_DONE];
	}
	cr_expect_gt(sum, 0);
	sched_stats_free(&ss);
	sched_destroy(st.s);
	freeconf(st.c);
}

/* ---------------------------------------------------------------------- */
/* sched_reconfigure */

/*
 * Ticket hook: each job records its start, then holds its slot until the
 * test hands out a ticket (rctx_release), so the tests decide exactly
 * which jobs are running when they reload. Counts the jobs inside at once.
 */
struct rctx {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 tickets;
	int		 inside, max_inside;
	int		 nrec;
	char		 ids[MAXREC][JOB_ID_LEN + 1];
};

static int
rhook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	struct rctx	*r = arg;

	(void)slots;
	(void)device;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&r->mu);
	if (r->nrec < MAXREC)
		memcpy(r->ids[r->nrec++], job->id, sizeof(r->ids[0]));
	if (++r->inside > r->max_inside)
		r->max_inside = r->inside;
	pthread_cond_broadcast(&r->cv);
	while (r->tickets == 0)
		pthread_cond_wait(&r->cv, &r->mu);
	r->tickets--;
	r->inside--;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static struct sched *
rsched(const struct conf *c, struct rctx *r)
{
	struct sched_opts	 o;
	struct sched		*s;
	char			 err[256];

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	memset(&o, 0, sizeof(o));
	o.run_hook = rhook;
	o.run_arg = r;
	o.threads = 8;
	s = sched_create(c, NULL, &o, err, sizeof(err));
	cr_assert(s != NULL, "sched_create: %s", err);
	return s;
}

/* Lets n more jobs end (INT_MAX / 2: all from now on). */
static void
rctx_release(struct rctx *r, int n)
{
	pthread_mutex_lock(&r->mu);
	r->tickets += n;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Waits (30 s at most) until n jobs have started in all. */
static void
rctx_wait_started(struct rctx *r, int n)
{
	struct timespec	 ts;
	int		 ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	pthread_mutex_lock(&r->mu);
	while (r->nrec < n)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
			break;
	ok = r->nrec >= n;
	pthread_mutex_unlock(&r->mu);
	cr_assert(ok, "jobs did not start");
}

static int
rctx_started(struct rctx *r)
{
	int	 n;

	pthread_mutex_lock(&r->mu);
	n = r->nrec;
	pthread_mutex_unlock(&r->mu);
	return n;
}

static void
reconf_ok(struct sched *s, const struct conf *c)
{
	char	 err[256] = "";

	cr_assert_eq(sched_reconfigure(s, c, err, sizeof(err)), 0, "%s", err);
	audit_ok(s);
}

/* The error of a job (a copy the caller frees; "" when none). */
static char *
error_of(struct sched *s, const char *id)
{
	struct job	 j;
	char		*e;

	cr_assert_eq(sched_lookup(s, id, NULL, &j), SCHED_OK);
	e = xstrdup(j.error != NULL ? j.error : "");
	job_clear(&j);
	return e;
}

Test(sched, reload_grow_starts_waiter_at_once)
{
	struct tlock	 t1[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct tlock	 t2[] = { { "L", 2, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "L", NULL } } };
	struct conf	*c1 = mkconf(t1, 1, tt, 1, 100);
	struct conf	*c2 = mkconf(t2, 1, tt, 1, 100);
	struct rctx	 r;
	struct sched	*s;
	char		 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];
	int		 busy, queued;

	s = rsched(c1, &r);
	cr_assert_eq(submit(s, "t", 1, "", 0, a, NULL), SCHED_OK);
	rctx_wait_started(&r, 1);
	cr_assert_eq(submit(s, "t", 2, "", 0, b, NULL), SCHED_OK);
	cr_expect_eq(state_of(s, b), JOB_QUEUED);
	reconf_ok(s, c2);
	/* Started inside sched_reconfigure, before it returned. */
	cr_expect_eq(state_of(s, b), JOB_RUNNING);
	sched_lock_counts(s, 0, &busy, &queued);
	cr_expect_eq(busy, 2);
	cr_expect_eq(queued, 0);
	rctx_wait_started(&r, 2);
	cr_expect_eq(state_of(s, a), JOB_RUNNING, "a kept running");
	rctx_release(&r, 2);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(state_of(s, a), JOB_DONE);
	cr_expect_eq(state_of(s, b), JOB_DONE);
	sched_destroy(s);
	freeconf(c1);
	freeconf(c2);
}

Test(sched, reload_shrink_waits_for_both)
{
	struct tlock	 t2[] = { { "L", 2, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct tlock	 t1[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "L", NULL } } };
	struct conf	*c2 = mkconf(t2, 1, tt, 1, 100);
	struct conf	*c1 = mkconf(t1, 1, tt, 1, 100);
	struct rctx	 r;
	struct sched	*s;
	char		 ids[6][JOB_ID_LEN + 1];
	int		 i, ndone, busy, queued;

	s = rsched(c2, &r);
	for (i = 0; i < 2; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL),
		    SCHED_OK);
	rctx_wait_started(&r, 2);
	for (i = 2; i < 6; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL),
		    SCHED_OK);
	reconf_ok(s, c1);
	sched_lock_counts(s, 0, &busy, &queued);
	cr_expect_eq(busy, 2, "running jobs keep their slots");
	cr_expect_eq(queued, 4);
	cr_expect_eq(state_of(s, ids[0]), JOB_RUNNING);
	cr_expect_eq(state_of(s, ids[1]), JOB_RUNNING);

	/* One of the two ends: busy 1 is not below 1 slot, nothing starts. */
	rctx_release(&r, 1);
	for (i = 0; i < 30000; i++) {
		ndone = (state_of(s, ids[0]) == JOB_DONE) +
		    (state_of(s, ids[1]) == JOB_DONE);
		if (ndone > 0)
			break;
		sleep_ms(1);
	}
	cr_assert_eq(ndone, 1);
	/* The end was dispatched under the mutex before it became visible. */
	for (i = 2; i < 6; i++)
		cr_expect_eq(state_of(s, ids[i]), JOB_QUEUED, "job %d", i);
	cr_expect_eq(rctx_started(&r), 2);
	audit_ok(s);

	/* The other ends: exactly one starts, then one at a time. */
	pthread_mutex_lock(&r.mu);
	r.max_inside = r.inside;	/* the old one, still leaving */
	pthread_mutex_unlock(&r.mu);
	rctx_release(&r, 1);
	rctx_wait_started(&r, 3);
	cr_expect_eq(state_of(s, ids[2]), JOB_RUNNING, "fifo: the first");
	sched_lock_counts(s, 0, &busy, &queued);
	cr_expect_eq(busy, 1);
	cr_expect_eq(queued, 3);
	rctx_release(&r, 1 << 20);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(rctx_started(&r), 6);
	cr_expect_leq(r.max_inside, 1, "more than 1 holder after the shrink");
	for (i = 0; i < 6; i++)
		cr_expect_eq(state_of(s, ids[i]), JOB_DONE);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c1);
	freeconf(c2);
}

Test(sched, reload_removed_task)
{
	struct tlock	 tl[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 t2[] = { { "a", { "L", NULL } }, { "b", { "L", NULL } } };
	struct ttask	 t1[] = { { "a", { "L", NULL } } };
	struct conf	*c2 = mkconf(tl, 1, t2, 2, 100);
	struct conf	*c1 = mkconf(tl, 1, t1, 1, 100);
	struct rctx	 r;
	struct sched	*s;
	struct sched_stats ss;
	char		 b0[JOB_ID_LEN + 1], b1[JOB_ID_LEN + 1];
	char		 b2[JOB_ID_LEN + 1], a1[JOB_ID_LEN + 1];
	char		 x[JOB_ID_LEN + 1], *e;

	s = rsched(c2, &r);
	cr_assert_eq(submit(s, "b", 1, "", 0, b0, NULL), SCHED_OK);
	rctx_wait_started(&r, 1);
	cr_assert_eq(submit(s, "b", 1, "", 0, b1, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "a", 2, "", 0, a1, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "b", 3, "", 0, b2, NULL), SCHED_OK);
	reconf_ok(s, c1);
	cr_expect_eq(state_of(s, b1), JOB_FAILED);
	cr_expect_eq(state_of(s, b2), JOB_FAILED);
	e = error_of(s, b1);
	cr_expect_str_eq(e, "task removed by reload");
	free(e);
	cr_expect_eq(state_of(s, b0), JOB_RUNNING, "running job kept");
	cr_expect_eq(state_of(s, a1), JOB_QUEUED, "kept task keeps its place");
	cr_expect_eq(submit(s, "b", 4, "", 0, x, NULL), SCHED_UNKNOWN_TASK);

	rctx_release(&r, 1 << 20);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(state_of(s, b0), JOB_DONE, "removed task's job completes");
	cr_expect_eq(state_of(s, a1), JOB_DONE);
	cr_expect_eq(rctx_started(&r), 2, "failed jobs never run");
	stats_take(s, &ss);
	cr_expect_eq(lock_st(&ss, "L")->ended[JOB_FAILED], 2);
	cr_expect_eq(lock_st(&ss, "L")->ended[JOB_DONE], 2);
	cr_expect_eq(lock_st(&ss, "L")->busy, 0);
	sched_stats_free(&ss);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c1);
	freeconf(c2);
}

Test(sched, reload_removed_lock)
{
	struct tlock	 l2[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO, NULL },
			    { "M", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct tlock	 l1[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 t2[] = { { "a", { "L", NULL } }, { "m", { "M", NULL } },
			    { "lm", { "L", "M", NULL } } };
	/* Task m now uses L; lm keeps L only. */
	struct ttask	 t1[] = { { "a", { "L", NULL } }, { "m", { "L", NULL } },
			    { "lm", { "L", NULL } } };
	struct conf	*c2 = mkconf(l2, 2, t2, 3, 100);
	struct conf	*c1 = mkconf(l1, 1, t1, 3, 100);
	struct rctx	 r;
	struct sched	*s;
	char		 m0[JOB_ID_LEN + 1], m1[JOB_ID_LEN + 1];
	char		 lm[JOB_ID_LEN + 1], a1[JOB_ID_LEN + 1];
	char		 m2[JOB_ID_LEN + 1], *e;
	int		 busy, queued;

	s = rsched(c2, &r);
	cr_assert_eq(submit(s, "m", 1, "", 0, m0, NULL), SCHED_OK);
	rctx_wait_started(&r, 1);
	cr_assert_eq(submit(s, "m", 1, "", 0, m1, NULL), SCHED_OK);
	cr_assert_eq(submit(s, "lm", 2, "", 0, lm, NULL), SCHED_OK);
	cr_expect_eq(state_of(s, m1), JOB_QUEUED);
	cr_expect_eq(state_of(s, lm), JOB_QUEUED);
	reconf_ok(s, c1);
	cr_expect_eq(state_of(s, m1), JOB_FAILED);
	cr_expect_eq(state_of(s, lm), JOB_FAILED);
	e = error_of(s, m1);
	cr_expect_str_eq(e, "lock M removed by reload");
	free(e);
	e = error_of(s, lm);
	cr_expect_str_eq(e, "lock M removed by reload");
	free(e);
	/* m0 keeps running; its slot of M is forgotten, L is free. */
	cr_expect_eq(state_of(s, m0), JOB_RUNNING);
	sched_lock_counts(s, 0, &busy, &queued);
	cr_expect_eq(busy, 0);
	cr_assert_eq(submit(s, "a", 3, "", 0, a1, NULL), SCHED_OK);
	cr_expect_eq(state_of(s, a1), JOB_RUNNING, "L free for a new job");
	cr_assert_eq(submit(s, "m", 4, "", 0, m2, NULL), SCHED_OK);
	cr_expect_eq(state_of(s, m2), JOB_QUEUED, "m now waits on L");

	rctx_release(&r, 1 << 20);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_expect_eq(state_of(s, m0), JOB_DONE, "removed lock's job completes");
	cr_expect_eq(state_of(s, a1), JOB_DONE);
	cr_expect_eq(state_of(s, m2), JOB_DONE);
	cr_expect_eq(rctx_started(&r), 3);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c1);
	freeconf(c2);
}

Test(sched, reload_queue_timeout_order_for_new_jobs, .timeout = 60)
{
	struct tlock	 l1[] = { { "L", 1, 1, 0, CONF_ORDER_FIFO, NULL } };
	struct tlock	 l2[] = { { "L", 1, 3, 1, CONF_ORDER_FAIR, NULL } };
	struct tlock	 l3[] = { { "L", 1, 3, 0, CONF_ORDER_FAIR, NULL } };
	struct ttask	 tt[] = { { "t", { "L", NULL } } };
	struct conf	*c1 = mkconf(l1, 1, tt, 1, 100);
	struct conf	*c2 = mkconf(l2, 1, tt, 1, 100);
	struct conf	*c3 = mkconf(l3, 1, tt, 1, 100);
	struct rctx	 r;
	struct sched	*s;
	char		 ids[8][JOB_ID_LEN + 1], *e;
	int		 i, n;

	s = rsched(c1, &r);
	cr_assert_eq(submit(s, "t", 9, "", 0, ids[0], NULL), SCHED_OK);
	rctx_wait_started(&r, 1);
	cr_assert_eq(submit(s, "t", 1, "", 0, ids[1], NULL), SCHED_OK);
	cr_expect_eq(submit(s, "t", 1, "", 0, ids[2], NULL), SCHED_QUEUE_FULL,
	    "queue 1");
	/* queue 1 -> 3, wait_timeout 0 -> 1 s, fifo -> fair. */
	reconf_ok(s, c2);
	cr_assert_eq(submit(s, "t", 1, "", 0, ids[2], NULL), SCHED_OK);
	cr_assert_eq(submit(s, "t", 1, "", 0, ids[3], NULL), SCHED_OK);
	cr_expect_eq(submit(s, "t", 2, "", 0, ids[4], NULL), SCHED_QUEUE_FULL,
	    "queue 3");

	/* The 1 s wait_timeout now applies: all three waiters expire. */
	for (i = 0; i < 1500 && state_of(s, ids[3]) == JOB_QUEUED; i++)
		sleep_ms(10);
	for (i = 1; i <= 3; i++)
		cr_expect_eq(state_of(s, ids[i]), JOB_EXPIRED, "job %d", i);
	e = error_of(s, ids[3]);
	cr_expect(strstr(e, "waited longer than 1 s") != NULL, "%s", e);
	free(e);
	/* No timeout again, so a slow machine cannot expire what follows. */
	reconf_ok(s, c3);

	/* fair now: session 1 queues 3 jobs, then session 2 one; they
	 * alternate (fifo would run session 2 last). */
	for (i = 4; i < 7; i++)
		cr_assert_eq(submit(s, "t", 1, "", 0, ids[i], NULL), SCHED_OK);
	cr_expect_eq(submit(s, "t", 2, "", 0, ids[7], NULL), SCHED_QUEUE_FULL);
	/* Room for session 2: end the running job; wait for one start. */
	n = rctx_started(&r);
	rctx_release(&r, 1);
	rctx_wait_started(&r, n + 1);
	cr_expect_str_eq(r.ids[n], ids[4]);
	cr_assert_eq(submit(s, "t", 2, "", 0, ids[7], NULL), SCHED_OK);
	rctx_release(&r, 1 << 20);
	cr_assert_eq(sched_drain(s, 30000), 0);
	cr_assert_eq(rctx_started(&r), n + 4);
	cr_expect_str_eq(r.ids[n + 1], ids[7], "session 2 goes second");
	cr_expect_str_eq(r.ids[n + 2], ids[5]);
	cr_expect_str_eq(r.ids[n + 3], ids[6]);
	audit_ok(s);
	sched_destroy(s);
	freeconf(c1);
	freeconf(c2);
	freeconf(c3);
}

/*
 * 40 reloads while 4 threads submit. Lock L alternates between 1..3 slots,
 * fifo and fair, queue 4..12; task b comes and goes. The hook checks that
 * the jobs inside never exceed the most slots configured at any moment
 * between the job's submission and its start (gen0..gen1 below): holders
 * at a start are at most the slots then, and every later holder started
 * after it under a config of that span. In the end every admitted job is
 * final, ran at most once and only if done.
 */
#define RL_RELOADS	40
#define RL_THREADS	4
#define RL_PER		150
#define RL_GENS		(2 * RL_RELOADS + 2)

struct rl {
	struct sched	*s;
	_Atomic int	 gen;			/* current config generation */
	int		 cap[RL_GENS];		/* most slots in generation g */
	_Atomic int	 inside, excess, done, stop;
	_Atomic int	 ran[RL_THREADS * RL_PER];
	char		 ids[RL_THREADS][RL_PER][JOB_ID_LEN + 1];
	int		 idx[RL_THREADS][RL_PER];
	int		 nids[RL_THREADS];
};

static struct rl	 rl;

static int
rl_hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	const char	*p;
	int		 g0 = 0, g1, g, cap = 0, in, k = -1;

	(void)slots;
	(void)device;
	(void)arg;
	(void)err;
	(void)errlen;
	in = atomic_fetch_add(&rl.inside, 1) + 1;
	g1 = atomic_load(&rl.gen);
	if (job->params != NULL && (p = strstr(job->params, "\"g\":")) != NULL)
		g0 = atoi(p + 4);
	if (job->params != NULL && (p = strstr(job->params, "\"k\":")) != NULL)
		k = atoi(p + 4);
	for (g = g0; g <= g1 && g < RL_GENS; g++)
		if (rl.cap[g] > cap)
			cap = rl.cap[g];
	if (in > cap)
		atomic_fetch_add(&rl.excess, 1);
	if (k >= 0 && k < RL_THREADS * RL_PER)
		atomic_fetch_add(&rl.ran[k], 1);
	sleep_ms((double)(k % 4) * 0.25);
	atomic_fetch_sub(&rl.inside, 1);
	return 0;
}

static void *
rl_submitter(void *arg)
{
	int		 t = (int)(intptr_t)arg, n = 0, tries = 0, retry;
	unsigned	 seed = 1234u + (unsigned)t;
	char		 sess[JOB_SESSION_LEN + 1], pj[64];
	enum sched_rc	 rc;

	while (n < RL_PER && tries++ < 20000 && !atomic_load(&rl.stop)) {
		sid(sess, t * 10 + (int)(rand_r(&seed) % 3));
		snprintf(pj, sizeof(pj), "{\"ms\":0,\"g\":%d,\"k\":%d}",
		    atomic_load(&rl.gen), t * RL_PER + n);
		rc = sched_submit(rl.s, rand_r(&seed) % 2 ? "a" : "b", NULL,
		    sess, "", pj, rl.ids[t][n], &retry);
		if (rc == SCHED_OK) {
			rl.idx[t][n] = t * RL_PER + n;
			n++;
		} else if (rc != SCHED_QUEUE_FULL &&
		    rc != SCHED_SESSION_LIMIT && rc != SCHED_UNKNOWN_TASK)
			return (void *)1;
		if (rand_r(&seed) % 4 == 0)
			sleep_ms(0.2);
	}
	rl.nids[t] = n;
	return NULL;
}

Test(sched, reload_40_times_under_load, .timeout = 300)
{
	struct ttask	 tab[] = { { "a", { "L", NULL } }, { "b", { "L", NULL } } };
	struct tlock	 tl[1];
	struct conf	*c[RL_RELOADS + 1];
	struct sched_opts o;
	struct job	 j;
	pthread_t	 th[RL_THREADS];
	char		 err[256];
	void		*ret;
	int		 i, t, k, slots, prev, nfinal = 0, nbad = 0;

	memset(&rl, 0, sizeof(rl));
	for (i = 0; i <= RL_RELOADS; i++) {
		tl[0] = (struct tlock){ "L", 1 + (i * 7) % 3, 4 + (i % 5) * 2,
		    0, i % 2 ? CONF_ORDER_FAIR : CONF_ORDER_FIFO, NULL };
		/* Task b present in 2 configs of 3. */
		c[i] = mkconf(tl, 1, tab, i % 3 == 2 ? 1 : 2, 6);
	}
	rl.cap[0] = c[0]->locks[0].slots;
	memset(&o, 0, sizeof(o));
	o.run_hook = rl_hook;
	o.threads = 4;
	rl.s = sched_create(c[0], NULL, &o, err, sizeof(err));
	cr_assert(rl.s != NULL, "%s", err);
	sched_audit_starts(rl.s, 1);
	for (t = 0; t < RL_THREADS; t++)
		cr_assert_eq(pthread_create(&th[t], NULL, rl_submitter,
		    (void *)(intptr_t)t), 0);
	for (i = 1; i <= RL_RELOADS; i++) {
		sleep_ms(3);
		prev = c[i - 1]->locks[0].slots;
		slots = c[i]->locks[0].slots;
		/* During the reload either config may apply. */
		rl.cap[2 * i - 1] = prev > slots ? prev : slots;
		atomic_store(&rl.gen, 2 * i - 1);
		cr_assert_eq(sched_reconfigure(rl.s, c[i], err, sizeof(err)),
		    0, "%s", err);
		rl.cap[2 * i] = slots;
		atomic_store(&rl.gen, 2 * i);
		if (sched_audit(rl.s, err, sizeof(err)) != 0)
			nbad++;
	}
	atomic_store(&rl.stop, 1);
	for (t = 0; t < RL_THREADS; t++) {
		pthread_join(th[t], &ret);
		cr_expect(ret == NULL, "submitter %d failed", t);
	}
	cr_expect_eq(sched_drain(rl.s, 120000), 0, "stall after reloads");
	cr_expect_eq(nbad, 0, "audit after a reload: %s", err);
	audit_ok(rl.s);
	cr_expect_eq(atomic_load(&rl.excess), 0,
	    "more holders than slots at a start");
	for (t = 0; t < RL_THREADS; t++)
		for (k = 0; k < rl.nids[t]; k++) {
			cr_assert_eq(sched_lookup(rl.s, rl.ids[t][k], NULL, &j),
			    SCHED_OK);
			cr_expect(job_state_final(j.state), "job not final");
			cr_expect(j.state == JOB_DONE ||
			    (j.state == JOB_FAILED && j.error != NULL &&
			    strcmp(j.error, "task removed by reload") == 0),
			    "state %d", j.state);
			cr_expect_eq(atomic_load(&rl.ran[rl.idx[t][k]]),
			    j.state == JOB_DONE ? 1 : 0);
			nfinal++;
			job_clear(&j);
		}
	cr_log_info("reload: %d jobs over %d reloads", nfinal, RL_RELOADS);
	cr_expect_gt(nfinal, 0);
	sched_destroy(rl.s);
	for (i = 0; i <= RL_RELOADS; i++)
		freeconf(c[i]);
}

/* ---------------------------------------------------------------------- */
/* An executor: workers that get ready later, on their own thread */

#define FX_MAX	64

struct fexec {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct sched	*s;
	char		 task[FX_MAX][16];
	int		 slot[FX_MAX];
	int		 nwant, served, stop;
	atomic_int	 ran, not_ready, over;
	atomic_int	 busy[4];
	int		 ready[2][4];	/* [task t0/t1][slot], under mu */
};

static void
fx_want(void *arg, const char *task, int slot)
{
	struct fexec	*x = arg;

	/* Under the scheduler's mutex: only note it, for the thread. */
	pthread_mutex_lock(&x->mu);
	if (x->nwant < FX_MAX) {
		snprintf(x->task[x->nwant], sizeof(x->task[0]), "%s", task);
		x->slot[x->nwant++] = slot;
		pthread_cond_signal(&x->cv);
	}
	pthread_mutex_unlock(&x->mu);
}

static void
fx_run(void *arg, const struct sched_run *run, struct sched_outcome *out)
{
	struct fexec	*x = arg;
	int		 t = run->job->task[1] - '0';

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&x->mu);
	if (!x->ready[t][run->slot])
		atomic_fetch_add(&x->not_ready, 1);
	pthread_mutex_unlock(&x->mu);
	if (atomic_fetch_add(&x->busy[run->slot], 1) != 0)
		atomic_fetch_add(&x->over, 1);
	sleep_ms(1);
	atomic_fetch_sub(&x->busy[run->slot], 1);
	atomic_fetch_add(&x->ran, 1);
	out->state = JOB_DONE;
}

static int
fx_cancel(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return -1;
}

/* The "supervisor": a worker is ready 20 ms after it was asked for. */
static void *
fx_main(void *arg)
{
	struct fexec	*x = arg;
	char		 task[16];
	int		 slot;

	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (x->served == x->nwant && !x->stop)
			pthread_cond_wait(&x->cv, &x->mu);
		if (x->stop)
			break;
		snprintf(task, sizeof(task), "%s", x->task[x->served]);
		slot = x->slot[x->served++];
		pthread_mutex_unlock(&x->mu);
		sleep_ms(20);
		pthread_mutex_lock(&x->mu);
		x->ready[task[1] - '0'][slot] = 1;
		pthread_mutex_unlock(&x->mu);
		sched_worker_ready(x->s, task, slot, "cpu");
		pthread_mutex_lock(&x->mu);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/*
 * Two tasks on one 3-slot lock through an executor whose workers are
 * ready only 20 ms after the scheduler asks: no job ever runs on a
 * worker that was not ready, no slot holds two jobs, every job ends, and
 * the audit holds all along.
 */
Test(sched, exec_jobs_wait_for_ready_workers, .timeout = 120)
{
	struct tlock		 tl[] = { { "L", 3, 400, 0, CONF_ORDER_FAIR,
				    NULL } };
	struct ttask		 tt[] = { { "t0", { "L", NULL } },
				    { "t1", { "L", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 2, 1000);
	static struct fexec	 x;
	struct sched_exec	 ops = { fx_want, fx_run, fx_cancel, &x };
	struct sched_opts	 o;
	pthread_t		 th;
	char			 id[JOB_ID_LEN + 1], err[256];
	int			 i;

	memset(&x, 0, sizeof(x));
	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	memset(&o, 0, sizeof(o));
	o.exec = &ops;
	x.s = sched_create(c, NULL, &o, err, sizeof(err));
	cr_assert(x.s != NULL, "%s", err);
	sched_audit_starts(x.s, 1);
	cr_assert_eq(pthread_create(&th, NULL, fx_main, &x), 0);
	for (i = 0; i < 300; i++) {
		cr_assert_eq(submit(x.s, i % 3 == 0 ? "t1" : "t0", i % 7, "",
		    1, id, NULL), SCHED_OK);
		if (i % 50 == 0)
			audit_ok(x.s);
	}
	cr_assert_eq(sched_drain(x.s, 60000), 0);
	audit_ok(x.s);
	cr_expect_eq(atomic_load(&x.ran), 300);
	cr_expect_eq(atomic_load(&x.not_ready), 0, "a job ran on a worker "
	    "that was not ready");
	cr_expect_eq(atomic_load(&x.over), 0, "a slot ran two jobs at once");
	cr_expect_leq(x.nwant, 6, "a worker asked for more than once");
	pthread_mutex_lock(&x.mu);
	x.stop = 1;
	pthread_cond_signal(&x.cv);
	pthread_mutex_unlock(&x.mu);
	pthread_join(th, NULL);
	sched_destroy(x.s);
	freeconf(c);
}

/* A task whose workers fail to start: its jobs fail at once with why. */
Test(sched, exec_failing_task_fails_its_jobs_at_once, .timeout = 60)
{
	struct tlock		 tl[] = { { "L", 1, 10, 0, CONF_ORDER_FIFO,
				    NULL } };
	struct ttask		 tt[] = { { "t0", { "L", NULL } } };
	struct conf		*c = mkconf(tl, 1, tt, 1, 100);
	static struct fexec	 x;
	struct sched_exec	 ops = { fx_want, fx_run, fx_cancel, &x };
	struct sched_opts	 o;
	struct job		 j;
	char			 id[JOB_ID_LEN + 1], err[256];

	memset(&x, 0, sizeof(x));
	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	memset(&o, 0, sizeof(o));
	o.exec = &ops;
	x.s = sched_create(c, NULL, &o, err, sizeof(err));
	cr_assert(x.s != NULL, "%s", err);
	cr_assert_eq(submit(x.s, "t0", 1, "", 1, id, NULL), SCHED_OK);
	cr_expect_eq(state_of(x.s, id), JOB_QUEUED, "waits for its worker");
	cr_expect_eq(x.nwant, 1, "and asked for one");
	sched_task_failing(x.s, "t0", "worker exited with status 3");
	cr_assert_eq(sched_drain(x.s, 10000), 0);
	cr_assert_eq(sched_lookup(x.s, id, NULL, &j), SCHED_OK);
	cr_expect_eq(j.state, JOB_FAILED);
	cr_expect_str_eq(j.error, "worker exited with status 3");
	job_clear(&j);
	cr_expect_eq(atomic_load(&x.ran), 0, "it never reached a worker");
	sched_destroy(x.s);
	freeconf(c);
}

/* ---------------------------------------------------------------------- */
/* Live updates: what sched_events_take hands the publisher. */

static atomic_int notified;

static void
count_notify(void *arg)
{
	(void)arg;
	atomic_fetch_add(&notified, 1);
}

/* Takes what changed (waiting out the pass interval); the count. */
static size_t
take_all(struct sched *s, char (*ids)[JOB_ID_LEN + 1], size_t max,
    int *gauges)
{
	int	 again;
	size_t	 n;

	usleep(110000);
	n = sched_events_take(s, ids, max, gauges, &again);
	return n;
}

static int
has_id(char (*ids)[JOB_ID_LEN + 1], size_t n, const char *id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

Test(sched, events_mark_state_progress_and_places, .timeout = 60)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 ids[4][JOB_ID_LEN + 1], got[16][JOB_ID_LEN + 1];
	size_t		 n;
	int		 i, gauges;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	atomic_store(&notified, 0);
	sched_events_attach(s, count_notify, NULL);
	for (i = 0; i < 4; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	cr_expect_gt(atomic_load(&notified), 0, "the publisher was woken");
	n = take_all(s, got, 16, &gauges);
	cr_expect_eq(n, 4, "the running job and the three new waiters");
	for (i = 0; i < 4; i++)
		cr_expect(has_id(got, n, ids[i]), "%d", i);
	cr_expect(gauges);
	cr_expect_eq(take_all(s, got, 16, &gauges), 0, "nothing new");
	cr_expect_not(gauges);
	sched_job_progress(s, ids[0], 0.5, "half");
	n = take_all(s, got, 16, &gauges);
	cr_expect(n == 1 && strcmp(got[0], ids[0]) == 0, "progress: one");
	cr_expect_eq(sched_cancel(s, ids[3], NULL), SCHED_OK);
	n = take_all(s, got, 16, &gauges);
	cr_expect(has_id(got, n, ids[3]), "the cancelled job");
	cr_expect_not(has_id(got, n, ids[1]), "whose place did not move");
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	n = take_all(s, got, 16, &gauges);
	for (i = 0; i < 3; i++)
		cr_expect(has_id(got, n, ids[i]), "ended: %d", i);
	sched_events_attach(s, NULL, NULL);
	sched_destroy(s);
	freeconf(c);
}

/*
 * Whether a job's channel holds a message: not before nginx took it
 * (asking marks it again, so that it goes out soon), nor when handed to
 * the publisher only; yes once published, and no more when nginx lost
 * what it held since (since_ns after the publish).
 */
Test(sched, events_fresh_once_nginx_took_a_job, .timeout = 60)
{
	struct tlock	 tl[] = { { "one", 1, 10, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, 100);
	struct hctx	 h;
	struct sched	*s;
	char		 ids[2][JOB_ID_LEN + 1], got[16][JOB_ID_LEN + 1];
	size_t		 n;
	int64_t		 before;
	int		 i, gauges;

	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	sched_events_attach(s, count_notify, NULL);
	for (i = 0; i < 2; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	before = sched_mono_ns();
	cr_expect_not(sched_events_fresh(s, ids[1], 0), "never published");
	n = take_all(s, got, 16, &gauges);
	cr_expect(has_id(got, n, ids[1]));
	cr_expect_not(sched_events_fresh(s, ids[1], 0), "taken, not published");
	cr_expect(has_id(got, take_all(s, got, 16, &gauges), ids[1]),
	    "asking marked it again");
	sched_events_published(s, ids[1]);
	cr_expect(sched_events_fresh(s, ids[1], before), "published");
	cr_expect_eq(take_all(s, got, 16, &gauges), 0, "nothing marked");
	cr_expect_not(sched_events_fresh(s, ids[1], sched_mono_ns() + 1),
	    "nginx lost it after the publish");
	n = take_all(s, got, 16, &gauges);
	cr_expect(n == 1 && strcmp(got[0], ids[1]) == 0, "marked again: %zu",
	    n);
	cr_expect_not(sched_events_fresh(s, "no-such-job", 0));
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 30000), 0);
	sched_events_attach(s, NULL, NULL);
	sched_destroy(s);
	freeconf(c);
}

/*
 * 2000 waiters: the head leaving moves every place by one, and only the
 * few whose shown place or ETA moved visibly are handed over.
 */
/* Lets every job run, then frees what the long-queue tests made. */
static void
events_done(struct sched *s, struct hctx *h, struct conf *c, void *ids,
    void *got)
{
	hctx_open(h);
	cr_assert_eq(sched_drain(s, 60000), 0);
	sched_events_attach(s, NULL, NULL);
	sched_destroy(s);
	freeconf(c);
	free(ids);
	free(got);
}

Test(sched, events_one_dispatch_in_a_long_queue_is_a_few_events,
    .timeout = 120)
{
	enum { N = 2000 };
	struct tlock	 tl[] = { { "one", 1, N + 10, 0, CONF_ORDER_FIFO,
			    NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, N + 10);
	struct hctx	 h;
	struct sched	*s;
	char		(*ids)[JOB_ID_LEN + 1], (*got)[JOB_ID_LEN + 1];
	size_t		 n, total = 0;
	int		 i, gauges, again;

	cr_assert_not_null(ids = calloc(N + 1, sizeof(*ids)));
	cr_assert_not_null(got = calloc(N + 1, sizeof(*got)));
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	sched_events_attach(s, count_notify, NULL);
	for (i = 0; i <= N; i++)
		cr_assert_eq(submit(s, "t", i, "", 0, ids[i], NULL), SCHED_OK);
	hctx_wait_inside(&h, 1);
	/* The first pass shows everyone a place: all of them, in batches. */
	usleep(110000);
	do {
		n = sched_events_take(s, got, 256, &gauges, &again);
		total += n;
	} while (n > 0);
	cr_expect_eq(total, N + 1);
	cr_expect_eq(sched_cancel(s, ids[1], NULL), SCHED_OK); /* the head */
	n = take_all(s, got, N + 1, &gauges);
	cr_expect_geq(n, 10, "the first places moved");
	cr_expect_leq(n, 40, "%zu of %d waiters for one move", n, N);
	events_done(s, &h, c, ids, got);
}

/*
 * A queue longer than one pass looks at (issue 16): passes go on, a
 * slice each, until every waiter has been shown a place, in as many
 * passes as slices; then one move of the head marks the first places
 * (the head of the queue is in every pass) and few others.
 */
static void
events_long_queue(enum conf_order order, int passes)
{
	enum { N = 9000 };
	struct tlock	 tl[] = { { "one", 1, N + 10, 0, order, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, N + 10);
	struct hctx	 h;
	struct sched	*s;
	char		(*ids)[JOB_ID_LEN + 1], (*got)[JOB_ID_LEN + 1];
	size_t		 n, total = 0;
	int		 i, gauges, again, pass = 0;

	cr_assert_not_null(ids = calloc(N + 1, sizeof(*ids)));
	cr_assert_not_null(got = calloc(N + 1, sizeof(*got)));
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	sched_events_attach(s, count_notify, NULL);
	for (i = 0; i <= N; i++)
		cr_assert_eq(submit(s, "t", i % 7, "", 0, ids[i], NULL),
		    SCHED_OK);
	hctx_wait_inside(&h, 1);
	do {
		usleep(110000);
		pass++;
		do {
			n = sched_events_take(s, got, 512, &gauges, &again);
			total += n;
		} while (n > 0 && again == 0);
	} while (again > 0 && pass < 100);
	cr_expect_eq(again, -1, "the passes end");
	cr_expect_eq(pass, passes, "one slice a pass");
	cr_expect_eq(total, N + 1, "every job, running or waiting, once");
	cr_expect_eq(sched_cancel(s, ids[1], NULL), SCHED_OK); /* the head */
	for (i = 0, total = 0; i < passes; i++)
		total += take_all(s, got, N + 1, &gauges);
	cr_expect_geq(total, 10, "the first places moved");
	cr_expect_leq(total, 80, "%zu of %d waiters for one move", total, N);
	audit_ok(s);
	events_done(s, &h, c, ids, got);
}

Test(sched, events_long_fifo_queue_in_slices, .timeout = 120)
{
	events_long_queue(CONF_ORDER_FIFO, 3);	/* 9,000 / 4,096 */
}

Test(sched, events_long_fair_queue_in_slices, .timeout = 120)
{
	events_long_queue(CONF_ORDER_FAIR, 9);	/* 9,000 / 1,024 */
}

/*
 * 70,000 waiters (issue 16): the id and nonce tables grow past their
 * first 16,384 buckets twice; every job is still found by id, by its
 * nonce, at its place, and the audit's walk agrees with the treaps.
 */
Test(sched, index_grows_with_the_queue, .timeout = 120)
{
	enum { N = 70000 };
	struct tlock	 tl[] = { { "one", 1, N, 0, CONF_ORDER_FIFO, NULL } };
	struct ttask	 tt[] = { { "t", { "one", NULL } } };
	struct conf	*c = mkconf(tl, 1, tt, 1, N + 1);
	struct hctx	 h;
	struct sched	*s;
	struct job	 j;
	char		(*ids)[JOB_ID_LEN + 1], again[JOB_ID_LEN + 1];
	char		 nonce[16];
	int		 i;

	cr_assert_not_null(ids = calloc(N + 1, sizeof(*ids)));
	hctx_init(&h, 1);
	s = mksched(c, &h, 0);
	for (i = 0; i <= N; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		cr_assert_eq(submit(s, "t", 1, nonce, 0, ids[i], NULL),
		    SCHED_OK);
	}
	hctx_wait_inside(&h, 1);
	for (i = 0; i <= N; i += 7) {
		cr_assert_eq(sched_lookup(s, ids[i], NULL, &j), SCHED_OK);
		cr_assert_eq(j.position, i == 0 ? -1 : i - 1, "job %d", i);
		job_clear(&j);
		snprintf(nonce, sizeof(nonce), "n%d", i);
		cr_assert_eq(submit(s, "t", 1, nonce, 0, again, NULL),
		    SCHED_OK);
		cr_assert_str_eq(again, ids[i], "the nonce's job");
	}
	audit_ok(s);
	cr_assert_eq(sched_cancel(s, ids[N], NULL), SCHED_OK);
	hctx_open(&h);
	cr_assert_eq(sched_drain(s, 60000), 0);
	sched_destroy(s);
	freeconf(c);
	free(ids);
}
