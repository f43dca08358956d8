/*
 * journal_pg: the PostgreSQL store of the journal (cluster.database), its
 * connection: the schema, running statements, reading jobs back from
 * rows, open and close, and whether the database takes writes. The calls
 * that use them are in journal_pg_jobs.c, journal_pg_room.c,
 * journal_pg_cluster.c and journal_pg_files.c (a job's files).
 *
 * One libpq connection behind the journal's mutex. Every statement is
 * prepared once per connection (journal_pg_prep.c) and executed with its
 * values as parameters. A connection that
 * broke (the server restarted, the network went) is reset at the start
 * of the next call; the call that found it broken fails, because a write
 * whose answer was lost may or may not have been committed.
 *
 * The schema is versioned in the table schema_version and created or
 * migrated in one transaction under an advisory lock, so that responders
 * starting at once against an empty database make it once: the others
 * wait for the lock, then find it done.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "job.h"
#include "journal.h"
#include "journal_int.h"
#include "journal_pg.h"

/* pg_advisory_xact_lock's key for the schema: "sluice" in ASCII. */
#define JOURNAL_PG_LOCK		"115108117105099101"

/* What a user is told (no server wording); the log has the rest. */
static const char *const journal_pg_why[JPH__MAX] = {
	[JPH_OK] = NULL,
	[JPH_DOWN] = "the server's job database cannot be reached",
	[JPH_FULL] = "the server's job database is out of disk space",
	[JPH_READONLY] = "the server's job database is read-only",
};

/* Version 1: the jobs table of the SQLite store's version 5. */
static const char journal_pg_schema_v1[] =
	"CREATE TABLE jobs ("
	" id text PRIMARY KEY,"
	" seq bigint UNIQUE NOT NULL,"
	" session text NOT NULL,"
	" nonce text NOT NULL DEFAULT '',"
	" task text, kernel text, locks text, params text,"
	" state text NOT NULL,"
	" created_ms bigint NOT NULL DEFAULT 0,"
	" started_ms bigint NOT NULL DEFAULT 0,"
	" finished_ms bigint NOT NULL DEFAULT 0,"
	" slot integer NOT NULL DEFAULT -1,"
	" device text NOT NULL DEFAULT '',"
	" result text, error text,"
	" has_png integer NOT NULL DEFAULT 0,"
	" inputs text, files text,"
	" file_bytes bigint NOT NULL DEFAULT 0,"
	" client text NOT NULL DEFAULT '',"
	" removed_ms bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX jobs_session_seq ON jobs (session, seq);"
	"CREATE INDEX jobs_state_seq ON jobs (state, seq);"
	"CREATE INDEX jobs_finished ON jobs (finished_ms);"
	"CREATE UNIQUE INDEX jobs_session_nonce ON jobs (session, nonce)"
	" WHERE nonce <> '';"
	"CREATE INDEX jobs_with_files ON jobs (session, finished_ms, seq)"
	" WHERE file_bytes > 0;";

/*
 * Version 2: the cluster. jobs.node and generation say which node (in
 * which of its lives) runs or ran a job, NULL while it is queued (queued
 * jobs belong to nobody); origin, the node that accepted it. seq comes
 * from jobs_seq (acceptance order across nodes). nodes: each node's
 * lease (cluster.c). cluster_slots: the held slots of scope = "cluster"
 * locks, one row per held slot (the primary key makes over-admission
 * impossible), freed with the job's final write or by the reaper.
 * secrets: the CSRF secret every node signs forms with.
 */
