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
	SCHED_CONFLICT,		/* cancel of a job that has ended: 409 */
	SCHED_UNKNOWN_TASK,	/* 404 */
	SCHED_ERROR,		/* internal (journal write failed): 500 */
	SCHED_CHANGED,		/* a reload changed the task's inputs since
				   the params were validated: 503 +
				   Retry-After: 1 */
	SCHED_CLIENT_LIMIT,	/* the client address has clients.max_active
				   jobs: 429 + Retry-After */
	SCHED_JOURNAL_DOWN	/* the journal cannot write (disk full):
				   503 + Retry-After */
};

/* What an executor runs: a started job, on its worker's slot. */
struct sched_run {
	const struct job *job;		/* id, task, params: read only */
	int		  slot;		/* its slot of the task's worker lock */
	int		  device;	/* that slot's device index; -1: cpu */
};

/* How a run ended, filled by the executor; the scheduler frees it. */
struct sched_outcome {
	enum job_state	 state;		/* JOB_DONE, JOB_FAILED or JOB_CANCELLED */
	char		*result;	/* done: a JSON object (malloc'd) */
	char		*error;		/* failed, cancelled: for the user */
	char		*files;		/* done: JSON array of the files stored
					   for it (jobdir.h), or NULL */
	int64_t		 files_bytes;	/* their bytes */
	int		 has_png;	/* one of them is an image/png */
	char		 device[16];	/* where it ran, "" to keep the slot's */
};

/*
 * The executor: what runs the jobs (the worker supervisor, in the
 * server). want asks for (task, slot)'s worker (called under the
 * scheduler's mutex: it must not block or call back); the owner tells
 * the scheduler when a worker is ready with sched_worker_ready(). run
 * runs a job on a runner thread and blocks until it ends. cancel asks a
 * running job to stop (any thread, maybe under the mutex: no blocking);
 * it returns 0, or -1 when the job is not running there.
 */
struct sched_exec {
	void	(*want)(void *arg, const char *task, int slot);
	void	(*run)(void *arg, const struct sched_run *,
		    struct sched_outcome *);
	int	(*cancel)(void *arg, const char *id);
	void	*arg;
};

/*
 * How jobs run: through exec (every slot waits for its worker to be
 * ready), or, for tests, through run_hook, called on the runner thread
 * with the job, its slot of each lock and the configured device of its
 * slot of its worker lock (-1 when none); every slot counts as ready.
 */
struct sched_opts {
	const struct sched_exec *exec;
	int	(*run_hook)(const struct job *, const int *slots,
		    int device, void *arg, char *err, size_t errlen);
	void	*run_arg;
	int	 threads;	/* runner threads; 0 = sum of all slots */
	FILE	*log;		/* job transition lines; NULL = none */
	/*
	 * The monotonic ns the ETAs and Retry-After take as now (a running
	 * job's elapsed time is now minus its CLOCK_MONOTONIC start); NULL:
	 * CLOCK_MONOTONIC. For tests, to age running jobs. Called under
	 * the scheduler's mutex.
	 */
	int64_t	(*est_clock)(void *arg);
	void	*est_clock_arg;
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
 * text, params_encode(), validated by the caller against the task's
 * inputs as its config generation had them, whose conf_task.inputs_sig
 * is sig; NULL means "{}"; copied). When a reload has changed the task's
 * inputs since (another sig), nothing is admitted and SCHED_CHANGED is
 * returned, *retry_after 1. A non-empty nonce already used by this
 * session returns SCHED_OK with that job's id (or SCHED_CONFLICT, id
 * still set, when that job is of another task). On SCHED_OK, id is set
 * and the job is journaled. On QUEUE_FULL and SESSION_LIMIT,
 * *retry_after is a suggested wait in seconds.
 */
enum sched_rc	 sched_submit(struct sched *, const char *task,
		    const char *sig, const char *session,
		    const char *nonce, const char *params_json,
		    char id[JOB_ID_LEN + 1], int *retry_after);

/* A submission with everything sched_submit_req can take. */
struct sched_request {
	const char	*task;
	const char	*sig;		/* inputs_sig of the caller's config */
	const char	*session;
	const char	*client;	/* its address (REMOTE_ADDR), at most
					   JOB_CLIENT_LEN; NULL or "": counted
					   against no client */
	const char	*nonce;		/* NULL or "": none */
	const char	*params;	/* JSON object text; NULL: "{}" */
	const char	*inputs;	/* JSON object of its uploads, or NULL */
	int64_t		 input_bytes;	/* their bytes */
	const char	*id;		/* the id a new job takes (its uploads
					   are stored under it), NULL: new */
};

/*
 * sched_submit with uploads and a client address: a job admitted takes
 * req->id and carries req->inputs and input_bytes. A client with
 * conf.client_max_active jobs queued or running (recovered ones count)
 * gets SCHED_CLIENT_LIMIT, checked under the same mutex as the session's
 * cap (atomic: concurrent submissions cannot pass it together). When the answer is not a new job of that
 * id (a refusal, or the job an earlier use of the nonce made), nothing
 * of the request's files is the scheduler's: the caller removes them.
 */
enum sched_rc	 sched_submit_req(struct sched *, const struct sched_request *,
		    char id[JOB_ID_LEN + 1], int *retry_after);

/*
 * Cancels a job of session: a queued one ends cancelled at once; a
 * running one is asked to stop (the executor's cancel: it ends cancelled
 * within the task's cancel_grace). OK, NOT_FOUND, or CONFLICT once it has
 * ended.
 */
enum sched_rc	 sched_cancel(struct sched *, const char *id,
		    const char *session);

