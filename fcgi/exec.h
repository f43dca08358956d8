/*
 * exec: the scheduler's executor in the server: runs every job in a
 * supervised worker process (super.h) and turns what the worker left in
 * its output directory into the job's outcome. It owns the supervisor,
 * one output directory per slot under STATE/jobs/TASK.SLOT, and the
 * checks of the files a worker names (inside that directory, regular
 * files, no symbolic link out of it), which it stores with the job
 * (jobdir.h: STATE/results/ID/out/NAME) before the job ends.
 *
 * Order of life: exec_create, sched_create with exec_ops(), exec_start
 * (the supervisor starts, preloads, and the scheduler hears of ready
 * workers), ... exec_destroy before sched_destroy. Thread-safe.
 */
#ifndef SLUICE_EXEC_H
#define SLUICE_EXEC_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"
#include "metrics.h"
#include "sched.h"

#define EXEC_FILE_MAX	(256LL * 1024 * 1024)	/* bytes of one result file */

struct exec;

/*
 * An executor for conf's tasks with per-job directories under
 * STATE/jobs (state made absolute); kernel_worker is the program of the
 * kernel tasks (sluice-worker); log gets the workers' output and events.
 * backoff_ms 0 means the default restart back-off. Returns NULL with err.
 */
struct exec	*exec_create(const struct conf *, const char *state,
		    const char *kernel_worker, FILE *log, double backoff_ms,
		    char *err, size_t errlen);

/* The interface sched_create takes (valid while the executor lives). */
const struct sched_exec *exec_ops(struct exec *);

/*
 * Starts the supervisor, its events going to s, which must outlive the
 * executor's supervisor (exec_destroy). Returns 0, or -1 with err.
 */
int		 exec_start(struct exec *, struct sched *s, char *err,
		    size_t errlen);

/* SIGHUP: conf, applied after sched_reconfigure. Returns 0 or -1. */
int		 exec_reconfigure(struct exec *, const struct conf *);

/* The workers' per-device counters (app_device_stats_fn). */
size_t		 exec_device_stats(void *exec, struct metrics_device *out,
		    size_t max);

/* Stops every worker and frees the executor. */
void		 exec_destroy(struct exec *);

/* The program of the kernel tasks, found as conf_program_path() finds one. */
void		 exec_kernel_worker_path(char *out, size_t outlen);

#endif
