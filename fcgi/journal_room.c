/*
 * journal_room: results.max_bytes and sessions.max_result_bytes, kept at
 * the moment a job's files are counted, not by a later pass; the rules,
 * whatever stores the rows (each store's steps: journal_store_ops'
 * room_* entries, journal_sqlite_room.c and journal_pg_room.c).
 *
 * A job's final write that adds bytes first makes room for them, in the
 * same transaction: while its session would hold more than
 * sessions.max_result_bytes, that session's oldest finished job loses its
 * files; then, while the store would hold more than results.max_bytes,
 * the oldest finished job of the session that holds the most (all its
 * rows' bytes, a queued job's uploads included: what it takes from the
 * store) loses its files. So one session's output pushes out its own
 * results before anyone else's, and the store is never over its limit,
 * not even between two eviction passes. A job that loses its files keeps
 * its row and its JSON (files empty, removed_ms set) until results.ttl:
 * its page says why its files are gone instead of a 404. A job whose own
 * files cannot fit however much goes ends without them, saying so.
 *
 * Files are removed after the commit, so the journal never lists a file
 * that is gone; a crash in between leaves files that no row counts.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_int.h"

/* Marks vid's files removed (its row stays) and puts it on l. 0 or -1. */
static int
room_strip(struct journal *j, const char *vid, int64_t now_ms,
    struct journal_ids *l, const char *func)
{
	if (j->ops->room_strip(j, vid, now_ms, func) == -1)
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
	if ((used = j->ops->room_used(j, session, func)) == -1)
		return -1;
	while (used + grow > limit) {
		if ((rc = j->ops->room_victim(j, session, id, vid, &bytes,
		    func)) != 1)
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

/*
 * In the caller's transaction: journal_room for jb's grow more bytes,
 * or, when they cannot fit after all, no strip at all (the others keep
 * their files: l as it was). 1, 0 or -1 as journal_room.
 */
static int
room_or_nothing(struct journal *j, const struct job *jb, int64_t grow,
    struct journal_ids *l, const char *func)
{
	size_t	 before = l->n;
	int	 fits;

	if (j->ops->room_savepoint(j, JSP_MARK, func) == -1 ||
	    (fits = journal_room(j, jb->id, jb->session, grow,
	    jb->finished_ms, l, func)) == -1)
		return -1;
	if (fits == 0) {
		if (j->ops->room_savepoint(j, JSP_UNDO, func) == -1)
			return -1;
		l->n = before;
	}
	return j->ops->room_savepoint(j, JSP_KEEP, func) == -1 ? -1 : fits;
}

int
journal_room_finish(struct journal *j, const struct job *jb,
    struct journal_ids *l, const char *func)
{
	struct job	 bare;
	char		 note[200];
	int64_t		 old, grow;
	int		 fits;

	if ((old = j->ops->room_row_bytes(j, jb->id, func)) == -1)
		return -1;
	grow = jb->file_bytes - old;
	fits = grow <= 0 ? 1 : room_or_nothing(j, jb, grow, l, func);
	if (fits == -1)
		return -1;
	if (fits == 1)
		return j->ops->finish_exec(j, jb, jb->has_png != 0,
		    jb->file_bytes, func);
	bare = *jb;	/* shallow: only these fields differ */
	snprintf(note, sizeof(note), "its result files (%lld bytes) are more "
	    "than the server keeps for results and were not kept",
	    (long long)grow);
	bare.files = NULL;
	bare.error = note;
	bare.removed_ms = jb->finished_ms;
	if (j->ops->finish_exec(j, &bare, 0, old, func) == -1)
		return -1;
	return 1;
}

void
journal_room_committed(struct journal *j, const struct job *jb, int rc,
    const struct journal_ids *l)
{
	journal_room_unlink(j, l, 0);
	if (rc == 1)
		(void)jobdir_remove_kind(journal_results_dir(j), jb->id,
		    JOBDIR_OUT);
}

void
journal_room_notify(struct journal *j, const struct job *jb, int rc,
    struct journal_ids *l)
{
	size_t	 i;

	journal_recent_forget(j, jb->session);
	if (rc != -1 && j->evicted != NULL) {
		for (i = 0; i < l->n; i++)
			j->evicted(l->id[i], j->evicted_arg);
		if (rc == 1)	/* its own files: a copy in memory lists them */
			j->evicted(jb->id, j->evicted_arg);
	}
	free(l->id);
	l->id = NULL;
}

/*
 * Records a final state like journal_finish, for a job whose files are
 * already stored (jobdir.h): jb->file_bytes counts them. With limits set
 * (journal_set_limits), room is made for the bytes it adds in the same
 * transaction (the store's finish_room). A failed call can be repeated
 * as is. Committed on return.
 */
int
journal_finish_stored(struct journal *j, const struct job *jb)
{
	int	 limited;

	if (journal_final_ok(j, jb, __func__) == -1)
		return -1;
	pthread_mutex_lock(&j->mtx);
	limited = j->max_bytes > 0 || j->max_session_bytes > 0;
	pthread_mutex_unlock(&j->mtx);
	if (limited && jb->file_bytes > 0)
		return j->ops->finish_room(j, jb);
	return j->ops->finish_row(j, jb, jb->has_png != 0,
	    jb->file_bytes > 0 ? jb->file_bytes : 0, __func__);
}
