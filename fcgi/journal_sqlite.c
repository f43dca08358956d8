/*
 * journal_sqlite: the SQLite store of the journal, its connection: the
 * schema, the statements, journal_open and journal_close, and reading jobs
 * back from rows. The calls that use the statements are in
 * journal_sqlite_jobs.c; the result files in journal_files.c.
 *
 * One SQLite connection (WAL) behind a mutex the journal owns; every
 * statement is prepared once at open and takes its values through bound
 * parameters only.
 *
 * Durability: PRAGMA synchronous=NORMAL. In WAL mode a commit is then in
 * the WAL file (the OS page cache) when the call returns, so it survives
 * kill -9 and any crash of this process; a power loss or kernel crash may
 * lose the last transactions before the next checkpoint, never corrupt
 * the database. FULL (an fsync per commit) was measured on the
 * development VM's disk (2 cores, virtio): NORMAL 58-63 us per insert,
 * FULL 380-590 us per insert, and every journal write is serialised by
 * the journal mutex, so FULL would cap admissions near 2000/s; not worth
 * it for jobs that a user can resubmit.
 */
#include <limits.h>
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

#define JOURNAL_BUSY_MS		5000

/* The columns a job is read back from, in struct job order. */
#define JOURNAL_COLS \
	"id, seq, session, nonce, task, kernel, locks, params, state, " \
	"created_ms, started_ms, finished_ms, slot, device, result, error, " \
	"has_png, inputs, files, file_bytes, client, removed_ms"

#define JOURNAL_FINAL "('done', 'failed', 'expired', 'cancelled')"

static const char *const journal_sql[JST__MAX] = {
	[JST_BEGIN] = "BEGIN IMMEDIATE",
	[JST_COMMIT] = "COMMIT",
	[JST_ROLLBACK] = "ROLLBACK",
	/* Strips for room that turned out not to be enough are undone. */
	[JST_ROOM_MARK] = "SAVEPOINT room",
	[JST_ROOM_UNDO] = "ROLLBACK TO room",
	[JST_ROOM_KEEP] = "RELEASE room",
	[JST_INSERT] =
	    "INSERT INTO jobs (id, seq, session, nonce, task, kernel, locks, "
	    "params, state, created_ms, started_ms, finished_ms, slot, device, "
	    "result, error, has_png, inputs, file_bytes, client) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	    "?17, ?18, ?19, ?20)",
	[JST_INSERT_AUTOSEQ] =
	    "INSERT INTO jobs (id, seq, session, nonce, task, kernel, locks, "
	    "params, state, created_ms, started_ms, finished_ms, slot, device, "
	    "result, error, has_png, inputs, file_bytes, client) VALUES (?1, "
	    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[JST_START] =
	    "UPDATE jobs SET state = 'running', started_ms = ?2, slot = ?3, "
	    "device = ?4 WHERE id = ?1 RETURNING session",
	[JST_FINISH] =
	    "UPDATE jobs SET state = ?2, finished_ms = ?3, result = ?4, "
	    "error = ?5, has_png = ?6, file_bytes = ?7, files = ?11, "
	    "removed_ms = ?12, "
	    "started_ms = CASE WHEN ?8 > 0 THEN ?8 ELSE started_ms END, "
	    "slot = CASE WHEN ?9 >= 0 THEN ?9 ELSE slot END, "
	    "device = CASE WHEN ?10 <> '' THEN ?10 ELSE device END "
	    "WHERE id = ?1",
	[JST_GET] = "SELECT " JOURNAL_COLS " FROM jobs WHERE id = ?1",
	[JST_NONCE] = "SELECT " JOURNAL_COLS " FROM jobs "
	    "WHERE session = ?1 AND nonce = ?2 AND nonce <> ''",
	[JST_SESSION] = "SELECT " JOURNAL_COLS " FROM jobs "
	    "WHERE session = ?1 ORDER BY seq DESC LIMIT ?2",
	[JST_RECOVER_FAIL] =
	    "UPDATE jobs SET state = 'failed', finished_ms = ?1, error = ?2 "
	    "WHERE state = 'running'",
	[JST_RECOVER_LIST] = "SELECT " JOURNAL_COLS " FROM jobs "
	    "WHERE state = 'queued' ORDER BY seq",
	[JST_QUEUED_AFTER] = "SELECT " JOURNAL_COLS " FROM jobs "
	    "WHERE state = 'queued' AND seq > ?1 ORDER BY seq",
	[JST_RUNNING] = "SELECT " JOURNAL_COLS " FROM jobs "
	    "WHERE state = 'running' ORDER BY seq",
	[JST_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM jobs",
	[JST_TTL_LIST] = "SELECT id FROM jobs WHERE state IN " JOURNAL_FINAL
	    " AND finished_ms < ?1 ORDER BY finished_ms, seq",
	[JST_DELETE] = "DELETE FROM jobs WHERE id = ?1",
	/* The byte counts the schema's triggers keep (version 5). */
	[JST_BYTES] = "SELECT bytes FROM store_bytes WHERE k = 0",
	[JST_ROW_BYTES] = "SELECT file_bytes FROM jobs WHERE id = ?1",
	[JST_SESSION_BYTES] = "SELECT COALESCE((SELECT bytes FROM "
	    "session_bytes WHERE session = ?1), 0)",
	[JST_SESSION_OLDEST] = "SELECT id, file_bytes FROM jobs "
	    "WHERE session = ?1 AND state IN " JOURNAL_FINAL " AND "
	    "file_bytes > 0 AND id <> ?2 ORDER BY finished_ms, seq LIMIT 1",
	/* The session holding the most that has a finished job with files. */
	[JST_LARGEST_SESSION] = "SELECT b.session FROM session_bytes b "
	    "WHERE EXISTS (SELECT 1 FROM jobs WHERE session = b.session AND "
	    "file_bytes > 0 AND state IN " JOURNAL_FINAL " AND id <> ?1) "
	    "ORDER BY b.bytes DESC LIMIT 1",
	[JST_STRIP] = "UPDATE jobs SET file_bytes = 0, files = NULL, "
	    "inputs = NULL, has_png = 0, removed_ms = ?2 WHERE id = ?1",
};

