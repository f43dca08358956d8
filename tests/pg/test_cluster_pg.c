/*
 * test_cluster_pg: the cluster's node (fcgi/cluster.c) against a
 * PostgreSQL of its own: joining takes a new generation per start; a
 * node that stopped renewing is reaped by another (its running job
 * failed "node lost", its cluster slot freed, an "e ID" notification);
 * a node whose row is lost or taken by a newer life is fenced, once;
 * notifications reach the hooks, malformed ones do not; the database
 * going away and back is survived, and cluster_stop returns while it is
 * away. Run through tests/pg/criterion-pg one test at a time (-j1): the
 * channel is the database's, and one test stops the server.
 *
 * Waits are for an event, with a generous limit that only a hang meets.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../unit/rm_tree.h"
#include "cluster.h"
#include "conf.h"
#include "journal.h"
#include "pg_schema.h"

#define ID1	"0123456789abcdef0123456789abcdef"
#define ID2	"fedcba9876543210fedcba9876543210"
#define ID3	"00000000000000000000000000000003"
#define ID4	"00000000000000000000000000000004"
#define WAIT_S	60	/* only a hang takes this long */
#define IDS_MAX	16

static char	 tdir[64];
static char	 tdb[PG_SCHEMA_CONNINFO_MAX];

/* The schema a cluster expects: the journal makes it. */
static void
setup(void)
{
	struct journal	*jr;
	char		 err[256];

	pg_schema_new(tdb, sizeof(tdb));
	strcpy(tdir, "/tmp/sluice-cluster-pg-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir), "mkdtemp: %s", strerror(errno));
	jr = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_assert_not_null(jr, "journal_open_db: %s", err);
	journal_close(jr);
}

static void
teardown(void)
{
	if (tdir[0] != '\0')
		rm_tree(tdir);
}

TestSuite(cluster, .init = setup, .fini = teardown);

/* What one node's hooks saw. */
struct rec {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 queued, started, ended, cancel, polls, fenced;
	char		 queued_id[IDS_MAX][JOB_ID_LEN + 1];
	char		 started_id[IDS_MAX][JOB_ID_LEN + 1];
	char		 started_node[IDS_MAX][CONF_NODE_MAX + 1];
	char		 ended_id[IDS_MAX][JOB_ID_LEN + 1];
	char		 cancel_id[IDS_MAX][JOB_ID_LEN + 1];
	atomic_int	 stopped;	/* set once cluster_stop returned */
	atomic_int	 late;		/* hooks called after that */
};

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
}

static void
rec_free(struct rec *r)
{
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
}

/* Records id (and node) in slot *n of ids; under r->mu. */
static void
rec_add(struct rec *r, int *n, char ids[][JOB_ID_LEN + 1], const char *id)
{
	if (atomic_load(&r->stopped))
		atomic_fetch_add(&r->late, 1);
	if (*n < IDS_MAX && ids != NULL)
		snprintf(ids[*n], JOB_ID_LEN + 1, "%s", id);
	(*n)++;
	pthread_cond_broadcast(&r->cv);
}

static void
hook_queued(void *arg, const char *id)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	rec_add(r, &r->queued, r->queued_id, id);
	pthread_mutex_unlock(&r->mu);
}

static void
hook_started(void *arg, const char *id, const char *node)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	if (r->started < IDS_MAX)
		snprintf(r->started_node[r->started], CONF_NODE_MAX + 1, "%s",
		    node);
	rec_add(r, &r->started, r->started_id, id);
	pthread_mutex_unlock(&r->mu);
}

static void
hook_ended(void *arg, const char *id)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	rec_add(r, &r->ended, r->ended_id, id);
	pthread_mutex_unlock(&r->mu);
}

static void
hook_cancel(void *arg, const char *id)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	rec_add(r, &r->cancel, r->cancel_id, id);
	pthread_mutex_unlock(&r->mu);
}

static void
hook_poll(void *arg)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	rec_add(r, &r->polls, NULL, NULL);
	pthread_mutex_unlock(&r->mu);
}

static void
hook_fenced(void *arg)
{
	struct rec	*r = arg;

	pthread_mutex_lock(&r->mu);
	rec_add(r, &r->fenced, NULL, NULL);
	pthread_mutex_unlock(&r->mu);
}

