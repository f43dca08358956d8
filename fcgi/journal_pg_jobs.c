/*
 * journal_pg_jobs: the calls of journal.h that read and write the jobs
 * table of the PostgreSQL store (journal_pg.c has the connection), with
 * the SQLite store's semantics (journal_sqlite_jobs.c): insert, start,
 * finish, lookups, start-up recovery and eviction. Each takes the
 * journal's mutex, reconnects when the connection broke, and commits
 * before it returns. Error messages name the journal.h call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_files.h"
#include "journal_int.h"
#include "journal_pg.h"

/* A seq <= 0 takes MAX(seq) + 1 (journal_pg.h: JPG_INSERT_SQL). */
static const char jpg_insert_sql[] = JPG_INSERT_SQL("CASE WHEN "
	"$2::bigint > 0 THEN $2::bigint ELSE (SELECT COALESCE(MAX(seq), 0) + 1 "
	"FROM jobs) END");

/*
 * In the cluster ($13 the node, $14 its generation) the write is fenced:
 * only the node's own life that runs the job (or anyone, while it is
 * queued) writes its end; its cluster slots go and the nodes hear "e ID"
 * in the same statement. The count of rows written.
 */
static const char jpg_finish_sql[] =
	"WITH u AS (UPDATE jobs SET state = $2, finished_ms = $3::bigint, "
	"result = $4, error = $5, has_png = $6::int, file_bytes = $7::bigint, files = $11, "
	"removed_ms = $12::bigint, "
	"started_ms = CASE WHEN $8::bigint > 0 THEN $8::bigint "
	"ELSE started_ms END, "
	"slot = CASE WHEN $9::int >= 0 THEN $9::int ELSE slot END, "
	"device = CASE WHEN $10 <> '' THEN $10 ELSE device END "
	"WHERE id = $1 AND ($13 = '' OR state = 'queued' OR "
	"(state = 'running' AND node = $13 AND generation = $14::bigint)) "
	"RETURNING id), "
	"d AS (DELETE FROM cluster_slots WHERE $13 <> '' AND "
	"job IN (SELECT id FROM u)), "
	"n AS (SELECT pg_notify('" JOURNAL_PG_CHANNEL "', 'e ' || id) FROM u "
	"WHERE $13 <> '') "
	"SELECT (SELECT count(*) FROM u) + 0 * (SELECT count(*) FROM n)";

void
jpg_insert_params(struct journal *j, struct jpg_params *p,
    const struct job *jb)
{
	jpg_str(p, jb->id);
	jpg_int(p, jb->seq);
	jpg_str(p, jb->session);
	jpg_str(p, jb->nonce);
	jpg_str(p, jb->task);
	jpg_str(p, jb->kernel);
	jpg_str(p, jb->locks);
	jpg_str(p, jb->params);
	jpg_str(p, job_state_name(jb->state));	/* checked by the caller */
	jpg_int(p, jb->created_ms);
	jpg_int(p, jb->started_ms);
	jpg_int(p, jb->finished_ms);
	jpg_int(p, jb->slot);
	jpg_str(p, jb->device);
	jpg_str(p, jb->result);
	jpg_str(p, jb->error);
	jpg_int(p, jb->has_png != 0);
	jpg_str(p, jb->inputs);
	jpg_int(p, jb->file_bytes);
	jpg_str(p, jb->client);
	jpg_str(p, j->node);
}

int
journal_pg_insert(struct journal *j, const struct job *jb)
{
	struct jpg_params	 p = { .n = 0 };
	char			 why[400];
	int			 ret = -1;

	jpg_insert_params(j, &p, jb);
	if (journal_pg_enter(j, "journal_insert") == -1)
		goto out;
	if (journal_pg_cmd(j, jpg_insert_sql, &p, "journal_insert") == -1) {
		/* A copy: the message is rewritten into its own buffer. */
		snprintf(why, sizeof(why), "%s", journal_error(j) +
		    strlen("journal_insert: "));
		journal_seterr(j, "journal_insert: job %s: %s", jb->id, why);
		goto out;
	}
	journal_pg_wrote(j);
	ret = 0;
out:
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	return ret;
}