/* Schema version 1. Later versions migrate from user_version upwards. */
static const char journal_schema_v1[] =
	"CREATE TABLE IF NOT EXISTS jobs ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" seq INTEGER UNIQUE NOT NULL,"
	" session TEXT NOT NULL,"
	" nonce TEXT NOT NULL DEFAULT '',"
	" task TEXT,"
	" kernel TEXT,"
	" locks TEXT,"
	" params TEXT,"
	" state TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL DEFAULT 0,"
	" started_ms INTEGER NOT NULL DEFAULT 0,"
	" finished_ms INTEGER NOT NULL DEFAULT 0,"
	" slot INTEGER NOT NULL DEFAULT -1,"
	" device TEXT NOT NULL DEFAULT '',"
	" result TEXT,"
	" error TEXT,"
	" has_png INTEGER NOT NULL DEFAULT 0,"
	" png_bytes INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS jobs_session_seq ON jobs (session, seq);"
	"CREATE INDEX IF NOT EXISTS jobs_state_seq ON jobs (state, seq);"
	"CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_ms);"
	"CREATE UNIQUE INDEX IF NOT EXISTS jobs_session_nonce"
	" ON jobs (session, nonce) WHERE nonce <> '';"
	"PRAGMA user_version = 1;";

/*
 * Version 2: uploaded inputs and output files. A job's files live in
 * STATE/results/ID/ (jobdir.h); png_bytes, which counted the one image,
 * becomes file_bytes, which counts them all (inputs, outputs and an older
 * job's ID.png) against results.max_bytes.
 */
static const char journal_schema_v2[] =
	"ALTER TABLE jobs ADD COLUMN inputs TEXT;"
	"ALTER TABLE jobs ADD COLUMN files TEXT;"
	"ALTER TABLE jobs RENAME COLUMN png_bytes TO file_bytes;"
	"PRAGMA user_version = 2;";

/*
 * Version 3: the client address (REMOTE_ADDR) a job came from, so that
 * clients.max_active counts the queued jobs a restart recovers. Rows of
 * older versions get "" (counted against no client): an old journal
 * opens as it was, nothing rewritten but the schema.
 */
static const char journal_schema_v3[] =
	"ALTER TABLE jobs ADD COLUMN client TEXT NOT NULL DEFAULT '';"
	"PRAGMA user_version = 3;";

/*
 * Version 4: a finished job's files may be removed to make room for newer
 * results while its row stays until results.ttl; removed_ms says when.
 */
static const char journal_schema_v4[] =
	"ALTER TABLE jobs ADD COLUMN removed_ms INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 4;";

