/*
 * journal: the durable job store. Jobs live in an SQLite database in WAL
 * mode at STATE/jobs.db, or in PostgreSQL (journal_open_db); their files
 * under STATE/results/ID/ (jobdir.h),
 * an older job's one image at STATE/results/ID.png.
 * Every write is committed before the function returns, so a job the
 * journal accepted survives kill -9. All functions are thread-safe (one
 * connection behind a mutex the journal owns). Functions returning int
 * return 0 on success and -1 on error with a message in the journal's
 * last-error (journal_error()), never exiting.
 */
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "jobdir.h"

struct journal;

/*
 * Opens (creating when needed) STATE/jobs.db and STATE/results/. Returns
 * NULL with a message in err on failure. Close with journal_close().
 */
struct journal	*journal_open(const char *state_dir, char *err, size_t errlen);
/*
 * The same with the rows in the PostgreSQL database given (a libpq
 * conninfo or URI: cluster.database), the files still under
 * STATE/results; database NULL is journal_open. The schema is created or
 * brought up to date, safely when several responders start at once.
 * NULL with a message in err when the database cannot be reached or was
 * built without (configure found no libpq).
 */
struct journal	*journal_open_db(const char *database, const char *state_dir,
		    char *err, size_t errlen);
/*
 * Whether database (as for journal_open_db) can be reached: connects and
 * disconnects, changing nothing (sluice -t). 0, or -1 with a message
 * naming cluster.database in err. Thread-safe.
 */
int		 journal_db_check(const char *database, char *err,
		    size_t errlen);
void		 journal_close(struct journal *);
/* The last error message of this thread's last failed call. */
const char	*journal_error(struct journal *);

/*
 * Why the journal cannot take writes now (its disk is full or failing,
 * its file was removed), as a sentence for users that names no path; NULL
 * when it can. Set by a write that failed for that reason, cleared by
 * the next one that succeeds (journal_probe writes nothing else).
 * Lock-free; thread-safe.
 */
const char	*journal_unwritable(struct journal *);
/* A write that changes nothing, to find out: 0 when it took it, -1. */
int		 journal_probe(struct journal *);

/* Inserts a new job (state queued), all fields as given. */
int	journal_insert(struct journal *, const struct job *);
/* Records the start: state running, started_ms, slot, device. */
int	journal_start(struct journal *, const char *id, int64_t started_ms,
	    int slot, const char *device);
/*
 * The cluster (cluster.database): this journal's node and its life
 * (cluster.h). Set once, after journal_open_db and before
 * journal_recover or any other thread's call; again when the node
 * rejoins. Without it (and always in SQLite) a journal is one
 * machine's: the calls below fall back to journal_insert and
 * journal_start, and nothing is fenced.
 */
void	journal_set_node(struct journal *, const char *node,
	    int64_t generation);

/* The node's generation (journal_set_node), 0 on one machine. */
int64_t	journal_generation(struct journal *);

/* What journal_admit decided. */
enum journal_admit_rc {
	JOURNAL_ADMITTED = 0,	/* inserted; jb->seq set when it was 0 */
	JOURNAL_ADMIT_NONCE,	/* (session, nonce) made old_id already */
	JOURNAL_ADMIT_CAP	/* the session has max_active jobs */
};
/*
 * A submission's insert. In the cluster, in one transaction under the
 * session's advisory lock (so that two nodes cannot both take the last
 * place): the nonce, then the session's queued and running jobs on
 * every node against max_active (> 0), then the row with a seq from the
 * cluster's sequence (jb->seq is set) and a "q ID" notification. One
 * machine: journal_insert (the caller checked both in memory). An enum
 * journal_admit_rc, or -1 with the error recorded. Thread-safe.
 */
int	journal_admit(struct journal *, struct job *jb, int max_active,
	    char old_id[JOB_ID_LEN + 1]);