int
journal_pg_start(struct journal *j, const char *id, int64_t started_ms,
    int slot, const char *device)
{
	struct jpg_params	 p = { .n = 0 };
	PGresult		*res = NULL;
	char			 session[JOB_SESSION_LEN + 1] = "";
	int			 ret = -1;

	jpg_str(&p, id);
	jpg_int(&p, started_ms);
	jpg_int(&p, slot);
	jpg_str(&p, device == NULL ? "" : device);
	if (journal_pg_enter(j, "journal_start") == -1 ||
	    (res = journal_pg_run(j, "UPDATE jobs SET state = 'running', "
	    "started_ms = $2::bigint, slot = $3::int, device = $4 "
	    "WHERE id = $1 RETURNING session", &p, "journal_start")) == NULL)
		goto out;
	journal_pg_wrote(j);
	if (PQntuples(res) == 0) {
		journal_seterr(j, "journal_start: no such job: %s", id);
		goto out;
	}
	if ((size_t)PQgetlength(res, 0, 0) <= JOB_SESSION_LEN)
		strcpy(session, PQgetvalue(res, 0, 0));
	ret = 0;
out:
	PQclear(res);
	pthread_mutex_unlock(&j->mtx);
	/* "" after a failure: every list, to be safe. */
	journal_recent_forget(j, session);
	return ret;
}

int
journal_pg_finish_exec(struct journal *j, const struct job *jb, int has_png,
    int64_t file_bytes, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	int64_t			 n;

	jpg_str(&p, jb->id);
	jpg_str(&p, job_state_name(jb->state));
	jpg_int(&p, jb->finished_ms);
	jpg_str(&p, jb->result);
	jpg_str(&p, jb->error);
	jpg_int(&p, has_png);
	jpg_int(&p, file_bytes);
	jpg_int(&p, jb->started_ms);
	jpg_int(&p, jb->slot);
	jpg_str(&p, jb->device);
	jpg_str(&p, jb->files);
	jpg_int(&p, jb->removed_ms);
	jpg_str(&p, j->node);
	jpg_int(&p, j->generation);
	if ((n = journal_pg_int(j, jpg_finish_sql, &p, func)) == -1)
		return -1;
	if (n == 0)
		return journal_pg_fenced(j, jb->id, func);
	/* Written by this life: its outputs with it (the cluster's). */
	return journal_pg_files_put(j, jb->id, JOBDIR_OUT, jb->files, func);
}

/*
 * After a final write of id committed: in the cluster the database has
 * its files now, this disk's copy goes (journal_pg_files.c).
 */
void
journal_pg_finished(struct journal *j, const char *id)
{
	if (j->node[0] != '\0')
		(void)jobdir_remove(journal_results_dir(j), id);
}

int
journal_pg_finish_row(struct journal *j, const struct job *jb, int has_png,
    int64_t file_bytes, const char *func)
{
	/* Files to store: the row and they in one transaction. */
	int	 tx = j->node[0] != '\0' && jb->files != NULL;
	int	 ret = -1;

	if (journal_pg_enter(j, func) == -1 ||
	    (tx && journal_pg_cmd(j, "BEGIN", NULL, func) == -1))
		goto out;
	if (journal_pg_finish_exec(j, jb, has_png, file_bytes, func) == -1 ||
	    (tx && journal_pg_cmd(j, "COMMIT", NULL, func) == -1)) {
		if (tx)
			journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
	journal_pg_finished(j, jb->id);
	ret = 0;
out:
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	return ret;
}

/*
 * The jobs sql (columns JOURNAL_PG_COLS) selects with p: as many as
 * max >= 0 into *out when out is not NULL (the count), else the one into
 * one (1 or 0). -1 on error. Takes the mutex.
 */
static int
journal_pg_select(struct journal *j, const char *sql,
    const struct jpg_params *p, struct job **out, struct job *one,
    const char *func)
{
	PGresult	*res;
	int		 ret = -1;

	if (journal_pg_enter(j, func) == 0 &&
	    (res = journal_pg_run(j, sql, p, func)) != NULL)
		ret = out != NULL ? journal_pg_collect(j, res, out, func) :
		    journal_pg_lookup(j, res, one, func);
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

int
journal_pg_get(struct journal *j, const char *id, struct job *out)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, id);
	return journal_pg_select(j, "SELECT " JOURNAL_PG_COLS " FROM jobs "
	    "WHERE id = $1", &p, NULL, out, "journal_get");
}