/*
 * Version 5: what each session holds and the whole store, kept by
 * triggers on every change of a row's file_bytes, in the same
 * transaction, so that a final write finds them in O(log n) instead of
 * summing every row (26 ms at 100,000 rows, under the journal's mutex,
 * on every result when the store is full). The index finds a session's
 * oldest finished job with files without scanning its history.
 */
static const char journal_schema_v5[] =
	"CREATE TABLE session_bytes (session TEXT PRIMARY KEY NOT NULL,"
	" bytes INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX session_bytes_bytes ON session_bytes (bytes);"
	"CREATE TABLE store_bytes (k INTEGER PRIMARY KEY CHECK (k = 0),"
	" bytes INTEGER NOT NULL);"
	"INSERT INTO session_bytes SELECT session, SUM(file_bytes) FROM jobs"
	" WHERE file_bytes <> 0 GROUP BY session HAVING SUM(file_bytes) <> 0;"
	"INSERT INTO store_bytes VALUES (0,"
	" (SELECT COALESCE(SUM(file_bytes), 0) FROM jobs));"
	"CREATE INDEX jobs_with_files ON jobs (session, finished_ms, seq)"
	" WHERE file_bytes > 0;"
	"CREATE TRIGGER jobs_bytes_insert AFTER INSERT ON jobs"
	" WHEN NEW.file_bytes <> 0 BEGIN"
	"  INSERT INTO session_bytes VALUES (NEW.session, NEW.file_bytes)"
	"   ON CONFLICT (session) DO UPDATE SET bytes = bytes + excluded.bytes;"
	"  UPDATE store_bytes SET bytes = bytes + NEW.file_bytes;"
	" END;"
	"CREATE TRIGGER jobs_bytes_update AFTER UPDATE OF file_bytes ON jobs"
	" WHEN NEW.file_bytes <> OLD.file_bytes BEGIN"
	"  INSERT INTO session_bytes VALUES (NEW.session,"
	"   NEW.file_bytes - OLD.file_bytes)"
	"   ON CONFLICT (session) DO UPDATE SET bytes = bytes + excluded.bytes;"
	"  DELETE FROM session_bytes WHERE session = NEW.session AND bytes = 0;"
	"  UPDATE store_bytes SET bytes = bytes + NEW.file_bytes -"
	"   OLD.file_bytes;"
	" END;"
	"CREATE TRIGGER jobs_bytes_delete AFTER DELETE ON jobs"
	" WHEN OLD.file_bytes <> 0 BEGIN"
	"  UPDATE session_bytes SET bytes = bytes - OLD.file_bytes"
	"   WHERE session = OLD.session;"
	"  DELETE FROM session_bytes WHERE session = OLD.session AND bytes = 0;"
	"  UPDATE store_bytes SET bytes = bytes - OLD.file_bytes;"
	" END;"
	"PRAGMA user_version = 5;";

/* The steps from each version to the next, in order. */
static const char *const journal_migrations[] = {
	journal_schema_v1,	/* 0 -> 1: a new database */
	journal_schema_v2,	/* 1 -> 2 */
	journal_schema_v3,	/* 2 -> 3 */
	journal_schema_v4,	/* 3 -> 4 */
	journal_schema_v5,	/* 4 -> 5 */
};

/* Records an SQLite failure with the caller's name and SQLite's message. */
void
journal_dberr(struct journal *j, const char *func)
{
	journal_seterr(j, "%s: sqlite: %s", func, sqlite3_errmsg(JSQ(j)->db));
}

