/* exec: jobs through supervised workers. See exec.h. */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "exec_int.h"
#include "jobdir.h"
#include "super.h"

struct exec {
	char			 state[PATH_MAX];	/* absolute */
	char			 jobs[PATH_MAX];	/* STATE/jobs */
	char			 files[PATH_MAX];	/* STATE/results */
	char			*kernel_worker;
	FILE			*log;
	double			 backoff_ms;
	const struct conf	*conf;			/* until exec_start */
	struct super		*super;
	struct sched		*sched;
	struct sched_exec	 ops;
};

/* ---------------------------------------------------------------------- */
/* The supervisor's events, to the scheduler */

static void
ev_ready(void *arg, const char *task, int slot, const char *device)
{
	struct exec	*x = arg;

	sched_worker_ready(x->sched, task, slot, device);
}

static void
ev_failing(void *arg, const char *task, const char *why)
{
	struct exec	*x = arg;

	sched_task_failing(x->sched, task, why);
}

static void
ev_progress(void *arg, const char *job, double fraction, const char *message)
{
	struct exec	*x = arg;

	sched_job_progress(x->sched, job, fraction, message);
}

/* ---------------------------------------------------------------------- */
/* A job's directory and the files its worker names */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	if (ftw->level == 0)
		return 0;	/* the directory itself stays */
	if (flag == FTW_DP)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* Empties dir (links are removed, not followed); dir itself stays. */
static void
clear_dir(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == -1 &&
	    errno != ENOENT)
		fprintf(stderr, "level=warn msg=\"could not empty a job "
		    "directory\" dir=%s error=\"%s\"\n", dir, strerror(errno));
}

/* 1 when the directory dfd holds anything but "." and "..". */
static int
dir_has_entries(int dfd)
{
	char	 buf[512];
	long	 n;

	if (lseek(dfd, 0, SEEK_SET) == -1 ||
	    (n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) < 0)
		return 1;	/* cannot tell: clear it */
	/* "." and ".." are 24 bytes each on Linux. */
	return n > 48;
}

/* Removes dir and everything in it. */
static void
rm_tree(const char *dir)
{
	clear_dir(dir);
	if (rmdir(dir) == -1 && errno != ENOENT)
		fprintf(stderr, "level=warn msg=\"could not remove a "
		    "directory\" dir=%s error=\"%s\"\n", dir, strerror(errno));
}

/* ---------------------------------------------------------------------- */
/* The executor's interface */

static void
x_want(void *arg, const char *task, int slot)
{
	struct exec	*x = arg;

	if (x->super != NULL)
		super_want(x->super, task, slot);
}

static int
x_cancel(void *arg, const char *id)
{
	struct exec	*x = arg;

	return x->super != NULL ? super_cancel(x->super, id) : -1;
}

/*
 * The output directory of run's slot, STATE/jobs/TASK.SLOT, opened (made
 * the first time): one per slot, emptied after each job, since making
 * and removing a directory per job costs a tenth of a millisecond.
 * Returns its fd with its path in dir, or -1.
 */
static int
job_dir(struct exec *x, const struct sched_run *run, char *dir, size_t len)
{
	int	 fd;

	if ((size_t)snprintf(dir, len, "%s/%s.%d", x->jobs, run->job->task,
	    run->slot) >= len)
		return -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 &&
	    errno == ENOENT && mkdir(dir, 0700) == 0)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

