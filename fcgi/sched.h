/*
 * sched: runs jobs under the keyed locks of the config.
 *
 * Responder threads call sched_submit/sched_cancel/sched_lookup; none of
 * them waits for a lock or a kernel: they take the scheduler's mutex for a
 * few microseconds and return. Jobs run on threads the scheduler owns.
 * A job of a task with several locks holds one slot of each while it runs.
 * All functions are thread-safe.
 *
 * Invariants: never more holders than slots; no deadlock (all of a job's
 * slots are taken at once under one mutex, or none); work-conserving; fifo
 * locks start jobs in arrival order unless an earlier one cannot start
 * anyway; fair locks take sessions in turn; every admitted job reaches
 * exactly one final state, and the journal records it: a final write
 * the journal refuses is logged and retried (from 1 s, backing off to
 * 60 s) until it succeeds; a result image that cannot be stored leaves
 * the job done without it ("image":"not stored" in the result, the reason
 * in error).
 */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "conf.h"
#include "hist.h"
#include "job.h"
#include "journal.h"

struct sched;

enum sched_rc {
	SCHED_OK = 0,
	SCHED_QUEUE_FULL,	/* a lock's queue is full: 503 + Retry-After */
	SCHED_SESSION_LIMIT,	/* session has max_active jobs: 429 + Retry-After */
	SCHED_DRAINING,		/* shutting down: 503 */
	SCHED_NOT_FOUND,	/* no such job (or another session's): 404 */
	SCHED_CONFLICT,		/* cancel of a job no longer queued: 409 */
	SCHED_UNKNOWN_TASK,	/* 404 */
	SCHED_ERROR,		/* internal (journal write failed): 500 */
	SCHED_CHANGED		/* a reload gave the task another kernel since
				   the params were validated: 503 +
				   Retry-After: 1 */
};

struct kernel;

/*
 * Test hook: when set in sched_opts, called instead of the kernel. The
 * hook gets the job, its slot of each lock and the configured device of
 * its slot of the first of its locks that has devices (KERNEL_CPU when
 * none has).
 */
struct sched_opts {
	int	(*run_hook)(const struct job *, const int *slots,
		    int device, void *arg, char *err, size_t errlen);
	void	*run_arg;
	int	 threads;	/* worker threads; 0 = sum of all slots */
	FILE	*log;		/* job transition lines; NULL = none */
};

/*
 * Creates a scheduler for conf (which must outlive it, until
 * sched_reconfigure replaces it) with jobs journaled in j (NULL: memory
 * only, for tests). Recovers queued jobs from the journal. Starts worker
 * threads. Returns NULL with a message in err on failure.
 */
struct sched	*sched_create(const struct conf *, struct journal *,
		    const struct sched_opts *, char *err, size_t errlen);

/*
 * Admits a job of task for session with params_json (the params codec's
 * text, params_encode(), validated by the caller against kernel k; NULL
 * means "{}"; copied). k must be the kernel the scheduler's config
 * gives the task (NULL for a kernel unknown to kernel_find(), as with a
 * test hook): when a reload changed it in between, nothing is admitted
 * and SCHED_CHANGED returned, *retry_after 1. A non-empty nonce already
 * used by this session returns SCHED_OK with that job's id (or
 * SCHED_CONFLICT, id still set, when that job is of another task).
 * On SCHED_OK, id is set and the job is journaled. On QUEUE_FULL and
 * SESSION_LIMIT, *retry_after is a suggested wait in seconds.
 */
enum sched_rc	 sched_submit(struct sched *, const char *task,
		    const struct kernel *k, const char *session,
		    const char *nonce, const char *params_json,
		    char id[JOB_ID_LEN + 1], int *retry_after);

/* Cancels a queued job of session: OK, NOT_FOUND or CONFLICT. */
enum sched_rc	 sched_cancel(struct sched *, const char *id,
		    const char *session);

/*
 * Copies the job (with live position/eta while queued) into out, which the
 * caller job_clear()s. session NULL skips the ownership check (tests, admin).
 * Returns OK or NOT_FOUND (also for another session's job).
 */
enum sched_rc	 sched_lookup(struct sched *, const char *id,
		    const char *session, struct job *out);

/* Live counts of one lock by config index: busy slots and waiters. */
void		 sched_lock_counts(struct sched *, size_t lock_index,
		    int *busy, int *queued);

/* ETA in ms for a job of task submitted now; -1 when unknown. */
int64_t		 sched_task_eta(struct sched *, const char *task);


