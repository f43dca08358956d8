/*
 * journal_pg: the PostgreSQL store of the journal (cluster.database),
 * shared by journal_pg.c (the connection: schema, running statements,
 * reading rows, open, close, health) and journal_pg_jobs.c (the calls of
 * journal.h that read and write rows) and journal_pg_room.c (room for
 * results). Not for use outside those files.
 *
 * Locking: j->mtx guards the connection; the helpers below expect the
 * caller to hold it. Every value reaches the server as a parameter of a
 * prepared statement, never inside the SQL text. Errors are recorded with
 * journal_seterr under the caller's name.
 */
#ifndef SLUICE_JOURNAL_PG_H
#define SLUICE_JOURNAL_PG_H

#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "job.h"
#include "journal.h"
#include "journal_int.h"

#define JOURNAL_PG_SCHEMA_VERSION	3

/* Whether the database takes writes (journal_unwritable). */
enum journal_pg_health {
	JPH_OK,
	JPH_DOWN,	/* cannot be reached: reconnect on the next call */
	JPH_FULL,	/* the server's disk is full (SQLSTATE 53100) */
	JPH_READONLY,	/* read-only (a standby, SQLSTATE 25006) */
	JPH__MAX
};

/* The statements conn has prepared (journal_pg_prep.c). */
#define JPG_PREP_MAX	128
#define JPG_PREP_NAME	24
struct jpg_preps {
	struct {
		char		*sql;
		uint32_t	 hash;
	}		 v[JPG_PREP_MAX];
	size_t		 n;
};

/* The PostgreSQL store's journal: a struct journal (journal_int.h) first. */
struct journal_pg {
	struct journal	 base;		/* its mtx guards conn */
	PGconn		*conn;
	struct jpg_preps preps;		/* prepared on conn */
	int64_t		 reset_failed_ns; /* the last failed reconnect, or 0 */
	/* Written under the mutex, read without it. */
	_Atomic enum journal_pg_health health;
};

#define JPG(j)	((struct journal_pg *)(j))

/*
 * A statement's parameters, as text unless jpg_bin made one binary (a
 * file's bytes); v[i] NULL is SQL NULL. binary_result asks for the rows
 * in binary (bytea as its bytes, not escaped).
 */
#define JPG_MAXP	24
struct jpg_params {
	const char	*v[JPG_MAXP];
	char		 num[JPG_MAXP][24];
	int		 len[JPG_MAXP], fmt[JPG_MAXP];
	int		 n, binary, binary_result;
};

/*
 * journal_pg_prep.c. jpg_prep: the name of sql's prepared statement on
 * j's connection, prepared now if it is new (nparams parameters, their
 * types inferred as PQexecParams would): 1 with name set; 0 when it
 * cannot be kept (run it unnamed); -1 when preparing failed, *res the
 * server's answer (or NULL), which the caller reports and clears.
 * jpg_prep_forget: the connection was reset or closed; frees the texts.
 * Mutex held.
 */
int	jpg_prep(struct journal *j, const char *sql, int nparams,
	    char name[JPG_PREP_NAME], PGresult **res);
void	jpg_prep_forget(struct journal *j);

/* Appends a string (NULL: SQL NULL) or an integer parameter. */
void	jpg_str(struct jpg_params *p, const char *v);
void	jpg_int(struct jpg_params *p, int64_t v);
/* Appends len bytes at v (not copied: they must outlive the call). */
void	jpg_bin(struct jpg_params *p, const void *v, size_t len);

/*
 * Takes j's mutex (always: the caller unlocks it) and makes sure the
 * connection is up, resetting a broken one (the database went away and
 * came back). 0, or -1 with the reason recorded for func.
 */
int	journal_pg_enter(struct journal *j, const char *func);
/*
 * Runs sql with p (NULL: none). The result (rows or a command's status)
 * for the caller to PQclear, or NULL with the server's message recorded
 * for func and the health updated.
 */
PGresult *journal_pg_run(struct journal *j, const char *sql,
	    const struct jpg_params *p, const char *func);
/* Runs a command: the rows it changed (>= 0), or -1 (recorded). */
int64_t	journal_pg_cmd(struct journal *j, const char *sql,
	    const struct jpg_params *p, const char *func);
/* A one-integer query: the value (NULL is 0), or -1 (recorded). */
int64_t	journal_pg_int(struct journal *j, const char *sql,
	    const struct jpg_params *p, const char *func);
/* After a write committed: the database takes writes again. */
void	journal_pg_wrote(struct journal *j);
/* Rolls back the caller's transaction after a failure (errors ignored). */
void	journal_pg_rollback(struct journal *j);
/*
 * The rows of res (columns JOURNAL_PG_COLS) into a malloc'd array: the
 * count with *out set (NULL when 0; freed with journal_free_jobs), or -1.
 * Clears res.
 */
int	journal_pg_collect(struct journal *j, PGresult *res, struct job **out,
	    const char *func);
/* The one row of res, if any: 1 with out filled, 0, -1. Clears res. */
int	journal_pg_lookup(struct journal *j, PGresult *res, struct job *out,
	    const char *func);

/* The columns a job is read back from, in journal_pg_row's order. */
#define JOURNAL_PG_COLS \
	"id, seq, session, nonce, task, kernel, locks, params, state, " \
	"created_ms, started_ms, finished_ms, slot, device, result, error, " \
	"has_png, inputs, files, file_bytes, client, removed_ms"
