/*
 * sched_dispatch: which waiting job starts, and starting and ending one.
 * Everything here runs under sched.mu.
 *
 * Dispatch runs after every event (submit, finish, cancel, expiry). For
 * each lock with a free slot it takes the first waiter, in that lock's
 * order (lock.h), whose locks ALL have a free slot, and starts it: all
 * of its slots are taken at once under the mutex, or none, so there is
 * no hold-and-wait and no deadlock. Starting only consumes slots, so one
 * pass over the locks leaves no waiter that could start
 * (work-conserving).
 *
 * When a candidate found on one lock also needs other locks, it must be
 * the first startable waiter of each of its fifo locks too; if not, the
 * earlier startable waiter found there is started instead (this strictly
 * lowers seq, so it ends). Then the same is tried for its fair locks, as
 * long as it keeps the fifo property (bounded hops: with tasks that mix
 * orders, two fair locks can disagree, and fifo wins). Hence: on a fifo
 * lock a later job starts before an earlier one only when the earlier one
 * could not start at that instant anyway (one of its other locks was
 * full). That is what keeps the scheduler work-conserving; the earlier
 * job may then wait longer than under a strict FIFO.
 *
 * Devices. When one of the job's locks has devices (conf_load allows one
 * per task; the first such lock counts), the job's slot s of that lock
 * maps to the configured index devices[s]. If kernel_device_count() (read
 * once, at sched_create) is > 0, the kernel runs on that CUDA device and
 * the job's device is "cuda:N"; otherwise the kernel runs with KERNEL_CPU
 * and the job's device is "cpu". The test hook always gets the configured
 * index (devices[s]) when such a lock exists, KERNEL_CPU otherwise.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define SCHED_FAIR_HOPS		64
#define SCHED_EMA_ALPHA		0.2

/* 1 when every lock of j has a free slot now. */
int
sched_startable(struct sched *s, const struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (!lock_has_room(sjob_lock(s, j, i)))
			return 0;
	return 1;
}

/* The first waiter of lock li, in its order, that could start now. */
struct sjob *
sched_first_startable(struct sched *s, size_t li)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	*w, *best = NULL;

	if (!lock_has_room(L))
		return NULL;
	TAILQ_FOREACH(w, &L->waiters, link) {
		if (!sched_startable(s, sjob_of_waiter(w)))
			continue;
		if (L->cl->order == CONF_ORDER_FIFO)
			return sjob_of_waiter(w);
		if (best == NULL || lock_before(L, w, best))
			best = w;
	}
	return best != NULL ? sjob_of_waiter(best) : NULL;
}

/*
 * For a startable c: a waiter that goes before c on one of c's locks of
 * the given order and could start now, or NULL when c is first on all.
 */
static struct sjob *
blocker(struct sched *s, struct sjob *c, enum conf_order order)
{
	struct sjob	*f;
	size_t		 i, li;

	for (i = 0; i < c->nlocks; i++) {
		li = c->locks[i].lidx;
		if (s->locks[li].cl->order != order)
			continue;
		f = sched_first_startable(s, li);
		if (f != NULL && f != c)
			return f;
	}
	return NULL;
}

/* See the comment at the top: which startable job to start for c. */
static struct sjob *
resolve(struct sched *s, struct sjob *c)
{
	struct sjob	*f;
	int		 hops;

	while ((f = blocker(s, c, CONF_ORDER_FIFO)) != NULL)
		c = f;	/* f->job.seq < c->job.seq: this ends */
	for (hops = 0; hops < SCHED_FAIR_HOPS; hops++) {
		f = blocker(s, c, CONF_ORDER_FAIR);
		if (f == NULL || blocker(s, f, CONF_ORDER_FIFO) != NULL)
			break;
		c = f;
	}
	return c;
}

/* Queues j on each of its locks, in seq order. */
void
sched_enqueue(struct sched *s, struct sjob *j)
{
	struct sjob_lock	*jl;
	size_t			 i;
	int			 signal = 0;

	for (i = 0; i < j->nlocks; i++) {
		jl = &j->locks[i];
		jl->w.seq = j->job.seq;
		jl->w.turn = &j->sess->turns[jl->lidx];
		if (lock_wait(&s->locks[jl->lidx], &jl->w) &&
		    s->locks[jl->lidx].cl->wait_timeout > 0)
			signal = 1;	/* a new head: a new wait deadline */
	}
	j->st->nqueued++;
	if (signal)
		pthread_cond_signal(&s->timer_cv);
}

/* Takes queued j off every lock it waits on. */
static void
dequeue(struct sched *s, struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		lock_unwait(sjob_lock(s, j, i), &j->locks[i].w);
	j->st->nqueued--;
}

/* Audit: counts a start on a fifo lock ahead of a startable earlier job. */
static void
audit_start(struct sched *s, struct sjob *c)
{
	struct lock_waiter	*w;
	struct lock		*L;
	size_t			 i;

	for (i = 0; i < c->nlocks; i++) {
		L = sjob_lock(s, c, i);
		if (L->cl->order != CONF_ORDER_FIFO)
			continue;
		TAILQ_FOREACH(w, &L->waiters, link) {
			if (sjob_of_waiter(w) == c)
				break;
			if (sched_startable(s, sjob_of_waiter(w)))
				s->fifo_violations++;
		}
	}
}

