/*
 * test_journal_cluster_pg: the journal's cluster calls against a real
 * PostgreSQL, with two or more journals on one database standing for
 * the nodes: journal_admit holds the nonce and sessions.max_active
 * across nodes and numbers jobs from one sequence; journal_claim lets
 * one node take a job, never more holders of a cluster lock than its
 * slots (also when nodes claim at once), and nothing of a refused claim
 * stays; final writes are fenced by node and generation; recovery ends
 * only this node's running jobs; a job's files are the database's. Run through tests/pg/criterion-pg.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "../unit/rm_tree.h"
#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "pg_schema.h"

#define S1	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S2	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NODES	4
#define RACED	30

static char	 tdir[NODES][64];
static char	 tdb[PG_SCHEMA_CONNINFO_MAX];

static void
setup(void)
{
	int	 i;

	pg_schema_new(tdb, sizeof(tdb));
	for (i = 0; i < NODES; i++) {
		strcpy(tdir[i], "/tmp/sluice-cluster-pg-XXXXXX");
		cr_assert_not_null(mkdtemp(tdir[i]), "mkdtemp: %s",
		    strerror(errno));
	}
}

static void
teardown(void)
{
	int	 i;

	for (i = 0; i < NODES; i++)
		if (tdir[i][0] != '\0')
			rm_tree(tdir[i]);
}

TestSuite(cluster, .init = setup, .fini = teardown);

/* Node i's journal, leased as generation gen ("node-i"). */
static struct journal *
node_open(int i, int64_t gen)
{
	struct journal	*j;
	char		 err[256], name[16], sql[200];

	j = journal_open_db(tdb, tdir[i], err, sizeof(err));
	cr_assert_not_null(j, "%s", err);
	snprintf(name, sizeof(name), "node-%d", i);
	snprintf(sql, sizeof(sql), "INSERT INTO nodes (name, generation) "
	    "VALUES ('%s', %lld) ON CONFLICT (name) DO UPDATE SET "
	    "generation = %lld, lost = false", name, (long long)gen,
	    (long long)gen);
	pg_schema_exec(tdb, sql);
	journal_set_node(j, name, gen);
	return j;
}

/* A queued job n of session, seq 0 (the cluster numbers it). */
static void
mk(struct job *jb, int n, const char *session, const char *nonce)
{
	memset(jb, 0, sizeof(*jb));
	snprintf(jb->id, sizeof(jb->id), "%032x", n);
	strcpy(jb->session, session);
	snprintf(jb->nonce, sizeof(jb->nonce), "%s", nonce);
	jb->task = strdup("burn");
	cr_assert_not_null(jb->task);
	jb->state = JOB_QUEUED;
	jb->created_ms = 1700000000000LL + n;
	jb->slot = -1;
}

/* Admits job n on jr: journal_admit's rc; the job cleared. */
static int
admit(struct journal *jr, int n, const char *session, const char *nonce,
    int max_active, char old[JOB_ID_LEN + 1])
{
	struct job	 jb;
	int		 rc;

	mk(&jb, n, session, nonce);
	rc = journal_admit(jr, &jb, max_active, old);
	cr_assert_neq(rc, -1, "admit %d: %s", n, journal_error(jr));
	if (rc == JOURNAL_ADMITTED)
		cr_expect_gt(jb.seq, 0, "admit set no seq");
	job_clear(&jb);
	return rc;
}

/* Ends job n (running or queued) on jr as done: 0 or -1. */
static int
finish(struct journal *jr, int n)
{
	struct job	 jb;
	int		 rc;

	mk(&jb, n, S1, "");
	jb.state = JOB_DONE;
	jb.finished_ms = 1700000009000LL;
	jb.result = strdup("{}");
	rc = journal_finish(jr, &jb, NULL, 0);
	job_clear(&jb);
	return rc;
}

