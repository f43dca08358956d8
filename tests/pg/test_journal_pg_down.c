/*
 * test_journal_pg_down: what only the PostgreSQL store has. Responders
 * starting at once against an empty database make one schema and none
 * fails; the database going away makes calls fail and
 * journal_unwritable say why, and once it is back the next call
 * reconnects, with nothing lost; a schema newer than the program is
 * refused. Run through tests/pg/criterion-pg, one
 * test at a time (one stops the server).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "../unit/rm_tree.h"
#include "job.h"
#include "journal.h"
#include "journal_pg.h"
#include "pg_schema.h"

#define S1	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define OPENERS	8

static char	 tdir[64];
static char	 tdb[PG_SCHEMA_CONNINFO_MAX];

static void
setup(void)
{
	pg_schema_new(tdb, sizeof(tdb));
	strcpy(tdir, "/tmp/sluice-journal-pg-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir), "mkdtemp: %s", strerror(errno));
}

static void
teardown(void)
{
	if (tdir[0] != '\0')
		rm_tree(tdir);
}

TestSuite(pg, .init = setup, .fini = teardown);

struct opener {
	pthread_barrier_t	*go;
	struct journal		*j;
	char			 err[256];
};

static void *
opener_run(void *arg)
{
	struct opener	*o = arg;

	pthread_barrier_wait(o->go);
	o->j = journal_open_db(tdb, tdir, o->err, sizeof(o->err));
	return NULL;
}

Test(pg, open_at_once_makes_one_schema, .timeout = 60)
{
	pthread_barrier_t	 go;
	pthread_t		 t[OPENERS];
	struct opener		 o[OPENERS];
	int			 i;

	cr_assert_eq(pthread_barrier_init(&go, NULL, OPENERS), 0);
	for (i = 0; i < OPENERS; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].go = &go;
		cr_assert_eq(pthread_create(&t[i], NULL, opener_run, &o[i]), 0);
	}
	for (i = 0; i < OPENERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < OPENERS; i++)
		cr_expect_not_null(o[i].j, "opener %d: %s", i, o[i].err);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM schema_version"),
	    1);
	cr_expect_eq(pg_schema_int(tdb, "SELECT version FROM schema_version"),
	    JOURNAL_PG_SCHEMA_VERSION);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM "
	    "information_schema.tables WHERE table_schema = "
	    "current_schema() AND table_name = 'jobs'"), 1);
	for (i = 0; i < OPENERS; i++)
		journal_close(o[i].j);
	pthread_barrier_destroy(&go);
}

/* A queued job with a fixed id per seq. Caller job_clear()s. */
static void
mk(struct job *j, int64_t seq)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%032llx", (unsigned long long)seq);
	strcpy(j->session, S1);
	j->task = strdup("burn");
	cr_assert_not_null(j->task);
	j->state = JOB_QUEUED;
	j->seq = seq;
	j->created_ms = 1700000000000LL + seq;
	j->slot = -1;
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

/* Whether job seq is in jr: 1, 0, or -1 (the lookup failed). */
static int
has(struct journal *jr, int64_t seq)
{
	struct job	 a, got;
	int		 r;

	mk(&a, seq);
	if ((r = journal_get(jr, a.id, &got)) == 1) {
		cr_expect_eq(got.seq, seq);
		job_clear(&got);
	}
	job_clear(&a);
	return r;
}

Test(pg, database_down_then_back, .timeout = 120)
{
	struct journal	*jr, *j2;
	struct job	 a, b;
	const char	*why;
	char		 err[256];

	jr = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_assert_not_null(jr, "journal_open_db: %s", err);
	mk(&a, 1);
	mk(&b, 2);
	cr_assert_eq(journal_insert(jr, &a), 0, "%s", journal_error(jr));
	cr_assert_null(journal_unwritable(jr));

	pg_ctl("stop");
	cr_expect_eq(journal_insert(jr, &b), -1);
	cr_expect(strstr(journal_error(jr), "journal_insert") != NULL, "%s",
	    journal_error(jr));
	why = journal_unwritable(jr);
	cr_expect(why != NULL && strstr(why, "cannot be reached") != NULL,
	    "unwritable: %s", why ? why : "(null)");
	cr_expect_eq(has(jr, 1), -1, "a lookup without the database");
	cr_expect_eq(journal_probe(jr), -1);
	cr_expect_eq(journal_max_seq(jr), -1);
	j2 = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_expect_null(j2);
	cr_expect(strstr(err, "cluster.database") != NULL, "%s", err);
	journal_close(j2);

	pg_ctl("start");
	cr_expect_eq(journal_insert(jr, &b), 0, "after the restart: %s",
	    journal_error(jr));
	cr_expect_null(journal_unwritable(jr));
	cr_expect_eq(has(jr, 1), 1, "the job written before is lost");
	cr_expect_eq(has(jr, 2), 1);
	cr_expect_eq(journal_max_seq(jr), 2);
	job_clear(&a);
	job_clear(&b);
	journal_close(jr);
}

Test(pg, reopen_keeps_schema_newer_refused)
{
	struct journal	*jr;
	char		 err[256];

	jr = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_assert_not_null(jr, "journal_open_db: %s", err);
	journal_close(jr);
	/* A second open finds the schema made: nothing to do, one row. */
	jr = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_assert_not_null(jr, "reopen: %s", err);
	journal_close(jr);
	cr_expect_eq(pg_schema_int(tdb, "SELECT count(*) FROM schema_version"),
	    1);
	pg_schema_exec(tdb, "UPDATE schema_version SET version = 99");
	jr = journal_open_db(tdb, tdir, err, sizeof(err));
	cr_expect_null(jr);
	cr_expect(strstr(err, "schema version 99 is newer") != NULL, "%s",
	    err);
	journal_close(jr);
}
