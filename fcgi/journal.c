/*
 * journal: the durable job store (see journal.h for the contract).
 *
 * One SQLite connection (WAL) behind a mutex the journal owns; every
 * statement is prepared once at open and takes its values through bound
 * parameters only. Result files live in STATE/results/ID.png and are
 * written to a temporary file, fsync'd and renamed before the row that
 * counts them is committed.
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
 *
 * Errors: the message of a failed call is kept in a thread-local buffer
 * together with the journal it concerns, so journal_error() answers "this
 * thread's last failed call" without racing other threads; the pointer
 * stays valid until this thread's next failing journal call.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "job.h"
#include "journal.h"

#define JOURNAL_SCHEMA_VERSION	1
#define JOURNAL_BUSY_MS		5000
#define JOURNAL_ERR_MAX		512
#define JOURNAL_INTERRUPTED	"interrupted by restart"

/* Every statement the journal runs, prepared once in journal_open(). */
enum journal_stmt {
	JST_BEGIN,
	JST_COMMIT,
	JST_ROLLBACK,
	JST_INSERT,
	JST_INSERT_AUTOSEQ,
	JST_START,
	JST_FINISH,
	JST_GET,
	JST_NONCE,
	JST_SESSION,
	JST_RECOVER_FAIL,
	JST_RECOVER_LIST,
	JST_MAX_SEQ,
	JST_TTL_LIST,
	JST_BYTES_LIST,
	JST_DELETE,
	JST_BYTES,
	JST__MAX
};

/* The columns a job is read back from, in struct job order. */
#define JOURNAL_COLS \
	"id, seq, session, nonce, task, kernel, locks, params, state, " \
	"created_ms, started_ms, finished_ms, slot, device, result, error, " \
	"has_png"

#define JOURNAL_FINAL "('done', 'failed', 'expired', 'cancelled')"

