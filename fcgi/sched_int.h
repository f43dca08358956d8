/*
 * sched_int: what the scheduler's files share. Not part of the contract
 * (sched.h is); only fcgi/sched*.c include it.
 *
 * Thread safety has one owner: sched.mu. It guards everything in struct
 * sched and what hangs from it: the locks (lock.h) and their waiters,
 * the jobs and their indexes, the sessions, the tasks, the stats and
 * the ready list. Functions below that take a struct sched * run under
 * mu unless their comment says otherwise. The only writes done outside
 * it are the journal writes (journal.h is thread-safe) and the log lines
 * (a slow log must not stall the scheduler).
 *
 * The files:
 *  sched.c          creation, teardown and the public API (submit, cancel,
 *                   lookup, drain, evict)
 *  sched_dispatch.c core dispatch: which waiter starts, starting and
 *                   ending a job (slots, counters, lists)
 *  sched_index.c    jobs by id and by (session, nonce); sessions
 *  sched_thread.c   the threads: job runners, the timer (expiry, rewrites)
 *  sched_durable.c  final records: their journal writes and rewrites
 *  sched_recover.c  start-up recovery from the journal
 *  sched_reload.c   SIGHUP: a new config applied in phases
 *  sched_stats.c    stats snapshots, ETA and Retry-After
 *  sched_cost.c     the cost model: a job's expected and remaining run time
 *  sched_audit.c    the self-check tests use
 *  sched_log.c      one log line per job transition
 */
#ifndef SLUICE_SCHED_INT_H
#define SLUICE_SCHED_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "job.h"
#include "journal.h"
#include "lock.h"
#include "sched.h"

#define SCHED_KEEP_FINISHED	4096	/* finished jobs kept in memory ... */
#define SCHED_KEEP_NOJOURNAL	65536	/* ... and without a journal */
#define SCHED_ID_BUCKETS	16384	/* at first: x4 past 2 jobs a bucket */
#define SCHED_SESS_BUCKETS	4096
#define SCHED_CLIENT_BUCKETS	1024
#define SCHED_SEED_MS		1000.0	/* run time guess before any run */
#define SCHED_PROBE_MS		2000	/* journal_probe while it cannot write */
#define SCHED_JOURNAL_RETRY_S	10	/* Retry-After while it cannot write */

/* One of a job's locks, in the order its task names them. */
struct sjob_lock {
	size_t			 lidx;	/* index in s->locks; SIZE_MAX: removed */
	int			 slot;	/* -1 until started */
	int			 pos;	/* index in the job's locks[] */
	struct lock_waiter	 w;	/* while queued */
};

struct sess {
	char			 sid[JOB_SESSION_LEN + 1];
	int			 active;	/* pending + queued + running */
	struct lock_turn	*turns;		/* per lock, config index */
	LIST_ENTRY(sess)	 link;
};
LIST_HEAD(sess_bucket, sess);

/* A client address (REMOTE_ADDR) with jobs: clients.max_active. */
struct sclient {
	char			 addr[JOB_CLIENT_LEN + 1];
	int			 active;	/* pending + queued + running */
	LIST_ENTRY(sclient)	 link;
};
LIST_HEAD(sclient_bucket, sclient);

struct sched_cost;

/* Which slots of a task's worker lock have a worker that is ready. */
#define SCHED_DEV_LEN	16

struct stask {
	const struct conf_task	*ct;		/* NULL once removed by reload */
	uint64_t		 ready[SLOTS_WORDS];	/* worker ready */
	uint64_t		 wanted[SLOTS_WORDS];	/* asked for */
	char			(*devs)[SCHED_DEV_LEN];	/* per slot, from ready */
	char			*failing;	/* workers fail to start: why */
	unsigned		 want_pass;	/* last dispatch that asked */
	double			 ema_ms;	/* run time of a job (the app page) */
	int			 seen;		/* ema_ms measured, not seeded */
	const struct sched_cost	*cost;		/* its kernel's model, or NULL */
	double			 ns_per_unit;	/* learnt from its done jobs */
	int			 cost_seen;	/* ns_per_unit measured, not seeded */
	int			 nqueued, nrunning;	/* incl. pending */
	uint64_t		 admitted, refused;
	uint64_t		 ended[LOCK_NSTATES];
	double			 run_sum_ms;
	uint64_t		 run_n;
	SLIST_ENTRY(stask)	 retired;	/* removed by a reload */
};
SLIST_HEAD(stask_list, stask);

