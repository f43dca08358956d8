/*
 * sched_reload: a new config applied in place (SIGHUP), as sched.h
 * promises. It runs in phases: first everything that can fail is
 * allocated (reload_prepare); then, under the mutex and with no
 * admission half done, the changes are made and cannot fail: the queued
 * jobs that lost their task or a lock end (reload_doom), the new locks
 * take over the state of the kept ones (reload_locks), kept tasks keep
 * their counters (reload_tasks), jobs and sessions move to the new lock
 * indices (reload_remap), and enough runners are there for every slot.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* What a reload needs, allocated before anything changes. */
struct reload {
	const struct conf	*conf;
	struct lock		*locks;		/* the new ones */
	struct stask		**tasks;	/* the new set */
	struct stask		**fresh;	/* for tasks not kept */
	size_t			 used;		/* fresh ones taken */
	size_t			*lmap;		/* old lock index -> new */
	size_t			*rmap;		/* new lock index -> old */
	struct sjob		**queued;	/* every queued job */
	size_t			 nqueued;
	struct lock_turn	**turns;	/* per session, new layout */
	size_t			 nsess;
	char			*kept;		/* per old task: kept by name */
	struct job		**snaps;	/* final records to write */
	size_t			 nsnaps;
};

/* Old lock index -> new (SIZE_MAX: removed), and back. */
static void
reload_maps(struct sched *s, struct reload *r)
{
	size_t	 i, k;

	for (k = 0; k < r->conf->nlocks; k++)
		r->rmap[k] = SIZE_MAX;
	for (i = 0; i < s->nlocks; i++) {
		r->lmap[i] = SIZE_MAX;
		for (k = 0; k < r->conf->nlocks; k++)
			if (strcmp(s->locks[i].cl->name,
			    r->conf->locks[k].name) == 0) {
				r->lmap[i] = k;
				r->rmap[k] = i;
				break;
			}
	}
}

/* Under mu: the queued jobs and the sessions' new turn arrays. */
static int
reload_prepare_jobs(struct sched *s, struct reload *r)
{
	struct sjob	*j;
	struct sess	*e;
	size_t		 i, n = 0;

	for (i = 0; i < s->nbuckets; i++)
		LIST_FOREACH(j, &s->by_id[i], by_id)
			if (j->job.state == JOB_QUEUED)
				n++;
	if ((n > 0 && (r->queued = calloc(n, sizeof(*r->queued))) == NULL) ||
	    (r->kept = calloc(s->ntasks, 1)) == NULL)
		return -1;
	for (i = 0; i < s->nbuckets; i++)
		LIST_FOREACH(j, &s->by_id[i], by_id)
			if (j->job.state == JOB_QUEUED && r->nqueued < n)
				r->queued[r->nqueued++] = j;
	n = 0;
	for (i = 0; i < SCHED_SESS_BUCKETS; i++)
		LIST_FOREACH(e, &s->sessions[i], link)
			n++;
	if (n > 0 && (r->turns = calloc(n, sizeof(*r->turns))) == NULL)
		return -1;
	for (r->nsess = 0; r->nsess < n; r->nsess++)
		if ((r->turns[r->nsess] = calloc(r->conf->nlocks,
		    sizeof(**r->turns))) == NULL)
			return -1;
	return 0;
}

/* Outside mu: the arrays sized by the new config alone. */
static int
reload_prepare(struct reload *r)
{
	const struct conf	*c = r->conf;
	size_t			 i;

	r->locks = calloc(c->nlocks, sizeof(*r->locks));
	r->tasks = calloc(c->ntasks, sizeof(*r->tasks));
	r->fresh = calloc(c->ntasks, sizeof(*r->fresh));
	r->rmap = calloc(c->nlocks, sizeof(*r->rmap));
	if (r->locks == NULL || r->tasks == NULL || r->fresh == NULL ||
	    r->rmap == NULL)
		return -1;
	for (i = 0; i < c->ntasks; i++)
		if ((r->fresh[i] = stask_new()) == NULL)
			return -1;
	return 0;
}

static void
reload_free(struct reload *r)
{
	size_t	 i;

	if (r->fresh != NULL)
		for (i = 0; i < r->conf->ntasks; i++)
			stask_free(r->fresh[i]);
	for (i = 0; i < r->nsess; i++)
		free(r->turns[i]);
	free(r->turns);
	free(r->queued);
	free(r->kept);
	free(r->lmap);
	free(r->rmap);
	free(r->fresh);
	free(r->tasks);
	free(r->locks);
	free(r->snaps);
}

/* Phase 1: the queued jobs that lost their task or a lock fail. */
static void
reload_doom(struct sched *s, struct reload *r)
{
	struct sjob	*j;
	char		 why[160];
	const char	*msg;
	size_t		 i, k;

	for (i = 0; i < r->nqueued; i++) {
		j = r->queued[i];
		msg = NULL;
		if (conf_find_task(r->conf, j->job.task) == NULL)
			msg = "task removed by reload";
		for (k = 0; msg == NULL && k < j->nlocks; k++)
			if (r->lmap[j->locks[k].lidx] == SIZE_MAX) {
				snprintf(why, sizeof(why), "lock %s removed by "
				    "reload", s->locks[j->locks[k].lidx].cl->name);
				msg = why;
			}
		if (msg != NULL)
			sched_end_waiter(s, j, JOB_FAILED, msg, &r->snaps,
			    &r->nsnaps);
	}
}