/* Job n's state and error in the database, into buf. */
static const char *
row(int n, char *buf, size_t len)
{
	char	 sql[200];
	PGconn	*c = PQconnectdb(tdb);
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT state || ':' || COALESCE(node, '') "
	    "|| ':' || COALESCE(error, '') FROM jobs WHERE id = '%032x'", n);
	r = PQexec(c, sql);
	cr_assert_eq(PQntuples(r), 1, "%s: %s", sql, PQerrorMessage(c));
	snprintf(buf, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return buf;
}

static const struct journal_slot licence = { "licence", 3 };

Test(cluster, admit_holds_nonce_and_cap_across_nodes)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	char		 old[JOB_ID_LEN + 1] = "";

	cr_expect_eq(admit(a, 1, S1, "form-1", 2, old), JOURNAL_ADMITTED);
	/* The same form sent again, through the other node. */
	cr_expect_eq(admit(b, 2, S1, "form-1", 2, old), JOURNAL_ADMIT_NONCE);
	cr_expect_str_eq(old, "00000000000000000000000000000001");
	cr_expect_eq(admit(b, 3, S1, "form-2", 2, old), JOURNAL_ADMITTED);
	/* Two active on the cluster: the cap, whichever node asks. */
	cr_expect_eq(admit(a, 4, S1, "form-3", 2, old), JOURNAL_ADMIT_CAP);
	cr_expect_eq(admit(b, 5, S1, "form-3", 2, old), JOURNAL_ADMIT_CAP);
	cr_expect_eq(admit(a, 6, S2, "form-3", 2, old), JOURNAL_ADMITTED);
	cr_expect_eq(finish(a, 1), 0, "%s", journal_error(a));
	cr_expect_eq(admit(b, 7, S1, "form-3", 2, old), JOURNAL_ADMITTED);
	/* One sequence: acceptance order across nodes, no two alike. */
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(DISTINCT seq) FROM jobs"),
	    4);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM jobs"), 4);
	journal_close(a);
	journal_close(b);
}

Test(cluster, one_node_takes_a_job)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	char		 old[JOB_ID_LEN + 1], buf[128];
	struct job	*run = NULL;
	int64_t		 at = 5;

	cr_assert_eq(admit(a, 1, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_expect_eq(journal_claim(b, "00000000000000000000000000000001", &at, 0,
	    "cpu", NULL, 0), JOURNAL_CLAIMED, "%s", journal_error(b));
	cr_expect_eq(journal_claim(a, "00000000000000000000000000000001", &at, 0,
	    "cpu", NULL, 0), JOURNAL_CLAIM_TAKEN);
	cr_expect_str_eq(row(1, buf, sizeof(buf)), "running:node-1:");
	/* Each node sees its own running jobs only. */
	cr_expect_eq(journal_running_jobs(a, &run), 0);
	cr_expect_eq(journal_running_jobs(b, &run), 1);
	journal_free_jobs(run, 1);
	journal_close(a);
	journal_close(b);
}

Test(cluster, cluster_lock_never_over_its_slots)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	char		 old[JOB_ID_LEN + 1], id[JOB_ID_LEN + 1], buf[128];
	int		 n;
	int64_t		 at = 5;

	for (n = 1; n <= 4; n++)
		cr_assert_eq(admit(a, n, S1, "", 0, old), JOURNAL_ADMITTED);
	for (n = 1; n <= 3; n++) {
		snprintf(id, sizeof(id), "%032x", n);
		cr_expect_eq(journal_claim(n % 2 ? a : b, id, &at, 0, "cpu",
		    &licence, 1), JOURNAL_CLAIMED, "%d: %s", n,
		    journal_error(a));
	}
	snprintf(id, sizeof(id), "%032x", 4);
	cr_expect_eq(journal_claim(b, id, &at, 0, "cpu", &licence, 1),
	    JOURNAL_CLAIM_FULL);
	/* Nothing of the refused claim stays. */
	cr_expect_str_eq(row(4, buf, sizeof(buf)), "queued::");
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots"),
	    3);
	/* An end frees its slot, with the row. */
	cr_expect_eq(finish(b, 2), 0, "%s", journal_error(b));
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots"),
	    2);
	at = 5;
	cr_expect_eq(journal_claim(b, id, &at, 0, "cpu", &licence, 1),
	    JOURNAL_CLAIMED, "%s", journal_error(b));
	/* Its start is recorded after the end that freed the slot. */
	cr_expect_gt(at, 1700000009000LL, "started_ms %lld", (long long)at);
	journal_close(a);
	journal_close(b);
}

