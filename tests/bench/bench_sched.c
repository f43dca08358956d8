/*
 * bench_sched: the two figures of issue 3, one line each, greppable.
 *
 *  1. Lock overhead: taking and putting back the slot of a 1-slot lock
 *     (slots_take + slots_put, what a job's start and end do to each of
 *     its locks, under the scheduler mutex) vs pthread_mutex_lock + unlock, measured in interleaved
 *     rounds in the same run; medians in ns per pair. Target: ratio <= 2.
 *  2. Scheduler efficiency: 1000 jobs of 2 ms (the hook sleeps with
 *     clock_nanosleep to 50 us before the end, then polls the clock, so
 *     that OS timer overshoot is not charged to the scheduler; it only
 *     sleeps when there are no more cores than slots) on one
 *     4-slot lock through the real scheduler.
 *     Three figures, so that the kernel's oversleep is visible apart
 *     from the scheduler's own cost:
 *      - strict: makespan (first submit to last job end) vs the ideal
 *        1000*2/4 = 500 ms, as ideal/actual (target >= 0.98); a job that
 *        the OS wakes late stretches it although no slot idled;
 *      - scheduler efficiency: the sum of the jobs' measured run times
 *        (hook entry to hook return, oversleep included) over
 *        slots * makespan (target >= 0.98): the share of slot time spent
 *        inside jobs, i.e. what the scheduler alone loses;
 *      - slot gap: per slot, from a job's end (its hook returning, before
 *        the scheduler releases the slot, so the release is inside the
 *        gap) to the next job's start timestamp on that slot (hook
 *        entry); p99 against 100 us, printed as p99/100us (target <= 1).
 *
 * glibc skips the atomics of an uncontended mutex while a process has a
 * single thread, so an idle helper thread is alive during (1): the
 * scheduler always runs multi-threaded, and so must the reference.
 *
 * Prints figures; never fails on a missed target (machines are shared).
 * Exits 1 only when the scheduler cannot be created or a job fails.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "job.h"
#include "sched.h"
#include "slots.h"

#define LOCK_ROUNDS	21
#define LOCK_ITERS	2000000
#define NJOBS		1000
#define JOB_NS		2000000
#define NSLOTS		4

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

static pthread_mutex_t	 idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 idle_cv = PTHREAD_COND_INITIALIZER;
static int		 idle_done;

static void *
idle_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_mu);
	while (!idle_done)
		pthread_cond_wait(&idle_cv, &idle_mu);
	pthread_mutex_unlock(&idle_mu);
	return NULL;
}

static void
bench_lock(void)
{
	static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;
	struct slots		 l;
	double			 lk[LOCK_ROUNDS], mx[LOCK_ROUNDS];
	int64_t			 t0;
	pthread_t		 idle;
	int			 r, i, slot, bad = 0;

	slots_init(&l, 1);
	if (pthread_create(&idle, NULL, idle_main, NULL) != 0) {
		fprintf(stderr, "bench_sched: pthread_create failed\n");
		return;
	}
	for (r = 0; r < LOCK_ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < LOCK_ITERS; i++) {
			slot = slots_take(&l);
			bad |= slots_put(&l, slot);
		}
		lk[r] = (double)(now_ns() - t0) / LOCK_ITERS;
		t0 = now_ns();
		for (i = 0; i < LOCK_ITERS; i++) {
			pthread_mutex_lock(&mu);
			pthread_mutex_unlock(&mu);
		}
		mx[r] = (double)(now_ns() - t0) / LOCK_ITERS;
	}
	pthread_mutex_lock(&idle_mu);
	idle_done = 1;
	pthread_cond_signal(&idle_cv);
	pthread_mutex_unlock(&idle_mu);
	pthread_join(idle, NULL);
	qsort(lk, LOCK_ROUNDS, sizeof(lk[0]), cmp_double);
	qsort(mx, LOCK_ROUNDS, sizeof(mx[0]), cmp_double);
	printf("lock acquire+release: %.2f ns, pthread_mutex: %.2f ns, "
	    "ratio %.2f (target <= 2.0)%s\n", lk[LOCK_ROUNDS / 2],
	    mx[LOCK_ROUNDS / 2], lk[LOCK_ROUNDS / 2] / mx[LOCK_ROUNDS / 2],
	    bad ? " [lock error]" : "");
}

struct rec {
	pthread_mutex_t	 mu;
	int64_t		 start[NJOBS], end[NJOBS];
	int		 slot[NJOBS];
	int		 n;
};

static int
bench_hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	static __thread int	 slack_set;
	struct rec		*r = arg;
	struct timespec		 ts;
	int64_t			 t0 = now_ns(), dl;
	int			 i;

	(void)job;
	(void)device;
	(void)err;
	(void)errlen;
	if (!slack_set) {
		/* Default timer slack (50 us) would stretch every sleep. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		slack_set = 1;
	}
	/* Poll the last 50 us only with a core per slot to spare. */
	dl = t0 + JOB_NS - (sysconf(_SC_NPROCESSORS_ONLN) > NSLOTS ? 50000 : 0);
	ts.tv_sec = dl / 1000000000;
	ts.tv_nsec = dl % 1000000000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		continue;
	while (now_ns() < t0 + JOB_NS)
		continue;
	pthread_mutex_lock(&r->mu);
	if ((i = r->n) < NJOBS) {
		r->start[i] = t0;
		r->end[i] = now_ns();
		r->slot[i] = slots[0];
		r->n++;
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static int
bench_sched(void)
{
	static struct rec	 r;
	static double		 gaps[NJOBS];
	struct conf_lock	 cl;
	struct conf_task	 ct;
	struct conf		 c;
	struct sched_opts	 o;
	struct sched		*s;
	char			*lnames[1] = { "cpu" };
	size_t			 lidx[1] = { 0 };
	char			 id[JOB_ID_LEN + 1], sess[JOB_SESSION_LEN + 1];
	char			 err[256];
	int64_t			 t0, tend = 0, prev, busy = 0;
	double			 makespan, p99, ideal = (double)NJOBS * JOB_NS /
				    NSLOTS / 1e6;
	int			 i, k, sl, ngaps = 0, retry, rc = 0;

	memset(&cl, 0, sizeof(cl));
	cl.name = "cpu";
	cl.slots = NSLOTS;
	cl.queue = NJOBS;
	cl.order = CONF_ORDER_FIFO;
	memset(&ct, 0, sizeof(ct));
	ct.name = "burn";
	/* No such kernel: the hook runs instead. */
	ct.kernel = "bench-hook";
	ct.locks = lnames;
	ct.nlocks = 1;
	ct.lock_index = lidx;
	memset(&c, 0, sizeof(c));
	c.max_active = NJOBS;
	c.locks = &cl;
	c.nlocks = 1;
	c.tasks = &ct;
	c.ntasks = 1;
	memset(&o, 0, sizeof(o));
	o.run_hook = bench_hook;
	o.run_arg = &r;
	pthread_mutex_init(&r.mu, NULL);
	if ((s = sched_create(&c, NULL, &o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_sched: sched_create: %s\n", err);
		return 1;
	}
	snprintf(sess, sizeof(sess), "%032d", 0);
	t0 = now_ns();
	for (i = 0; i < NJOBS; i++)
		if (sched_submit(s, "burn", NULL, sess, "",
		    "{\"ms\":2}", id, &retry) != SCHED_OK) {
			fprintf(stderr, "bench_sched: submit %d refused\n", i);
			rc = 1;
			break;
		}
	if (sched_drain(s, 60000) != 0) {
		fprintf(stderr, "bench_sched: jobs left after 60 s\n");
		rc = 1;
	}
	sched_destroy(s);
	pthread_mutex_lock(&r.mu);
	for (i = 0; i < r.n; i++) {
		if (r.end[i] > tend)
			tend = r.end[i];
		busy += r.end[i] - r.start[i];
	}
	/* Per slot, in start order: gap = next start - previous end. */
	for (sl = 0; sl < NSLOTS; sl++) {
		prev = -1;
		for (;;) {
			k = -1;
			for (i = 0; i < r.n; i++)
				if (r.slot[i] == sl && r.start[i] > prev &&
				    (k < 0 || r.start[i] < r.start[k]))
					k = i;
			if (k < 0)
				break;
			if (prev >= 0) {
				for (i = 0; i < r.n; i++)
					if (r.slot[i] == sl &&
					    r.start[i] == prev)
						break;
				gaps[ngaps++] = (double)(r.start[k] -
				    r.end[i]) / 1e3;
			}
			prev = r.start[k];
		}
	}
	pthread_mutex_unlock(&r.mu);
	if (r.n != NJOBS)
		rc = 1;
	makespan = (double)(tend - t0) / 1e6;
	qsort(gaps, ngaps, sizeof(gaps[0]), cmp_double);
	printf("sched makespan: %.1f ms for %d jobs of 2 ms on %d slots, "
	    "ideal %.0f ms, ideal/actual ratio %.3f (target >= 0.98)\n",
	    makespan, r.n, NSLOTS, ideal, makespan > 0 ? ideal / makespan : 0);
	printf("sched efficiency: job run mean %.3f ms (2 ms asked), "
	    "sum of run times / (%d slots x makespan), ratio %.3f "
	    "(target >= 0.98)\n",
	    r.n ? (double)busy / r.n / 1e6 : 0.0, NSLOTS, makespan > 0 ?
	    (double)busy / 1e6 / NSLOTS / makespan : 0.0);
	p99 = ngaps ? gaps[(ngaps * 99) / 100] : 0.0;
	printf("sched slot gap: job end to next start on the slot, "
	    "p50 %.1f us, p99 %.1f us, max %.1f us, p99/100us ratio %.3f "
	    "(target <= 1.0)\n",
	    ngaps ? gaps[ngaps / 2] : 0.0, p99,
	    ngaps ? gaps[ngaps - 1] : 0.0, p99 / 100.0);
	return rc;
}

int
main(void)
{
	bench_lock();
	return bench_sched();
}
