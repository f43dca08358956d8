/*
 * super: the supervisor of worker processes (DESIGN.md, "Kernels and
 * workers"). One worker per (task, slot) that has been asked for, started
 * on first use (super_want) or at start-up for tasks with preload; it is
 * ready once it says so, serves one job at a time (super_run), and is
 * started again with back-off when it exits, crashes, breaks the protocol
 * or overruns its job's timeout. Workers are their own process group and
 * never outlive the responder (PR_SET_PDEATHSIG, and a kill of every
 * group on super_destroy).
 *
 * One thread of the supervisor's own does all the I/O with the workers
 * (an epoll set over their protocol sockets, their stdout and stderr,
 * which go to the log a line at a time, and their pidfds); callers only
 * queue requests and wait on condition variables. Lock order: a caller
 * may hold the scheduler's mutex when it calls super_want or
 * super_cancel; the supervisor never calls back (super_events) while it
 * holds its own mutex. Every function is thread-safe.
 */
#ifndef SLUICE_SUPER_H
#define SLUICE_SUPER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "job.h"
#include "wmsg.h"

struct super;

/* What the supervisor tells its owner (the scheduler), from its thread. */
struct super_events {
	/* (task, slot)'s worker can take a job now (device: as it said,
	   else the slot's), or no longer can (device NULL). */
	void	(*ready)(void *arg, const char *task, int slot,
		    const char *device);
	/* task's workers fail to start (why), or started again (NULL). */
	void	(*failing)(void *arg, const char *task, const char *why);
	/* a running job's progress. */
	void	(*progress)(void *arg, const char *job, double fraction,
		    const char *message);
	void	*arg;
};

struct super_opts {
	const char	*state;		/* STATE: scratch dirs under STATE/work */
	const char	*kernel_worker;	/* program of kernel tasks (sluice-worker) */
	FILE		*log;		/* worker output and events; NULL: none */
	double		 backoff_ms;	/* first restart delay (1000); tests lower it */
};

/* One job for super_run. */
struct super_job {
	const char	*id;
	const char	*task;
	int		 slot;
	const char	*params;	/* JSON object text */
	const char	*inputs;	/* JSON object text, or NULL for {} */
	const char	*out;		/* absolute directory, created by the caller */
};

/* How it ended. */
struct super_outcome {
	enum job_state	 state;		/* JOB_DONE, JOB_FAILED or JOB_CANCELLED */
	char		*result;	/* done: compact JSON object */
	char		*error;		/* failed, cancelled: for the user */
	struct wmsg_file *files;	/* done: as the worker listed them */
	size_t		 nfiles;
	char		 device[32];	/* the worker's */
};

/*
 * Creates the supervisor for conf's tasks (conf must outlive it, or the
 * next super_reconfigure) and starts its thread; tasks with preload get
 * their workers now, on every slot. Returns NULL with err on failure.
 */
struct super	*super_create(const struct conf *, const struct super_opts *,
		    const struct super_events *, char *err, size_t errlen);

/*
 * Asks for (task, slot)'s worker: started unless it runs or is starting.
 * Never blocks (the scheduler calls it under its mutex).
 */
void		 super_want(struct super *, const char *task, int slot);

/*
 * Runs job on its (task, slot) worker and waits until it ends: result,
 * error, exit, timeout, cancel. A worker that is not ready yet (starting,
 * restarting) is waited for, up to its task's start_timeout. Fills out
 * (the caller super_outcome_free()s it). Runs on a scheduler runner
 * thread, never on a responder thread.
 */
void		 super_run(struct super *, const struct super_job *,
		    struct super_outcome *out);
void		 super_outcome_free(struct super_outcome *);

/*
 * Asks the running job id to stop: the worker gets a cancel; one that has
 * not ended it within cancel_grace seconds is killed (its job ends
 * cancelled either way). A job not at a worker yet (dispatched, its
 * super_run still to come) is remembered: super_run answers it cancelled
 * without running it. Returns 0, or -1 for an id too long to be a job's.
 * Never blocks.
 */
int		 super_cancel(struct super *, const char *id);

/*
 * A new config (SIGHUP): workers of tasks whose program, inputs or slots
 * changed, or that are gone, stop once their running job ends (their
 * readiness is withdrawn at once); new preload tasks start. conf must
 * outlive the supervisor or the next call. Returns 0, or -1 on ENOMEM.
 */
int		 super_reconfigure(struct super *, const struct conf *);

/* Per device index (0..n-1; -1 for CPU slots): counters for /metrics. */
struct super_device_stats {
	int		 device;	/* configured index, -1: cpu */
	uint64_t	 failures;	/* jobs failed by a worker's exit,
					   crash, protocol error or timeout */
	uint64_t	 restarts;	/* worker starts after the first */
};
/*
 * Copies at most max entries (one per device index used by some slot,
 * plus cpu) into out; returns how many. Thread-safe.
 */
size_t		 super_device_stats(struct super *,
		    struct super_device_stats *out, size_t max);

/*
 * Stops every worker (SIGTERM to its group, SIGKILL after a grace) and
 * the thread, and frees the supervisor. Jobs still running end failed.
 */
void		 super_destroy(struct super *);

#endif