/* Phase 2: the new locks; kept ones move their state over. */
static void
reload_locks(struct sched *s, struct reload *r)
{
	struct lock	*L, *old;
	size_t		 k;

	for (k = 0; k < r->conf->nlocks; k++) {
		L = &r->locks[k];
		if (r->rmap[k] == SIZE_MAX) {
			(void)lock_init(L, &r->conf->locks[k]);
			continue;
		}
		old = &s->locks[r->rmap[k]];
		*L = *old;
		/* A list head does not survive a copy: move the waiters. */
		TAILQ_INIT(&L->waiters);
		TAILQ_CONCAT(&L->waiters, &old->waiters, link);
		(void)lock_rebind(L, &r->conf->locks[k]);
	}
}

/* Phase 3: tasks; kept ones (by name) keep their counters. */
static void
reload_tasks(struct sched *s, struct reload *r)
{
	const struct conf_task	*ct;
	struct stask		*st;
	char			*kept = r->kept;
	size_t			 i, k;

	for (k = 0; k < r->conf->ntasks; k++) {
		ct = &r->conf->tasks[k];
		for (i = 0; i < s->ntasks; i++)
			if (!kept[i] && strcmp(s->tasks[i]->ct->name,
			    ct->name) == 0)
				break;
		if (i < s->ntasks) {
			st = s->tasks[i];
			kept[i] = 1;
		} else {
			st = r->fresh[r->used];
			r->fresh[r->used++] = NULL;
		}
		sched_task_bind(st, ct);
		r->tasks[k] = st;
	}
	for (i = 0; i < s->ntasks; i++)
		if (!kept[i]) {
			/* Only running or finished jobs point here now. */
			s->tasks[i]->ct = NULL;
			SLIST_INSERT_HEAD(&s->retired, s->tasks[i], retired);
		}
}

/* Phase 4: jobs and sessions to the new lock indices. */
static void
reload_remap(struct sched *s, struct reload *r)
{
	struct sjob	*j;
	struct sess	*e;
	size_t		 i, k, n = 0;

	for (i = 0; i < s->nbuckets; i++)
		LIST_FOREACH(j, &s->by_id[i], by_id)
			for (k = 0; k < j->nlocks; k++)
				if (j->locks[k].lidx < s->nlocks)
					j->locks[k].lidx =
					    r->lmap[j->locks[k].lidx];
	for (i = 0; i < SCHED_SESS_BUCKETS; i++)
		LIST_FOREACH(e, &s->sessions[i], link) {
			if (n == r->nsess)
				break;
			for (k = 0; k < r->conf->nlocks; k++)
				if (r->rmap[k] != SIZE_MAX)
					r->turns[n][k] = e->turns[r->rmap[k]];
			free(e->turns);
			e->turns = r->turns[n];
			r->turns[n++] = NULL;
		}
	/* The waiters point at their session's turn: point them anew. */
	for (i = 0; i < r->nqueued; i++) {
		j = r->queued[i];
		if (j->job.state != JOB_QUEUED)
			continue;	/* doomed in phase 1 */
		for (k = 0; k < j->nlocks; k++)
			j->locks[k].w.turn = &j->sess->turns[j->locks[k].lidx];
	}
}

/* Under mu: phases 1-4 and the switch to the new arrays. */
static void
reload_commit(struct sched *s, struct reload *r)
{
	size_t	 i;

	reload_doom(s, r);
	reload_locks(s, r);
	reload_tasks(s, r);
	reload_remap(s, r);
	for (i = 0; i < s->nlocks; i++)
		if (r->lmap[i] == SIZE_MAX)
			lock_free(&s->locks[i]);	/* its waiters ended */
	free(s->locks);
	s->locks = r->locks;
	s->nlocks = r->conf->nlocks;
	r->locks = NULL;
	free(s->tasks);
	s->tasks = r->tasks;
	s->ntasks = r->conf->ntasks;
	r->tasks = NULL;
	s->conf = r->conf;
}

/* The runners a config asks for: opts.threads, or one per slot. */
static size_t
runners_wanted(const struct sched *s, const struct conf *conf)
{
	size_t	 i, total = 0;

	if (s->opts.threads > 0)
		return (size_t)s->opts.threads;
	for (i = 0; i < conf->nlocks; i++)
		total += (size_t)conf->locks[i].slots;
	return total;
}

int
sched_reconfigure(struct sched *s, const struct conf *conf, char *err,
    size_t errlen)
{
	struct reload	 r;
	size_t		 i;
	int		 rc = -1, held = 0;

	memset(&r, 0, sizeof(r));
	r.conf = conf;
	if (sched_conf_check(conf, err, errlen) == -1)
		return -1;
	if (reload_prepare(&r) == -1)
		goto oom;
	pthread_mutex_lock(&s->mu);
	held = 1;
	while (s->reconf)
		pthread_cond_wait(&s->reconf_cv, &s->mu);
	s->reconf = 1;
	/* No admission is half done (journal write in flight) from here. */
	while (s->npending > 0)
		pthread_cond_wait(&s->reconf_cv, &s->mu);
	if ((r.lmap = calloc(s->nlocks, sizeof(*r.lmap))) == NULL ||
	    reload_prepare_jobs(s, &r) == -1)
		goto oom;
	reload_maps(s, &r);
	reload_commit(s, &r);
	(void)sched_runners_grow(s, runners_wanted(s, conf));
	sched_dispatch(s);
	sched_ev_queues(s);	/* other locks, other places */
	pthread_cond_broadcast(&s->timer_cv);
	rc = 0;
	goto out;
oom:
	sched_errf(err, errlen, "out of memory");
out:
	if (held) {
		s->reconf = 0;
		pthread_cond_broadcast(&s->reconf_cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; i < r.nsnaps; i++)
		sched_snapshot_write(s, r.snaps[i]);
	reload_free(&r);
	return rc;
}