/*
 * From the executor's owner (any thread, never under the scheduler's
 * mutex): (task, slot)'s worker is ready, with the device it uses
 * ("cuda:0", "cpu"), or is gone (device NULL); task's workers keep failing
 * to start (why: its waiting and new jobs fail at once with it) or work
 * again (why NULL); a running job's progress (fraction 0..1, message or
 * NULL). Unknown tasks, slots and jobs are ignored.
 */
void		 sched_worker_ready(struct sched *, const char *task,
		    int slot, const char *device);
void		 sched_task_failing(struct sched *, const char *task,
		    const char *why);
void		 sched_job_progress(struct sched *, const char *id,
		    double fraction, const char *message);
/*
 * The executor has started: every worker is asked for again (wants made
 * before it ran went nowhere) and waiting jobs are dispatched. Any thread.
 */
void		 sched_kick(struct sched *);


/*
 * Copies the job (with live position/eta while queued) into out, which the
 * caller job_clear()s. session NULL skips the ownership check (tests, admin).
 * Returns OK or NOT_FOUND (also for another session's job).
 */
enum sched_rc	 sched_lookup(struct sched *, const char *id,
		    const char *session, struct job *out);

/*
 * Live updates. notify(arg) is called, under the scheduler's mutex (it
 * must not block or call back: an eventfd write), when something a
 * watcher sees has changed since the last sched_events_take. Any thread.
 */
void		 sched_events_attach(struct sched *, void (*notify)(void *),
		    void *arg);
/*
 * What changed since the last call: the ids of at most max jobs whose
 * state, progress or shown place in the queue changed (each once; the
 * rest waits for the next call), and in *gauges whether a lock's or a
 * task's numbers did. The places are found by one pass over the waiters
 * at most every 100 ms, under the mutex: all of them up to 4,160; beyond,
 * the first 64 and a slice of 4,096 (fair: 1,024) in turn, each place
 * from the order-statistic treaps, so O(log waiters) each and bounded
 * whatever the queue's length; *again_ms says when
 * to call again for what is left (-1: nothing is). Any thread.
 */
size_t		 sched_events_take(struct sched *, char (*ids)[JOB_ID_LEN + 1],
		    size_t max, int *gauges, int *again_ms);

/*
 * The publisher says nginx took job id's newest message
 * (sched_events_published); sched_events_fresh is 1 when that was at or
 * after since_ns (CLOCK_MONOTONIC), so that its channel holds a message,
 * else 0, and the job goes to the publisher again soon. A stream sent to
 * a channel that holds nothing would meet an nchan bug (events.c). Any
 * thread.
 */
void		 sched_events_published(struct sched *, const char *id);
/* The scheduler's clock: CLOCK_MONOTONIC in ns. Thread-safe. */
int64_t		 sched_mono_ns(void);
int		 sched_events_fresh(struct sched *, const char *id,
		    int64_t since_ns);

/* Live counts of one lock by config index: busy slots and waiters. */
void		 sched_lock_counts(struct sched *, size_t lock_index,
		    int *busy, int *queued);

/*
 * 1 with why in out when task's workers fail to start (its jobs fail at
 * once), else 0. Thread-safe.
 */
int		 sched_task_failing_why(struct sched *, const char *task,
		    char *out, size_t outlen);

/*
 * The estimates (pure functions, thread-safe). sched_cost_units: what a
 * job of a built-in kernel costs by its params (mandelbrot: width x
 * height x iters, sgemm: n^3, burn: ms; any other job: 1); the scheduler
 * learns each task's ns per unit from its done jobs. sched_left_ms: the
 * ms a running job still needs, after elapsed_ms of an estimated est_ms,
 * with progress 0..1 as its worker reported (< 0: none): elapsed x
 * (1 - f) / f; without one, est - elapsed, and past the estimate as long
 * again as it overran; never under a tenth of the estimate.
 * sched_retry_after_secs: whole seconds 1..3600 for Retry-After.
 */
double		 sched_cost_units(const char *kernel, const char *params_json);
double		 sched_left_ms(double est_ms, double elapsed_ms,
		    double progress);
int		 sched_retry_after_secs(double ms);

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
	int		 workers_ready;	/* slots whose worker is ready */
	char		 failing[256];	/* why its workers fail to start, or "" */
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
 * now (every lock of some waiter has a free slot); every waiter's place
 * and the cost of the waiters ahead (what positions and ETAs read, from
 * the order-statistic treaps of lock.h) equal a walk of the lock's
 * waiters in its order; and, since the
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

/*
 * The cluster's notifications (cluster.h hooks), on its threads; each
 * takes the mutex briefly and reads the journal without it.
 * sched_cluster_queued: job id was queued by some node: it waits here
 * too when this node offers its task. sched_cluster_gone: id started
 * on another node or ended: a waiter of it here is forgotten, and the
 * locks of scope "cluster" may start again. sched_cluster_poll: the
 * safety net for notifications missed, every second: the jobs queued
 * since the poll before last are mirrored (every 30th poll: the whole
 * queue); one thread calls it. sched_cluster_cancel: a node asked for
 * id's cancel ("c ID"): its worker stops if it runs here; nothing is
 * written or told (the asking node wrote the end of a queued job, and
 * the node that runs it writes the end of a running one). No-ops unless
 * s's journal is the cluster's.
 */
void		 sched_cluster_queued(struct sched *, const char *id);
void		 sched_cluster_gone(struct sched *, const char *id);
void		 sched_cluster_poll(struct sched *);
void		 sched_cluster_cancel(struct sched *, const char *id);

#endif