int
journal_pg_find_nonce(struct journal *j, const char *session,
    const char *nonce, struct job *out)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, session);
	jpg_str(&p, nonce);
	return journal_pg_select(j, "SELECT " JOURNAL_PG_COLS " FROM jobs "
	    "WHERE session = $1 AND nonce = $2 AND nonce <> ''", &p, NULL,
	    out, "journal_find_nonce");
}

int
journal_pg_session_jobs(struct journal *j, const char *session, int max,
    struct job **out)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_str(&p, session);
	jpg_int(&p, max);
	return journal_pg_select(j, "SELECT " JOURNAL_PG_COLS " FROM jobs "
	    "WHERE session = $1 ORDER BY seq DESC LIMIT $2::int", &p, out,
	    NULL, "journal_session_jobs");
}

int
journal_pg_running_jobs(struct journal *j, struct job **out)
{
	struct jpg_params	 p = { .n = 0 };

	/* In the cluster, this node's: the others' are theirs. */
	jpg_str(&p, j->node);
	return journal_pg_select(j, "SELECT " JOURNAL_PG_COLS " FROM jobs "
	    "WHERE state = 'running' AND ($1 = '' OR node = $1) ORDER BY seq",
	    &p, out, NULL, "journal_running_jobs");
}

static const char jpg_queued_sql[] = "SELECT " JOURNAL_PG_COLS
	" FROM jobs WHERE state = 'queued' AND seq > $1 ORDER BY seq";

int
journal_pg_queued_jobs(struct journal *j, int64_t after_seq,
    struct job **out)
{
	struct jpg_params	 p = { .n = 0 };

	jpg_int(&p, after_seq);
	return journal_pg_select(j, jpg_queued_sql, &p, out, NULL,
	    "journal_queued_jobs");
}

/* In a transaction: running ones failed, the queued ones read. n or -1. */
static int
journal_pg_recover_tx(struct journal *j, int64_t now_ms, struct job **v,
    const char *func)
{
	struct jpg_params	 p = { .n = 0 }, node = { .n = 0 }, all = { .n = 0 };
	PGresult		*res;

	jpg_int(&all, 0);
	jpg_int(&p, now_ms);
	jpg_str(&p, JOURNAL_INTERRUPTED);
	jpg_str(&p, j->node);
	jpg_str(&node, j->node);
	/*
	 * In the cluster: only this node's earlier lives' jobs (and their
	 * cluster slots); every node's queued ones are the cluster's.
	 */
	if (journal_pg_cmd(j, "UPDATE jobs SET state = 'failed', "
	    "finished_ms = $1::bigint, error = $2 WHERE state = 'running' "
	    "AND ($3 = '' OR node = $3)", &p, func) == -1 ||
	    journal_pg_cmd(j, "DELETE FROM cluster_slots WHERE node = $1",
	    &node, func) == -1 ||
	    (res = journal_pg_run(j, jpg_queued_sql, &all, func)) == NULL)
		return -1;
	return journal_pg_collect(j, res, v, func);
}

