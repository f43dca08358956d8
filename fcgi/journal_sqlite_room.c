/*
 * journal_sqlite_room: results.max_bytes and sessions.max_result_bytes,
 * kept at the moment a job's files are counted, not by a later pass.
 *
 * A job's final write that adds bytes first makes room for them, in the
 * same transaction: while its session would hold more than
 * sessions.max_result_bytes, that session's oldest finished job loses its
 * files; then, while the store would hold more than results.max_bytes,
 * the oldest finished job of the session that holds the most (all its
 * rows' bytes, a queued job's uploads included: what it takes from the
 * store) loses its files. So one session's output pushes out its own results before
 * anyone else's, and the store is never over its limit, not even between
 * two eviction passes. A job that loses its files keeps its row and its
 * JSON (files empty, removed_ms set) until results.ttl: its page says
 * why its files are gone instead of a 404. A job whose own files cannot
 * fit however much goes ends without them, saying so.
 *
 * Files are removed after the commit, so the journal never lists a file
 * that is gone; a crash in between leaves files that no row counts.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_files.h"
#include "journal_int.h"
#include "journal_sqlite.h"

/* A one-integer query, already bound: the value, or -1 (error set). */
static int64_t
room_int(struct journal *j, sqlite3_stmt *s, const char *func)
{
	int64_t	 v = -1;
	int	 rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		journal_seterr(j, "%s: no such row", func);
	else
		journal_dberr(j, func);
	journal_done(s);
	return v;
}

/* The bytes session holds (NULL: every session). -1 on error. */
static int64_t
room_used(struct journal *j, const char *session, const char *func)
{
	sqlite3_stmt	*s;

	if (session == NULL)
		return room_int(j, JSQ(j)->st[JST_BYTES], func);
	s = JSQ(j)->st[JST_SESSION_BYTES];
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return room_int(j, s, func);
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
	sqlite3_stmt		*s;
	const unsigned char	*v;
	char			 big[JOB_SESSION_LEN + 1];
	int			 rc, ret = -1;

	if (session == NULL) {
		s = JSQ(j)->st[JST_LARGEST_SESSION];
		if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT))
			goto dberr;
		if ((rc = sqlite3_step(s)) == SQLITE_DONE) {
			journal_done(s);
			return 0;
		}
		if (rc != SQLITE_ROW)
			goto dberr;
		v = sqlite3_column_text(s, 0);
		snprintf(big, sizeof(big), "%s", v != NULL ? (const char *)v :
		    "");
		journal_done(s);
		session = big;
	}
	s = JSQ(j)->st[JST_SESSION_OLDEST];
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT))
		goto dberr;
	if ((rc = sqlite3_step(s)) == SQLITE_DONE)
		ret = 0;
	else if (rc != SQLITE_ROW)
		goto dberr;
	else {
		v = sqlite3_column_text(s, 0);
		snprintf(vid, JOB_ID_LEN + 1, "%s", v != NULL ?
		    (const char *)v : "");
		*bytes = sqlite3_column_int64(s, 1);
		ret = job_id_valid(vid) ? 1 : 0;
	}
	journal_done(s);
	return ret;
dberr:
	journal_dberr(j, func);
	journal_done(s);
	return -1;
}

/* Marks vid's files removed (its row stays) and puts it on l. 0 or -1. */
static int
room_strip(struct journal *j, const char *vid, int64_t now_ms,
    struct journal_ids *l, const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_STRIP];

	if (sqlite3_bind_text(s, 1, vid, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s, 2, now_ms)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	if (journal_exec(j, JST_STRIP, func) == -1)
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
journal_room(struct journal *j, const char *id, const char *session,
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
journal_room_within(struct journal *j, int64_t limit, int64_t now_ms,
    struct journal_ids *l, const char *func)
{
	return room_pass(j, "", NULL, 0, limit, now_ms, l, func) == -1 ?
	    -1 : 0;
}


/* Under mtx: the bytes the row of id counts now (its inputs), or -1. */
static int64_t
room_row_bytes(struct journal *j, const char *id, const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_ROW_BYTES];

	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return room_int(j, s, func);
}

/*
 * Under mtx, in a transaction: journal_room for jb's grow more bytes, or,
 * when they cannot fit after all, no strip at all (the others keep their
 * files: l as it was). 1, 0 or -1 as journal_room.
 */
static int
room_or_nothing(struct journal *j, const struct job *jb, int64_t grow,
    struct journal_ids *l, const char *func)
{
	size_t	 before = l->n;
	int	 fits;

	if (journal_exec(j, JST_ROOM_MARK, func) == -1 ||
	    (fits = journal_room(j, jb->id, jb->session, grow,
	    jb->finished_ms, l, func)) == -1)
		return -1;
	if (fits == 0) {
		if (journal_exec(j, JST_ROOM_UNDO, func) == -1)
			return -1;
		l->n = before;
	}
	return journal_exec(j, JST_ROOM_KEEP, func) == -1 ? -1 : fits;
}

/*
 * Under mtx, in a transaction: room for jb's new bytes, then its row (as
 * it is, or without its files when they cannot fit). 1 when they did
 * not (its OUT files are then to go), 0, or -1.
 */
static int
room_finish(struct journal *j, const struct job *jb, struct journal_ids *l,
    const char *func)
{
	struct job	 bare;
	char		 note[200];
	int64_t		 old, grow;
	int		 fits;

	if ((old = room_row_bytes(j, jb->id, func)) == -1)
		return -1;
	grow = jb->file_bytes - old;
	fits = grow <= 0 ? 1 : room_or_nothing(j, jb, grow, l, func);
	if (fits == -1)
		return -1;
	if (fits == 1)
		return journal_finish_exec(j, jb, jb->has_png != 0,
		    jb->file_bytes, func);
	bare = *jb;	/* shallow: only these fields differ */
	snprintf(note, sizeof(note), "its result files (%lld bytes) are more "
	    "than the server keeps for results and were not kept",
	    (long long)grow);
	bare.files = NULL;
	bare.error = note;
	bare.removed_ms = jb->finished_ms;
	if (journal_finish_exec(j, &bare, 0, old, func) == -1)
		return -1;
	return 1;
}

int
journal_finish_room(struct journal *j, const struct job *jb)
{
	struct journal_ids	 l = { NULL, 0, 0 };
	size_t			 i;
	int			 rc = -1;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, __func__) == -1) {
		(void)journal_wrote(j, -1, __func__);
		goto out;
	}
	if ((rc = room_finish(j, jb, &l, __func__)) == -1 ||
	    journal_exec(j, JST_COMMIT, __func__) == -1) {
		rc = -1;
		(void)journal_wrote(j, -1, __func__);	/* before the rollback */
		journal_rollback(j);
		goto out;
	}
	if (journal_wrote(j, 0, __func__) == -1) {
		rc = -1;
		goto out;
	}
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