static void
x_run(void *arg, const struct sched_run *run, struct sched_outcome *out)
{
	struct exec		*x = arg;
	struct super_job	 job;
	struct super_outcome	 so;
	char			 dir[PATH_MAX], *inputs;
	int			 dfd;

	memset(out, 0, sizeof(*out));
	inputs = exec_inputs_json(x->files, run->job->id, run->job->inputs);
	if (inputs == NULL || (dfd = job_dir(x, run, dir, sizeof(dir))) == -1) {
		out->state = JOB_FAILED;
		out->error = strdup(inputs == NULL ? "the job's inputs cannot "
		    "be read" : "could not make the job's directory");
		free(inputs);
		return;
	}
	memset(&job, 0, sizeof(job));
	job.id = run->job->id;
	job.task = run->job->task;
	job.slot = run->slot;
	job.params = run->job->params;
	job.inputs = inputs;
	job.out = dir;
	super_run(x->super, &job, &so);
	exec_outcome(x->files, run->job->id, dfd, &so, out);
	super_outcome_free(&so);
	free(inputs);
	/* The next job of this slot finds it empty. */
	if (dir_has_entries(dfd))
		clear_dir(dir);
	close(dfd);
}

struct exec *
exec_create(const struct conf *conf, const char *state,
    const char *kernel_worker, FILE *log, double backoff_ms, char *err,
    size_t errlen)
{
	struct exec	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (realpath(state, x->state) == NULL ||
	    (size_t)snprintf(x->files, sizeof(x->files), "%s/%s", x->state,
	    JOBDIR_ROOT) >= sizeof(x->files) ||
	    (size_t)snprintf(x->jobs, sizeof(x->jobs), "%s/jobs", x->state) >=
	    sizeof(x->jobs) || (mkdir(x->jobs, 0700) == -1 &&
	    errno != EEXIST)) {
		snprintf(err, errlen, "%s/jobs: %s", state, strerror(errno));
		free(x);
		return NULL;
	}
	if ((x->kernel_worker = strdup(kernel_worker)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(x);
		return NULL;
	}
	x->conf = conf;
	x->log = log;
	x->backoff_ms = backoff_ms;
	x->ops.want = x_want;
	x->ops.run = x_run;
	x->ops.cancel = x_cancel;
	x->ops.arg = x;
	return x;
}

const struct sched_exec *
exec_ops(struct exec *x)
{
	return &x->ops;
}

int
exec_start(struct exec *x, struct sched *s, char *err, size_t errlen)
{
	struct super_opts	 o;
	struct super_events	 ev;

	memset(&o, 0, sizeof(o));
	o.state = x->state;
	o.kernel_worker = x->kernel_worker;
	o.log = x->log;
	o.backoff_ms = x->backoff_ms;
	ev.ready = ev_ready;
	ev.failing = ev_failing;
	ev.progress = ev_progress;
	ev.arg = x;
	x->sched = s;
	/* The jobs of a run that ended abruptly left their directories. */
	rm_tree(x->jobs);
	(void)mkdir(x->jobs, 0700);
	if ((x->super = super_create(x->conf, &o, &ev, err, errlen)) == NULL)
		return -1;
	sched_kick(s);	/* waiting jobs ask for their workers now */
	return 0;
}

int
exec_reconfigure(struct exec *x, const struct conf *conf)
{
	int	 rc = super_reconfigure(x->super, conf);

	/* Wants the scheduler made for the new slots went to the old config. */
	sched_kick(x->sched);
	return rc;
}

size_t
exec_device_stats(void *arg, struct metrics_device *out, size_t max)
{
	struct exec			*x = arg;
	struct super_device_stats	 d[256];
	size_t				 i, n;

	if (x->super == NULL)
		return 0;
	n = super_device_stats(x->super, d, max < 256 ? max : 256);
	for (i = 0; i < n; i++) {
		out[i].device = d[i].device;
		out[i].failures = d[i].failures;
		out[i].restarts = d[i].restarts;
	}
	return n;
}

void
exec_destroy(struct exec *x)
{
	if (x == NULL)
		return;
	super_destroy(x->super);
	free(x->kernel_worker);
	free(x);
}

void
exec_kernel_worker_path(char *out, size_t outlen)
{
	if (conf_program_path("sluice-worker", out, outlen) == -1)
		snprintf(out, outlen, "%s/sluice-worker", SLUICE_LIBEXECDIR);
}