int
journal_pg_recover(struct journal *j, int64_t now_ms, struct job **out)
{
	static const char	 func[] = "journal_recover";
	struct job		*v = NULL;
	int			 n = -1;

	if (journal_pg_enter(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	if ((n = journal_pg_recover_tx(j, now_ms, &v, func)) == -1 ||
	    journal_pg_cmd(j, "COMMIT", NULL, func) == -1) {
		journal_free_jobs(v, n);
		v = NULL;
		n = -1;
		journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
out:
	pthread_mutex_unlock(&j->mtx);
	*out = v;
	return n;
}

/* A one-integer query without parameters; the value, or -1. */
static int64_t
journal_pg_scalar(struct journal *j, const char *sql, const char *func)
{
	int64_t	 v = -1;

	if (journal_pg_enter(j, func) == 0)
		v = journal_pg_int(j, sql, NULL, func);
	pthread_mutex_unlock(&j->mtx);
	return v;
}

int64_t
journal_pg_max_seq(struct journal *j)
{
	return journal_pg_scalar(j, "SELECT COALESCE(MAX(seq), 0) FROM jobs",
	    "journal_max_seq");
}

int64_t
journal_pg_result_bytes(struct journal *j)
{
	return journal_pg_scalar(j, "SELECT COALESCE(SUM(file_bytes), 0) "
	    "FROM jobs", "journal_result_bytes");
}

/* Removes one finished job: its files, then its row. In a transaction. */
static int
journal_pg_remove(struct journal *j, const char *id, const char *func)
{
	struct jpg_params	 p = { .n = 0 };

	if (journal_png_unlink(j, id, func) == -1)
		return -1;
	if (jobdir_remove(journal_results_dir(j), id) == -1) {
		journal_seterr(j, "%s: job %s: removing its files: %s", func,
		    id, strerror(errno));
		return -1;
	}
	jpg_str(&p, id);
	return journal_pg_cmd(j, "DELETE FROM jobs WHERE id = $1", &p,
	    func) == -1 ? -1 : 0;
}

/* The TTL pass of eviction, in a transaction: the count, or -1. */
static int
journal_pg_evict_ttl(struct journal *j, int64_t before,
    struct journal_ids *l, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	PGresult		*res;
	size_t			 from = l->n, i;
	int			 r, rows;

	jpg_int(&p, before);
	if ((res = journal_pg_run(j, "SELECT id FROM jobs WHERE state IN "
	    JOURNAL_PG_FINAL " AND finished_ms < $1::bigint "
	    "ORDER BY finished_ms, seq", &p, func)) == NULL)
		return -1;
	rows = PQntuples(res);
	for (r = 0; r < rows; r++)
		if (journal_ids_add(l, (const unsigned char *)
		    PQgetvalue(res, r, 0)) == -1) {
			journal_seterr(j, "%s: out of memory", func);
			PQclear(res);
			return -1;
		}
	PQclear(res);
	for (i = from; i < l->n; i++)
		if (journal_pg_remove(j, l->id[i], func) == -1)
			return -1;
	return (int)(l->n - from);
}

/*
 * Eviction, as journal_sqlite_evict: the TTL pass (rows and files), then
 * the space pass (files only, after the commit); cb after the commit.
 */
int
journal_pg_evict(struct journal *j, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes, void (*cb)(const char *id, void *), void *arg)
{
	static const char	 func[] = "journal_evict";
	struct journal_ids	 l = { NULL, 0, 0 };
	size_t			 from = 0, i;
	int			 n, ret = -1, removed = 0;

	if (journal_pg_enter(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	if (ttl_ms >= 0) {
		if ((n = journal_pg_evict_ttl(j, now_ms - ttl_ms, &l,
		    func)) == -1)
			goto fail;
		removed += n;
		from = l.n;
	}
	if (max_bytes >= 0) {
		if (journal_room_within(j, max_bytes, now_ms, &l,
		    func) == -1)
			goto fail;
		removed += (int)(l.n - from);
	}
	if (journal_pg_cmd(j, "COMMIT", NULL, func) == -1)
		goto fail;
	journal_pg_wrote(j);
	ret = removed;
	journal_room_unlink(j, &l, from);
	goto out;
fail:
	journal_pg_rollback(j);
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
