/*
 * journal_pg_room: results.max_bytes and sessions.max_result_bytes for
 * the PostgreSQL store, kept at each final write that adds bytes, as
 * journal_sqlite_room.c does for SQLite (see there for the rules): the
 * session's own oldest finished jobs lose their files first, then the
 * oldest of the session that holds the most; rows stay with removed_ms
 * set; files are removed after the commit. The byte counts are sums over
 * the jobs table (an index on the rows with files), not counters kept by
 * triggers as in the SQLite store: a later step, with the measurements.
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
static int64_t
room_used(struct journal *j, const char *session, const char *func)
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
static int
room_victim(struct journal *j, const char *session, const char *id,
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

/* Marks vid's files removed (its row stays) and puts it on l. 0 or -1. */
static int
room_strip(struct journal *j, const char *vid, int64_t now_ms,
    struct journal_ids *l, const char *func)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, vid);
	jpg_int(&p, now_ms);
	if (journal_pg_cmd(j, "UPDATE jobs SET file_bytes = 0, files = NULL, "
	    "inputs = NULL, has_png = 0, removed_ms = $2::bigint "
	    "WHERE id = $1", &p, func) == -1)
		return -1;
	if (journal_ids_add(l, (const unsigned char *)vid) == -1) {
		journal_seterr(j, "%s: out of memory", func);
		return -1;
	}
	return 0;
}

/*
 * Strips victims until grow more bytes fit under limit (< 0: none) for
 * session (NULL: the whole store). 1 fits, 0 cannot, -1 error.
 */
static int
room_pass(struct journal *j, const char *id, const char *session,
    int64_t grow, int64_t limit, int64_t now_ms, struct journal_ids *l,
    const char *func)
{
	char	 vid[JOB_ID_LEN + 1];
	int64_t	 used, bytes = 0;
	int	 rc;

	if (limit < 0)
		return 1;
	if ((used = room_used(j, session, func)) == -1)
		return -1;
	while (used + grow > limit) {
		if ((rc = room_victim(j, session, id, vid, &bytes, func)) != 1)
			return rc;
		if (room_strip(j, vid, now_ms, l, func) == -1)
			return -1;
		used -= bytes;
	}
	return 1;
}

int
journal_pg_room(struct journal *j, const char *id, const char *session,
    int64_t grow, int64_t now_ms, struct journal_ids *l, const char *func)
{
	int	 rc = 1;

	/* Hopeless: nothing goes for a job that cannot fit anyway. */
	if ((j->max_bytes > 0 && grow > j->max_bytes) || (session != NULL &&
	    j->max_session_bytes > 0 && grow > j->max_session_bytes))
		return 0;
	if (session != NULL)
		rc = room_pass(j, id, session, grow, j->max_session_bytes > 0 ?
		    j->max_session_bytes : -1, now_ms, l, func);
	if (rc == 1)
		rc = room_pass(j, id, NULL, grow, j->max_bytes > 0 ?
		    j->max_bytes : -1, now_ms, l, func);
	return rc;
}

int
journal_pg_room_within(struct journal *j, int64_t limit, int64_t now_ms,
    struct journal_ids *l, const char *func)
{
	return room_pass(j, "", NULL, 0, limit, now_ms, l, func) == -1 ?
	    -1 : 0;
}

/*
 * In a transaction: journal_pg_room for jb's grow more bytes, or, when
 * they cannot fit after all, no strip at all (l as it was). 1, 0, -1.
 */
static int
room_or_nothing(struct journal *j, const struct job *jb, int64_t grow,
    struct journal_ids *l, const char *func)
{
	size_t	 before = l->n;
	int	 fits;

	if (journal_pg_cmd(j, "SAVEPOINT room", NULL, func) == -1 ||
	    (fits = journal_pg_room(j, jb->id, jb->session, grow,
	    jb->finished_ms, l, func)) == -1)
		return -1;
	if (fits == 0) {
		if (journal_pg_cmd(j, "ROLLBACK TO room", NULL, func) == -1)
			return -1;
		l->n = before;
	}
	return journal_pg_cmd(j, "RELEASE room", NULL, func) == -1 ? -1 : fits;
}

/*
 * In a transaction: room for jb's new bytes, then its row (as it is, or
 * without its files when they cannot fit). 1 when they did not, 0, -1.
 */
static int
room_finish(struct journal *j, const struct job *jb, struct journal_ids *l,
    const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	struct job		 bare;
	char			 note[200];
	int64_t			 old, grow;
	int			 fits;

	jpg_str(&p, jb->id);
	if ((old = journal_pg_int(j, "SELECT file_bytes FROM jobs "
	    "WHERE id = $1", &p, func)) == -1)
		return -1;
	grow = jb->file_bytes - old;
	fits = grow <= 0 ? 1 : room_or_nothing(j, jb, grow, l, func);
	if (fits == -1)
		return -1;
	if (fits == 1)
		return journal_pg_finish_exec(j, jb, jb->has_png != 0,
		    jb->file_bytes, func);
	bare = *jb;	/* shallow: only these fields differ */
	snprintf(note, sizeof(note), "its result files (%lld bytes) are more "
	    "than the server keeps for results and were not kept",
	    (long long)grow);
	bare.files = NULL;
	bare.error = note;
	bare.removed_ms = jb->finished_ms;
	if (journal_pg_finish_exec(j, &bare, 0, old, func) == -1)
		return -1;
	return 1;
}

int
journal_pg_finish_room(struct journal *j, const struct job *jb)
{
	static const char	 func[] = "journal_finish_stored";
	struct journal_ids	 l = { NULL, 0, 0 };
	size_t			 i;
	int			 rc = -1;

	pthread_mutex_lock(&j->mtx);
	if (journal_pg_ready(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	if ((rc = room_finish(j, jb, &l, func)) == -1 ||
	    journal_pg_cmd(j, "COMMIT", NULL, func) == -1) {
		rc = -1;
		journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
	journal_room_unlink(j, &l, 0);
	if (rc == 1)
		(void)jobdir_remove_kind(journal_results_dir(j), jb->id,
		    JOBDIR_OUT);
out:
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	if (rc != -1 && j->evicted != NULL) {
		for (i = 0; i < l.n; i++)
			j->evicted(l.id[i], j->evicted_arg);
		if (rc == 1)	/* its own files: a copy in memory lists them */
			j->evicted(jb->id, j->evicted_arg);
	}
	free(l.id);
	return rc;
}
