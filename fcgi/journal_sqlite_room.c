/*
 * journal_sqlite_room: the SQLite store's steps of making room for
 * results (journal_room.c has the rules): the byte counts the schema's
 * triggers keep, the next job to lose its files, stripping one, and
 * journal_finish_stored's transaction when limits are set.
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
int64_t
journal_sqlite_room_used(struct journal *j, const char *session,
    const char *func)
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
int
journal_sqlite_room_victim(struct journal *j, const char *session,
    const char *id, char vid[JOB_ID_LEN + 1], int64_t *bytes,
    const char *func)
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

/* Marks vid's files removed (its row stays). 0 or -1. */
int
journal_sqlite_room_strip(struct journal *j, const char *vid, int64_t now_ms,
    const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_STRIP];

	if (sqlite3_bind_text(s, 1, vid, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s, 2, now_ms)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return journal_exec(j, JST_STRIP, func);
}





/* Under mtx: the bytes the row of id counts now (its inputs), or -1. */
int64_t
journal_sqlite_room_row_bytes(struct journal *j, const char *id,
    const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_ROW_BYTES];

	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return room_int(j, s, func);
}



/* The savepoint around making room. 0 or -1. */
int
journal_sqlite_room_savepoint(struct journal *j, enum journal_savepoint sp,
    const char *func)
{
	static const enum journal_stmt	 st[] = {
		[JSP_MARK] = JST_ROOM_MARK,
		[JSP_UNDO] = JST_ROOM_UNDO,
		[JSP_KEEP] = JST_ROOM_KEEP,
	};

	return journal_exec(j, st[sp], func);
}

/* journal_finish_stored with limits set: 0, 1 (files not kept), -1. */
int
journal_sqlite_finish_room(struct journal *j, const struct job *jb)
{
	static const char	 func[] = "journal_finish_stored";
	struct journal_ids	 l = { NULL, 0, 0 };
	int			 rc = -1;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, func) == -1) {
		(void)journal_wrote(j, -1, func);
		goto out;
	}
	if ((rc = journal_room_finish(j, jb, &l, func)) == -1 ||
	    journal_exec(j, JST_COMMIT, func) == -1) {
		rc = -1;
		(void)journal_wrote(j, -1, func);	/* before the rollback */
		journal_rollback(j);
		goto out;
	}
	if (journal_wrote(j, 0, func) == -1) {
		rc = -1;
		goto out;
	}
	journal_room_committed(j, jb, rc, &l);
out:
	pthread_mutex_unlock(&j->mtx);
	journal_room_notify(j, jb, rc, &l);
	return rc;
}