/* Waits until *counter >= n (read under r->mu): 1, or 0 after WAIT_S. */
static int
rec_wait(struct rec *r, const int *counter, int n)
{
	struct timespec	 ts;
	int		 ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_S;
	pthread_mutex_lock(&r->mu);
	while (*counter < n && pthread_cond_timedwait(&r->cv, &r->mu,
	    &ts) == 0)
		;
	ok = *counter >= n;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* *counter now, under r->mu. */
static int
rec_get(struct rec *r, const int *counter)
{
	int	 v;

	pthread_mutex_lock(&r->mu);
	v = *counter;
	pthread_mutex_unlock(&r->mu);
	return v;
}

/* Starts node name with lease seconds, its hooks recording into r. */
static struct cluster *
start(const char *name, int lease, struct rec *r)
{
	struct cluster_hooks	 h = { hook_queued, hook_started, hook_ended,
	    hook_cancel, hook_poll, hook_fenced, r };
	struct conf		 cf;
	struct cluster		*c;
	char			 err[256];

	atomic_store(&r->stopped, 0);	/* r may record a node's next life */
	memset(&cf, 0, sizeof(cf));
	cf.cluster_database = tdb;
	cf.cluster_node = (char *)name;
	cf.cluster_lease = lease;
	c = cluster_start(&cf, &h, err, sizeof(err));
	cr_assert_not_null(c, "cluster_start %s: %s", name, err);
	return c;
}

/* Stops c and marks r: any hook after this is late. */
static void
stop(struct cluster *c, struct rec *r)
{
	cluster_stop(c);
	atomic_store(&r->stopped, 1);
}

/* Polls sql (one integer) until it is want: 1, or 0 after WAIT_S. */
static int
db_wait(const char *sql, long long want)
{
	int	 i;

	for (i = 0; i < WAIT_S * 10; i++) {
		if (pg_schema_int(tdb, sql) == want)
			return 1;
		usleep(100000);
	}
	return 0;
}

/* Sends a notification on the cluster's channel from a plain connection. */
static void
notify(const char *payload)
{
	PGconn		*c = PQconnectdb(tdb);
	const char	*v[1] = { payload };
	PGresult	*r;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexecParams(c, "SELECT pg_notify('" CLUSTER_CHANNEL "', $1)", 1,
	    NULL, v, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* pg_ctl stop or start on the harness's server (SLUICE_TEST_PG_CTL). */
static void
pg_ctl(const char *what)
{
	const char	*ctl = getenv("SLUICE_TEST_PG_CTL");
	char		 cmd[1024];

	cr_assert_not_null(ctl, "SLUICE_TEST_PG_CTL is not set");
	snprintf(cmd, sizeof(cmd), "%s %s", ctl, what);
	cr_assert_eq(system(cmd), 0, "%s failed", cmd);
}

Test(cluster, join_takes_a_new_generation_per_start, .timeout = 120)
{
	struct cluster	*a, *a2;
	struct rec	 r, r2;

	rec_init(&r);
	rec_init(&r2);
	a = start("gpu-a", 15, &r);
	cr_expect_eq(cluster_generation(a), 1);
	cr_expect_eq(cluster_fenced(a), 0);
	stop(a, &r);
	a = start("gpu-a", 15, &r);
	cr_expect_eq(cluster_generation(a), 2, "a restart is a new life");
	cr_expect_eq(pg_schema_int(tdb, "SELECT generation FROM nodes WHERE "
	    "name = 'gpu-a' AND NOT lost"), 2);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM nodes"), 1);

	/* A second start of the name while the first runs: the first is
	   fenced at its next renewal (lease 3: a tick a second). */
	stop(a, &r);
	a = start("gpu-a", 3, &r);
	cr_expect_eq(cluster_generation(a), 3);
	a2 = start("gpu-a", 3, &r2);
	cr_expect_eq(cluster_generation(a2), 4);
	cr_expect(rec_wait(&r, &r.fenced, 1), "the older life not fenced");
	cr_expect_eq(cluster_fenced(a), 1);
	cr_expect_eq(cluster_fenced(a2), 0);
	cr_expect_eq(rec_get(&r2, &r2.fenced), 0);
	stop(a, &r);
	stop(a2, &r2);
	cr_expect_eq(atomic_load(&r.late), 0, "a hook after cluster_stop");
	cr_expect_eq(atomic_load(&r2.late), 0, "a hook after cluster_stop");
	rec_free(&r);
	rec_free(&r2);
}

Test(cluster, start_without_database_names_it)
{
	struct cluster_hooks	 h = { 0 };
	struct conf		 cf;
	char			 err[256];

	memset(&cf, 0, sizeof(cf));
	cf.cluster_database = "host=/nonexistent-sluice-dir dbname=x";
	cf.cluster_node = "gpu-a";
	cf.cluster_lease = 15;
	cr_expect_null(cluster_start(&cf, &h, err, sizeof(err)));
	cr_expect(strstr(err, "cluster.database") != NULL, "%s", err);
	cluster_stop(NULL);	/* a no-op */
}

Test(cluster, reaper_ends_a_lost_nodes_jobs, .timeout = 120)
{
	struct cluster	*a, *b;
	struct rec	 ra, rb;
	char		 sql[512];
	int		 i, seen = 0;

	rec_init(&ra);
	rec_init(&rb);
	a = start("gpu-a", 3, &ra);
	b = start("gpu-b", 3, &rb);
	cr_assert(rec_wait(&rb, &rb.polls, 1), "b never listened");
	snprintf(sql, sizeof(sql), "INSERT INTO jobs (id, seq, session, "
	    "state, node, generation, started_ms) VALUES ('" ID1 "', 1, 's', "
	    "'running', 'gpu-a', %lld, 5), ('" ID2 "', 2, 's', 'running', "
	    "'gpu-b', %lld, 5), ('" ID3 "', 3, 's', 'queued', NULL, NULL, 0);"
	    "INSERT INTO cluster_slots (lock, slot, job, node, generation) "
	    "VALUES ('licence', 0, '" ID1 "', 'gpu-a', %lld), "
	    "('licence', 1, '" ID2 "', 'gpu-b', %lld)",
	    (long long)cluster_generation(a), (long long)cluster_generation(b),
	    (long long)cluster_generation(a), (long long)cluster_generation(b));
	pg_schema_exec(tdb, sql);

	stop(a, &ra);	/* silent from now on, its row not lost */
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM nodes WHERE "
	    "lost"), 0);
	cr_assert(rec_wait(&rb, &rb.ended, 1), "b never heard of the end");
	pthread_mutex_lock(&rb.mu);
	for (i = 0; i < rb.ended && i < IDS_MAX; i++)
		seen += strcmp(rb.ended_id[i], ID1) == 0;
	pthread_mutex_unlock(&rb.mu);
	cr_expect_eq(seen, 1, "ended hook did not get " ID1);

	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM jobs WHERE id = '"
	    ID1 "' AND state = 'failed' AND error = '" CLUSTER_NODE_LOST "' "
	    "AND finished_ms > 0"), 1, "the lost node's job not failed");
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots "
	    "WHERE node = 'gpu-a'"), 0, "the lost node's slot not freed");
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM nodes WHERE "
	    "name = 'gpu-a' AND lost"), 1);
	/* The live node's and the queued job are not touched. */
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM jobs WHERE id = '"
	    ID2 "' AND state = 'running'"), 1);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM jobs WHERE id = '"
	    ID3 "' AND state = 'queued'"), 1);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots "
	    "WHERE node = 'gpu-b'"), 1);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM nodes WHERE "
	    "name = 'gpu-b' AND NOT lost"), 1);
	cr_expect_eq(cluster_fenced(b), 0);

	/* a comes back: a new life, not lost. */
	a = start("gpu-a", 3, &ra);
	cr_expect_eq(cluster_generation(a), 2);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM nodes WHERE "
	    "lost"), 0);
	cluster_stop(a);
	stop(b, &rb);
	cr_expect_eq(atomic_load(&rb.late), 0, "a hook after cluster_stop");
	rec_free(&ra);
	rec_free(&rb);
}