/* The job's device, from the first of its locks that has devices. */
static void
sjob_pick_device(struct sched *s, struct sjob *j)
{
	const struct conf_lock	*cl;
	size_t			 i;

	j->run_device = j->hook_device = KERNEL_CPU;
	snprintf(j->job.device, sizeof(j->job.device), "cpu");
	for (i = 0; i < j->nlocks; i++) {
		cl = sjob_lock(s, j, i)->cl;
		if (cl->devices == NULL || j->locks[i].slot < 0)
			continue;
		j->hook_device = cl->devices[j->locks[i].slot];
		if (s->ngpu > 0) {
			j->run_device = j->hook_device;
			snprintf(j->job.device, sizeof(j->job.device),
			    "cuda:%d", j->run_device);
		}
		return;
	}
}

/* Starts queued j: its slots, its device, onto the ready list. */
static void
sjob_start(struct sched *s, struct sjob *j)
{
	int64_t		 now = sched_mono_ns();
	double		 waited = (double)(now - j->enq_ns) / 1e6;
	size_t		 i;

	for (i = 0; i < j->nlocks; i++)
		j->locks[i].slot = lock_start(sjob_lock(s, j, i),
		    &j->locks[i].w, waited);
	j->st->nqueued--;
	j->st->nrunning++;
	j->job.state = JOB_RUNNING;
	j->job.started_ms = job_now_ms();
	j->start_ns = now;
	j->job.slot = j->locks[0].slot;
	sjob_pick_device(s, j);

	TAILQ_INSERT_TAIL(&s->running.head, j, state_link);
	s->running.n++;
	STAILQ_INSERT_TAIL(&s->ready, j, ready);
	/*
	 * A runner that just finished a job runs the first job its dispatch
	 * starts itself (it is awake and holds the mutex): waking another
	 * runner for it would only add a condvar round trip to the slot gap.
	 */
	if (s->self_take)
		s->self_take = 0;
	else if (s->idle > 0)
		pthread_cond_signal(&s->work_cv);
}

void
sched_dispatch(struct sched *s)
{
	struct sjob	*c;
	size_t		 li;

	if (s->stop)
		return;
	/* Starting only takes slots, so one pass leaves nothing startable. */
	for (li = 0; li < s->nlocks; li++)
		while ((c = sched_first_startable(s, li)) != NULL) {
			c = resolve(s, c);
			if (s->audit_starts)
				audit_start(s, c);
			sjob_start(s, c);
		}
}

/* Drops finished job j from memory (lookups go to the journal). */
void
sched_forget_finished(struct sched *s, struct sjob *j)
{
	TAILQ_REMOVE(&s->finished.head, j, state_link);
	s->finished.n--;
	sched_job_unindex(s, j);
	sjob_free(j);
}

/* Drops the oldest finished jobs from memory beyond the bound. */
static void
finished_trim(struct sched *s)
{
	size_t	 keep;

	keep = s->jr != NULL ? SCHED_KEEP_FINISHED : SCHED_KEEP_NOJOURNAL;
	while (s->finished.n > keep)
		sched_forget_finished(s, TAILQ_FIRST(&s->finished.head));
}

/* Counts a run of st that ended in state after run_ms. */
static void
task_count_run(struct stask *st, enum job_state state, double run_ms)
{
	st->nrunning--;
	st->run_sum_ms += run_ms;
	st->run_n++;
	if (state != JOB_DONE)
		return;
	if (!st->seen)
		st->ema_ms = run_ms;
	else
		st->ema_ms = (1 - SCHED_EMA_ALPHA) * st->ema_ms +
		    SCHED_EMA_ALPHA * run_ms;
	st->seen = 1;
}

/* Frees j's slots (running) or places (queued) and counts its end. */
static void
sjob_release(struct sched *s, struct sjob *j, enum job_state state)
{
	struct lock	*L;
	double		 run_ms = 0;
	size_t		 i;
	int		 was_running = j->job.state == JOB_RUNNING;

	if (was_running) {
		run_ms = (double)(sched_mono_ns() - j->start_ns) / 1e6;
		TAILQ_REMOVE(&s->running.head, j, state_link);
		s->running.n--;
		task_count_run(j->st, state, run_ms);
	} else
		dequeue(s, j);
	for (i = 0; i < j->nlocks; i++) {
		if ((L = sjob_lock(s, j, i)) == NULL)
			continue;	/* lock removed by reload */
		if (was_running)
			(void)lock_end_running(L, j->locks[i].slot, state,
			    run_ms);
		else
			lock_end_waiting(L, state);
	}
}

/*
 * Moves j (queued or running) to a final state, taking ownership of
 * result and error (malloc'd or NULL). Accounting only: no journal.
 */
void
sjob_end(struct sched *s, struct sjob *j, enum job_state state,
    char *result, char *error, int has_png)
{
	sjob_release(s, j, state);
	j->st->ended[state]++;
	j->job.state = state;
	j->job.finished_ms = job_now_ms();
	free(j->job.result);
	free(j->job.error);
	j->job.result = result;
	j->job.error = error;
	j->job.has_png = has_png;
	j->sess->active--;
	sched_sess_put(s, j->sess);
	j->sess = NULL;
	s->active--;
	TAILQ_INSERT_TAIL(&s->finished.head, j, state_link);
	s->finished.n++;
	if (j->evicted)
		sched_forget_finished(s, j);	/* see evict_forget */
	finished_trim(s);
	/* sched_drain waits for active == 0 only: wake it then, not per job. */
	if (s->drain_waiters > 0 && s->active == 0)
		pthread_cond_broadcast(&s->drain_cv);
}

/* Counts j as admitted everywhere. */
void
sched_count_admitted(struct sched *s, struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		sjob_lock(s, j, i)->n.admitted++;
	j->st->admitted++;
}
