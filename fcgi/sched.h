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
 * exactly one final state.
 */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
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
	SCHED_ERROR		/* internal (journal write failed): 500 */
};

/*
 * Test hook: when set in sched_opts, called instead of the kernel. The
 * hook gets the job, its slot of each lock and the device of the first.
 */
struct sched_opts {
	int	(*run_hook)(const struct job *, const int *slots,
		    int device, void *arg, char *err, size_t errlen);
	void	*run_arg;
	int	 threads;	/* worker threads; 0 = sum of all slots */
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
 * Admits a job of task for session with params (array in the kernel's
 * spec order; params_json is its JSON form, copied). A non-empty nonce
 * already used by this session returns SCHED_OK with that job's id.
 * On SCHED_OK, id is set and the job is journaled. On QUEUE_FULL and
 * SESSION_LIMIT, *retry_after is a suggested wait in seconds.
 */
enum sched_rc	 sched_submit(struct sched *, const char *task,
		    const char *session, const char *nonce,
		    const double *params, const char *params_json,
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
 * Appends the stats as JSON: {"locks":{name:{slots,busy,queued,admitted,
 * refused,started,done,failed,expired,cancelled,wait_ms:{...},run_ms:{...}}},
 * "tasks":{name:{...,mean_run_ms}}}.
 */
void		 sched_stats_json(struct sched *, struct buf *);

/*
 * Stops admitting (submit returns DRAINING), waits until every queued and
 * running job has ended or timeout_ms passed. Returns the number of jobs
 * still unfinished (they stay journaled as queued/running).
 */
int		 sched_drain(struct sched *, int64_t timeout_ms);

/* Stops the workers and frees the scheduler. Running jobs are awaited. */
void		 sched_destroy(struct sched *);

#endif
