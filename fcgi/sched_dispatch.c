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
 * Workers. A job runs in the worker of its task on its slot of the
 * task's worker lock (the lock with devices, else the first). With an
 * executor, a slot is only given to a job when that worker has said it is
 * ready (sched_worker_ready); a job that could start but finds no ready
 * worker on a free slot asks for one (wants_pass) and waits, unless the
 * task's workers fail to start: then it starts at once, to fail with the
 * reason. The slot's configured device (devices[s], else the CPU) is the
 * job's; its name is what the worker said it uses, else "cuda:N" or
 * "cpu". Without an executor (the tests' run hook) every slot is ready.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define SCHED_FAIR_HOPS		64
#define SCHED_EMA_ALPHA		0.2
#define SCHED_WANT_SCAN		64	/* waiters a lock's wants pass looks at */

/*
 * The free slot of j's worker lock whose worker is ready (the lowest),
 * -1 when there is none, or SCHED_ANY_SLOT when any free slot will do
 * (no executor, or a failing task).
 */
#define SCHED_ANY_SLOT	(-2)
int
sched_worker_slot(struct sched *s, const struct sjob *j)
{
	const struct lock	*L = sjob_lock(s, j, j->wlock);

	if (s->opts.exec == NULL || j->st->failing != NULL)
		return lock_has_room(L) ? SCHED_ANY_SLOT : -1;
	return slots_first_free(&L->slots, j->st->ready, NULL);
}

/* 1 when every lock of j has a free slot now (and its worker is ready). */
int
sched_startable(struct sched *s, const struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (!lock_has_room(sjob_lock(s, j, i)))
			return 0;
	return sched_worker_slot(s, j) != -1;
}

/*
 * The first waiter of lock li, in its order, that could start now. A
 * fair lock's order is not its arrival list: the front of its treaps is
 * looked at first (nearly always the answer, in O(log n)), and the whole
 * list only when none of the front could start.
 */
struct sjob *
sched_first_startable(struct sched *s, size_t li)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	*w, *best = NULL, *front[LOCK_FRONT_MAX];
	int			 i, n;

	if (!lock_has_room(L))
		return NULL;
	if (L->cl->order == CONF_ORDER_FAIR) {
		n = lock_front(L, front, LOCK_FRONT_MAX);
		for (i = 0; i < n; i++)
			if (sched_startable(s, sjob_of_waiter(front[i])))
				return sjob_of_waiter(front[i]);
		if (n < LOCK_FRONT_MAX)
			return NULL;	/* the front was every waiter */
	}
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

int
sched_reserve(struct sched *s, const struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (lock_reserve(sjob_lock(s, j, i), j->st) == -1)
			return -1;
	return 0;
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
		jl->w.cls = j->st;	/* reserved: sched_reserve */
		jl->w.units = j->units;
		if (lock_wait(&s->locks[jl->lidx], &jl->w) &&
		    s->locks[jl->lidx].cl->wait_timeout > 0)
			signal = 1;	/* a new head: a new wait deadline */
	}
	j->st->nqueued++;
	sched_ev_queues(s);
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
	sched_ev_queues(s);
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

/* The job's device: its worker slot's, as configured and as reported. */
static void
sjob_pick_device(struct sched *s, struct sjob *j)
{
	const struct conf_lock	*cl = sjob_lock(s, j, j->wlock)->cl;
	int			 slot = j->locks[j->wlock].slot;

	j->device = cl->devices != NULL && slot >= 0 && slot < cl->slots ?
	    cl->devices[slot] : -1;
	if (s->opts.exec != NULL && slot >= 0 && j->st->devs[slot][0] != '\0')
		snprintf(j->job.device, sizeof(j->job.device), "%s",
		    j->st->devs[slot]);
	else if (j->device >= 0)
		snprintf(j->job.device, sizeof(j->job.device), "cuda:%d",
		    j->device);
	else
		snprintf(j->job.device, sizeof(j->job.device), "cpu");
}

/* Starts queued j: its slots, its device, onto the ready list. */
static void
sjob_start(struct sched *s, struct sjob *j)
{
	int64_t		 now = sched_mono_ns();
	double		 waited = (double)(now - j->enq_ns) / 1e6;
	size_t		 i;
	int		 wslot = sched_worker_slot(s, j);

	for (i = 0; i < j->nlocks; i++)
		j->locks[i].slot = lock_start_at(sjob_lock(s, j, i),
		    &j->locks[i].w, i == j->wlock && wslot >= 0 ? wslot : -1,
		    waited);
	j->st->nqueued--;
	j->st->nrunning++;
	j->job.state = JOB_RUNNING;
	j->job.started_ms = job_now_ms();
	j->start_ns = now;
	j->job.slot = j->locks[0].slot;
	sjob_pick_device(s, j);
	if (s->opts.exec != NULL && j->st->failing != NULL)
		j->doomed = strdup(j->st->failing);	/* NULL: it waits */

	TAILQ_INSERT_TAIL(&s->running.head, j, state_link);
	s->running.n++;
	STAILQ_INSERT_TAIL(&s->ready, j, ready);
	sched_ev_job(s, j);
	sched_ev_queues(s);
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

/*
 * j's locks all have room, but no free slot of its worker lock has a
 * ready worker: asks for one on the lowest free slot not asked for yet.
 */
static void
want_worker(struct sched *s, struct sjob *j)
{
	struct lock	*L = sjob_lock(s, j, j->wlock);
	uint64_t	 asked[SLOTS_WORDS];
	int		 i, slot;

	for (i = 0; i < SLOTS_WORDS; i++)
		asked[i] = j->st->wanted[i] | j->st->ready[i];
	if ((slot = slots_first_free(&L->slots, NULL, asked)) < 0)
		return;
	j->st->wanted[slot / 64] |= UINT64_C(1) << (slot % 64);
	s->opts.exec->want(s->opts.exec->arg, j->st->ct->name, slot);
}

/*
 * After a dispatch: the first waiters of each lock with room that could
 * start but for a ready worker get one asked for, once per task and pass.
 * Only the first SCHED_WANT_SCAN waiters are looked at, so that a long
 * queue costs nothing here; the others' turn comes as those start.
 */
static void
wants_pass(struct sched *s)
{
	struct lock_waiter	*w;
	struct sjob		*j;
	size_t			 li, i;
	int			 n;

	if (s->opts.exec == NULL || s->opts.exec->want == NULL)
		return;
	s->want_pass++;
	for (li = 0; li < s->nlocks; li++) {
		if (!lock_has_room(&s->locks[li]))
			continue;
		n = 0;
		TAILQ_FOREACH(w, &s->locks[li].waiters, link) {
			if (n++ == SCHED_WANT_SCAN)
				break;
			j = sjob_of_waiter(w);
			if (j->st->want_pass == s->want_pass)
				continue;
			for (i = 0; i < j->nlocks; i++)
				if (!lock_has_room(sjob_lock(s, j, i)))
					break;
			if (i < j->nlocks)
				continue;
			j->st->want_pass = s->want_pass;
			want_worker(s, j);
		}
	}
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
	wants_pass(s);
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

/* j, no longer queued or running here, is let go of without an end. */
static void
sjob_let_go(struct sched *s, struct sjob *j)
{
	sched_ev_queues(s);
	sched_job_uncount(s, j);
	sched_job_unindex(s, j);
	sjob_free(j);
	if (s->drain_waiters > 0 && s->active == 0)
		pthread_cond_broadcast(&s->drain_cv);
}

void
sched_forget_waiter(struct sched *s, struct sjob *j)
{
	dequeue(s, j);
	sjob_let_go(s, j);
}

void
sched_unstart(struct sched *s, struct sjob *j, int full)
{
	struct lock	*L;
	size_t		 i;

	TAILQ_REMOVE(&s->running.head, j, state_link);
	s->running.n--;
	j->st->nrunning--;
	for (i = 0; i < j->nlocks; i++) {
		if ((L = sjob_lock(s, j, i)) == NULL)
			continue;	/* lock removed by reload */
		(void)slots_put(&L->slots, j->locks[i].slot);
		j->locks[i].slot = -1;
		if (full && L->cl->scope == CONF_SCOPE_CLUSTER)
			L->cluster_full = 1;
	}
	j->job.state = JOB_QUEUED;
	j->job.started_ms = 0;
	j->job.slot = -1;
	j->job.device[0] = '\0';
	free(j->doomed);
	j->doomed = NULL;
	if (full) {
		sched_enqueue(s, j);
		sched_ev_job(s, j);
	} else
		sjob_let_go(s, j);
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
task_count_run(struct stask *st, enum job_state state, double run_ms,
    double units)
{
	st->nrunning--;
	st->run_sum_ms += run_ms;
	st->run_n++;
	if (state != JOB_DONE)
		return;
	sched_cost_learn(st, units, run_ms);
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
		task_count_run(j->st, state, run_ms, j->units);
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
	if (state == JOB_DONE && j->job.has_progress)
		j->job.progress = 1;
	j->job.state = state;
	j->job.finished_ms = job_now_ms();
	free(j->job.result);
	free(j->job.error);
	j->job.result = result;
	j->job.error = error;
	j->job.has_png = has_png;
	sched_ev_job(s, j);
	sched_ev_queues(s);
	sched_job_uncount(s, j);
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