Test(cluster, lost_row_fences_once, .timeout = 120)
{
	struct cluster	*a;
	struct rec	 r;

	rec_init(&r);
	a = start("gpu-a", 3, &r);
	cr_expect_eq(cluster_fenced(a), 0);
	pg_schema_exec(tdb, "UPDATE nodes SET lost = true WHERE name = "
	    "'gpu-a'");
	cr_assert(rec_wait(&r, &r.fenced, 1), "never fenced");
	cr_expect_eq(cluster_fenced(a), 1);
	/*
	 * Two more ticks of the lease thread, seen by its reaper ending two
	 * silent nodes one after the other: the renewal was not tried again
	 * and fenced did not come twice.
	 */
	pg_schema_exec(tdb, "INSERT INTO nodes (name, generation, "
	    "heartbeat_at) VALUES ('z1', 1, now() - interval '1 hour')");
	cr_assert(db_wait("SELECT count(*) FROM nodes WHERE name = 'z1' AND "
	    "lost", 1), "the reaper stopped");
	pg_schema_exec(tdb, "INSERT INTO nodes (name, generation, "
	    "heartbeat_at) VALUES ('z2', 1, now() - interval '1 hour')");
	cr_assert(db_wait("SELECT count(*) FROM nodes WHERE name = 'z2' AND "
	    "lost", 1), "the reaper stopped");
	cr_expect_eq(rec_get(&r, &r.fenced), 1, "fenced more than once");
	cr_expect_eq(cluster_fenced(a), 1);
	stop(a, &r);
	cr_expect_eq(atomic_load(&r.late), 0, "a hook after cluster_stop");
	rec_free(&r);
}