struct sjob {
	struct job		 job;
	struct stask		*st;
	struct sess		*sess;		/* NULL once ended */
	struct sclient		*client;	/* NULL once ended, or none */
	int			 pending;	/* admitted, journal write in flight */
	int			 evicted;	/* row evicted before it ended */
	int			 cancelling;	/* asked to stop while running */
	int			 start_unsaved;	/* started, the journal refused it:
						   shown queued, not run yet */
	char			*doomed;	/* started to fail with this: its
						   task's workers fail to start */
	size_t			 wlock;		/* its worker lock (index in locks[]) */
	int			 device;	/* its slot's device index; -1: cpu */
	int64_t			 enq_ns, start_ns;
	int64_t			 life;		/* the cluster: the node's
						   generation it was claimed in */
	double			 units;		/* its cost (sched_cost.c) */
	/* Live updates (sched_events.c): on the changed list; what a
	   watcher was last shown of its place (-1: nothing yet). */
	int			 ev_marked;
	int64_t			 ev_published_ns; /* nginx last took it */
	int			 ev_pos;
	int64_t			 ev_eta;
	LIST_ENTRY(sjob)	 by_id, by_nonce;
	STAILQ_ENTRY(sjob)	 ready;
	TAILQ_ENTRY(sjob)	 state_link;	/* running or finished list */
	size_t			 nlocks;
	struct sjob_lock	 locks[];	/* the locks it was admitted with */
};
LIST_HEAD(sjob_bucket, sjob);
TAILQ_HEAD(sjob_tailq, sjob);
STAILQ_HEAD(sjob_stailq, sjob);

struct sjob_list {
	struct sjob_tailq	 head;
	size_t			 n;
};

/*
 * A final state the journal did not take (disk full, I/O error): kept
 * here and written again by the timer thread until it is, so that the
 * row never stays "running" (which a restart would turn into
 * "interrupted"). Added by any thread under mu (at the head); removed
 * only by the timer thread (or sched_destroy once it has stopped), so
 * the timer may walk the entries it marked without the mutex.
 */
struct rewrite {
	struct job		*job;		/* the final record, owned */
	int			 tries;		/* failed writes so far */
	int64_t			 due_ns;	/* next attempt, mono */
	int			 trying, ok;	/* timer thread only */
	SLIST_ENTRY(rewrite)	 link;
};
SLIST_HEAD(rewrite_list, rewrite);

/*
 * Live updates (sched_events.c): what changed since the publisher last
 * took it. The changed jobs are ids (copies: a job may be freed before
 * the publisher comes), each once; the queues flag asks for one pass
 * over the waiters, which marks those whose shown place moved.
 */
struct sched_ev {
	char			(*ids)[JOB_ID_LEN + 1];
	size_t			 n, cap;
	int			 queues;	/* a waiter list changed */
	int			 slices;	/* passes since (long queues) */
	int			 gauges;	/* a lock's or task's numbers */
	int64_t			 pass_ns;	/* last pass over the waiters */
	int			 woken;		/* notify called since the take */
	void			(*notify)(void *);
	void			*arg;
};

struct sched {
	const struct conf	*conf;
	struct journal		*jr;
	struct sched_opts	 opts;
	int			 ngpu;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work_cv, timer_cv, drain_cv, reconf_cv;
	pthread_cond_t		 start_cv;	/* a start waits on the journal */
	struct lock		*locks;
	size_t			 nlocks;
	struct stask		**tasks;
	size_t			 ntasks;
	struct stask_list	 retired;	/* tasks removed by reload */
	int			 npending;	/* submits' journal writes in flight */
	int			 reconf;	/* a reconfigure waits for npending == 0 */
	struct sjob_bucket	*by_id, *by_nonce;
	size_t			 nbuckets;	/* of each */
	size_t			 nindexed;	/* jobs in by_id */
	struct sess_bucket	*sessions;
	struct sclient_bucket	*clients;
	struct sjob_stailq	 ready;		/* started, not yet picked up */
	struct sjob_list	 running, finished;
	struct rewrite_list	 rewrites;	/* final writes to repeat */
	int64_t			 next_seq;
	int			 active;	/* pending + queued + running */
	int			 idle;		/* runners waiting for work */
	int			 self_take;	/* a finishing runner takes the next start */
	int			 draining, stop;
	int			 drain_waiters;
	int			 audit_starts;
	uint64_t		 fifo_violations;
	unsigned		 want_pass;	/* dispatch passes, for wants */
	pthread_t		*runners;
	int			 nrunners;
	pthread_t		 timer;
	int			 timer_started;
	int64_t			 probe_ns;	/* next journal_probe, mono */
	/* sched_cluster_poll's own (one thread calls it, without mu): the
	   highest seq the poll before last and the last read, the polls. */
	int64_t			 poll_seen[2];
	unsigned		 polls;
	struct sched_ev		 ev;
};

