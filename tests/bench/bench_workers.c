/*
 * bench_workers: the scheduler through supervised worker processes (the
 * executor of the server, exec.c, with tests/bench/bench_worker), next to
 * the in-process call it replaced. One line per figure:
 *
 *  1. Dispatch through a worker: a job of a no-op task from the runner's
 *     call to the result back (the job line out, the worker, the result
 *     line in and parsed, the runner woken), p50/p99, against a direct
 *     in-process call of the burn kernel with ms=0 (the old path), in the
 *     same run. Target p99 < 200 us.
 *  2. Makespan: 1000 jobs of 2 ms on 4 slots through 4 workers vs the
 *     ideal 500 ms (target ideal/actual >= 0.97).
 *  3. Worker restart: a job crashes its worker; the time from its end to
 *     the start of the next job on that slot (a fresh worker said ready),
 *     p50 of 10.
 *
 * Prints figures; never fails on a missed target (machines are shared).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "exec.h"
#include "job.h"
#include "kernel_run.h"
#include "sched.h"

#define RT_JOBS		2000
#define MS_JOBS		1000
#define MS_SLOTS	4
#define CRASHES		10

static int64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The executor, wrapped: times each run. */
static const struct sched_exec	*inner;
static pthread_mutex_t		 tmu = PTHREAD_MUTEX_INITIALIZER;
static double			 times_us[RT_JOBS + MS_JOBS];
static int			 ntimes;
static sem_t			 ran;		/* posted after each run */

static void
t_want(void *arg, const char *task, int slot)
{
	inner->want(arg, task, slot);
}

static void
t_run(void *arg, const struct sched_run *run, struct sched_outcome *out)
{
	int64_t	 t0 = now_ns();

	inner->run(arg, run, out);
	pthread_mutex_lock(&tmu);
	if (ntimes < (int)(sizeof(times_us) / sizeof(times_us[0])))
		times_us[ntimes++] = (double)(now_ns() - t0) / 1e3;
	pthread_mutex_unlock(&tmu);
	sem_post(&ran);
}

static int
t_cancel(void *arg, const char *id)
{
	return inner->cancel(arg, id);
}

static struct conf *
bench_conf(const char *worker, int slots, char *err, size_t errlen)
{
	char	 text[1024];

	snprintf(text, sizeof(text), "server = { threads = 4; };\n"
	    "sessions = { max_active = 100000; };\n"
	    "locks = { L = { slots = %d; queue = 100000; }; };\n"
	    "tasks = { t = { worker = [\"%s\"]; locks = [\"L\"]; preload = "
	    "true; inputs = { ms = { type = \"int\"; min = 0; max = 1000; };"
	    " crash = { type = \"bool\"; }; }; }; };\n", slots, worker);
	return conf_load_string(text, "bench.conf", err, errlen);
}

struct rig {
	struct conf	*conf;
	struct exec	*exec;
	struct sched	*s;
	struct sched_exec ops;
	char		 dir[64];
};

static int
rig_up(struct rig *r, const char *worker, int slots)
{
	struct sched_opts	 o;
	char			 err[512], path[4096];
	int			 i, ready;

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/sluice-bw.XXXXXX");
	if (mkdtemp(r->dir) == NULL ||
	    (r->conf = bench_conf(worker, slots, err, sizeof(err))) == NULL ||
	    (exec_kernel_worker_path(path, sizeof(path)), (r->exec =
	    exec_create(r->conf, r->dir, path, NULL, 0, err,
	    sizeof(err))) == NULL)) {
		fprintf(stderr, "bench_workers: %s\n", err);
		return -1;
	}
	inner = exec_ops(r->exec);
	r->ops = (struct sched_exec){ t_want, t_run, t_cancel, inner->arg };
	memset(&o, 0, sizeof(o));
	o.exec = &r->ops;
	if ((r->s = sched_create(r->conf, NULL, &o, err, sizeof(err))) ==
	    NULL || exec_start(r->exec, r->s, err, sizeof(err)) == -1) {
		fprintf(stderr, "bench_workers: %s\n", err);
		return -1;
	}
	/* Preloaded: wait until every slot's worker is ready. */
	for (i = 0; i < 1000; i++) {
		struct sched_stats ss;

		if (sched_stats_get(r->s, &ss) == 0) {
			ready = ss.tasks[0].workers_ready;
			sched_stats_free(&ss);
			if (ready == slots)
				return 0;
		}
		usleep(10000);
	}
	fprintf(stderr, "bench_workers: workers not ready\n");
	return -1;
}

