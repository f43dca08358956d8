/*
 * journal_int: what the files of the journal share, whatever stores the
 * rows; not for use outside fcgi/journal*.c.
 *
 *   journal.c              this thread's last error, checks and helpers
 *                          any store needs
 *   journal_files.c        the result files STATE/results/ID.png
 *                          (journal_files.h)
 *   journal_sqlite.c       the SQLite store: schema, statements, open and
 *                          close, reading rows (journal_sqlite.h)
 *   journal_sqlite_jobs.c  the SQLite store: the calls of journal.h that
 *                          read and write rows, recovery and eviction
 *   journal_room.c         room for results (results.max_bytes and
 *                          sessions.max_result_bytes): the rules, over
 *                          the store's room_* steps
 *   journal_pg*.c          the PostgreSQL store (cluster.database), the
 *                          same calls over libpq (journal_pg.h)
 *
 * A store implements struct journal_store_ops; journal.c's journal.h
 * calls check what any store would check and hand over to j->ops. A
 * store's own struct begins with a struct journal (its "base"), so that
 * a struct journal * is a pointer to it.
 */
#ifndef SLUICE_JOURNAL_INT_H
#define SLUICE_JOURNAL_INT_H

#include <pthread.h>
#include <stdint.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"

/*
 * What gets each stored file a store reads back (files_read): its name
 * (checked: jobdir_name_ok) and bytes, valid during the call. 0, or -1
 * with errno set to stop.
 */
typedef int (*journal_file_cb)(const char *name, const unsigned char *data,
	    size_t len, void *arg);

/* The savepoint around making room: set, rolled back to, released. */
enum journal_savepoint {
	JSP_MARK,
	JSP_UNDO,
	JSP_KEEP
};

/*
 * What a store does, one entry per journal.h call that depends on where
 * the rows are; each has the contract of its journal.h call. finish_row
 * is journal_finish's row update (the file is written by journal.c):
 * has_png and file_bytes as given, committed by itself; func names the
 * caller in errors. Every entry is set but the cluster's.
 */
struct journal_store_ops {
	const char	*name;		/* "sqlite", "postgresql" */
	void	(*close)(struct journal *);
	const char *(*unwritable)(struct journal *);
	int	(*probe)(struct journal *);
	int	(*insert)(struct journal *, const struct job *);
	int	(*start)(struct journal *, const char *id, int64_t started_ms,
		    int slot, const char *device);
	/* The cluster's (journal.h); a store without one has none set. */
	int	(*admit)(struct journal *, struct job *, int max_active,
		    char old_id[JOB_ID_LEN + 1]);
	int	(*claim)(struct journal *, const char *id, int64_t *started_ms,
		    int slot, const char *device,
		    const struct journal_slot *cl, size_t n);
	int	(*notify)(struct journal *, const char *verb, const char *id);
	int	(*secret)(struct journal *, const char *name,
		    unsigned char *secret, size_t len);
	int	(*nodes)(struct journal *, struct journal_node **out,
		    int64_t *queued);
	/*
	 * The cluster's copies of job id's files of kind (name NULL: all
	 * of them) to cb, in name order, without the mutex: the count, or
	 * -1 (recorded).
	 */
	int	(*files_read)(struct journal *, const char *id,
		    enum jobdir_kind kind, const char *name,
		    journal_file_cb cb, void *arg);
	int	(*finish_row)(struct journal *, const struct job *,
		    int has_png, int64_t file_bytes, const char *func);
	/*
	 * Room for results (journal_room.c): finish_room is
	 * journal_finish_stored with limits set (it takes the mutex and
	 * makes a transaction around journal_room_finish); the rest run
	 * with the mutex held, in the caller's transaction. room_used: the
	 * bytes session holds (NULL: the store), or -1. room_victim: the
	 * next job to lose its files, session's oldest finished one with
	 * files (NULL: of the session holding the most), never id: 1 with
	 * vid and *bytes, 0 none, -1. room_strip: vid's files marked
	 * removed at now_ms (row kept). room_row_bytes: the bytes id's row
	 * counts, or -1. finish_exec: finish_row's update without the
	 * mutex or a commit of its own.
	 */
	int	(*finish_room)(struct journal *, const struct job *);
	int64_t	(*room_used)(struct journal *, const char *session,
		    const char *func);
	int	(*room_victim)(struct journal *, const char *session,
		    const char *id, char vid[JOB_ID_LEN + 1], int64_t *bytes,
		    const char *func);
	int	(*room_strip)(struct journal *, const char *vid,
		    int64_t now_ms, const char *func);
	int64_t	(*room_row_bytes)(struct journal *, const char *id,
		    const char *func);
	int	(*room_savepoint)(struct journal *, enum journal_savepoint,
		    const char *func);
	int	(*finish_exec)(struct journal *, const struct job *,
		    int has_png, int64_t file_bytes, const char *func);
	int	(*get)(struct journal *, const char *id, struct job *out);
	int	(*find_nonce)(struct journal *, const char *session,
		    const char *nonce, struct job *out);
	int	(*session_jobs)(struct journal *, const char *session,
		    int max, struct job **out);
	int	(*running_jobs)(struct journal *, struct job **out);
	int	(*queued_jobs)(struct journal *, int64_t after_seq,
		    struct job **out);
	/* The queued jobs into *out, after failing the running ones. */
	int	(*recover)(struct journal *, int64_t now_ms, struct job **out);
	int64_t	(*max_seq)(struct journal *);
	int	(*evict)(struct journal *, int64_t now_ms, int64_t ttl_ms,
		    int64_t max_bytes, void (*cb)(const char *id, void *),
		    void *arg);
	int64_t	(*result_bytes)(struct journal *);
};