/*
 * Applies a new config in place (SIGHUP): lock slots, queue, wait_timeout,
 * order and devices, and the set of tasks. Running jobs keep running; a
 * lock shrunk below its busy count starts nothing until busy < slots;
 * grown locks start their waiters at once. A queued job whose task or one
 * of whose locks is gone fails ("task removed by reload", "lock NAME
 * removed by reload"); other queued jobs keep their place, their locks and
 * their kernel. A running job of a removed lock keeps running but its slot
 * of that lock is forgotten. Counters of kept locks and tasks carry over.
 * conf must outlive the scheduler (or the next reconfigure); the old conf
 * is no longer referenced once this returns 0. Returns 0, or -1 with a
 * message in err and nothing changed. Thread-safe; submissions wait for
 * the few microseconds it holds the mutex (and for journal writes in
 * flight to end).
 */
int		 sched_reconfigure(struct sched *, const struct conf *conf,
		    char *err, size_t errlen);

/* Histogram bounds (upper, inclusive, ms) of the wait and run times. */
#define SCHED_HIST_N		HIST_N
#define sched_hist_bounds_ms	hist_bounds_ms

/* The job states, indexed by enum job_state ("queued", ..., "cancelled"). */
#define SCHED_NSTATES	6
extern const char *const sched_state_names[SCHED_NSTATES];

struct sched_hist {
	uint64_t	 cum[SCHED_HIST_N + 1];	/* cumulative; last is +Inf */
	double		 sum_ms;
	uint64_t	 count;
};

struct sched_lock_stats {
	char		 name[CONF_NAME_MAX + 1];
	int		 slots, busy, queued, queue;
	int		 fair;		/* order: 1 fair, 0 fifo */
	uint64_t	 admitted, refused, started;
	uint64_t	 ended[SCHED_NSTATES];	/* by final state */
	struct sched_hist wait, run;
};

struct sched_task_stats {
	char		 name[CONF_NAME_MAX + 1];
	int		 queued, running;
	uint64_t	 admitted, refused;
	uint64_t	 ended[SCHED_NSTATES];
	double		 run_sum_ms;
	uint64_t	 run_n;		/* mean run = run_sum_ms / run_n */
	double		 eta_run_ms;	/* the run time the ETAs assume */
};

struct sched_stats {
	struct sched_lock_stats	*locks;
	size_t			 nlocks;
	struct sched_task_stats	*tasks;
	size_t			 ntasks;
};

/*
 * Fills out with a consistent snapshot (taken under the mutex) of every
 * lock and task in config order. Returns 0, or -1 on ENOMEM (out is then
 * empty). The caller frees with sched_stats_free(). Thread-safe.
 */
int		 sched_stats_get(struct sched *, struct sched_stats *out);
void		 sched_stats_free(struct sched_stats *);

/*
 * Evicts finished jobs from the journal as journal_evict() does (older
 * than ttl_ms, then the oldest while result files exceed max_bytes) and
 * forgets them in memory too, so that a lookup no longer finds a job
 * whose row and image are gone. Returns the number evicted, or -1 with
 * the reason in journal_error() (this thread); 0 without a journal.
 * Thread-safe; call it periodically (app_maintain).
 */
int		 sched_evict(struct sched *, int64_t now_ms, int64_t ttl_ms,
		    int64_t max_bytes);

/*
 * Stops admitting (submit returns DRAINING), waits until every queued and
 * running job has ended or timeout_ms passed. Returns the number of jobs
 * still unfinished (they stay journaled as queued/running).
 */
int		 sched_drain(struct sched *, int64_t timeout_ms);

/*
 * Stops the workers and frees the scheduler. Running jobs are awaited.
 * Final states the journal refused so far (retried meanwhile by the
 * scheduler's timer thread) get one last write; one still refused is
 * logged as lost (its row stays running: the next start fails it).
 */
void		 sched_destroy(struct sched *);

/*
 * Scheduler self-check, for tests only. Under the scheduler mutex,
 * verifies: busy <= slots and busy equals the running jobs holding each
 * lock; the queued counts match the waiter lists; no waiter could start
 * now (every lock of some waiter has a free slot); and, since the
 * scheduler was created, no job started on a fifo lock while an earlier
 * waiter of that lock could have started at that instant (counted only
 * while sched_audit_starts() is on). Returns 0, or -1 with the first
 * problem in err. Thread-safe.
 */
int		 sched_audit(struct sched *, char *err, size_t errlen);
/*
 * Turns on (1) or off (0) the per-start fifo check that sched_audit()
 * reports; it costs a scan of the waiters at every start. Thread-safe.
 */
void		 sched_audit_starts(struct sched *, int on);

#endif