/* A lock of scope "cluster" a start takes one of the slots of. */
struct journal_slot {
	const char	*lock;
	int		 slots;
};
/* What journal_claim decided. */
enum journal_claim_rc {
	JOURNAL_CLAIMED = 0,	/* running here, every cluster slot held */
	JOURNAL_CLAIM_TAKEN,	/* not queued any more: another node took it,
				   or it ended; or this node lost its lease */
	JOURNAL_CLAIM_FULL	/* a cluster lock had no free slot */
};
/*
 * A start. In the cluster, in one transaction: the row goes from queued
 * to running on this node's generation (only while the node holds its
 * lease), a slot of each of the n cluster locks is taken (a row each in
 * cluster_slots: never more holders than slots, whatever other nodes
 * do), and a "s ID NODE" notification goes out; nothing changes unless
 * all of it does. *started_ms, this node's clock at the start, becomes
 * the start recorded: never before the commit that freed the slot it
 * took (the database's clock), so that the jobs' times show what the
 * slots did. One machine: journal_start. An enum
 * journal_claim_rc, or -1. Thread-safe.
 */
int	journal_claim(struct journal *, const char *id, int64_t *started_ms,
	    int slot, const char *device, const struct journal_slot *cl,
	    size_t n);
/*
 * Tells the cluster's nodes "VERB ID" (cluster.h: "c" asks the node
 * running id to cancel it). 0 (also on one machine, where nobody
 * listens), or -1. Thread-safe.
 */
int	journal_notify(struct journal *, const char *verb, const char *id);

/* A node of the cluster, as its row and jobs say (journal_nodes). */
struct journal_node {
	char		 name[64];
	int64_t		 generation;
	int		 lost;
	double		 heartbeat_age_s;	/* by the database's clock */
	int64_t		 running;		/* its life's running jobs */
};
/*
 * Every node of the cluster by name into *out (malloc'd; the caller
 * frees it), and the cluster's queued jobs into *queued: the count of
 * nodes, or -1 (also on one machine, which has none). Thread-safe.
 */
int	journal_nodes(struct journal *, struct journal_node **out,
	    int64_t *queued);

/*
 * A secret every node of the cluster must share (the CSRF key): the
 * first node's value is kept, in the database. secret holds this
 * node's candidate (len bytes, at most 64) and gets the cluster's. 1
 * when it did; 0 on one machine (secret untouched: the caller's own
 * is the one); -1. Thread-safe.
 */
int	journal_secret(struct journal *, const char *name,
	    unsigned char *secret, size_t len);

/*
 * Records a final state with finished_ms, result (JSON or NULL), error
 * (or NULL) and has_png. png/png_len, when png is not NULL, are written to
 * STATE/results/ID.png first (atomically: temp file + rename); if either
 * the file or the row fails, neither is left.
 */
int	journal_finish(struct journal *, const struct job *,
	    const unsigned char *png, size_t png_len);
/*
 * The same for a job whose files are stored already (jobdir.h: its
 * inputs at submission, its outputs by the executor): the row, with
 * has_png, files and file_bytes from the job, after making room for the
 * bytes it adds (journal_set_limits); a failed call can be repeated as
 * is. 0; 1 when its output files could not fit and were removed (the
 * row says so: no files, removed_ms, a note in error); -1.
 */
int	journal_finish_stored(struct journal *, const struct job *);
/*
 * STATE/results, where every job's files are (jobdir.h). Never changes
 * while the journal is open.
 */
const char	*journal_files_root(struct journal *);
/*
 * Opens file name (of kind) of job id for reading: this disk's copy
 * (jobdir_open) or, in the cluster, where a node keeps a job's files
 * only while it runs there, the database's in an anonymous file. An fd
 * the caller closes, or -1 with errno set (ENOENT: neither has it; EIO
 * with the journal's error recorded). Thread-safe.
 */
int	journal_file_open(struct journal *, const char *id,
	    enum jobdir_kind kind, const char *name);
/*
 * The cluster, before a job another node accepted runs here: writes
 * job id's stored files of kind (its uploads) that this disk lacks. The
 * count written (0 on one machine), or -1 recorded. Thread-safe.
 */
int	journal_files_fetch(struct journal *, const char *id,
	    enum jobdir_kind kind);

/*
 * Looks up a job by id. Returns 1 and fills out (caller job_clear()s it),
 * 0 when there is no such job, -1 on error.
 */
int	journal_get(struct journal *, const char *id, struct job *out);
/* Same, for the job a (session, nonce) pair created: 1, 0 or -1. */
int	journal_find_nonce(struct journal *, const char *session,
	    const char *nonce, struct job *out);