/* What every store's journal has, first in its own struct. */
struct journal {
	const struct journal_store_ops *ops;
	pthread_mutex_t	 mtx;		/* guards the store and these: */
	char		*state_dir;
	char		*results_dir;	/* STATE/results, fixed at open */
	/* Room for results (journal_set_limits); <= 0: no limit. */
	int64_t		 max_bytes, max_session_bytes;
	void		(*evicted)(const char *id, void *);
	void		*evicted_arg;
	/* The cluster's node (journal_set_node): "" and 0 on one machine.
	   The node is set before other threads call (read without the
	   mutex); the generation changes on a rejoin, under it. */
	char		 node[64];
	int64_t		 generation;
	/* The recent jobs of sessions (journal_recent.c): its own locks. */
	struct journal_recent *recent;
};

/* ---- journal.c ---- */

/*
 * Sets up the common part of a store's journal j (zeroed, of the store's
 * size): ops, the mutex, STATE and STATE/results (both created when
 * missing), the recent jobs' cache. 0, or -1 with a message naming the
 * path in err; j is then to be freed with journal_base_free.
 */
int	journal_base_init(struct journal *j, const struct journal_store_ops *ops,
	    const char *state_dir, char *err, size_t errlen);
/* Frees what journal_base_init set up (safe after its failure), not j. */
void	journal_base_free(struct journal *j);

/*
 * Records a failure of this thread's current call on j: journal_error(j)
 * returns the message until this thread's next failure. Thread-safe (the
 * message is thread-local).
 */
void	journal_seterr(struct journal *j, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Forgets this thread's last error if it concerns j (j is being freed). */
void	journal_err_forget(const struct journal *j);
/*
 * Checks that jb can be recorded as final (valid id, final state): 0, or
 * -1 with "FUNC: ..." recorded. Thread-safe.
 */
int	journal_final_ok(struct journal *j, const struct job *jb,
	    const char *func);

/* Ids of jobs whose files or rows go, read out before they change. */
struct journal_ids {
	char	(*id)[JOB_ID_LEN + 1];
	size_t	 n, cap;
};

/* Appends id (not one of ours: skipped) to l; 0, or -1 on ENOMEM. */
int	journal_ids_add(struct journal_ids *l, const unsigned char *id);
/* After the commit: removes the files of l's jobs from index from on. */
void	journal_room_unlink(struct journal *j, const struct journal_ids *l,
	    size_t from);

/* ---- journal_room.c (caller holds the mutex unless said) ---- */

/*
 * In the caller's transaction: removes the files of finished jobs other
 * than id (their rows stay, marked removed_ms = now_ms) until grow more
 * bytes of session's job fit under max_session_bytes (session's own
 * oldest first) and max_bytes (the oldest of the session that holds the
 * most first). Their ids go on l (from its end) for journal_room_unlink
 * after the commit. session NULL: the global limit only. Returns 1 when
 * it fits, 0 when it cannot however much goes, -1 on error.
 */
int	journal_room(struct journal *j, const char *id, const char *session,
	    int64_t grow, int64_t now_ms, struct journal_ids *l,
	    const char *func);
/*
 * The same for the whole store and a limit given (0: every file goes):
 * eviction's pass after a lowered results.max_bytes. 0 or -1.
 */
int	journal_room_within(struct journal *j, int64_t limit, int64_t now_ms,
	    struct journal_ids *l, const char *func);
/*
 * In the caller's transaction: room for jb's new bytes, then its row (as
 * it is, or without its files when they cannot fit). 1 when they did
 * not (its OUT files are then to go), 0, or -1.
 */
int	journal_room_finish(struct journal *j, const struct job *jb,
	    struct journal_ids *l, const char *func);
/* After its commit (rc 0 or 1): the files of l's jobs and its own go. */
void	journal_room_committed(struct journal *j, const struct job *jb,
	    int rc, const struct journal_ids *l);
/*
 * Without the mutex, after journal_room_finish's call ended (rc, -1
 * included): the recent jobs forgotten, journal_on_evict's callback for
 * each job on l (and jb when rc is 1); frees l's ids.
 */
void	journal_room_notify(struct journal *j, const struct job *jb, int rc,
	    struct journal_ids *l);

/* ---- journal_recent.c: the recent jobs of sessions, in memory ---- */

/* Sessions whose recent jobs are kept (a direct-mapped cache). */
#define JOURNAL_RECENT_SLOTS	1024

struct journal_recent;
/* An empty cache, or NULL (ENOMEM); freed with journal_recent_free. */
struct journal_recent	*journal_recent_new(void);
void	journal_recent_free(struct journal_recent *);
/*
 * After a commit that changed session's jobs: its cached list is dropped
 * (NULL or "": every session's). Thread-safe; the journal's mutex may be
 * held.
 */
void	journal_recent_forget(struct journal *j, const char *session);
/* After a commit that removed or changed many rows: every list dropped. */
void	journal_recent_forget_all(struct journal *j);

/* STATE/results, fixed at open. Thread-safe. */
const char	*journal_results_dir(const struct journal *j);

/* ---- the stores' journal_open (err as journal_open's) ---- */

struct journal	*journal_sqlite_open(const char *state_dir, char *err,
		    size_t errlen);
struct journal	*journal_pg_open(const char *database, const char *state_dir,
		    char *err, size_t errlen);
int		 journal_pg_check(const char *database, char *err, size_t errlen);

#endif