static void
rig_down(struct rig *r)
{
	char	 cmd[128];

	exec_destroy(r->exec);
	sched_destroy(r->s);
	conf_free(r->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	(void)!system(cmd);
}

/*
 * Submits one job of params and waits for it to end (its run returned:
 * no polling, which would compete for the CPU); its record in out.
 */
static int
one(struct rig *r, const char *params, struct job *out)
{
	char	 id[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	int	 retry;

	snprintf(sess, sizeof(sess), "%032d", 1);
	if (sched_submit(r->s, "t", r->conf->tasks[0].inputs_sig, sess, "",
	    params, id, &retry) != SCHED_OK)
		return -1;
	while (sem_wait(&ran) == -1)
		continue;
	for (;;) {
		memset(out, 0, sizeof(*out));
		if (sched_lookup(r->s, id, NULL, out) != SCHED_OK)
			return -1;
		if (job_state_final(out->state))
			return 0;
		job_clear(out);
		usleep(200);
	}
}

/* The old path: the burn kernel called in this process, ms = 0. */
static void
inproc(double *us, int n)
{
	const struct kernel	*k = kernel_impl("burn");
	struct kernel_result	 res;
	double			 v[1] = { 0 };
	int64_t			 t0;
	int			 i;

	for (i = 0; i < n; i++) {
		memset(&res, 0, sizeof(res));
		t0 = now_ns();
		kernel_dispatch(k, v, KERNEL_CPU, &res);
		us[i] = (double)(now_ns() - t0) / 1e3;
		kernel_result_clear(&res);
	}
	qsort(us, n, sizeof(*us), cmp_double);
}

static int
bench_roundtrip(const char *worker)
{
	static double	 old[RT_JOBS];
	struct rig	 r;
	struct job	 j;
	int		 i;

	if (rig_up(&r, worker, 1) == -1)
		return 1;
	ntimes = 0;
	for (i = 0; i < RT_JOBS; i++) {
		if (one(&r, "{\"ms\":0,\"crash\":false}", &j) == -1)
			return 1;
		job_clear(&j);
	}
	rig_down(&r);
	qsort(times_us, ntimes, sizeof(times_us[0]), cmp_double);
	inproc(old, RT_JOBS);
	printf("worker dispatch: a no-op job through its worker p50 %.1f us, "
	    "p99 %.1f us vs in-process call p50 %.1f us, p99 %.1f us: p99 "
	    "%.1f us (target < 200 us: %s)\n", times_us[ntimes / 2],
	    times_us[ntimes * 99 / 100], old[RT_JOBS / 2],
	    old[RT_JOBS * 99 / 100], times_us[ntimes * 99 / 100],
	    times_us[ntimes * 99 / 100] < 200 ? "meets" : "MISSES");
	return 0;
}

static int
bench_makespan(const char *worker)
{
	struct rig	 r;
	char		 id[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	int64_t		 t0;
	double		 ms, ideal = MS_JOBS * 2.0 / MS_SLOTS;
	int		 i, retry;

	if (rig_up(&r, worker, MS_SLOTS) == -1)
		return 1;
	snprintf(sess, sizeof(sess), "%032d", 2);
	t0 = now_ns();
	for (i = 0; i < MS_JOBS; i++)
		if (sched_submit(r.s, "t", r.conf->tasks[0].inputs_sig, sess,
		    "", "{\"ms\":2,\"crash\":false}", id, &retry) != SCHED_OK)
			return 1;
	if (sched_drain(r.s, 60000) != 0)
		return 1;
	ms = (double)(now_ns() - t0) / 1e6;
	while (sem_trywait(&ran) == 0)
		continue;
	rig_down(&r);
	printf("worker makespan: %.1f ms for %d jobs of 2 ms on %d slots "
	    "through workers, ideal %.0f ms, ideal/actual ratio %.3f (target "
	    ">= 0.97)\n", ms, MS_JOBS, MS_SLOTS, ideal, ideal / ms);
	return 0;
}

static int
bench_restart(const char *worker)
{
	static double	 gap[CRASHES];
	struct rig	 r;
	struct job	 a, b;
	int		 i;

	if (rig_up(&r, worker, 1) == -1)
		return 1;
	for (i = 0; i < CRASHES; i++) {
		if (one(&r, "{\"ms\":0,\"crash\":true}", &a) == -1 ||
		    one(&r, "{\"ms\":0,\"crash\":false}", &b) == -1)
			return 1;
		gap[i] = (double)(b.started_ms - a.finished_ms);
		job_clear(&a);
		job_clear(&b);
	}
	rig_down(&r);
	qsort(gap, CRASHES, sizeof(gap[0]), cmp_double);
	printf("worker restart: a crashed worker's slot runs its next job "
	    "after p50 %.0f ms, max %.0f ms (a fresh process says ready; "
	    "no target)\n", gap[CRASHES / 2], gap[CRASHES - 1]);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*worker = argc > 1 ? argv[1] : "tests/bench/bench_worker";
	char		 abs[4096];

	sem_init(&ran, 0, 0);
	if (realpath(worker, abs) == NULL) {
		fprintf(stderr, "bench_workers: %s: not found\n", worker);
		return 1;
	}
	return bench_roundtrip(abs) || bench_makespan(abs) ||
	    bench_restart(abs);
}