static const char journal_pg_schema_v2[] =
	"ALTER TABLE jobs ADD COLUMN node text, ADD COLUMN generation bigint,"
	" ADD COLUMN origin text;"
	"CREATE SEQUENCE jobs_seq;"
	"SELECT setval('jobs_seq', (SELECT COALESCE(MAX(seq), 0) + 1"
	" FROM jobs), false);"
	"CREATE INDEX jobs_queued ON jobs (seq) WHERE state = 'queued';"
	"CREATE INDEX jobs_running_node ON jobs (node, generation)"
	" WHERE state = 'running';"
	"CREATE INDEX jobs_active_session ON jobs (session)"
	" WHERE state IN ('queued', 'running');"
	"CREATE TABLE nodes ("
	" name text PRIMARY KEY,"
	" generation bigint NOT NULL,"
	" heartbeat_at timestamptz NOT NULL DEFAULT now(),"
	" joined_at timestamptz NOT NULL DEFAULT now(),"
	" lost boolean NOT NULL DEFAULT false);"
	"CREATE TABLE cluster_slots ("
	" lock text NOT NULL,"
	" slot integer NOT NULL,"
	" job text NOT NULL,"
	" node text NOT NULL,"
	" generation bigint NOT NULL,"
	" PRIMARY KEY (lock, slot));"
	"CREATE INDEX cluster_slots_job ON cluster_slots (job);"
	"CREATE INDEX cluster_slots_node ON cluster_slots (node, generation);"
	"CREATE TABLE secrets ("
	" name text PRIMARY KEY,"
	" value bytea NOT NULL);"
	"CREATE TABLE job_files ("
	" job text NOT NULL,"
	" name text NOT NULL,"
	" data bytea NOT NULL,"
	" PRIMARY KEY (job, name));";

/*
 * Version 3: a job's files in the cluster (journal_pg_files.c), its
 * uploads (kind 'in') and its worker's outputs ('out'), gone with the
 * job's row. v2's job_files was never written.
 */
static const char journal_pg_schema_v3[] =
	"DROP TABLE job_files;"
	"CREATE TABLE job_files ("
	" job text NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	" kind text NOT NULL CHECK (kind IN ('in', 'out')),"
	" name text NOT NULL,"
	" data bytea NOT NULL,"
	" PRIMARY KEY (job, kind, name));";

/* The steps from each version to the next, in order. */
static const char *const journal_pg_migrations[] = {
	journal_pg_schema_v1,	/* 0 -> 1: a new database */
	journal_pg_schema_v2,	/* 1 -> 2: the cluster */
	journal_pg_schema_v3,	/* 2 -> 3: the cluster's files */
};

void
jpg_str(struct jpg_params *p, const char *v)
{
	if (p->n < JPG_MAXP)
		p->v[p->n++] = v;
}

