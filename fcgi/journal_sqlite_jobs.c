/*
 * journal_sqlite_jobs: the calls of journal.h that read and write the
 * jobs table of the SQLite store (journal_sqlite.c has the connection and
 * the statements): insert, start, finish, lookups, start-up recovery and
 * eviction. Each takes the journal's mutex around its statements and
 * commits before it returns. Result files go through journal_files.h.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_files.h"
#include "journal_int.h"
#include "journal_sqlite.h"

/*
 * Inserts a job with every field as given (the scheduler gives state
 * queued). A seq <= 0 takes MAX(seq) + 1. Fails (-1) on a duplicate id,
 * seq or (session, nonce), an invalid id or state. Committed on return.
 */
int
journal_sqlite_insert(struct journal *j, const struct job *jb)
{
	sqlite3_stmt	*s;
	const char	*state;
	int		 ret = -1;

	state = job_state_name(jb->state);	/* checked by journal_insert */
	pthread_mutex_lock(&j->mtx);
	s = JSQ(j)->st[jb->seq > 0 ? JST_INSERT : JST_INSERT_AUTOSEQ];
	if (sqlite3_bind_text(s, 1, jb->id, -1, SQLITE_TRANSIENT) ||
	    (jb->seq > 0 && sqlite3_bind_int64(s, 2, jb->seq)) ||
	    sqlite3_bind_text(s, 3, jb->session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 4, jb->nonce, -1, SQLITE_TRANSIENT) ||
	    journal_bind_str(s, 5, jb->task) ||
	    journal_bind_str(s, 6, jb->kernel) ||
	    journal_bind_str(s, 7, jb->locks) ||
	    journal_bind_str(s, 8, jb->params) ||
	    sqlite3_bind_text(s, 9, state, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 10, jb->created_ms) ||
	    sqlite3_bind_int64(s, 11, jb->started_ms) ||
	    sqlite3_bind_int64(s, 12, jb->finished_ms) ||
	    sqlite3_bind_int(s, 13, jb->slot) ||
	    sqlite3_bind_text(s, 14, jb->device, -1, SQLITE_TRANSIENT) ||
	    journal_bind_str(s, 15, jb->result) ||
	    journal_bind_str(s, 16, jb->error) ||
	    sqlite3_bind_int(s, 17, jb->has_png != 0) ||
	    journal_bind_str(s, 18, jb->inputs) ||
	    sqlite3_bind_int64(s, 19, jb->file_bytes) ||
	    sqlite3_bind_text(s, 20, jb->client, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, "journal_insert");
		journal_done(s);
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		journal_seterr(j, "journal_insert: job %s: sqlite: %s", jb->id,
		    sqlite3_errmsg(JSQ(j)->db));
		(void)journal_wrote(j, -1, "journal_insert");
		journal_done(s);
		goto out;
	}
	journal_done(s);
	ret = journal_wrote(j, 0, "journal_insert");
out:
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	return ret;
}

/*
 * Records the start of job id: state running, started_ms, slot, device
 * (NULL is ""). -1 when the job does not exist. Committed on return.
 */
int
journal_sqlite_start(struct journal *j, const char *id, int64_t started_ms,
    int slot, const char *device)
{
	sqlite3_stmt		*s;
	const unsigned char	*v;
	char			 session[JOB_SESSION_LEN + 1] = "";
	int			 rc, found, ret = -1;

	pthread_mutex_lock(&j->mtx);
	/* After the lock: a WAL repair re-prepares them. */
	s = JSQ(j)->st[JST_START];
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s, 2, started_ms) ||
	    sqlite3_bind_int(s, 3, slot) ||
	    sqlite3_bind_text(s, 4, device == NULL ? "" : device, -1,
	    SQLITE_TRANSIENT)) {
		journal_dberr(j, "journal_start");
		journal_done(s);
		goto out;
	}
	/*
	 * The row's session comes back as a row; the write is committed
	 * (or refused: a full disk) by the step that ends the statement.
	 */
	found = (rc = sqlite3_step(s)) == SQLITE_ROW;
	if (found && (v = sqlite3_column_text(s, 0)) != NULL &&
	    strlen((const char *)v) <= JOB_SESSION_LEN)
		strcpy(session, (const char *)v);
	if (found)
		rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		journal_dberr(j, "journal_start");
		journal_done(s);
		(void)journal_wrote(j, -1, "journal_start");
		goto out;
	}
	journal_done(s);
	if (!found) {
		journal_seterr(j, "%s: no such job: %s", "journal_start", id);
		goto out;
	}
	ret = journal_wrote(j, 0, "journal_start");