static const char *const journal_sql[JST__MAX] = {
	[JST_BEGIN] = "BEGIN IMMEDIATE",
	[JST_COMMIT] = "COMMIT",
	[JST_ROLLBACK] = "ROLLBACK",
	[JST_INSERT] =
	    "INSERT INTO jobs (id, seq, session, nonce, task, kernel, locks, "
	    "params, state, created_ms, started_ms, finished_ms, slot, device, "
	    "result, error, has_png, png_bytes) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0)",
	[JST_INSERT_AUTOSEQ] =
	    "INSERT INTO jobs (id, seq, session, nonce, task, kernel, locks, "
	    "params, state, created_ms, started_ms, finished_ms, slot, device, "
	    "result, error, has_png, png_bytes) VALUES (?1, "
	    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0)",
	[JST_START] =
	    "UPDATE jobs SET state = 'running', started_ms = ?2, slot = ?3, "
	    "device = ?4 WHERE id = ?1",
	[JST_FINISH] =
	    "UPDATE jobs SET state = ?2, finished_ms = ?3, result = ?4, "
	    "error = ?5, has_png = ?6, png_bytes = ?7, "
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
	[JST_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM jobs",
	[JST_TTL_LIST] = "SELECT id FROM jobs WHERE state IN " JOURNAL_FINAL
	    " AND finished_ms < ?1 ORDER BY finished_ms, seq",
	[JST_BYTES_LIST] = "SELECT id, png_bytes FROM jobs "
	    "WHERE state IN " JOURNAL_FINAL " AND png_bytes > 0 "
	    "ORDER BY finished_ms, seq",
	[JST_DELETE] = "DELETE FROM jobs WHERE id = ?1",
	[JST_BYTES] = "SELECT COALESCE(SUM(png_bytes), 0) FROM jobs",
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

struct journal {
	pthread_mutex_t	 mtx;		/* guards everything below */
	sqlite3		*db;
	sqlite3_stmt	*st[JST__MAX];
	char		*state_dir;
	char		*results_dir;
};

/* This thread's last failure: which journal, and the message. */
struct journal_err {
	const struct journal	*j;
	char			 msg[JOURNAL_ERR_MAX];
};

static __thread struct journal_err journal_tls_err;

/* Records a failure of this thread's current call on j. */
static void
journal_seterr(struct journal *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
journal_seterr(struct journal *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(journal_tls_err.msg, sizeof(journal_tls_err.msg), fmt, ap);
	va_end(ap);
	journal_tls_err.j = j;
}

/* Records an SQLite failure with the caller's name and SQLite's message. */
static void
journal_dberr(struct journal *j, const char *func)
{
	journal_seterr(j, "%s: sqlite: %s", func, sqlite3_errmsg(j->db));
}

/*
 * The message of this thread's last failed call on j ("no error" when
 * this thread has had none on j). The pointer is valid until this thread
 * makes another journal call that fails. Thread-safe.
 */
const char *
journal_error(struct journal *j)
{
	if (journal_tls_err.j != j || journal_tls_err.msg[0] == '\0')
		return "no error";
	return journal_tls_err.msg;
}

/* Steps a statement that returns no rows and resets it; 0 or -1. */
static int
journal_exec(struct journal *j, enum journal_stmt k, const char *func)
{
	sqlite3_stmt	*s = j->st[k];
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

static void
journal_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Rolls back after a failure inside a transaction; keeps the first error. */
static void
journal_rollback(struct journal *j)
{
	if (sqlite3_get_autocommit(j->db))
		return;
	(void)sqlite3_step(j->st[JST_ROLLBACK]);
	sqlite3_reset(j->st[JST_ROLLBACK]);
}

/* Binds a string or NULL (SQL NULL); returns the SQLite code. */
static int
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
	    journal_col_fixed(s, 13, out->device, sizeof(out->device)) == -1) {
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
	out->position = 0;
	out->eta_ms = -1;
	if (journal_col_dup(s, 4, &out->task) == -1 ||
	    journal_col_dup(s, 5, &out->kernel) == -1 ||
	    journal_col_dup(s, 6, &out->locks) == -1 ||
	    journal_col_dup(s, 7, &out->params) == -1 ||
	    journal_col_dup(s, 14, &out->result) == -1 ||
	    journal_col_dup(s, 15, &out->error) == -1) {
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
static int
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

/* Joins dir and name into a malloc'd path; NULL on ENOMEM/overflow. */
static char *
journal_join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return NULL;
	return p;
}

/*
 * Makes sure path is a directory, creating it (mode 0750) when missing.
 * The parent must exist. 0, or -1 with a message naming the path.
 */
static int
journal_mkdir(const char *path, char *err, size_t errlen)
{
	struct stat	 sb;

	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create directory: %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}

/* Frees everything j holds; safe on a partly opened journal. */
static void
journal_free(struct journal *j)
{
	size_t	 i;

	if (j == NULL)
		return;
	for (i = 0; i < JST__MAX; i++)
		sqlite3_finalize(j->st[i]);
	if (j->db != NULL)
		sqlite3_close(j->db);
	pthread_mutex_destroy(&j->mtx);
	free(j->state_dir);
	free(j->results_dir);
	if (journal_tls_err.j == j)
		journal_tls_err.j = NULL;
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
 * Opens (creating when needed) STATE/jobs.db and STATE/results/. Returns
 * the journal, or NULL with a message naming the path in err (err may be
 * NULL when errlen is 0). Thread-safe; the result is shared by threads.
 */
struct journal *
journal_open(const char *state_dir, char *err, size_t errlen)
{
	struct journal	*j = NULL;
	char		*dbpath = NULL;
	char		 dummy[256];
	int		 rc, version;
	size_t		 i;
	sqlite3_stmt	*s = NULL;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (state_dir == NULL || state_dir[0] == '\0') {
		snprintf(err, errlen, "journal: no state directory given");
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		return NULL;
	}
	if ((rc = pthread_mutex_init(&j->mtx, NULL)) != 0) {
		snprintf(err, errlen, "%s: mutex: %s", state_dir, strerror(rc));
		free(j);
		return NULL;
	}
	if ((j->state_dir = strdup(state_dir)) == NULL ||
	    (j->results_dir = journal_join(state_dir, "results")) == NULL ||
	    (dbpath = journal_join(state_dir, "jobs.db")) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		goto fail;
	}
	if (journal_mkdir(j->state_dir, err, errlen) == -1 ||
	    journal_mkdir(j->results_dir, err, errlen) == -1)
		goto fail;

	/* Our mutex serialises every use, so SQLite's own is not needed. */
	rc = sqlite3_open_v2(dbpath, &j->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath, j->db != NULL ?
		    sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(j->db, 1);
	if (sqlite3_busy_timeout(j->db, JOURNAL_BUSY_MS) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(j->db));
		goto fail;
	}
	if (journal_wal(j->db, dbpath, err, errlen) == -1)
		goto fail;
	if (sqlite3_exec(j->db, "PRAGMA synchronous=NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(j->db));
		goto fail;
	}

	/* Schema: create, or check that we know this version. */
	if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
		snprintf(err, errlen, "%s: %s", dbpath, sqlite3_errmsg(j->db));
		goto fail;
	}
	version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (version > JOURNAL_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this program's (%d)", dbpath, version,
		    JOURNAL_SCHEMA_VERSION);
		goto fail;
	}
	if (version < 1 && sqlite3_exec(j->db, journal_schema_v1, NULL, NULL,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: creating schema: %s", dbpath,
		    sqlite3_errmsg(j->db));
		goto fail;
	}

	for (i = 0; i < JST__MAX; i++) {
		if (sqlite3_prepare_v3(j->db, journal_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &j->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing statement %zu: %s",
			    dbpath, i, sqlite3_errmsg(j->db));
			goto fail;
		}
	}
	free(dbpath);
	return j;
fail:
	sqlite3_finalize(s);
	free(dbpath);
	journal_free(j);
	return NULL;
}

/*
 * Closes the database and frees the journal. No other thread may be using
 * it. NULL is a no-op.
 */
void
journal_close(struct journal *j)
{
	journal_free(j);
}

/*
 * Inserts a job with every field as given (the scheduler gives state
 * queued). A seq <= 0 takes MAX(seq) + 1. Fails (-1) on a duplicate id,
 * seq or (session, nonce), an invalid id or state. Committed on return.
 */
int
journal_insert(struct journal *j, const struct job *jb)
{
	sqlite3_stmt	*s;
	const char	*state;
	int		 ret = -1;

	if (!job_id_valid(jb->id)) {
		journal_seterr(j, "%s: invalid job id", __func__);
		return -1;
	}
	if ((state = job_state_name(jb->state)) == NULL) {
		journal_seterr(j, "%s: job %s: invalid state", __func__, jb->id);
		return -1;
	}
	pthread_mutex_lock(&j->mtx);
	s = j->st[jb->seq > 0 ? JST_INSERT : JST_INSERT_AUTOSEQ];
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
	    sqlite3_bind_int(s, 17, jb->has_png != 0)) {
		journal_dberr(j, __func__);
		journal_done(s);
		goto out;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		journal_seterr(j, "%s: job %s: sqlite: %s", __func__, jb->id,
		    sqlite3_errmsg(j->db));
		journal_done(s);
		goto out;
	}
	journal_done(s);
	ret = 0;
out:
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/* Fails with "no such job" when the last statement changed no row. */
static int
journal_changed(struct journal *j, const char *id, const char *func)
{
	if (sqlite3_changes(j->db) > 0)
		return 0;
	journal_seterr(j, "%s: no such job: %s", func, id);
	return -1;
}

/*
 * Records the start of job id: state running, started_ms, slot, device
 * (NULL is ""). -1 when the job does not exist. Committed on return.
 */
int
journal_start(struct journal *j, const char *id, int64_t started_ms,
    int slot, const char *device)
{
	sqlite3_stmt	*s = j->st[JST_START];
	int		 ret = -1;

	if (!job_id_valid(id)) {
		journal_seterr(j, "%s: invalid job id", __func__);
		return -1;
	}
	pthread_mutex_lock(&j->mtx);
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int64(s, 2, started_ms) ||
	    sqlite3_bind_int(s, 3, slot) ||
	    sqlite3_bind_text(s, 4, device == NULL ? "" : device, -1,
	    SQLITE_TRANSIENT)) {
		journal_dberr(j, __func__);
		journal_done(s);
		goto out;
	}
	if (journal_exec(j, JST_START, __func__) == -1 ||
	    journal_changed(j, id, __func__) == -1)
		goto out;
	ret = 0;
out:
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/* write(2) all of p, retrying on EINTR and short writes; 0 or -1. */
static int
journal_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes png to path atomically: a temporary file in the same directory,
 * written, fsync'd, closed, then renamed over path. 0 or -1 (error set;
 * no temporary file left behind).
 */
static int
journal_write_png(struct journal *j, const char *path,
    const unsigned char *png, size_t len)
{
	char	*tmp = NULL;
	int	 fd = -1, ret = -1, saved;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) == -1) {
		tmp = NULL;
		journal_seterr(j, "%s: out of memory", __func__);
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) == -1 ||
	    journal_write_all(fd, png, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(saved));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		journal_seterr(j, "%s: %s: %s", __func__, path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	return ret;
}

/*
 * Builds STATE/results/ID.png into out; 0 or -1 for a malformed id or when
 * it does not fit. Needs no lock: results_dir never changes after open.
 */
static int
journal_png_build(const struct journal *j, const char *id, char *out,
    size_t outlen)
{
	int	 n;

	if (!job_id_valid(id) || out == NULL || outlen == 0)
		return -1;
	n = snprintf(out, outlen, "%s/%s.png", j->results_dir, id);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* Checks that jb can be recorded as final; 0, or -1 with the error set. */
static int
journal_final_ok(struct journal *j, const struct job *jb, const char *func)
{
	if (!job_id_valid(jb->id)) {
		journal_seterr(j, "%s: invalid job id", func);
		return -1;
	}
	if (!job_state_final(jb->state) || job_state_name(jb->state) == NULL) {
		journal_seterr(j, "%s: job %s: state is not final", func,
		    jb->id);
		return -1;
	}
	return 0;
}

/*
 * The row update of a final state: has_png and png_bytes as given, the
 * rest from jb (checked by journal_final_ok). Takes the mutex. 0 or -1.
 */
static int
journal_finish_row(struct journal *j, const struct job *jb, int has_png,
    int64_t png_bytes, const char *func)
{
	sqlite3_stmt	*s = j->st[JST_FINISH];
	int		 ret = -1;

	pthread_mutex_lock(&j->mtx);
	if (sqlite3_bind_text(s, 1, jb->id, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 2, job_state_name(jb->state), -1,
	    SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, jb->finished_ms) ||
	    journal_bind_str(s, 4, jb->result) ||
	    journal_bind_str(s, 5, jb->error) ||
	    sqlite3_bind_int(s, 6, has_png) ||
	    sqlite3_bind_int64(s, 7, png_bytes) ||
	    sqlite3_bind_int64(s, 8, jb->started_ms) ||
	    sqlite3_bind_int(s, 9, jb->slot) ||
	    sqlite3_bind_text(s, 10, jb->device, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, func);
		journal_done(s);
		goto out;
	}
	if (journal_exec(j, JST_FINISH, func) == -1 ||
	    journal_changed(j, jb->id, func) == -1)
		goto out;
	ret = 0;
out:
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * Records a final state of jb (state must be final): finished_ms, result,
 * error, has_png (forced to 1 when png is given), and started_ms, slot and
 * device too when jb has them. png, when not NULL, is written first to
 * STATE/results/ID.png (temp file + fsync + rename) and png_len counted;
 * it is removed again if the row cannot be updated. All or nothing: when
 * the file cannot be written, the row is not updated either (the
 * scheduler uses journal_store_png and journal_finish_stored instead, to
 * record the state without the file). Committed on return.
 */
int
journal_finish(struct journal *j, const struct job *jb,
    const unsigned char *png, size_t png_len)
{
	char	 path[PATH_MAX];
	int	 ret;

	if (journal_final_ok(j, jb, __func__) == -1)
		return -1;
	if (png != NULL && png_len > INT64_MAX) {
		journal_seterr(j, "%s: job %s: result too large", __func__,
		    jb->id);
		return -1;
	}
	if (journal_png_build(j, jb->id, path, sizeof(path)) == -1) {
		journal_seterr(j, "%s: %s: path too long", __func__,
		    j->results_dir);
		return -1;
	}
	/* The file first, outside the mutex: fsync may take a while. */
	if (png != NULL && journal_write_png(j, path, png, png_len) == -1)
		return -1;
	ret = journal_finish_row(j, jb, png != NULL || jb->has_png,
	    png != NULL ? (int64_t)png_len : 0, __func__);
	if (ret == -1 && png != NULL)
		(void)unlink(path);
	return ret;
}

/*
 * Writes png as job id's result file, STATE/results/ID.png (temp file +
 * fsync + rename, replacing an older one), without touching its row. 0,
 * or -1 with nothing left behind. Thread-safe (no lock: the file is the
 * job's own).
 */
int
journal_store_png(struct journal *j, const char *id, const unsigned char *png,
    size_t png_len)
{
	char	 path[PATH_MAX];

	if (png == NULL || png_len > INT64_MAX) {
		journal_seterr(j, "%s: job %s: no result or too large",
		    __func__, id);
		return -1;
	}
	if (journal_png_build(j, id, path, sizeof(path)) == -1) {
		journal_seterr(j, "%s: invalid id or path too long", __func__);
		return -1;
	}
	return journal_write_png(j, path, png, png_len);
}

/*
 * Records a final state like journal_finish, for a job whose result file,
 * when jb->has_png, journal_store_png already wrote: png_bytes is its
 * size, counted against results.max_bytes. Nothing is written to or
 * removed from the results directory, so a failed call can be repeated
 * as is. Committed on return.
 */
int
journal_finish_stored(struct journal *j, const struct job *jb,
    int64_t png_bytes)
{
	if (journal_final_ok(j, jb, __func__) == -1)
		return -1;
	return journal_finish_row(j, jb, jb->has_png != 0,
	    jb->has_png && png_bytes > 0 ? png_bytes : 0, __func__);
}

/*
 * Looks up a job by id: 1 with out filled (the caller job_clear()s it), 0
 * when there is none (also for a malformed id), -1 on error.
 */
int
journal_get(struct journal *j, const char *id, struct job *out)
{
	sqlite3_stmt	*s = j->st[JST_GET];
	int		 ret;

	if (!job_id_valid(id))
		return 0;
	pthread_mutex_lock(&j->mtx);
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		journal_dberr(j, __func__);
		journal_done(s);
		ret = -1;
	} else
		ret = journal_lookup(j, s, out, __func__);
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * The job that (session, nonce) created: 1 with out filled, 0 when none
 * (an empty nonce never matches), -1 on error.
 */
int
journal_find_nonce(struct journal *j, const char *session, const char *nonce,
    struct job *out)
{
	sqlite3_stmt	*s = j->st[JST_NONCE];
	int		 ret;

	if (session == NULL || nonce == NULL || nonce[0] == '\0')
		return 0;
	pthread_mutex_lock(&j->mtx);
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_text(s, 2, nonce, -1, SQLITE_TRANSIENT)) {
		journal_dberr(j, __func__);
		journal_done(s);
		ret = -1;
	} else
		ret = journal_lookup(j, s, out, __func__);
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/* Frees an array from journal_session_jobs() (NULL is fine). */
void
journal_free_jobs(struct job *v, int n)
{
	int	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		job_clear(&v[i]);
	free(v);
}

/*
 * Reads every row of a bound statement into a malloc'd array (at most
 * max rows when max >= 0). Returns the count with *out set (NULL when 0)
 * or -1. Resets the statement. Caller holds the mutex.
 */
static int
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

/*
 * The session's most recent jobs, newest (highest seq) first, at most
 * max (max <= 0 gives 0). Returns the count with *out a malloc'd array
 * (NULL when 0) freed with journal_free_jobs(), or -1.
 */
int
journal_session_jobs(struct journal *j, const char *session, int max,
    struct job **out)
{
	sqlite3_stmt	*s = j->st[JST_SESSION];
	int		 ret;

	*out = NULL;
	if (session == NULL || max <= 0)
		return 0;
	pthread_mutex_lock(&j->mtx);
	if (sqlite3_bind_text(s, 1, session, -1, SQLITE_TRANSIENT) ||
	    sqlite3_bind_int(s, 2, max)) {
		journal_dberr(j, __func__);
		journal_done(s);
		ret = -1;
	} else
		ret = journal_collect(j, s, max, out, __func__);
	pthread_mutex_unlock(&j->mtx);
	return ret;
}

/*
 * Writes STATE/results/ID.png into out. -1 for a malformed id or when
 * out is too small. Thread-safe (the directory never changes).
 */
int
journal_png_path(struct journal *j, const char *id, char *out, size_t outlen)
{
	if (journal_png_build(j, id, out, outlen) == -1) {
		journal_seterr(j, "%s: invalid id or buffer too small",
		    __func__);
		return -1;
	}
	return 0;
}

/*
 * Start-up recovery. In one transaction: every running job becomes failed
 * with "interrupted by restart" and finished_ms = now_ms, and the queued
 * jobs are read in seq order. After the commit (and without the journal
 * mutex held, so cb may call journal functions) each queued job is passed
 * to cb (it is only valid during the call). Returns the number handed
 * over, or -1 (then nothing was changed and cb was not called).
 */
int
journal_recover(struct journal *j, int64_t now_ms,
    void (*cb)(const struct job *, void *), void *arg)
{
	sqlite3_stmt	*s;
	struct job	*v = NULL;
	int		 n = -1, i;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, __func__) == -1)
		goto out;
	s = j->st[JST_RECOVER_FAIL];
	if (sqlite3_bind_int64(s, 1, now_ms) ||
	    sqlite3_bind_text(s, 2, JOURNAL_INTERRUPTED, -1, SQLITE_STATIC)) {
		journal_dberr(j, __func__);
		journal_done(s);
		goto fail;
	}
	if (journal_exec(j, JST_RECOVER_FAIL, __func__) == -1)
		goto fail;
	if ((n = journal_collect(j, j->st[JST_RECOVER_LIST], -1, &v,
	    __func__)) == -1)
		goto fail;
	if (journal_exec(j, JST_COMMIT, __func__) == -1) {
		journal_free_jobs(v, n);
		v = NULL;
		n = -1;
		goto fail;
	}
	goto out;
fail:
	journal_rollback(j);
out:
	pthread_mutex_unlock(&j->mtx);
	if (n > 0 && cb != NULL)
		for (i = 0; i < n; i++)
			cb(&v[i], arg);
	journal_free_jobs(v, n);
	return n;
}

/* Runs a one-integer query; the value, or -1 on error. */
static int64_t
journal_scalar(struct journal *j, enum journal_stmt k, const char *func)
{
	sqlite3_stmt	*s = j->st[k];
	int64_t		 v = -1;

	pthread_mutex_lock(&j->mtx);
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
journal_max_seq(struct journal *j)
{
	return journal_scalar(j, JST_MAX_SEQ, __func__);
}

/* Bytes of result files currently counted, or -1 on error. */
int64_t
journal_result_bytes(struct journal *j)
{
	return journal_scalar(j, JST_BYTES, __func__);
}

/*
 * Removes one finished job: its PNG (a missing one is fine), then its
 * row. Caller holds the mutex inside a transaction. 0 or -1.
 */
static int
journal_remove(struct journal *j, const char *id, const char *func)
{
	sqlite3_stmt	*s = j->st[JST_DELETE];
	char		 path[PATH_MAX];

	if (journal_png_build(j, id, path, sizeof(path)) == -1) {
		journal_seterr(j, "%s: job %s: bad id or path too long", func,
		    id);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		journal_seterr(j, "%s: %s: %s", func, path, strerror(errno));
		return -1;
	}
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		journal_dberr(j, func);
		journal_done(s);
		return -1;
	}
	return journal_exec(j, JST_DELETE, func);
}

/* A list of ids to remove, read out before any row is deleted. */
struct journal_ids {
	char	(*id)[JOB_ID_LEN + 1];
	size_t	 n, cap;
};

static int
journal_ids_add(struct journal_ids *l, const unsigned char *id)
{
	char	(*nv)[JOB_ID_LEN + 1];
	size_t	 ncap;

	if (id == NULL || !job_id_valid((const char *)id))
		return 0;	/* not ours: leave it alone */
	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(*l->id))
			return -1;
		if ((nv = realloc(l->id, ncap * sizeof(*l->id))) == NULL)
			return -1;
		l->id = nv;
		l->cap = ncap;
	}
	memcpy(l->id[l->n++], id, JOB_ID_LEN + 1);
	return 0;
}

