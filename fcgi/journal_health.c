/*
 * journal_health: whether the journal can take writes, and whether its
 * files are still the ones it opened.
 *
 * Every write of the SQLite store reports its outcome here (under the
 * journal's mutex). A failure that says the disk cannot take writes (full,
 * I/O error, read-only) puts the journal in a "cannot write" state that
 * the scheduler reads without any lock, to refuse submissions with 503
 * instead of accepting jobs it cannot record, and that /healthz shows; the
 * next write that succeeds (a job's, or journal_probe's) clears it.
 *
 * After each successful write the paths of jobs.db and jobs.db-wal are
 * compared with the files the connection has open (device and inode, as
 * noted at open). SQLite keeps writing into an open file that was
 * unlinked, so without this a removed WAL swallows every commit until
 * the next restart. A removed or replaced WAL is repaired at once: a
 * checkpoint copies its frames into jobs.db (still the real file), and
 * the connection is reopened, which creates a new WAL at the path. A
 * removed or replaced jobs.db cannot be repaired (what we wrote is in a
 * file nobody will open again): the journal stays "cannot write" until a
 * restart, and the write that found it out reports failure.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "journal.h"
#include "journal_int.h"
#include "journal_sqlite.h"

/* What a user is told (no path, no SQLite wording); the log has the rest. */
static const char *const journal_health_why[JH__MAX] = {
	[JH_OK] = NULL,
	[JH_FULL] = "the server's disk is full",
	[JH_IOERR] = "the server's disk cannot be written (I/O error)",
	[JH_READONLY] = "the server's journal is read-only",
	[JH_LOST] = "the server's journal file was removed or replaced "
	    "while it ran; it needs a restart",
};

/* The health a failed SQLite write means, or JH_OK when it says nothing. */
static enum journal_health
journal_health_of(sqlite3 *db)
{
	int	 sys = sqlite3_system_errno(db);

	switch (sqlite3_extended_errcode(db) & 0xff) {
	case SQLITE_FULL:
		return JH_FULL;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return sys == ENOSPC || sys == EDQUOT ? JH_FULL : JH_IOERR;
	case SQLITE_READONLY:
		return JH_READONLY;
	default:
		return JH_OK;	/* a constraint, a bad value: not the disk */
	}
}

/* Logs a change of health: an error going down, an info line coming back. */
static void
journal_health_log(enum journal_health from, enum journal_health to,
    const char *detail)
{
	if (to != JH_OK)
		fprintf(stderr, "level=error msg=\"journal cannot be written: "
		    "new jobs are refused, jobs wait to start\" reason=\"%s\" "
		    "error=\"%s\"\n", journal_health_why[to], detail);
	else if (from != JH_OK)
		fprintf(stderr, "level=info msg=\"journal writable again: new "
		    "jobs are accepted\"\n");
}

/* Under mtx: sets the health (JH_LOST sticks), logging a change. */
static void
journal_health_set(struct journal *j, enum journal_health h,
    const char *detail)
{
	enum journal_health	 old = atomic_load(&JSQ(j)->health);

	if (old == h || old == JH_LOST)
		return;
	atomic_store(&JSQ(j)->health, h);
	journal_health_log(old, h, detail);
}

/* stat(path) into *st; 0, or -1 when it is not there (or unreadable). */
static int
journal_stat(const char *path, struct stat *st)
{
	return stat(path, st) == 0 ? 0 : -1;
}

/* Under mtx: notes which files jobs.db and its WAL are now. */
void
journal_files_note(struct journal *j)
{
	struct stat	 st;

	JSQ(j)->db_known = journal_stat(JSQ(j)->db_path, &st) == 0;
	if (JSQ(j)->db_known) {
		JSQ(j)->db_dev = st.st_dev;
		JSQ(j)->db_ino = st.st_ino;
	}
	JSQ(j)->wal_known = journal_stat(JSQ(j)->wal_path, &st) == 0;
	if (JSQ(j)->wal_known) {
		JSQ(j)->wal_dev = st.st_dev;
		JSQ(j)->wal_ino = st.st_ino;
	}
}