Test(cluster, notifications_reach_the_hooks, .timeout = 120)
{
	static const char *const bad[] = {
		"", "q", "q ", "q 123",
		"q 0123456789ABCDEF0123456789ABCDEF",	/* upper case */
		"q 0123456789abcdef0123456789abcdef0",	/* 33 */
		"q 0123456789abcdef0123456789abcde",	/* 31 */
		"q 0123456789abcdef0123456789abcdeg",
		"q  0123456789abcdef0123456789abcdef",
		"q 0123456789abcdef0123456789abcdef ",
		"x 0123456789abcdef0123456789abcdef",
		"qq0123456789abcdef0123456789abcdef",
		"s 0123456789abcdef0123456789abcdef",	/* no node */
		"s 0123456789abcdef0123456789abcdef ",
		"s 0123456789abcdef0123456789abcdef bad node",
		"s 0123456789abcdef0123456789abcdef bad\"",
		"e 0123456789abcdef0123456789abcdef gpu-b",
		"c 0123456789abcdef0123456789abcdef\n",
	};
	struct cluster	*a;
	struct rec	 r;
	size_t		 i;
	int		 polls;

	rec_init(&r);
	a = start("gpu-a", 15, &r);
	cr_assert(rec_wait(&r, &r.polls, 1), "poll never called");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		notify(bad[i]);
	notify("q " ID1);
	notify("s " ID2 " gpu-b.example_2");
	notify("c " ID3);
	notify("e " ID4);	/* the last one: delivered in order */
	cr_assert(rec_wait(&r, &r.ended, 1), "no ended hook");

	pthread_mutex_lock(&r.mu);
	cr_expect_eq(r.queued, 1);
	cr_expect_str_eq(r.queued_id[0], ID1);
	cr_expect_eq(r.started, 1);
	cr_expect_str_eq(r.started_id[0], ID2);
	cr_expect_str_eq(r.started_node[0], "gpu-b.example_2");
	cr_expect_eq(r.cancel, 1);
	cr_expect_str_eq(r.cancel_id[0], ID3);
	cr_expect_eq(r.ended, 1);
	cr_expect_str_eq(r.ended_id[0], ID4);
	cr_expect_eq(r.fenced, 0);
	polls = r.polls;
	pthread_mutex_unlock(&r.mu);
	cr_expect(rec_wait(&r, &r.polls, polls + 2), "poll not called again");

	stop(a, &r);
	notify("q " ID2);	/* nobody listens now */
	usleep(500000);
	cr_expect_eq(atomic_load(&r.late), 0, "a hook after cluster_stop");
	cr_expect_eq(rec_get(&r, &r.queued), 1);
	rec_free(&r);
}

Test(cluster, database_away_and_back, .timeout = 180)
{
	struct cluster	*a;
	struct rec	 r;
	int		 polls;

	rec_init(&r);
	a = start("gpu-a", 30, &r);
	cr_assert(rec_wait(&r, &r.polls, 1), "poll never called");
	pg_ctl("stop");
	polls = rec_get(&r, &r.polls);
	pg_ctl("start");
	/* Listening again: poll at once, then a notification gets through. */
	cr_expect(rec_wait(&r, &r.polls, polls + 2), "poll not called again");
	notify("q " ID1);
	cr_expect(rec_wait(&r, &r.queued, 1), "not listening again");
	cr_expect_eq(cluster_fenced(a), 0);

	/* Stopping while the database is away returns. */
	pg_ctl("stop");
	stop(a, &r);
	pg_ctl("start");
	cr_expect_eq(atomic_load(&r.late), 0, "a hook after cluster_stop");
	rec_free(&r);
}
