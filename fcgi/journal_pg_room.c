/*
 * journal_pg_room: the PostgreSQL store's steps of making room for
 * results (journal_room.c has the rules, journal_sqlite_room.c the
 * SQLite store's): the bytes held, the next job to lose its files,
 * stripping one, and journal_finish_stored's transaction when limits are
 * set. The byte counts are sums over the jobs table, not counters kept
 * by triggers as in the SQLite store: a later step, with measurements.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_int.h"
#include "journal_pg.h"

/* The bytes session holds (NULL: every session). -1 on error. */
int64_t
journal_pg_room_used(struct journal *j, const char *session, const char *func)
{
	struct jpg_params	 p = { .n = 0 };

	if (session == NULL)
		return journal_pg_int(j, "SELECT COALESCE(SUM(file_bytes), 0) "
		    "FROM jobs", NULL, func);
	jpg_str(&p, session);
	return journal_pg_int(j, "SELECT COALESCE(SUM(file_bytes), 0) "
	    "FROM jobs WHERE session = $1", &p, func);
}

/*
 * The next job to lose its files: session's oldest finished one with
 * files (NULL: of the session that holds the most), never id. 1 with vid
 * and *bytes set, 0 when there is none, -1 on error.
 */
int
journal_pg_room_victim(struct journal *j, const char *session, const char *id,
    char vid[JOB_ID_LEN + 1], int64_t *bytes, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	PGresult		*res;
	int			 ret = 0;

	jpg_str(&p, session);
	jpg_str(&p, id);
	res = journal_pg_run(j, session != NULL ?
	    "SELECT id, file_bytes FROM jobs WHERE session = $1 AND state IN "
	    JOURNAL_PG_FINAL " AND file_bytes > 0 AND id <> $2 "
	    "ORDER BY finished_ms, seq LIMIT 1" :
	    /* $1 is NULL: the session holding the most that has one. */
	    "SELECT id, file_bytes FROM jobs WHERE session = (SELECT session "
	    "FROM jobs GROUP BY session HAVING bool_or(file_bytes > 0 AND "
	    "state IN " JOURNAL_PG_FINAL " AND id <> $2) AND $1::text IS NULL "
	    "ORDER BY SUM(file_bytes) DESC LIMIT 1) AND state IN "
	    JOURNAL_PG_FINAL " AND file_bytes > 0 AND id <> $2 "
	    "ORDER BY finished_ms, seq LIMIT 1", &p, func);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1) {
		snprintf(vid, JOB_ID_LEN + 1, "%s", PQgetvalue(res, 0, 0));
		*bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		ret = job_id_valid(vid) ? 1 : 0;
	}
	PQclear(res);
	return ret;
}

/* Marks vid's files removed (its row stays). 0 or -1. */
int
journal_pg_room_strip(struct journal *j, const char *vid, int64_t now_ms,
    const char *func)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, vid);
	jpg_int(&p, now_ms);
	return journal_pg_cmd(j, "WITH f AS (DELETE FROM job_files "
	    "WHERE job = $1) UPDATE jobs SET file_bytes = 0, "
	    "files = NULL, inputs = NULL, has_png = 0, "
	    "removed_ms = $2::bigint "
	    "WHERE id = $1", &p, func) == -1 ? -1 : 0;
}






/* The bytes the row of id counts now (its inputs), or -1. */
int64_t
journal_pg_room_row_bytes(struct journal *j, const char *id, const char *func)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, id);
	return journal_pg_int(j, "SELECT file_bytes FROM jobs WHERE id = $1",
	    &p, func);
}

/* The savepoint around making room. 0 or -1. */
int
journal_pg_room_savepoint(struct journal *j, enum journal_savepoint sp,
    const char *func)
{
	static const char *const sql[] = {
		[JSP_MARK] = "SAVEPOINT room",
		[JSP_UNDO] = "ROLLBACK TO room",
		[JSP_KEEP] = "RELEASE room",
	};

	return journal_pg_cmd(j, sql[sp], NULL, func) == -1 ? -1 : 0;
}

/* journal_finish_stored with limits set: 0, 1 (files not kept), -1. */
int
journal_pg_finish_room(struct journal *j, const struct job *jb)
{
	static const char	 func[] = "journal_finish_stored";
	struct journal_ids	 l = { NULL, 0, 0 };
	int			 rc = -1;

	if (journal_pg_enter(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	if ((rc = journal_room_finish(j, jb, &l, func)) == -1 ||
	    journal_pg_cmd(j, "COMMIT", NULL, func) == -1) {
		rc = -1;
		journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
	journal_room_committed(j, jb, rc, &l);
	journal_pg_finished(j, jb->id);
out:
	pthread_mutex_unlock(&j->mtx);
	journal_room_notify(j, jb, rc, &l);
	return rc;
}