out:
	pthread_mutex_unlock(&j->mtx);
	/* "" after a failure: every list, to be safe. */
	journal_recent_forget(j, session);
	return ret;
}

/*
 * The row update of a final state: has_png and file_bytes as given, the
 * rest from jb (checked by journal_final_ok). Caller holds the mutex; in
 * its transaction, or committed by itself. 0 or -1.
 */
int
journal_sqlite_finish_exec(struct journal *j, const struct job *jb, int has_png,
    int64_t file_bytes, const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_FINISH];

	if (sqlite3_bind_text(s, 1, jb->id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 2, job_state_name(jb->state), -1,
	    SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, jb->finished_ms) ||
	    journal_bind_str(s, 4, jb->result) ||
	    journal_bind_str(s, 5, jb->error) ||
	    sqlite3_bind_int(s, 6, has_png) ||
	    sqlite3_bind_int64(s, 7, file_bytes) ||
	    sqlite3_bind_int64(s, 8, jb->started_ms) ||
	    sqlite3_bind_int(s, 9, jb->slot) ||
	    sqlite3_bind_text(s, 10, jb->device, -1, SQLITE_TRANSIENT) ||
	    journal_bind_str(s, 11, jb->files) ||
	    sqlite3_bind_int64(s, 12, jb->removed_ms)) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	if (journal_exec(j, JST_FINISH, func) == -1) {
		(void)journal_wrote(j, -1, func);
		return -1;
	}
	return journal_changed(j, jb->id, func);
}

/* The same, committed on its own; takes the mutex. 0 or -1. */
int
journal_sqlite_finish_row(struct journal *j, const struct job *jb, int has_png,
    int64_t file_bytes, const char *func)
{
	int	 ret;

	pthread_mutex_lock(&j->mtx);
	ret = journal_sqlite_finish_exec(j, jb, has_png, file_bytes, func);
	if (ret == 0)
		ret = journal_wrote(j, 0, func);
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	return ret;
}

/*
 * Looks up a job by id: 1 with out filled (the caller job_clear()s it), 0
 * when there is none (also for a malformed id), -1 on error.
 */
int
journal_sqlite_get(struct journal *j, const char *id, struct job *out)
{
	sqlite3_stmt	*s;
	int		 ret;

	pthread_mutex_lock(&j->mtx);
	/* After the lock: a WAL repair re-prepares them. */
	s = JSQ(j)->st[JST_GET];
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		journal_dberr(j, "journal_get");
		journal_done(s);
		ret = -1;
	} else
		ret = journal_lookup(j, s, out, "journal_get");
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * The job that (session, nonce) created: 1 with out filled, 0 when none
 * (an empty nonce never matches), -1 on error.
 */
int
journal_sqlite_find_nonce(struct journal *j, const char *session,
    const char *nonce, struct job *out)
{
	sqlite3_stmt	*s;
	int		 ret;

	pthread_mutex_lock(&j->mtx);
	/* After the lock: a WAL repair re-prepares them. */
	s = JSQ(j)->st[JST_NONCE];
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 2, nonce, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, "journal_find_nonce");
		journal_done(s);
		ret = -1;
	} else
		ret = journal_lookup(j, s, out, "journal_find_nonce");
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * The session's most recent jobs, newest (highest seq) first, at most
 * max (max <= 0 gives 0). Returns the count with *out a malloc'd array
 * (NULL when 0) freed with journal_free_jobs(), or -1.
 */
int
journal_sqlite_session_jobs(struct journal *j, const char *session, int max,
    struct job **out)
{
	sqlite3_stmt	*s;
	int		 ret;

