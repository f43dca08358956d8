/*
 * Unit tests for journal_sqlite_room.c (issue 15 item 3): result files
 * are kept within results.max_bytes and sessions.max_result_bytes at the
 * moment they are written, a session's output pushes out its own results
 * before anyone else's, and a job that loses its files keeps its row.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <sqlite3.h>

#include "rm_tree.h"
#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_store.h"

#define ATTACKER	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define VICTIM		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NOW		((int64_t)1700000000000)

static char		 tdir[64];
static struct journal	*jr;
static char		 forgot[64][JOB_ID_LEN + 1];
static int		 nforgot;

static void
note_forgot(const char *id, void *arg)
{
	(void)arg;
	cr_assert_lt(nforgot, 64);
	snprintf(forgot[nforgot++], JOB_ID_LEN + 1, "%s", id);
}

static void
setup(void)
{
	char	 err[256];

	test_store_new();
	strcpy(tdir, "/tmp/sluice-jroom-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir), "mkdtemp: %s", strerror(errno));
	jr = test_open(tdir, err, sizeof(err));
	cr_assert_not_null(jr, "journal_open: %s", err);
	journal_on_evict(jr, note_forgot, NULL);
	nforgot = 0;
}

static void
teardown(void)
{
	journal_close(jr);
	jr = NULL;
	rm_tree(tdir);
}

TestSuite(room, .init = setup, .fini = teardown);

/* A queued job of session whose uploads count bytes; into out or freed. */
static void
insert_queued(const char *session, int64_t seq, int64_t bytes,
    struct job *out)
{
	struct job	 jb;

	memset(&jb, 0, sizeof(jb));
	job_new_id(jb.id);
	strcpy(jb.session, session);
	jb.task = strdup("t");
	jb.state = JOB_QUEUED;
	jb.seq = seq;
	jb.created_ms = NOW + seq;
	jb.slot = -1;
	jb.file_bytes = bytes;
	cr_assert_eq(journal_insert(jr, &jb), 0, "%s", journal_error(jr));
	if (out != NULL)
		*out = jb;
	else
		job_clear(&jb);
}

/*
 * A job of session that ends done with an output file of bytes (written
 * under STATE/results/ID/out/). Returns journal_finish_stored's rc; id
 * set.
 */
static int
run_job(const char *session, int64_t seq, size_t bytes,
    char id[JOB_ID_LEN + 1])
{
	static char	 data[4096];
	struct job	 jb;
	char		 err[256];
	int		 rc;

	cr_assert_leq(bytes, sizeof(data));
	insert_queued(session, seq, 0, &jb);
	cr_assert_eq(jobdir_write(journal_files_root(jr), jb.id, JOBDIR_OUT,
	    "out.bin", data, bytes, err, sizeof(err)), 0, "%s", err);
	jb.state = JOB_DONE;
	jb.finished_ms = NOW + 1000 + seq;
	jb.file_bytes = (int64_t)bytes;
	jb.files = strdup("[{\"name\":\"out.bin\",\"type\":"
	    "\"application/octet-stream\",\"bytes\":1}]");
	rc = journal_finish_stored(jr, &jb);
	memcpy(id, jb.id, JOB_ID_LEN + 1);
	job_clear(&jb);
	return rc;
}

/* The row of id (asserted there): its file_bytes, removed_ms. */
static void
row(const char *id, int64_t *bytes, int64_t *removed)
{
	struct job	 got;

	cr_assert_eq(journal_get(jr, id, &got), 1, "job %s: no row", id);
	*bytes = got.file_bytes;
	*removed = got.removed_ms;
	job_clear(&got);
}

static int
out_exists(const char *id)
{
	char		 p[4096];
	struct stat	 st;

	cr_assert_eq(jobdir_path(journal_files_root(jr), id, JOBDIR_OUT,
	    "out.bin", p, sizeof(p)), 0);
	return stat(p, &st) == 0;
}

Test(room, never_over_the_limit_and_the_row_stays)
{
	char	 ids[6][JOB_ID_LEN + 1];
	int64_t	 bytes, removed;
	int	 i;

	journal_set_limits(jr, 1000, 0);
	for (i = 0; i < 6; i++) {
		cr_assert_eq(run_job(ATTACKER, i + 1, 400, ids[i]), 0, "%s",
		    journal_error(jr));
		cr_assert_leq(journal_result_bytes(jr), 1000,
		    "over the limit after job %d", i);
	}
	/* The oldest ones lost their files, kept their rows. */
	row(ids[0], &bytes, &removed);
	cr_expect_eq(bytes, 0);
	cr_expect_gt(removed, 0);
	cr_expect_not(out_exists(ids[0]));
	row(ids[5], &bytes, &removed);
	cr_expect_eq(bytes, 400);
	cr_expect_eq(removed, 0);
	cr_expect(out_exists(ids[5]));
	cr_expect_eq(nforgot, 4, "the cache forgets each stripped job");
	cr_expect_str_eq(forgot[0], ids[0]);
}

Test(room, one_session_cannot_push_out_another)
{
	char	 victim[JOB_ID_LEN + 1], ids[20][JOB_ID_LEN + 1];
	int64_t	 bytes, removed;
	int	 i;

	journal_set_limits(jr, 1000, 500);
	cr_assert_eq(run_job(VICTIM, 1, 300, victim), 0);
	for (i = 0; i < 20; i++)
		cr_assert_eq(run_job(ATTACKER, i + 2, 200, ids[i]), 0);
	row(victim, &bytes, &removed);
	cr_expect_eq(bytes, 300, "the victim's result was pushed out");
	cr_expect_eq(removed, 0);
	cr_expect(out_exists(victim));
	cr_expect_leq(journal_result_bytes(jr), 800);
	row(ids[19], &bytes, &removed);
	cr_expect_eq(bytes, 200);
}