Test(cluster, final_writes_are_fenced)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	char		 old[JOB_ID_LEN + 1], buf[128];
	int64_t		 at = 5;

	cr_assert_eq(admit(a, 1, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(admit(a, 2, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(journal_claim(a, "00000000000000000000000000000001", &at, 0,
	    "cpu", &licence, 1), JOURNAL_CLAIMED);
	/* Another node found a lost and ended its job (cluster.c's reaper). */
	pg_schema_exec(tdb, "UPDATE nodes SET lost = true WHERE name = "
	    "'node-0'; UPDATE jobs SET state = 'failed', error = 'node lost' "
	    "WHERE node = 'node-0'; DELETE FROM cluster_slots");
	/* Its late result is refused, and taken as written (no retry). */
	cr_expect_eq(finish(a, 1), 0, "%s", journal_error(a));
	cr_expect_str_eq(row(1, buf, sizeof(buf)), "failed:node-0:node lost");
	/* A node without its lease takes nothing. */
	cr_expect_eq(journal_claim(a, "00000000000000000000000000000002", &at, 0,
	    "cpu", NULL, 0), JOURNAL_CLAIM_TAKEN);
	cr_expect_str_eq(row(2, buf, sizeof(buf)), "queued::");
	/* Nor does the next life write for the last one. */
	journal_close(a);
	a = node_open(0, 2);
	cr_assert_eq(journal_claim(b, "00000000000000000000000000000002", &at, 0,
	    "cpu", NULL, 0), JOURNAL_CLAIMED);
	pg_schema_exec(tdb, "UPDATE jobs SET node = 'node-0', generation = 1 "
	    "WHERE id = '00000000000000000000000000000002'");
	cr_expect_eq(finish(a, 2), 0);
	cr_expect_str_eq(row(2, buf, sizeof(buf)), "running:node-0:");
	/* A missing job is still an error. */
	cr_expect_eq(finish(a, 9), -1);
	journal_close(a);
	journal_close(b);
}

/* recover's callback: counts the queued jobs handed back. */
static void
count_queued(const struct job *jb, void *arg)
{
	(void)jb;
	(*(int *)arg)++;
}

Test(cluster, recovery_ends_only_this_nodes_jobs)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	char		 old[JOB_ID_LEN + 1], buf[128];
	int		 queued = 0;
	int64_t		 at = 5;

	cr_assert_eq(admit(a, 1, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(admit(a, 2, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(admit(b, 3, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(journal_claim(a, "00000000000000000000000000000001", &at, 0,
	    "cpu", &licence, 1), JOURNAL_CLAIMED);
	cr_assert_eq(journal_claim(b, "00000000000000000000000000000002", &at, 0,
	    "cpu", &licence, 1), JOURNAL_CLAIMED);
	/* Node 0 restarts: its running job ends, node 1's runs on. */
	journal_close(a);
	a = node_open(0, 2);
	cr_expect_neq(journal_recover(a, 1700000009000LL, count_queued,
	    &queued), -1, "%s", journal_error(a));
	cr_expect_eq(queued, 1, "every node's queued jobs are handed back");
	cr_expect_str_eq(row(1, buf, sizeof(buf)), "failed:node-0:"
	    JOURNAL_INTERRUPTED);
	cr_expect_str_eq(row(2, buf, sizeof(buf)), "running:node-1:");
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots"),
	    1);
	journal_close(a);
	journal_close(b);
}

struct racer {
	struct journal	*j;
	int		 claimed;
	int		 errors;
};

/* Tries to claim every job, as a node whose slots are all free would. */
static void *
racer_run(void *arg)
{
	struct racer	*r = arg;
	char		 id[JOB_ID_LEN + 1];
	int		 n, rc;
	int64_t		 at = 5;

	for (n = 1; n <= RACED; n++) {
		snprintf(id, sizeof(id), "%032x", n);
		if ((rc = journal_claim(r->j, id, &at, 0, "cpu", &licence,
		    1)) == JOURNAL_CLAIMED)
			r->claimed++;
		else if (rc == -1)
			r->errors++;
	}
	return NULL;
}

Test(cluster, nodes_claiming_at_once_never_over_admit, .timeout = 60)
{
	struct racer	 r[NODES];
	pthread_t	 t[NODES];
	char		 old[JOB_ID_LEN + 1];
	int		 i, n, total = 0;

	for (i = 0; i < NODES; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].j = node_open(i, 1);
	}
	for (n = 1; n <= RACED; n++)
		cr_assert_eq(admit(r[n % NODES].j, n, S1, "", 0, old),
		    JOURNAL_ADMITTED);
	for (i = 0; i < NODES; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer_run, &r[i]), 0);
	for (i = 0; i < NODES; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(r[i].errors, 0, "node %d: %s", i,
		    journal_error(r[i].j));
		total += r[i].claimed;
	}
	cr_expect_eq(total, licence.slots, "%d claimed", total);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM jobs WHERE "
	    "state = 'running'"), licence.slots);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM cluster_slots"),
	    licence.slots);
	for (i = 0; i < NODES; i++)
		journal_close(r[i].j);
}

Test(cluster, nodes_share_the_first_secret)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	unsigned char	 sa[32], sb[32], first[32];
	struct journal	*one;
	char		 err[256];

	memset(sa, 0xa5, sizeof(sa));
	memset(sb, 0x5a, sizeof(sb));
	memcpy(first, sa, sizeof(first));
	cr_expect_eq(journal_secret(a, "csrf", sa, sizeof(sa)), 1, "%s",
	    journal_error(a));
	cr_expect_eq(journal_secret(b, "csrf", sb, sizeof(sb)), 1, "%s",
	    journal_error(b));
	cr_expect_eq(memcmp(sa, first, sizeof(sa)), 0);
	cr_expect_eq(memcmp(sb, first, sizeof(sb)), 0, "b took a's");
	/* A journal that is no node's keeps its own. */
	one = journal_open_db(tdb, tdir[2], err, sizeof(err));
	cr_assert_not_null(one, "%s", err);
	memset(sb, 0x11, sizeof(sb));
	cr_expect_eq(journal_secret(one, "csrf", sb, sizeof(sb)), 0);
	cr_expect_eq(sb[0], 0x11);
	journal_close(one);
	journal_close(a);
	journal_close(b);
}

/* The whole of what fd reads, into buf (closed); its length or -1. */
static ssize_t
slurp(int fd, char *buf, size_t len)
{
	ssize_t	 n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* A job of n's files ends on jr: done, with output "out" (5 bytes). */
static int
finish_with_output(struct journal *jr, int n)
{
	struct job	 jb;
	char		 err[256];
	int		 rc;

	mk(&jb, n, S1, "");
	cr_assert_eq(jobdir_write(journal_files_root(jr), jb.id, JOBDIR_OUT,
	    "out", "world", 5, err, sizeof(err)), 0, "%s", err);
	jb.state = JOB_DONE;
	jb.finished_ms = 1700000009000LL;
	jb.result = strdup("{}");
	jb.files = strdup("[{\"name\":\"out\",\"type\":\"text/plain\","
	    "\"bytes\":5}]");
	jb.file_bytes = 10;
	rc = journal_finish_stored(jr, &jb);
	job_clear(&jb);
	return rc;
}

/*
 * A job's files in the cluster: its upload is the database's once it is
 * admitted (the admitting disk lets go of it), another node reads and
 * fetches it, its output is stored with the final write (and this disk
 * lets go), any node serves both; a fenced end stores nothing; eviction
 * takes the files with the row.
 */
Test(cluster, files_travel_with_the_job)
{
	struct journal	*a = node_open(0, 1), *b = node_open(1, 1);
	struct job	 jb;
	char		 err[256], buf[64], path[600], old[JOB_ID_LEN + 1];
	int64_t		 at = 5;

	mk(&jb, 1, S1, "");
	cr_assert_eq(jobdir_write(journal_files_root(a), jb.id, JOBDIR_IN,
	    "doc", "hello", 5, err, sizeof(err)), 0, "%s", err);
	jb.inputs = strdup("{\"doc\":{\"type\":\"text/plain\",\"bytes\":5}}");
	jb.file_bytes = 5;
	cr_assert_eq(journal_admit(a, &jb, 0, old), JOURNAL_ADMITTED, "%s",
	    journal_error(a));
	snprintf(path, sizeof(path), "%s/%s", journal_files_root(a), jb.id);
	cr_expect_eq(access(path, F_OK), -1, "the admitting disk kept it");
	cr_expect_eq(slurp(journal_file_open(b, jb.id, JOBDIR_IN, "doc"), buf,
	    sizeof(buf)), 5, "%s", journal_error(b));
	cr_expect_str_eq(buf, "hello");
	cr_assert_eq(journal_claim(b, jb.id, &at, 0, "cpu", NULL, 0),
	    JOURNAL_CLAIMED);
	cr_expect_eq(journal_files_fetch(b, jb.id, JOBDIR_IN), 1, "%s",
	    journal_error(b));
	cr_expect_eq(slurp(jobdir_open(journal_files_root(b), jb.id, JOBDIR_IN,
	    "doc"), buf, sizeof(buf)), 5, "not fetched onto b's disk");
	cr_expect_eq(finish_with_output(b, 1), 0, "%s", journal_error(b));
	snprintf(path, sizeof(path), "%s/%s", journal_files_root(b), jb.id);
	cr_expect_eq(access(path, F_OK), -1, "the running disk kept it");
	cr_expect_eq(slurp(journal_file_open(a, jb.id, JOBDIR_OUT, "out"), buf,
	    sizeof(buf)), 5, "%s", journal_error(a));
	cr_expect_str_eq(buf, "world");
	cr_expect_eq(journal_file_open(a, jb.id, JOBDIR_OUT, "other"), -1);
	cr_expect_eq(errno, ENOENT);
	/* A fenced end: the cluster ended it, its outputs are not kept. */
	cr_assert_eq(admit(a, 2, S1, "", 0, old), JOURNAL_ADMITTED);
	cr_assert_eq(journal_claim(a, "00000000000000000000000000000002", &at,
	    0, "cpu", NULL, 0), JOURNAL_CLAIMED);
	pg_schema_exec(tdb, "UPDATE nodes SET lost = true WHERE name = "
	    "'node-0'; UPDATE jobs SET state = 'failed', error = 'node lost' "
	    "WHERE node = 'node-0'");
	cr_expect_eq(finish_with_output(a, 2), 0, "%s", journal_error(a));
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM job_files WHERE "
	    "job = '00000000000000000000000000000002'"), 0);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM job_files"), 2);
	/* Eviction: the rows, and their files with them. */
	cr_expect_eq(journal_evict(b, 1800000000000LL, 1, 0, NULL, NULL), 2,
	    "%s", journal_error(b));
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM job_files"), 0);
	job_clear(&jb);
	journal_close(a);
	journal_close(b);
}