	pthread_mutex_lock(&j->mtx);
	/* After the lock: a WAL repair re-prepares them. */
	s = JSQ(j)->st[JST_SESSION];
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(s, 2, max)) {
		journal_dberr(j, "journal_session_jobs");
		journal_done(s);
		ret = -1;
	} else
		ret = journal_collect(j, s, max, out, "journal_session_jobs");
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/* Every row of statement k, in its order (journal_running_jobs). */
static int
journal_all(struct journal *j, enum journal_stmt k, struct job **out,
    const char *func)
{
	int	 ret;

	pthread_mutex_lock(&j->mtx);
	ret = journal_collect(j, JSQ(j)->st[k], -1, out, func);
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

int
journal_sqlite_running_jobs(struct journal *j, struct job **out)
{
	return journal_all(j, JST_RUNNING, out, "journal_running_jobs");
}

int
journal_sqlite_queued_jobs(struct journal *j, int64_t after_seq,
    struct job **out)
{
	sqlite3_stmt	*s;
	int		 ret = -1;

	pthread_mutex_lock(&j->mtx);
	s = JSQ(j)->st[JST_QUEUED_AFTER];
	if (sqlite3_bind_int64(s, 1, after_seq) != SQLITE_OK) {
		journal_dberr(j, "journal_queued_jobs");
		journal_done(s);
	} else
		ret = journal_collect(j, s, -1, out, "journal_queued_jobs");
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * Start-up recovery (journal_recover does the rest). In one transaction:
 * every running job becomes failed with "interrupted by restart" and
 * finished_ms = now_ms, and the queued jobs are read in seq order into
 * *out (the caller frees them). Their number, or -1 (nothing changed).
 */
int
journal_sqlite_recover(struct journal *j, int64_t now_ms, struct job **out)
{
	sqlite3_stmt	*s;
	struct job	*v = NULL;
	int		 n = -1;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, "journal_recover") == -1)
		goto out;
	s = JSQ(j)->st[JST_RECOVER_FAIL];
	if (sqlite3_bind_int64(s, 1, now_ms) ||
	    sqlite3_bind_text(s, 2, JOURNAL_INTERRUPTED, -1, SQLITE_STATIC)) {
		journal_dberr(j, "journal_recover");
		journal_done(s);
		goto fail;
	}
	if (journal_exec(j, JST_RECOVER_FAIL, "journal_recover") == -1)
		goto fail;
	if ((n = journal_collect(j, JSQ(j)->st[JST_RECOVER_LIST], -1, &v,
	    "journal_recover")) == -1)
		goto fail;
	if (journal_exec(j, JST_COMMIT, "journal_recover") == -1 ||
	    journal_wrote(j, 0, "journal_recover") == -1) {
		journal_free_jobs(v, n);
		v = NULL;
		n = -1;
		goto fail;
	}
	goto out;
fail:
	(void)journal_wrote(j, -1, "journal_recover");	/* before the rollback */
	journal_rollback(j);
out:
	pthread_mutex_unlock(&j->mtx);
	*out = v;
	return n;
}

/* Runs a one-integer query; the value, or -1 on error. */
static int64_t
journal_scalar(struct journal *j, enum journal_stmt k, const char *func)
{
	sqlite3_stmt	*s;
	int64_t		 v = -1;

	pthread_mutex_lock(&j->mtx);
	/* After the lock: a WAL repair re-prepares them. */
	s = JSQ(j)->st[k];
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	else
		journal_dberr(j, func);
	journal_done(s);
	pthread_mutex_unlock(&j->mtx);
	return v;
}

/* The largest seq in the journal (0 when empty), or -1 on error. */
int64_t
journal_sqlite_max_seq(struct journal *j)
{
	return journal_scalar(j, JST_MAX_SEQ, "journal_max_seq");
}

/* Bytes of result files currently counted, or -1 on error. */
int64_t
journal_sqlite_result_bytes(struct journal *j)
{
	return journal_scalar(j, JST_BYTES, "journal_result_bytes");
}