#define JOURNAL_PG_FINAL "('done', 'failed', 'expired', 'cancelled')"

/* The notification channel of the cluster (cluster.h: CLUSTER_CHANNEL). */
#define JOURNAL_PG_CHANNEL	"sluice_jobs"

/* A job's insert with seq the SQL expression for its seq; RETURNING seq. */
#define JPG_INSERT_COLS \
	"INSERT INTO jobs (id, seq, session, nonce, task, kernel, locks, " \
	"params, state, created_ms, started_ms, finished_ms, slot, device, " \
	"result, error, has_png, inputs, file_bytes, client, origin) "
#define JPG_INSERT_VALS(seq) \
	"$1, " seq ", $3, $4, $5, $6, $7, $8, $9, $10::bigint, " \
	"$11::bigint, $12::bigint, $13::int, $14, $15, $16, $17::int, $18, " \
	"$19::bigint, $20, NULLIF($21, '')"
#define JPG_INSERT_SQL(seq) \
	JPG_INSERT_COLS "VALUES (" JPG_INSERT_VALS(seq) ") RETURNING seq"

/*
 * jb's columns as JPG_INSERT_SQL's parameters, in order, into p: $2 is
 * jb->seq, $21 the node accepting it ("": none).
 */
void	jpg_insert_params(struct journal *j, struct jpg_params *p,
	    const struct job *jb);

/*
 * A final write of id changed no row. In the cluster, when the row is
 * there, it was fenced: this node lost its lease, another ended the job
 * ("node lost"); logged, and 0 (written, as far as the caller goes: it
 * must not try again). Else -1, "no such job" recorded for func.
 */
int	journal_pg_fenced(struct journal *j, const char *id, const char *func);

/* ---- journal_pg_cluster.c: the cluster's entries ---- */
int	journal_pg_admit(struct journal *, struct job *, int,
	    char [JOB_ID_LEN + 1]);
int	journal_pg_claim(struct journal *, const char *, int64_t *, int,
	    const char *, const struct journal_slot *, size_t);
int	journal_pg_notify(struct journal *, const char *, const char *);
int	journal_pg_secret(struct journal *, const char *, unsigned char *,
	    size_t);
int	journal_pg_nodes(struct journal *, struct journal_node **, int64_t *);

/* ---- journal_pg_files.c: a job's files in the cluster ---- */

/*
 * In the caller's transaction, with the mutex, in the cluster only (one
 * machine: 0 at once): the local files list names (kind JOBDIR_IN: the
 * job's inputs object; JOBDIR_OUT: its files array) stored as job id's.
 * A listed file that is not on this disk is skipped. 0, or -1 recorded
 * for func.
 */
int	journal_pg_files_put(struct journal *j, const char *id,
	    enum jobdir_kind kind, const char *list, const char *func);
/* The files_read entry (journal_int.h). */
int	journal_pg_files_read(struct journal *j, const char *id,
	    enum jobdir_kind kind, const char *name, journal_file_cb cb,
	    void *arg);

/* ---- journal_pg_jobs.c: the store's entries (journal_store_ops) ---- */

int	journal_pg_insert(struct journal *, const struct job *);
int	journal_pg_start(struct journal *, const char *, int64_t, int,
	    const char *);
int	journal_pg_finish_row(struct journal *, const struct job *, int,
	    int64_t, const char *);
int	journal_pg_get(struct journal *, const char *, struct job *);
int	journal_pg_find_nonce(struct journal *, const char *, const char *,
	    struct job *);
int	journal_pg_session_jobs(struct journal *, const char *, int,
	    struct job **);
int	journal_pg_running_jobs(struct journal *, struct job **);
int	journal_pg_queued_jobs(struct journal *, int64_t, struct job **);
int	journal_pg_recover(struct journal *, int64_t, struct job **);
int64_t	journal_pg_max_seq(struct journal *);
int	journal_pg_evict(struct journal *, int64_t, int64_t, int64_t,
	    void (*)(const char *, void *), void *);
int64_t	journal_pg_result_bytes(struct journal *);
/*
 * After a final write of id committed (or was fenced), with the mutex:
 * in the cluster this disk's copy of its files goes (the database has
 * them).
 */
void	journal_pg_finished(struct journal *j, const char *id);
/*
 * The finish_exec entry: finish_row's update in the caller's
 * transaction, with the job's outputs (journal_pg_files_put).
 */
int	journal_pg_finish_exec(struct journal *j, const struct job *jb,
	    int has_png, int64_t file_bytes, const char *func);

/* ---- journal_pg_room.c: the room_* entries (journal_int.h) ---- */

int64_t	journal_pg_room_used(struct journal *, const char *, const char *);
int	journal_pg_room_victim(struct journal *, const char *, const char *,
	    char [JOB_ID_LEN + 1], int64_t *, const char *);
int	journal_pg_room_strip(struct journal *, const char *, int64_t,
	    const char *);
int64_t	journal_pg_room_row_bytes(struct journal *, const char *,
	    const char *);
int	journal_pg_room_savepoint(struct journal *, enum journal_savepoint,
	    const char *);
int	journal_pg_finish_room(struct journal *, const struct job *);

#endif