/* 1 when path is still the file (dev, ino) noted, else 0. */
static int
journal_same_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat	 st;

	return journal_stat(path, &st) == 0 && st.st_dev == dev &&
	    st.st_ino == ino && st.st_nlink > 0;
}

/*
 * Under mtx: the WAL at the path is not the one the connection writes:
 * its frames go into jobs.db and the connection is reopened on a new
 * WAL. 0, or -1 (the journal is then JH_LOST: nothing is safe to write).
 */
static int
journal_wal_repair(struct journal *j, const char *func)
{
	char	 err[512];

	fprintf(stderr, "level=error msg=\"journal: %s was removed or "
	    "replaced under the running responder; copying its commits into "
	    "jobs.db and reopening\" func=%s\n", JSQ(j)->wal_path, func);
	if (sqlite3_wal_checkpoint_v2(JSQ(j)->db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err), "checkpoint: %s",
		    sqlite3_errmsg(JSQ(j)->db));
		goto lost;
	}
	if (journal_reconnect(j, err, sizeof(err)) == -1)
		goto lost;
	journal_files_note(j);
	return 0;
lost:
	journal_health_set(j, JH_LOST, err);
	return -1;
}

/*
 * Under mtx: the files after a successful write. 0 when the write is in
 * the files a restart opens, else -1 (the caller's write failed).
 */
static int
journal_files_check(struct journal *j, const char *func)
{
	if (JSQ(j)->db_known && !journal_same_file(JSQ(j)->db_path,
	    JSQ(j)->db_dev, JSQ(j)->db_ino)) {
		journal_health_set(j, JH_LOST, "jobs.db was removed or replaced "
		    "under the running responder");
		return -1;
	}
	if (!JSQ(j)->wal_known) {
		/* The WAL appears with the first write after open. */
		journal_files_note(j);
		return 0;
	}
	if (journal_same_file(JSQ(j)->wal_path, JSQ(j)->wal_dev,
	    JSQ(j)->wal_ino))
		return 0;
	return journal_wal_repair(j, func);
}

int
journal_wrote(struct journal *j, int rc, const char *func)
{
	enum journal_health	 h;

	if (atomic_load(&JSQ(j)->health) == JH_LOST) {
		if (rc == 0)
			journal_seterr(j, "%s: %s", func,
			    journal_health_why[JH_LOST]);
		return -1;
	}
	if (rc == -1) {
		if ((h = journal_health_of(JSQ(j)->db)) != JH_OK)
			journal_health_set(j, h, sqlite3_errmsg(JSQ(j)->db));
		return -1;
	}
	if (journal_files_check(j, func) == -1) {
		journal_seterr(j, "%s: %s", func,
		    journal_health_why[atomic_load(&JSQ(j)->health)]);
		return -1;
	}
	journal_health_set(j, JH_OK, NULL);
	return 0;
}

/*
 * Why the journal cannot take writes, as a sentence for users (no path),
 * or NULL when it can. Lock-free; thread-safe.
 */
const char *
journal_sqlite_unwritable(struct journal *j)
{
	return journal_health_why[atomic_load(&JSQ(j)->health)];
}

/*
 * A write that changes nothing (the schema version set to itself, in a
 * transaction), so that a journal that could not write finds out when it
 * can again, and a removed file is noticed without waiting for a job.
 * 0 when it took the write, -1. Thread-safe.
 */
int
journal_sqlite_probe(struct journal *j)
{
	char	 sql[64];
	int	 rc;

	snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; PRAGMA user_version = "
	    "%d; COMMIT", JOURNAL_SCHEMA_VERSION);
	pthread_mutex_lock(&j->mtx);
	if (sqlite3_exec(JSQ(j)->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		rc = journal_wrote(j, 0, "journal_probe");
	else {
		journal_dberr(j, "journal_probe");
		/* Before the rollback. */
		rc = journal_wrote(j, -1, "journal_probe");
		journal_rollback(j);
	}
	pthread_mutex_unlock(&j->mtx);
	return rc;
}
