/*
 * journal_sqlite: the SQLite store of the journal, shared by
 * journal_sqlite.c (the connection: schema, statements, open, close,
 * reading rows) and journal_sqlite_jobs.c (the calls of journal.h that
 * read and write rows). Not for use outside those two files.
 *
 * Locking: j->mtx guards the connection and every statement; the helpers
 * below expect the caller to hold it, and leave each statement reset and
 * its bindings cleared. Errors are recorded with journal_seterr (or
 * journal_dberr, which adds SQLite's message) under the caller's name.
 */
#ifndef SLUICE_JOURNAL_SQLITE_H
#define SLUICE_JOURNAL_SQLITE_H

#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#include "job.h"
#include "journal.h"
#include "journal_int.h"

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
	JST_QUEUED_AFTER,
	JST_RUNNING,
	JST_MAX_SEQ,
	JST_TTL_LIST,
	JST_DELETE,
	JST_BYTES,
	JST_ROW_BYTES,
	JST_SESSION_BYTES,
	JST_SESSION_OLDEST,
	JST_LARGEST_SESSION,
	JST_STRIP,
	JST_ROOM_MARK,
	JST_ROOM_UNDO,
	JST_ROOM_KEEP,
	JST__MAX
};

#define JOURNAL_SCHEMA_VERSION	5

/* Whether writes reach the disk (journal_health.c). */
enum journal_health {
	JH_OK,
	JH_FULL,	/* no space (ENOSPC, EDQUOT, SQLITE_FULL) */
	JH_IOERR,	/* any other I/O error */
	JH_READONLY,	/* the file or filesystem is read-only */
	JH_LOST,	/* jobs.db removed or replaced: until a restart */
	JH__MAX
};

/* The SQLite store's journal: a struct journal (journal_int.h) first. */
struct journal_sq {
	struct journal	 base;		/* its mtx guards everything below ... */
	sqlite3		*db;
	sqlite3_stmt	*st[JST__MAX];
	char		*db_path, *wal_path;
	/* The files the connection has open (journal_files_note). */
	int		 db_known, wal_known;
	dev_t		 db_dev, wal_dev;
	ino_t		 db_ino, wal_ino;
	/* ... but this, written under it and read without it. */
	_Atomic enum journal_health health;
};

/* The SQLite store's own part of j (a journal this store opened). */
#define JSQ(j)	((struct journal_sq *)(j))

/*
 * The store's entries of struct journal_store_ops (journal_int.h), each
 * with the contract of its journal.h call.
 */
void	journal_sqlite_close(struct journal *);
const char *journal_sqlite_unwritable(struct journal *);
int	journal_sqlite_probe(struct journal *);
int	journal_sqlite_insert(struct journal *, const struct job *);
int	journal_sqlite_start(struct journal *, const char *, int64_t, int,
	    const char *);
int	journal_sqlite_finish_row(struct journal *, const struct job *, int,
	    int64_t, const char *);
int	journal_sqlite_get(struct journal *, const char *, struct job *);
int	journal_sqlite_find_nonce(struct journal *, const char *, const char *,
	    struct job *);
int	journal_sqlite_session_jobs(struct journal *, const char *, int,
	    struct job **);
int	journal_sqlite_running_jobs(struct journal *, struct job **);
int	journal_sqlite_queued_jobs(struct journal *, int64_t, struct job **);
int	journal_sqlite_recover(struct journal *, int64_t, struct job **);
int64_t	journal_sqlite_max_seq(struct journal *);
int	journal_sqlite_evict(struct journal *, int64_t, int64_t, int64_t,
	    void (*)(const char *, void *), void *);
int64_t	journal_sqlite_result_bytes(struct journal *);

/* Records an SQLite failure with the caller's name and SQLite's message. */
void	journal_dberr(struct journal *j, const char *func);
/* Steps statement k, which returns no rows, and resets it; 0 or -1. */
int	journal_exec(struct journal *j, enum journal_stmt k, const char *func);
/* Resets s and clears its bindings. */
void	journal_done(sqlite3_stmt *s);
/* Rolls back after a failure inside a transaction; keeps the first error. */
void	journal_rollback(struct journal *j);
/* Binds a string or NULL (SQL NULL); returns the SQLite code. */
int	journal_bind_str(sqlite3_stmt *s, int i, const char *v);
/* Fails with "FUNC: no such job: ID" when the last statement changed no row. */
int	journal_changed(struct journal *j, const char *id, const char *func);
/*
 * Runs a one-row lookup statement (already bound, columns JOURNAL_COLS):
 * 1 with out filled (the caller job_clear()s it), 0 when there is no row,
 * -1 on error. Resets the statement.
 */
int	journal_lookup(struct journal *j, sqlite3_stmt *s, struct job *out,
	    const char *func);
/*
 * Reads every row of a bound statement (columns JOURNAL_COLS) into a
 * malloc'd array, at most max rows when max >= 0. Returns the count with
 * *out set (NULL when 0; freed with journal_free_jobs) or -1. Resets the
 * statement.
 */
int	journal_collect(struct journal *j, sqlite3_stmt *s, int max,
	    struct job **out, const char *func);


/* ---- journal_sqlite_room.c: the room_* entries (journal_int.h) ---- */

int64_t	journal_sqlite_room_used(struct journal *, const char *, const char *);
int	journal_sqlite_room_victim(struct journal *, const char *,
	    const char *, char [JOB_ID_LEN + 1], int64_t *, const char *);
int	journal_sqlite_room_strip(struct journal *, const char *, int64_t,
	    const char *);
int64_t	journal_sqlite_room_row_bytes(struct journal *, const char *,
	    const char *);
int	journal_sqlite_room_savepoint(struct journal *,
	    enum journal_savepoint, const char *);
int	journal_sqlite_finish_room(struct journal *, const struct job *);
/* The finish_exec entry (journal_sqlite_jobs.c). */
int	journal_sqlite_finish_exec(struct journal *j, const struct job *jb,
	    int has_png, int64_t file_bytes, const char *func);

/*
 * Closes the connection and opens it again on the same file (statements
 * prepared anew). 0, or -1 with the reason in err (the journal is then
 * unusable). Caller holds the mutex.
 */
int	journal_reconnect(struct journal *j, char *err, size_t errlen);

/* ---- journal_health.c (caller holds the mutex) ---- */

/* Notes which files jobs.db and its WAL are (after open, a reconnect). */
void	journal_files_note(struct journal *j);
/*
 * Every write's outcome (rc 0 or -1), right after its last SQLite call
 * and before any rollback (the failure's code is read from the
 * connection): updates the health, checks the files after a success.
 * Returns rc, or -1 when the write, though SQLite took it, is not in the
 * files a restart would open (error recorded for func).
 */
int	journal_wrote(struct journal *j, int rc, const char *func);

#endif