/* Steps a statement that returns no rows and resets it; 0 or -1. */
int
journal_exec(struct journal *j, enum journal_stmt k, const char *func)
{
	sqlite3_stmt	*s = JSQ(j)->st[k];
	int		 rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		journal_dberr(j, func);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

/* Resets s and clears its bindings. */
void
journal_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Rolls back after a failure inside a transaction; keeps the first error. */
void
journal_rollback(struct journal *j)
{
	if (sqlite3_get_autocommit(JSQ(j)->db))
		return;
	(void)sqlite3_step(JSQ(j)->st[JST_ROLLBACK]);
	sqlite3_reset(JSQ(j)->st[JST_ROLLBACK]);
}

/* Binds a string or NULL (SQL NULL); returns the SQLite code. */
int
journal_bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/*
 * Copies column i of s into a fixed buffer of size len. A value that does
 * not fit (or NULL) is refused: the row was not written by us. 0 or -1.
 */
static int
journal_col_fixed(sqlite3_stmt *s, int i, char *dst, size_t len)
{
	const unsigned char	*v = sqlite3_column_text(s, i);
	size_t			 n;

	if (v == NULL) {
		dst[0] = '\0';
		return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : -1;
	}
	n = (size_t)sqlite3_column_bytes(s, i);
	if (n >= len || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Duplicates column i (NULL stays NULL); 0, or -1 on ENOMEM. */
static int
journal_col_dup(sqlite3_stmt *s, int i, char **dst)
{
	const unsigned char	*v;

	*dst = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	if ((v = sqlite3_column_text(s, i)) == NULL)
		return -1;	/* ENOMEM inside SQLite */
	if ((*dst = strdup((const char *)v)) == NULL)
		return -1;
	return 0;
}

/*
 * Fills out from the current row of s (columns JOURNAL_COLS). On failure
 * out is cleared and -1 returned with the error recorded.
 */
static int
journal_row(struct journal *j, sqlite3_stmt *s, struct job *out,
    const char *func)
{
	const unsigned char	*st;
	int			 state;

	memset(out, 0, sizeof(*out));
	if (journal_col_fixed(s, 0, out->id, sizeof(out->id)) == -1 ||
	    journal_col_fixed(s, 2, out->session, sizeof(out->session)) == -1 ||
	    journal_col_fixed(s, 3, out->nonce, sizeof(out->nonce)) == -1 ||
	    journal_col_fixed(s, 13, out->device, sizeof(out->device)) == -1 ||
	    journal_col_fixed(s, 20, out->client, sizeof(out->client)) == -1) {
		journal_seterr(j, "%s: malformed row in jobs table", func);
		goto fail;
	}
	st = sqlite3_column_text(s, 8);
	if ((state = job_state_parse((const char *)st)) == -1) {
		journal_seterr(j, "%s: job %s: unknown state \"%s\"", func,
		    out->id, st == NULL ? "" : (const char *)st);
		goto fail;
	}
	out->state = (enum job_state)state;
	out->seq = sqlite3_column_int64(s, 1);
	out->created_ms = sqlite3_column_int64(s, 9);
	out->started_ms = sqlite3_column_int64(s, 10);
	out->finished_ms = sqlite3_column_int64(s, 11);
	out->slot = sqlite3_column_int(s, 12);
	out->has_png = sqlite3_column_int(s, 16) != 0;
	out->file_bytes = sqlite3_column_int64(s, 19);
	out->removed_ms = sqlite3_column_int64(s, 21);
	out->position = 0;
	out->eta_ms = -1;
	if (journal_col_dup(s, 4, &out->task) == -1 ||
	    journal_col_dup(s, 5, &out->kernel) == -1 ||
	    journal_col_dup(s, 6, &out->locks) == -1 ||
	    journal_col_dup(s, 7, &out->params) == -1 ||
	    journal_col_dup(s, 14, &out->result) == -1 ||
	    journal_col_dup(s, 15, &out->error) == -1 ||
	    journal_col_dup(s, 17, &out->inputs) == -1 ||
	    journal_col_dup(s, 18, &out->files) == -1) {
		journal_seterr(j, "%s: out of memory", func);
		goto fail;
	}
	return 0;
fail:
	job_clear(out);
	return -1;
}

/*
 * Runs a one-row lookup statement (already bound): 1 with out filled, 0
 * when there is no row, -1 on error. Resets the statement.
 */
int
journal_lookup(struct journal *j, sqlite3_stmt *s, struct job *out,
    const char *func)
{
	int	 rc, ret = -1;

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		ret = 0;
	else if (rc != SQLITE_ROW)
		journal_dberr(j, func);
	else if (journal_row(j, s, out, func) == 0)
		ret = 1;
	journal_done(s);
	return ret;
}

/*
 * Reads every row of a bound statement into a malloc'd array (at most
 * max rows when max >= 0). Returns the count with *out set (NULL when 0)
 * or -1. Resets the statement. Caller holds the mutex.
 */
int
journal_collect(struct journal *j, sqlite3_stmt *s, int max,
    struct job **out, const char *func)
{
	struct job	*v = NULL, *nv;
	size_t		 cap = 0, n = 0, ncap;
	int		 rc, ret = -1;

	*out = NULL;
	for (;;) {
		if (max >= 0 && n >= (size_t)max)
			break;
		if ((rc = sqlite3_step(s)) == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			journal_dberr(j, func);
			goto out;
		}
		if (n == (size_t)INT_MAX) {
			journal_seterr(j, "%s: too many jobs", func);
			goto out;
		}
		if (n == cap) {
			ncap = cap ? cap * 2 : 16;
			if (ncap > SIZE_MAX / sizeof(*v)) {
				journal_seterr(j, "%s: too many jobs", func);
				goto out;
			}
			if ((nv = realloc(v, ncap * sizeof(*v))) == NULL) {
				journal_seterr(j, "%s: out of memory", func);
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		if (journal_row(j, s, &v[n], func) == -1)
			goto out;
		n++;
	}
	*out = v;
	v = NULL;
	ret = (int)n;
out:
	journal_done(s);
	if (ret == -1)
		journal_free_jobs(v, (int)n);
	return ret;
}

/* Fails with "no such job" when the last statement changed no row. */
int
journal_changed(struct journal *j, const char *id, const char *func)
{
	if (sqlite3_changes(JSQ(j)->db) > 0)
		return 0;
	journal_seterr(j, "%s: no such job: %s", func, id);
	return -1;
}

/* Frees everything j holds; safe on a partly opened journal. */
static void
journal_free(struct journal *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	for (i = 0; i < JST__MAX; i++)
		sqlite3_finalize(JSQ(j)->st[i]);
	if (JSQ(j)->db != NULL)
		sqlite3_close(JSQ(j)->db);
	free(JSQ(j)->db_path);
	free(JSQ(j)->wal_path);
	journal_base_free(j);
	free(j);
}

/*
 * Switches db to WAL. SQLite answers the pragma with the mode now in
 * force and keeps the old one (no error) where WAL cannot work, e.g. on a
 * filesystem without shared memory for the -shm file. That is refused,
 * not warned about: the durability argument at the top of this file
 * (synchronous=NORMAL survives kill -9 without an fsync per commit) holds
 * in WAL mode only, and in rollback mode every reader would block the
 * writer. 0, or -1 with a message naming dbpath in err.
 */
static int
journal_wal(sqlite3 *db, const char *dbpath, char *err, size_t errlen)
{
	sqlite3_stmt		*s = NULL;
	const unsigned char	*mode;
	int			 ret = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(db));
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || sqlite3_stricmp((const char *)mode, "wal") != 0) {
		snprintf(err, errlen, "%s: cannot use WAL mode (journal_mode "
		    "is \"%s\"); put the state directory on a local "
		    "filesystem", dbpath, mode != NULL ? (const char *)mode :
		    "unknown");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

/*
 * Brings a database at version up to JOURNAL_SCHEMA_VERSION, each step in
 * a transaction of its own (a step that fails leaves the database at the
 * version before it). 0, or -1 with a message naming dbpath in err.
 */
static int
journal_migrate(sqlite3 *db, int version, const char *dbpath, char *err,
    size_t errlen)
{
	for (; version < JOURNAL_SCHEMA_VERSION; version++) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		    SQLITE_OK || sqlite3_exec(db, journal_migrations[version],
		    NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: schema version %d to %d: %s",
			    dbpath, version, version + 1, sqlite3_errmsg(db));
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/*
 * Creates the schema in a new database, or checks that this program knows
 * the version of an existing one. 0, or -1 with a message naming dbpath
 * in err.
 */
static int
journal_schema(sqlite3 *db, const char *dbpath, char *err, size_t errlen)
{
	sqlite3_stmt	*s = NULL;
	int		 version;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return -1;
	}
	version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > JOURNAL_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this program's (%d)", dbpath, version,
		    JOURNAL_SCHEMA_VERSION);
		return -1;
	}
	return journal_migrate(db, version, dbpath, err, errlen);
}

/*
 * Opens dbpath into JSQ(j)->db (created when missing) in WAL mode with
 * synchronous=NORMAL, the schema in place and every statement prepared.
 * 0, or -1 with a message naming dbpath in err (JSQ(j)->db may then be open;
 * journal_free closes it).
 */
static int
journal_connect(struct journal *j, const char *dbpath, char *err,
    size_t errlen)
{
	size_t	 i;
	int	 rc;

	/* Our mutex serialises every use, so SQLite's own is not needed. */
	rc = sqlite3_open_v2(dbpath, &JSQ(j)->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath, JSQ(j)->db != NULL ?
		    sqlite3_errmsg(JSQ(j)->db) : sqlite3_errstr(rc));
		return -1;
	}
	sqlite3_extended_result_codes(JSQ(j)->db, 1);
	if (sqlite3_busy_timeout(JSQ(j)->db, JOURNAL_BUSY_MS) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath,
		    sqlite3_errmsg(JSQ(j)->db));
		return -1;
	}
	if (journal_wal(JSQ(j)->db, dbpath, err, errlen) == -1)
		return -1;
	/*
	 * A page cache of up to 64 MiB (SQLite's default is 2 MiB): the
	 * indexes of a queue of 100,000 (ids are random: an insert touches
	 * any page of the id index) stay in it, so an insert costs the same
	 * at 1,000 waiters as at 100,000 (bench-queue.sh) instead of reading
	 * pages back through the kernel; memory is taken only as it fills.
	 */
	if (sqlite3_exec(JSQ(j)->db, "PRAGMA synchronous=NORMAL;"
	    "PRAGMA cache_size=-65536", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath,
		    sqlite3_errmsg(JSQ(j)->db));
		return -1;
	}
	if (journal_schema(JSQ(j)->db, dbpath, err, errlen) == -1)
		return -1;
	for (i = 0; i < JST__MAX; i++) {
		if (sqlite3_prepare_v3(JSQ(j)->db, journal_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &JSQ(j)->st[i],
		    NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %zu: %s",
			    dbpath, i, sqlite3_errmsg(JSQ(j)->db));
			return -1;
		}
	}
	return 0;
}

static const struct journal_store_ops journal_sqlite_ops = {
	.name = "sqlite",
	.close = journal_sqlite_close,
	.unwritable = journal_sqlite_unwritable,
	.probe = journal_sqlite_probe,
	.insert = journal_sqlite_insert,
	.start = journal_sqlite_start,
	.finish_row = journal_sqlite_finish_row,
	.finish_room = journal_sqlite_finish_room,
	.room_used = journal_sqlite_room_used,
	.room_victim = journal_sqlite_room_victim,
	.room_strip = journal_sqlite_room_strip,
	.room_row_bytes = journal_sqlite_room_row_bytes,
	.room_savepoint = journal_sqlite_room_savepoint,
	.finish_exec = journal_sqlite_finish_exec,
	.get = journal_sqlite_get,
	.find_nonce = journal_sqlite_find_nonce,
	.session_jobs = journal_sqlite_session_jobs,
	.running_jobs = journal_sqlite_running_jobs,
	.queued_jobs = journal_sqlite_queued_jobs,
	.recover = journal_sqlite_recover,
	.max_seq = journal_sqlite_max_seq,
	.evict = journal_sqlite_evict,
	.result_bytes = journal_sqlite_result_bytes,
};

/*
 * Opens (creating when needed) STATE/jobs.db and STATE/results/ (state_dir
 * checked by journal_open_db). Returns the journal, or NULL with a
 * message naming the path in err. Thread-safe; the result is shared by
 * threads.
 */
struct journal *
journal_sqlite_open(const char *state_dir, char *err, size_t errlen)
{
	struct journal_sq	*q;
	struct journal		*j;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		return NULL;
	}
	j = &q->base;
	atomic_init(&q->health, JH_OK);
	if (journal_base_init(j, &journal_sqlite_ops, state_dir, err,
	    errlen) == -1)
		goto fail;
	if ((q->db_path = journal_join(state_dir, "jobs.db")) == NULL ||
	    (q->wal_path = journal_join(state_dir, "jobs.db-wal")) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		goto fail;
	}
	if (journal_connect(j, q->db_path, err, errlen) == -1)
		goto fail;
	journal_files_note(j);
	return j;
fail:
	journal_free(j);
	return NULL;
}

/* Closes the connection and opens it again (mutex held). 0 or -1. */
int
journal_reconnect(struct journal *j, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < JST__MAX; i++) {
		sqlite3_finalize(JSQ(j)->st[i]);
		JSQ(j)->st[i] = NULL;
	}
	if (sqlite3_close(JSQ(j)->db) != SQLITE_OK) {
		snprintf(err, errlen, "close: %s", sqlite3_errmsg(JSQ(j)->db));
		return -1;
	}
	JSQ(j)->db = NULL;
	return journal_connect(j, JSQ(j)->db_path, err, errlen);
}

/* Closes the database and frees the journal (journal_close). */
void
journal_sqlite_close(struct journal *j)
{
	journal_free(j);
}