/*
 * Collects the ids a bound listing statement returns (column 0) into l.
 * When bytes is not NULL, stops once *bytes no longer exceeds max, taking
 * column 1 off *bytes per row. Resets the statement. 0 or -1.
 */
static int
journal_list(struct journal *j, sqlite3_stmt *s, struct journal_ids *l,
    int64_t *bytes, int64_t max, const char *func)
{
	int	 rc = SQLITE_DONE;

	while (bytes == NULL || *bytes > max) {
		if ((rc = sqlite3_step(s)) != SQLITE_ROW)
			break;
		if (journal_ids_add(l, sqlite3_column_text(s, 0)) == -1) {
			journal_seterr(j, "%s: out of memory", func);
			journal_done(s);
			return -1;
		}
		if (bytes != NULL)
			*bytes -= sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
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
 * (ttl_ms < 0: no TTL), then, while the counted result bytes exceed
 * max_bytes (max_bytes < 0: no limit), finished jobs with a result file,
 * oldest finished first. Queued and running jobs are never touched. Each
 * job loses its file first (a missing file is fine), then its row; all
 * rows go in one transaction (if it fails, files already removed stay
 * removed and their rows stay, to be evicted next time). Once committed,
 * and without the journal's mutex (cb may call journal functions), cb
 * (when not NULL) gets the id of each job removed. Returns the number of
 * jobs removed, or -1 (cb not called).
 */
int
journal_evict(struct journal *j, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes, void (*cb)(const char *id, void *), void *arg)
{
	struct journal_ids	 l = { NULL, 0, 0 };
	sqlite3_stmt		*s;
	int64_t			 total;
	size_t			 from = 0, i;
	int			 n, ret = -1, removed = 0;

	pthread_mutex_lock(&j->mtx);
	if (journal_exec(j, JST_BEGIN, __func__) == -1)
		goto out;

	if (ttl_ms >= 0) {
		s = j->st[JST_TTL_LIST];
		if (sqlite3_bind_int64(s, 1, now_ms - ttl_ms) != SQLITE_OK) {
			journal_dberr(j, __func__);
			journal_done(s);
			goto fail;
		}
		if (journal_list(j, s, &l, NULL, 0, __func__) == -1 ||
		    (n = journal_remove_list(j, &l, &from, __func__)) == -1)
			goto fail;
		removed += n;
	}

	if (max_bytes >= 0) {
		s = j->st[JST_BYTES];
		if (sqlite3_step(s) != SQLITE_ROW) {
			journal_dberr(j, __func__);
			journal_done(s);
			goto fail;
		}
		total = sqlite3_column_int64(s, 0);
		journal_done(s);
		if (journal_list(j, j->st[JST_BYTES_LIST], &l, &total,
		    max_bytes, __func__) == -1 ||
		    (n = journal_remove_list(j, &l, &from, __func__)) == -1)
			goto fail;
		removed += n;
	}

	if (journal_exec(j, JST_COMMIT, __func__) == -1)
		goto fail;
	ret = removed;
	goto out;
fail:
	journal_rollback(j);
out:
	pthread_mutex_unlock(&j->mtx);
	if (ret > 0 && cb != NULL)
		for (i = 0; i < l.n; i++)
			cb(l.id[i], arg);
	free(l.id);
	return ret;
}