void
jpg_int(struct jpg_params *p, int64_t v)
{
	if (p->n >= JPG_MAXP)
		return;
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

void
jpg_bin(struct jpg_params *p, const void *v, size_t len)
{
	if (p->n >= JPG_MAXP || len > INT_MAX)
		return;
	p->v[p->n] = v;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->binary = 1;
	p->n++;
}

/* Records msg (the server's or libpq's, its newline dropped) for func. */
static void
journal_pg_seterr(struct journal *j, const char *func, const char *msg)
{
	size_t	 n = strlen(msg);

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	journal_seterr(j, "%s: postgresql: %.*s", func, (int)n, msg);
}

/* Sets the health, logging a change (under the mutex). */
static void
journal_pg_health(struct journal *j, enum journal_pg_health h,
    const char *msg)
{
	enum journal_pg_health	 old = atomic_exchange(&JPG(j)->health, h);

	if (old == h)
		return;
	if (h == JPH_OK)
		fprintf(stderr, "level=info msg=\"job database writable "
		    "again\"\n");
	else
		fprintf(stderr, "level=error msg=\"%s\" error=\"%.200s\"\n",
		    journal_pg_why[h], msg != NULL ? msg : "");
}

/* The health a failed statement means (res may be NULL). */
static void
journal_pg_failed(struct journal *j, PGresult *res)
{
	const char	*state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = PQerrorMessage(JPG(j)->conn);

	if (PQstatus(JPG(j)->conn) != CONNECTION_OK)
		journal_pg_health(j, JPH_DOWN, msg);
	else if (state != NULL && strcmp(state, "53100") == 0)
		journal_pg_health(j, JPH_FULL, msg);	/* disk full */
	else if (state != NULL && strcmp(state, "25006") == 0)
		journal_pg_health(j, JPH_READONLY, msg);
}

void
journal_pg_wrote(struct journal *j)
{
	journal_pg_health(j, JPH_OK, NULL);
}

/*
 * Makes sure the connection is up, resetting a broken one; since is when
 * the caller began waiting for the mutex. A reconnect may take
 * connect_timeout under the mutex: calls that waited behind one that
 * failed fail at once instead of each trying again in turn, and the
 * next call after them tries again.
 */
static int
journal_pg_ready(struct journal *j, const char *func, int64_t since)
{
	PGconn	*c = JPG(j)->conn;

	if (PQstatus(c) == CONNECTION_OK)
		return 0;
	if (JPG(j)->reset_failed_ns > since) {
		journal_pg_seterr(j, func, PQerrorMessage(c));
		return -1;
	}
	/* A new server session: what the old one prepared is gone. */
	jpg_prep_forget(j);
	PQreset(c);
	if (PQstatus(c) == CONNECTION_OK) {
		JPG(j)->reset_failed_ns = 0;
		/* Reached again: what it cannot take, a write will say. */
		if (atomic_load(&JPG(j)->health) == JPH_DOWN)
			journal_pg_health(j, JPH_OK, NULL);
		return 0;
	}
	JPG(j)->reset_failed_ns = job_mono_ns();
	journal_pg_seterr(j, func, PQerrorMessage(c));
	journal_pg_health(j, JPH_DOWN, PQerrorMessage(c));
	return -1;
}

int
journal_pg_enter(struct journal *j, const char *func)
{
	int64_t	 since = job_mono_ns();

	pthread_mutex_lock(&j->mtx);
	return journal_pg_ready(j, func, since);
}

PGresult *
journal_pg_run(struct journal *j, const char *sql, const struct jpg_params *p,
    const char *func)
{
	static const struct jpg_params none = { .n = 0 };
	PGresult	*res;
	ExecStatusType	 st;
	char		 name[JPG_PREP_NAME];
	int		 prep;

	if (p == NULL)
		p = &none;
	if ((prep = jpg_prep(j, sql, p->n, name, &res)) == 1)
		res = PQexecPrepared(JPG(j)->conn, name, p->n, p->v,
		    p->binary ? p->len : NULL, p->binary ? p->fmt : NULL,
		    p->binary_result);
	else if (prep == 0)
		res = PQexecParams(JPG(j)->conn, sql, p->n, NULL, p->v,
		    p->binary ? p->len : NULL, p->binary ? p->fmt : NULL,
		    p->binary_result);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	journal_pg_seterr(j, func, res != NULL && PQresultErrorMessage(res)[0] ?
	    PQresultErrorMessage(res) : PQerrorMessage(JPG(j)->conn));
	journal_pg_failed(j, res);
	PQclear(res);
	return NULL;
}

int64_t
journal_pg_cmd(struct journal *j, const char *sql, const struct jpg_params *p,
    const char *func)
{
	PGresult	*res;
	int64_t		 n;

	if ((res = journal_pg_run(j, sql, p, func)) == NULL)
		return -1;
	n = strtoll(PQcmdTuples(res), NULL, 10);	/* "" for BEGIN: 0 */
	PQclear(res);
	return n;
}

int64_t
journal_pg_int(struct journal *j, const char *sql, const struct jpg_params *p,
    const char *func)
{
	PGresult	*res;
	int64_t		 v = -1;

	if ((res = journal_pg_run(j, sql, p, func)) == NULL)
		return -1;
	if (PQntuples(res) != 1 || PQnfields(res) < 1)
		journal_seterr(j, "%s: no such row", func);
	else
		v = PQgetisnull(res, 0, 0) ? 0 :
		    strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

void
journal_pg_rollback(struct journal *j)
{
	PQclear(PQexec(JPG(j)->conn, "ROLLBACK"));
}

/* Copies a text column into a fixed buffer; -1 when it does not fit. */
static int
jpg_col_fixed(PGresult *res, int r, int c, char *dst, size_t len)
{
	size_t	 n = (size_t)PQgetlength(res, r, c);

	if (n >= len)
		return -1;
	memcpy(dst, PQgetvalue(res, r, c), n);
	dst[n] = '\0';
	return 0;
}

/* Duplicates a column (NULL stays NULL); 0, or -1 on ENOMEM. */
static int
jpg_col_dup(PGresult *res, int r, int c, char **dst)
{
	*dst = NULL;
	if (PQgetisnull(res, r, c))
		return 0;
	return (*dst = strdup(PQgetvalue(res, r, c))) == NULL ? -1 : 0;
}

static int64_t
jpg_col_int(PGresult *res, int r, int c)
{
	return strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* Fills out from row r (JOURNAL_PG_COLS); -1 (out cleared) on failure. */
static int
journal_pg_row(struct journal *j, PGresult *res, int r, struct job *out,
    const char *func)
{
	int	 state;

	memset(out, 0, sizeof(*out));
	if (PQnfields(res) != 22 ||
	    jpg_col_fixed(res, r, 0, out->id, sizeof(out->id)) == -1 ||
	    jpg_col_fixed(res, r, 2, out->session, sizeof(out->session)) ||
	    jpg_col_fixed(res, r, 3, out->nonce, sizeof(out->nonce)) ||
	    jpg_col_fixed(res, r, 13, out->device, sizeof(out->device)) ||
	    jpg_col_fixed(res, r, 20, out->client, sizeof(out->client))) {
		journal_seterr(j, "%s: malformed row in jobs table", func);
		goto fail;
	}
	if ((state = job_state_parse(PQgetvalue(res, r, 8))) == -1) {
		journal_seterr(j, "%s: job %s: unknown state \"%s\"", func,
		    out->id, PQgetvalue(res, r, 8));
		goto fail;
	}
	out->state = (enum job_state)state;
	out->seq = jpg_col_int(res, r, 1);
	out->created_ms = jpg_col_int(res, r, 9);
	out->started_ms = jpg_col_int(res, r, 10);
	out->finished_ms = jpg_col_int(res, r, 11);
	out->slot = (int)jpg_col_int(res, r, 12);
	out->has_png = jpg_col_int(res, r, 16) != 0;
	out->file_bytes = jpg_col_int(res, r, 19);
	out->removed_ms = jpg_col_int(res, r, 21);
	out->eta_ms = -1;
	if (jpg_col_dup(res, r, 4, &out->task) == -1 ||
	    jpg_col_dup(res, r, 5, &out->kernel) == -1 ||
	    jpg_col_dup(res, r, 6, &out->locks) == -1 ||
	    jpg_col_dup(res, r, 7, &out->params) == -1 ||
	    jpg_col_dup(res, r, 14, &out->result) == -1 ||
	    jpg_col_dup(res, r, 15, &out->error) == -1 ||
	    jpg_col_dup(res, r, 17, &out->inputs) == -1 ||
	    jpg_col_dup(res, r, 18, &out->files) == -1) {
		journal_seterr(j, "%s: out of memory", func);
		goto fail;
	}
	return 0;
fail:
	job_clear(out);
	return -1;
}

int
journal_pg_collect(struct journal *j, PGresult *res, struct job **out,
    const char *func)
{
	struct job	*v = NULL;
	int		 n = 0, rows, ret = -1;

	*out = NULL;
	if ((rows = PQntuples(res)) == 0) {
		ret = 0;
		goto out;
	}
	if ((v = calloc((size_t)rows, sizeof(*v))) == NULL) {
		journal_seterr(j, "%s: out of memory", func);
		goto out;
	}
	for (; n < rows; n++)
		if (journal_pg_row(j, res, n, &v[n], func) == -1)
			goto out;
	*out = v;
	v = NULL;
	ret = n;
out:
	PQclear(res);
	journal_free_jobs(v, n);
	return ret;
}

int
journal_pg_lookup(struct journal *j, PGresult *res, struct job *out,
    const char *func)
{
	int	 ret = 0;

	if (PQntuples(res) > 0)
		ret = journal_pg_row(j, res, 0, out, func) == 0 ? 1 : -1;
	PQclear(res);
	return ret;
}

/*
 * Runs sql (one statement, or several without values) on c with the n
 * values v, before the journal exists (no journal_seterr). 1 with the first column of its first row in *val when
 * val is not NULL and there is one (NULL is 0), else 0; -1 on error.
 */
static int
jpg_setup_exec(PGconn *c, const char *sql, int n, const char *const *v,
    long long *val)
{
	/* Without values, the simple protocol: a migration has many. */
	PGresult	*res = n == 0 ? PQexec(c, sql) :
	    PQexecParams(c, sql, n, NULL, v, NULL, NULL, 0);
	ExecStatusType	 st = PQresultStatus(res);
	int		 ret = -1;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		ret = 0;
		if (val != NULL && PQntuples(res) > 0 && PQnfields(res) > 0) {
			*val = PQgetisnull(res, 0, 0) ? 0 :
			    atoll(PQgetvalue(res, 0, 0));
			ret = 1;
		}
	}
	PQclear(res);
	return ret;
}

/*
 * In one transaction under the schema's advisory lock: schema_version
 * made when missing (looked up first: creating needs a privilege that
 * using does not), then every step from its version on. Nodes starting
 * at once wait for the lock and find the work done. 0, or -1 with the
 * reason in err.
 */
static int
journal_pg_schema(PGconn *c, char *err, size_t errlen)
{
	const char	*v[1];
	char		 num[16];
	long long	 version = 0, made = 0;
	int		 from;

	if (jpg_setup_exec(c, "BEGIN", 0, NULL, NULL) == -1 ||
	    jpg_setup_exec(c, "SELECT pg_advisory_xact_lock("
	    JOURNAL_PG_LOCK ")", 0, NULL, NULL) == -1 ||
	    jpg_setup_exec(c, "SELECT (to_regclass('schema_version') IS "
	    "NOT NULL)::int", 0, NULL, &made) == -1 ||
	    (!made && jpg_setup_exec(c, "CREATE TABLE schema_version "
	    "(version integer NOT NULL)", 0, NULL, NULL) == -1) ||
	    jpg_setup_exec(c, "SELECT MAX(version) FROM schema_version", 0,
	    NULL, &version) == -1)
		goto fail;
	if (version > JOURNAL_PG_SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %lld is newer than this "
		    "program's (%d)", version, JOURNAL_PG_SCHEMA_VERSION);
		goto out;
	}
	for (from = (int)version; version < JOURNAL_PG_SCHEMA_VERSION;
	    version++)
		if (jpg_setup_exec(c, journal_pg_migrations[version], 0, NULL,
		    NULL) == -1)
			goto fail;
	snprintf(num, sizeof(num), "%lld", version);
	v[0] = num;
	if ((from != version && (jpg_setup_exec(c, "DELETE FROM "
	    "schema_version", 0, NULL, NULL) == -1 || jpg_setup_exec(c,
	    "INSERT INTO schema_version VALUES ($1::int)", 1, v,
	    NULL) == -1)) || jpg_setup_exec(c, "COMMIT", 0, NULL, NULL) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "schema (version %lld): %s", version,
	    PQerrorMessage(c));
	err[strcspn(err, "\n")] = '\0';
out:
	PQclear(PQexec(c, "ROLLBACK"));
	return -1;
}

/*
 * The server's notices ("relation ... already exists, skipping") are not
 * errors and go nowhere; libpq's default prints them on stderr.
 */
static void
journal_pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Frees everything j holds; safe on a partly opened journal. */
static void
journal_pg_free(struct journal *j)
{
	if (j == NULL)
		return;
	jpg_prep_forget(j);
	PQfinish(JPG(j)->conn);
	journal_base_free(j);
	free(j);
}

static void
journal_pg_close(struct journal *j)
{
	journal_pg_free(j);
}

/* Why the database cannot take writes now, or NULL. Lock-free. */
static const char *
journal_pg_unwritable(struct journal *j)
{
	return journal_pg_why[atomic_load(&JPG(j)->health)];
}

/*
 * A write that changes nothing (schema_version set to itself), so that a
 * journal that could not write finds out when it can again. 0 or -1.
 */
static int
journal_pg_probe(struct journal *j)
{
	int	 rc = -1;

	if (journal_pg_enter(j, "journal_probe") == 0 &&
	    journal_pg_cmd(j, "UPDATE schema_version SET version = version",
	    NULL, "journal_probe") != -1) {
		journal_pg_wrote(j);
		rc = 0;
	}
	pthread_mutex_unlock(&j->mtx);
	return rc;
}

static const struct journal_store_ops journal_pg_ops = {
	.name = "postgresql",
	.close = journal_pg_close,
	.unwritable = journal_pg_unwritable,
	.probe = journal_pg_probe,
	.insert = journal_pg_insert,
	.start = journal_pg_start,
	.admit = journal_pg_admit,
	.claim = journal_pg_claim,
	.notify = journal_pg_notify,
	.secret = journal_pg_secret,
	.nodes = journal_pg_nodes,
	.files_read = journal_pg_files_read,
	.finish_row = journal_pg_finish_row,
	.finish_room = journal_pg_finish_room,
	.room_used = journal_pg_room_used,
	.room_victim = journal_pg_room_victim,
	.room_strip = journal_pg_room_strip,
	.room_row_bytes = journal_pg_room_row_bytes,
	.room_savepoint = journal_pg_room_savepoint,
	.finish_exec = journal_pg_finish_exec,
	.get = journal_pg_get,
	.find_nonce = journal_pg_find_nonce,
	.session_jobs = journal_pg_session_jobs,
	.running_jobs = journal_pg_running_jobs,
	.queued_jobs = journal_pg_queued_jobs,
	.recover = journal_pg_recover,
	.max_seq = journal_pg_max_seq,
	.evict = journal_pg_evict,
	.result_bytes = journal_pg_result_bytes,
};

/*
 * A connection to database (a conninfo or URI), with connect_timeout 10
 * unless database sets one: a reconnect holds the journal's mutex, and
 * libpq's default is to wait as long as TCP does. NULL on ENOMEM.
 */
static PGconn *
journal_pg_connect(const char *database)
{
	static const char *const keys[] = { "connect_timeout", "dbname",
	    NULL };
	const char	*vals[] = { "10", database, NULL };

	return PQconnectdbParams(keys, vals, 1);
}

/* 0 when c is connected, else -1 with why in err. */
static int
journal_pg_connect_err(PGconn *c, char *err, size_t errlen)
{
	char	 why[400];

	if (c != NULL && PQstatus(c) == CONNECTION_OK)
		return 0;
	snprintf(why, sizeof(why), "%s", c != NULL ? PQerrorMessage(c) :
	    "out of memory");
	why[strcspn(why, "\n")] = '\0';
	snprintf(err, errlen, "cluster.database: cannot connect: %s", why);
	return -1;
}

int
journal_pg_check(const char *database, char *err, size_t errlen)
{
	PGconn	*c = journal_pg_connect(database);
	int	 rc = journal_pg_connect_err(c, err, errlen);

	PQfinish(c);
	return rc;
}

/*
 * Opens the journal with its rows in the PostgreSQL database (a libpq
 * conninfo or URI) and its files under STATE/results: connects, creates
 * or migrates the schema. NULL with a message in err (the conninfo is
 * not repeated: it may hold a password).
 */
struct journal *
journal_pg_open(const char *database, const char *state_dir, char *err,
    size_t errlen)
{
	struct journal_pg	*q;
	struct journal		*j;
	char			 why[400];

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		return NULL;
	}
	j = &q->base;
	atomic_init(&q->health, JPH_OK);
	if (journal_base_init(j, &journal_pg_ops, state_dir, err,
	    errlen) == -1)
		goto fail;
	q->conn = journal_pg_connect(database);
	if (journal_pg_connect_err(q->conn, err, errlen) == -1)
		goto fail;
	PQsetNoticeProcessor(q->conn, journal_pg_notice, NULL);
	if (journal_pg_schema(q->conn, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "cluster.database: %s", why);
		goto fail;
	}
	return j;
fail:
	journal_pg_free(j);
	return NULL;
}