/*
 * The session's most recent jobs, newest first, at most max. Returns the
 * count (>= 0) with *out a malloc'd array the caller frees with
 * journal_free_jobs(), or -1.
 */
int	journal_session_jobs(struct journal *, const char *session, int max,
	    struct job **out);
void	journal_free_jobs(struct job *, int n);

/* What the app page shows of a recent job. */
#define JOURNAL_RECENT_MAX	10	/* jobs kept per session */
struct journal_recent_job {
	char		 id[JOB_ID_LEN + 1];
	char		 task[64];
	enum job_state	 state;
};
/*
 * The session's most recent jobs, newest first, at most max (at most
 * JOURNAL_RECENT_MAX), into out (room for JOURNAL_RECENT_MAX): the same
 * as journal_session_jobs, from a cache in memory that every write of
 * the session's jobs forgets (journal_recent.c), so usually without the
 * journal's mutex. The count, or -1. Thread-safe.
 */
int	journal_session_recent(struct journal *, const char *session, int max,
	    struct journal_recent_job *out);

/* Path of a job's PNG result (whether or not it exists) into out. */
int	journal_png_path(struct journal *, const char *id, char *out,
	    size_t outlen);

/* The error of a job that was running when the responder stopped. */
#define JOURNAL_INTERRUPTED	"interrupted by restart"

/*
 * The jobs the journal holds as running, in seq order: at start-up, the
 * ones journal_recover is about to mark interrupted (so that each can be
 * logged). Returns the count with *out as for journal_session_jobs, or -1.
 */
int	journal_running_jobs(struct journal *, struct job **out);
/*
 * The queued ones, in seq order, read only: a start on a journal that
 * cannot be written (journal_unwritable) queues them without the
 * recovery's write. The count, or -1. journal_queued_after: only those
 * whose seq is above after_seq (the cluster's poll reads what is new).
 */
int	journal_queued_jobs(struct journal *, struct job **out);
int	journal_queued_after(struct journal *, int64_t after_seq,
	    struct job **out);

/*
 * Start-up recovery: every job left running is marked failed with
 * "interrupted by restart" (finished_ms = now_ms); every queued job is
 * passed to cb in arrival order (seq) so the scheduler can queue it again.
 * Returns the number of queued jobs handed over, or -1.
 */
int	journal_recover(struct journal *, int64_t now_ms,
	    void (*cb)(const struct job *, void *), void *arg);

/*
 * Start-up, before any request: removes the file directories of jobs the
 * journal does not hold (uploads of a submission a crash cut short); in
 * the cluster every one (the database has the files). Returns how many.
 */
int	journal_sweep(struct journal *);

/* The largest seq in the journal (0 when empty), to continue numbering. */
int64_t	journal_max_seq(struct journal *);

/*
 * Eviction: removes finished jobs (rows and files) finished before
 * now_ms - ttl_ms, then, while their files total more than max_bytes,
 * the oldest finished ones. After the commit, outside the journal's lock,
 * cb (unless NULL) gets each removed id, so that a cache of jobs (the
 * scheduler's: sched_evict) can forget them. Returns the number of jobs
 * removed, or -1.
 */
int	journal_evict(struct journal *, int64_t now_ms, int64_t ttl_ms,
	    int64_t max_bytes, void (*cb)(const char *id, void *), void *arg);
/*
 * results.max_bytes and sessions.max_result_bytes (<= 0: no limit), kept
 * at each final write that adds files: other finished jobs lose their
 * files (the session's own oldest first, then the oldest of the session
 * holding the most) so that the new ones fit; their rows stay until the
 * TTL with removed_ms set. Files that cannot fit at all are not kept
 * (journal_finish_stored returns 1). Thread-safe.
 */
void	journal_set_limits(struct journal *, int64_t max_bytes,
	    int64_t max_session_bytes);
/*
 * cb gets the id of each job whose files a final write removed to make
 * room (after the commit, without the journal's lock). Set it once,
 * before any write.
 */
void	journal_on_evict(struct journal *, void (*cb)(const char *id, void *),
	    void *arg);
/* Bytes of result files currently counted. */
int64_t	journal_result_bytes(struct journal *);

#endif