/* The job whose entry of some lock w is (container_of, twice). */
static inline struct sjob *
sjob_of_waiter(struct lock_waiter *w)
{
	struct sjob_lock *jl;

	jl = (struct sjob_lock *)((char *)w - offsetof(struct sjob_lock, w));
	return (struct sjob *)((char *)(jl - jl->pos) -
	    offsetof(struct sjob, locks));
}

/* sched_events.c (under mu): j changed; a waiter list changed. */
void		 sched_ev_job(struct sched *, struct sjob *);
void		 sched_ev_queues(struct sched *);
void		 sched_ev_free(struct sched *);
/*
 * The waiters of lock li in turn order, into *out (malloc'd; the caller
 * frees): list order for fifo, sorted by (turn, seq) for fair. Returns
 * the count, or -1 on ENOMEM.
 */
int		 sched_waiters_in_order(struct sched *, size_t li,
		    struct lock_waiter ***out);

/* sched_log.c: one key=value line per transition on opts.log (or none). */
void		 sched_errf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 sched_log(struct sched *, const char *event, const char *id,
		    const char *task, const char *session, int64_t wait_ms,
		    int64_t run_ms, const char *device, const char *error);
void		 sched_log_job(struct sched *, const struct job *);

/* sched.c: what the scheduler needs of a config beyond conf_load's checks. */
int		 sched_conf_check(const struct conf *, char *err, size_t errlen);

/* sched_index.c */
struct sjob	*sched_job_find(struct sched *, const char *id);
void		 sched_job_index(struct sched *, struct sjob *);
void		 sched_job_unindex(struct sched *, struct sjob *);
struct sjob	*sched_nonce_find(struct sched *, const char *session,
		    const char *nonce);
struct sess	*sched_sess_get(struct sched *, const char *sid, int create);
void		 sched_sess_put(struct sched *, struct sess *);
void		 sched_sess_free(struct sess *);
/* The client entry of addr, created (with create) when missing; NULL
   for "" (no client), on ENOMEM, or absent without create. */
struct sclient	*sched_client_get(struct sched *, const char *addr,
		    int create);
/* Frees the client entry once it has no active job; NULL is a no-op. */
void		 sched_client_put(struct sched *, struct sclient *);
/* j counts against session e, client c (may be NULL) and s->active ... */
void		 sched_job_count(struct sched *, struct sjob *, struct sess *e,
		    struct sclient *c);
/* ... until it ends (or its admission is undone): entries put back. */
void		 sched_job_uncount(struct sched *, struct sjob *);
struct stask	*sched_task_find(struct sched *, const char *name);
/* A task's state (run time seeded, no worker ready); NULL on ENOMEM. */
struct stask	*stask_new(void);
void		 stask_free(struct stask *);
/* Points st at task ct of a config. */
void		 sched_task_bind(struct stask *, const struct conf_task *);
/*
 * A new job of st; params is params_json parsed (its cost, parsed before
 * the mutex by a submission), or NULL: parsed here.
 */
struct sjob	*sjob_new(struct stask *, const char *session,
		    const char *nonce, const char *params_json,
		    const json_t *params);
/* sched_cost_units of params already parsed (NULL: 1). */
double		 sched_cost_units_of(const char *kernel, const json_t *params);
void		 sjob_free(struct sjob *);
/* Lock i of j; NULL only for a running job's lock removed by reload. */
struct lock	*sjob_lock(struct sched *, const struct sjob *, size_t i);
/* The job's entry of config lock li, or NULL when it does not hold it. */
struct sjob_lock *sjob_lock_of(const struct sjob *, size_t li);

/* sched_dispatch.c */
int		 sched_startable(struct sched *, const struct sjob *);
/* The slot j's worker lock would give it now (a ready worker), or -1. */
int		 sched_worker_slot(struct sched *, const struct sjob *);
struct sjob	*sched_first_startable(struct sched *, size_t li);
/*
 * Makes sure each of j's locks has a column for j's task (lock.h), as
 * sched_enqueue needs; before the journal write, so that a refusal
 * leaves nothing done. 0, or -1 on ENOMEM.
 */
