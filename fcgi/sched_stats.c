/*
 * sched_stats: what the scheduler tells about itself: snapshots of the
 * locks' and tasks' counters (/status.json and /metrics render the same
 * struct), live gauges, and the estimates: ETA of a job and Retry-After
 * of a refusal. Estimates run on each job's expected run time and each
 * running job's remaining one (sched_cost.c); a job yet to be submitted
 * is taken to run as long as its task's jobs did, an exponential moving
 * average of its done jobs (SCHED_SEED_MS until one is done).
 */
#include <sys/queue.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define SCHED_RETRY_MAX		3600	/* longest Retry-After, s */

const char *const sched_state_names[SCHED_NSTATES] = {
	"queued", "running", "done", "failed", "expired", "cancelled"
};

/* Under mu: estimated ms of work left in the jobs running on lock li. */
double
sched_running_left_ms(struct sched *s, size_t li, int64_t now)
{
	struct sjob	*j;
	double		 sum = 0;

	TAILQ_FOREACH(j, &s->running.head, state_link)
		if (sjob_lock_of(j, li) != NULL)
			sum += sjob_left_ms(j, now);
	return sum;
}

/*
 * Under mu: estimated ms until the first running job on lock li ends,
 * which is when a waiter moves up and a place in the queue frees
 * (Retry-After of a full queue).
 */
double
sched_first_end_ms(struct sched *s, size_t li, int64_t now)
{
	struct sjob	*j;
	double		 left, best = -1;

	TAILQ_FOREACH(j, &s->running.head, state_link) {
		if (sjob_lock_of(j, li) == NULL)
			continue;
		left = sjob_left_ms(j, now);
		if (best < 0 || left < best)
			best = left;
	}
	return best < 0 ? 0 : best;
}

double
sched_eta_of(struct sched *s, size_t li, double self_ms, int n,
    double ahead_ms)
{
	struct lock	*L = &s->locks[li];

	if (n > 0 || !lock_has_room(L))
		self_ms += (ahead_ms + sched_running_left_ms(s, li,
		    sched_est_now(s))) / L->cl->slots;
	return ceil(self_ms);
}

/*
 * Under mu: ETA of a job of st on its first lock, behind the waiters
 * that go before self (NULL: behind all of them, as a new job would be).
 * Sets *pos (unless NULL) to how many waiters are ahead. The waiters
 * ahead come from the lock's order-statistic treaps (lock.h): their
 * count and their units per task, each task's units at its learnt cost;
 * so O(tasks x log waiters), never a walk (sched_audit checks it
 * against one).
 */
int64_t
sched_eta_ms(struct sched *s, const struct stask *st, const struct sjob *self,
    int *pos)
{
	size_t		 li = self != NULL ? self->locks[0].lidx :
			    st->ct->lock_index[0];
	double		 ahead_ms;
	int		 n;

	ahead_ms = lock_ahead(&s->locks[li], self != NULL ?
	    &self->locks[0].w : NULL, sched_unit_ms, &n);
	if (pos != NULL)
		*pos = n;
	return (int64_t)sched_eta_of(s, li, self != NULL ? sjob_est_ms(self) :
	    st->ema_ms, n, ahead_ms);
}

/* Whole seconds for Retry-After from an estimate in ms: 1..3600. */
int
sched_retry_after_secs(double ms)
{
	double	 sec = ceil(ms / 1000.0);

	if (!(sec >= 1))
		return 1;
	return sec > SCHED_RETRY_MAX ? SCHED_RETRY_MAX : (int)sec;
}

void
sched_lock_counts(struct sched *s, size_t lock_index, int *busy, int *queued)
{
	int	 b = 0, q = 0;

	pthread_mutex_lock(&s->mu);
	if (lock_index < s->nlocks) {
		b = lock_busy(&s->locks[lock_index]);
		q = s->locks[lock_index].nwait + s->locks[lock_index].npending;
	}
	pthread_mutex_unlock(&s->mu);
	if (busy != NULL)
		*busy = b;
	if (queued != NULL)
		*queued = q;
}

int
sched_task_failing_why(struct sched *s, const char *task, char *out,
    size_t outlen)
{
	struct stask	*st;
	int		 rc = 0;

	pthread_mutex_lock(&s->mu);
	if ((st = sched_task_find(s, task)) != NULL && st->failing != NULL) {
		snprintf(out, outlen, "%s", st->failing);
		rc = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int64_t
sched_task_eta(struct sched *s, const char *task)
{
	struct stask	*st;
	int64_t		 eta = -1;

	if (task == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	if ((st = sched_task_find(s, task)) != NULL)
		eta = sched_eta_ms(s, st, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return eta;
}

static void
hist_get(struct sched_hist *out, const struct hist *h)
{
	hist_cumulative(h, out->cum);
	out->sum_ms = h->sum_ms;
	out->count = h->n;
}

static void
lock_stats(struct sched_lock_stats *ls, const struct lock *L)
{
	snprintf(ls->name, sizeof(ls->name), "%s", L->cl->name);
	ls->slots = L->cl->slots;
	ls->busy = lock_busy(L);
	ls->queued = L->nwait + L->npending;
	ls->queue = L->cl->queue;
	ls->fair = L->cl->order == CONF_ORDER_FAIR;
	ls->admitted = L->n.admitted;
	ls->refused = L->n.refused;
	ls->started = L->n.started;
	memcpy(ls->ended, L->n.ended, sizeof(ls->ended));
	hist_get(&ls->wait, &L->n.wait);
	hist_get(&ls->run, &L->n.run);
}

static void
task_stats(struct sched_task_stats *ts, const struct stask *st)
{
	int	 i;

	snprintf(ts->name, sizeof(ts->name), "%s", st->ct->name);
	ts->queued = st->nqueued;
	ts->running = st->nrunning;
	ts->admitted = st->admitted;
	ts->refused = st->refused;
	memcpy(ts->ended, st->ended, sizeof(ts->ended));
	ts->run_sum_ms = st->run_sum_ms;
	ts->run_n = st->run_n;
	ts->eta_run_ms = st->ema_ms;
	ts->workers_ready = 0;
	for (i = 0; i < SLOTS_WORDS; i++)
		ts->workers_ready += __builtin_popcountll(st->ready[i]);
	snprintf(ts->failing, sizeof(ts->failing), "%s",
	    st->failing != NULL ? st->failing : "");
}

int
sched_stats_get(struct sched *s, struct sched_stats *out)
{
	size_t	 i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	out->locks = calloc(s->nlocks, sizeof(*out->locks));
	out->tasks = calloc(s->ntasks, sizeof(*out->tasks));
	if (out->locks == NULL || out->tasks == NULL) {
		pthread_mutex_unlock(&s->mu);
		sched_stats_free(out);
		return -1;
	}
	out->nlocks = s->nlocks;
	out->ntasks = s->ntasks;
	for (i = 0; i < s->nlocks; i++)
		lock_stats(&out->locks[i], &s->locks[i]);
	for (i = 0; i < s->ntasks; i++)
		task_stats(&out->tasks[i], s->tasks[i]);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void
sched_stats_free(struct sched_stats *st)
{
	if (st == NULL)
		return;
	free(st->locks);
	free(st->tasks);
	memset(st, 0, sizeof(*st));
}