Test(room, the_largest_holder_goes_first)
{
	char	 victim[JOB_ID_LEN + 1], ids[4][JOB_ID_LEN + 1];
	int64_t	 bytes, removed;
	int	 i;

	journal_set_limits(jr, 1000, 0);	/* no cap per session */
	cr_assert_eq(run_job(VICTIM, 1, 300, victim), 0);	/* oldest */
	for (i = 0; i < 4; i++)
		cr_assert_eq(run_job(ATTACKER, i + 2, 200, ids[i]), 0);
	/* 1100 bytes: the attacker's oldest goes, not the older victim. */
	row(victim, &bytes, &removed);
	cr_expect_eq(bytes, 300);
	row(ids[0], &bytes, &removed);
	cr_expect_eq(bytes, 0);
	cr_expect_leq(journal_result_bytes(jr), 1000);
}

Test(room, files_that_cannot_fit_are_not_kept)
{
	char		 small[JOB_ID_LEN + 1], big[JOB_ID_LEN + 1];
	struct job	 got;

	journal_set_limits(jr, 1000, 500);
	cr_assert_eq(run_job(ATTACKER, 1, 100, small), 0);
	cr_assert_eq(run_job(ATTACKER, 2, 600, big), 1);
	cr_assert_eq(journal_get(jr, big, &got), 1);
	cr_expect_eq(got.state, JOB_DONE);
	cr_expect_eq(got.file_bytes, 0);
	cr_expect_null(got.files);
	cr_expect_gt(got.removed_ms, 0);
	cr_expect(got.error != NULL && strstr(got.error, "not kept") != NULL,
	    "note: %s", got.error != NULL ? got.error : "(none)");
	job_clear(&got);
	cr_expect_not(out_exists(big));
	/* Nothing else went for a job that could not fit anyway. */
	cr_expect(out_exists(small));
	cr_expect_eq(journal_result_bytes(jr), 100);
}

/*
 * Stripping others cannot make room (what is left are queued uploads):
 * the job ends without its files, and nobody loses theirs for nothing.
 */
Test(room, no_strip_when_room_cannot_be_made)
{
	char	 victim[JOB_ID_LEN + 1], big[JOB_ID_LEN + 1];
	int64_t	 bytes, removed;

	journal_set_limits(jr, 1000, 0);
	cr_assert_eq(run_job(VICTIM, 1, 150, victim), 0);
	insert_queued(ATTACKER, 2, 800, NULL);
	cr_assert_eq(run_job(ATTACKER, 3, 300, big), 1, "%s",
	    journal_error(jr));
	row(victim, &bytes, &removed);
	cr_expect_eq(bytes, 150, "the victim's files were stripped for nothing");
	cr_expect_eq(removed, 0);
	cr_expect(out_exists(victim));
	cr_expect(nforgot == 1 && strcmp(forgot[0], big) == 0,
	    "only the job that did not fit lost its files: %d", nforgot);
	cr_expect_eq(journal_result_bytes(jr), 950);
}

#ifndef JOURNAL_TEST_PG	/* the SQLite store's triggers */
/*
 * The byte counts the schema's triggers keep (what each session holds,
 * the whole store) against sums over the rows, after each of 300 random
 * inserts (queued jobs with uploads), finishes with files, strips to make
 * room and TTL deletes.
 */
static void
expect_counts_agree(int step)
{
	static const char sql[] =
	    "SELECT (SELECT COALESCE(SUM(file_bytes), 0) FROM jobs), "
	    "(SELECT bytes FROM store_bytes), "
	    "(SELECT COUNT(*) FROM (SELECT session, SUM(file_bytes) AS b "
	    "FROM jobs GROUP BY session HAVING b <> 0) AS r "
	    "LEFT JOIN session_bytes AS k ON k.session = r.session "
	    "WHERE k.bytes IS NOT r.b), "
	    "(SELECT COUNT(*) FROM session_bytes AS k WHERE k.bytes <> "
	    "(SELECT COALESCE(SUM(file_bytes), 0) FROM jobs "
	    "WHERE session = k.session))";
	char		 db[128];
	sqlite3		*h;
	sqlite3_stmt	*st;

	snprintf(db, sizeof(db), "%s/jobs.db", tdir);
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_eq(sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 0),
	    "step %d: the store's count", step);
	cr_expect_eq(journal_result_bytes(jr), sqlite3_column_int64(st, 0),
	    "step %d: journal_result_bytes", step);
	cr_expect_eq(sqlite3_column_int(st, 2), 0,
	    "step %d: sessions missing or wrong", step);
	cr_expect_eq(sqlite3_column_int(st, 3), 0,
	    "step %d: sessions counted wrong", step);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

Test(room, kept_counts_equal_the_rows_sums)
{
	static const char *const sessions[] = { ATTACKER, VICTIM,
	    "cccccccccccccccccccccccccccccccc" };
	char	 id[JOB_ID_LEN + 1];
	int	 i;

	srand(7);
	journal_set_limits(jr, 6000, 2500);
	for (i = 0; i < 300; i++) {
		nforgot = 0;	/* only the count matters here */
		if (i % 7 == 3)
			insert_queued(sessions[rand() % 3], i + 1,
			    rand() % 300, NULL);
		else if (i % 50 == 49)
			cr_assert_neq(journal_evict(jr, NOW + 1000 + i - 40,
			    0, 0, NULL, NULL), -1, "%s", journal_error(jr));
		else
			cr_assert_neq(run_job(sessions[rand() % 3], i + 1,
			    (size_t)(rand() % 4000), id), -1, "%s",
			    journal_error(jr));
		expect_counts_agree(i);
	}
}
#endif