int		 sched_reserve(struct sched *, const struct sjob *);
void		 sched_enqueue(struct sched *, struct sjob *);
void		 sched_dispatch(struct sched *);
void		 sjob_end(struct sched *, struct sjob *, enum job_state,
		    char *result, char *error, int has_png);
void		 sched_forget_finished(struct sched *, struct sjob *);
/*
 * The cluster, under mu. sched_unstart: started j's claim was refused
 * (journal_claim's rc): taken (another node runs it, or it ended) and j
 * is forgotten, nothing counted or written, it is not ours; or full (a
 * cluster lock has no slot free on any node) and j waits again in its
 * place while its cluster locks start nothing until a slot is freed
 * somewhere (sched_cluster_gone, or the poll). sched_forget_waiter:
 * queued j is another node's now: forgotten the same way.
 */
void		 sched_unstart(struct sched *, struct sjob *, int full);
/* sched.c, under mu: running j's worker is asked to stop (once). */
enum sched_rc	 sched_cancel_running(struct sched *, struct sjob *);
void		 sched_forget_waiter(struct sched *, struct sjob *);
/* sched_cluster.c: every queued job not pending is let go of (drain). */
void		 sched_cluster_let_go(struct sched *);
void		 sched_count_admitted(struct sched *, struct sjob *);

/* sched_durable.c */
struct job	*sched_final_copy(const struct job *, const char *func);
void		 sched_final_failed(struct sched *, const char *func,
		    const struct job *, int tries, int64_t next_ms);
int64_t		 sched_rewrite_delay_ms(int tries);
void		 sched_rewrite_add(struct sched *, struct job *);
const struct job *sched_rewrite_find(struct sched *, const char *id);
int		 sched_rewrite_due(struct sched *, int64_t now, int64_t *next);
void		 sched_rewrite_flush(struct sched *);
struct job	*sched_snapshot(struct sched *, const struct sjob *);
void		 sched_snapshot_write(struct sched *, struct job *);
void		 sched_end_waiter(struct sched *, struct sjob *,
		    enum job_state, const char *msg, struct job ***snaps,
		    size_t *nsnaps);

/* sched_recover.c (before any thread runs) */
int		 sched_recover(struct sched *, char *err, size_t errlen);
/*
 * The cluster: queued job (read from the journal; any node's) waits
 * here too, unless it is known already, this node does not offer its
 * task, or it drains. Not journaled, not logged. Under mu.
 */
void		 sched_mirror_job(struct sched *, struct job *);
/* 1 when s is a node of a cluster (its journal the cluster's). */
static inline int
sched_clustered(const struct sched *s)
{
	return s->jr != NULL && s->conf->cluster_database != NULL;
}

/* sched_thread.c */
int		 sched_threads_start(struct sched *, size_t nrunners,
		    char *err, size_t errlen);
int		 sched_runners_grow(struct sched *, size_t want);
void		 sched_threads_stop(struct sched *);

/* sched_stats.c */
int64_t		 sched_eta_ms(struct sched *, const struct stask *,
		    const struct sjob *self, int *pos);
/* The ETA of a job of self_ms on lock li behind n waiters of ahead_ms. */
double		 sched_eta_of(struct sched *, size_t li, double self_ms, int n,
		    double ahead_ms);
double		 sched_first_end_ms(struct sched *, size_t li, int64_t now);
double		 sched_running_left_ms(struct sched *, size_t li, int64_t now);

/* sched_cost.c (under mu) */
/* Points st's cost at its (new) task's kernel; keeps what a kept one learnt. */
void		 sched_cost_bind(struct stask *);
/* A done job of units ran run_ms: st learns its ns per unit. */
void		 sched_cost_learn(struct stask *, double units, double run_ms);
/* The ms a unit of a waiter's class (lock.h: its stask) costs. */
double		 sched_unit_ms(const void *cls);
/* The ms j is expected to run, all told. */
double		 sjob_est_ms(const struct sjob *);
/* The ms running job j is expected to still need at now. */
double		 sjob_left_ms(const struct sjob *, int64_t now);
/* The clock the estimates read (opts.est_clock or CLOCK_MONOTONIC), ns. */
int64_t		 sched_est_now(const struct sched *);

#endif