/*
 * Removes one finished job: its PNG and its files (missing ones are fine),
 * then its row. Caller holds the mutex inside a transaction. 0 or -1.
 */
static int
journal_remove(struct journal *j, const char *id, const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[JST_DELETE];

	if (journal_png_unlink(j, id, func) == -1)
		return -1;
	if (jobdir_remove(journal_results_dir(j), id) == -1) {
		journal_seterr(j, "%s: job %s: removing its files: %s", func,
		    id, strerror(errno));
		return -1;
	}
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return journal_exec(j, JST_DELETE, func);
}


/*
 * Collects the ids a bound listing statement returns (column 0) into l.
 * Resets the statement. 0 or -1.
 */
static int
journal_list(struct journal *j, sqlite3_stmt *s, struct journal_ids *l,
    const char *func)
{
	int	 rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (journal_ids_add(l, sqlite3_column_text(s, 0)) == -1) {
			journal_seterr(j, "%s: out of memory", func);
			journal_done(s);
			return -1;
		}
	if (rc != SQLITE_DONE) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	journal_done(s);
	return 0;
}

/*
 * Removes the jobs on l from index *from on (see journal_remove) and
 * moves *from past them; the count, or -1. The ids stay on l.
 */
static int
journal_remove_list(struct journal *j, struct journal_ids *l, size_t *from,
    const char *func)
{
	size_t	 i, n = l->n - *from;

	for (i = *from; i < l->n; i++)
		if (journal_remove(j, l->id[i], func) == -1)
			return -1;
	*from = l->n;
	return (int)n;
}

/*
 * Eviction. First every finished job that finished before now_ms - ttl_ms
 * (ttl_ms < 0: no TTL) goes, its files then its row; then, while the
 * counted bytes exceed max_bytes (max_bytes < 0: no limit; it is kept at
 * write time, so only a lowered limit finds work here), finished jobs
 * lose their files as journal_room takes them (their rows stay until the
 * TTL). Queued and running jobs are never touched. All rows change in
 * one transaction (if it fails, files of the TTL pass already removed
 * stay removed and their rows stay, to go next time); the space pass
 * removes files only after the commit. Once committed, and without the
 * journal's mutex (cb may call journal functions), cb (when not NULL)
 * gets the id of each job removed or stripped. Returns how many, or -1
 * (cb not called).
 */
int
journal_sqlite_evict(struct journal *j, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes, void (*cb)(const char *id, void *), void *arg)
{
	struct journal_ids	 l = { NULL, 0, 0 };
	sqlite3_stmt		*s;
	size_t			 from = 0, i;
	int			 n, ret = -1, removed = 0;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, "journal_evict") == -1)
		goto out;

	if (ttl_ms >= 0) {
		s = JSQ(j)->st[JST_TTL_LIST];
		if (sqlite3_bind_int64(s, 1, now_ms - ttl_ms) != SQLITE_OK) {
			journal_dberr(j, "journal_evict");
			journal_done(s);
			goto fail;
		}
		if (journal_list(j, s, &l, "journal_evict") == -1 ||
		    (n = journal_remove_list(j, &l, &from,
		    "journal_evict")) == -1)
			goto fail;
		removed += n;
	}

	if (max_bytes >= 0) {
		/* Over the limit (a lowered one): files go, rows stay. */
		if (journal_room_within(j, max_bytes, now_ms, &l,
		    "journal_evict") == -1)
			goto fail;
		removed += (int)(l.n - from);
	}

	if (journal_exec(j, JST_COMMIT, "journal_evict") == -1)
		goto fail;
	ret = journal_wrote(j, 0, "journal_evict") == 0 ? removed : -1;
	if (ret >= 0)
		journal_room_unlink(j, &l, from);
	goto out;
fail:
	(void)journal_wrote(j, -1, "journal_evict");	/* before the rollback */
	journal_rollback(j);
out:
	pthread_mutex_unlock(&j->mtx);
	if (ret > 0)
		journal_recent_forget_all(j);
	if (ret > 0 && cb != NULL)
		for (i = 0; i < l.n; i++)
			cb(l.id[i], arg);
	free(l.id);
	return ret;
}
