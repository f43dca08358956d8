/*
 * sched_thread: the scheduler's threads. Runners take started jobs off
 * the ready list (by default one runner per slot, which bounds the
 * running jobs), run the kernel outside the mutex, journal the end, then
 * release the slots and dispatch; a runner keeps the mutex and runs the
 * first job that its dispatch started (no other runner is woken for that
 * one), so a slot's release and its next start are one critical section
 * apart. The timer thread expires waiters past a lock's wait_timeout
 * (within a lock the list is in arrival order, so only heads need looking
 * at) and writes again the final states the journal refused.
 */
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched_int.h"

/* The test hook, with the job's slot of each of its locks. */
static int
run_hook(struct sched *s, const struct sjob *j, char *err, size_t errlen)
{
	int	*slots;
	size_t	 i;
	int	 rc;

	if ((slots = calloc(j->nlocks, sizeof(*slots))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < j->nlocks; i++)
		slots[i] = j->locks[i].slot;
	rc = s->opts.run_hook(&j->job, slots, j->device, s->opts.run_arg, err,
	    errlen);
	free(slots);
	return rc;
}


/* Runs j through the hook, the executor, or fails it (failing task). */
static void
run_exec(struct sched *s, struct sjob *j, const char *failing,
    struct sched_outcome *out)
{
	struct sched_run	 run;
	char			 err[256] = "";

	memset(out, 0, sizeof(*out));
	if (failing != NULL) {
		out->state = JOB_FAILED;
		out->error = strdup(failing);
	} else if (s->opts.run_hook != NULL) {
		out->state = run_hook(s, j, err, sizeof(err)) == 0 ? JOB_DONE :
		    JOB_FAILED;
		if (out->state == JOB_FAILED)
			out->error = strdup(err[0] != '\0' ? err :
			    "kernel failed");
	} else if (s->opts.exec == NULL) {
		out->state = JOB_FAILED;
		out->error = strdup("no executor for jobs");
	} else {
		run.job = &j->job;
		run.slot = j->locks[j->wlock].slot;
		run.device = j->device;
		s->opts.exec->run(s->opts.exec->arg, &run, out);
	}
	if (out->state != JOB_DONE && out->error == NULL)
		out->error = strdup("failed");
}

/* Under mu: waits on start_cv for ms, or until signalled. */
static void
start_sleep(struct sched *s, int64_t ms)
{
	struct timespec	 ts;
	int64_t		 at = sched_mono_ns() + ms * 1000000;

	ts.tv_sec = at / 1000000000;
	ts.tv_nsec = at % 1000000000;
	pthread_cond_timedwait(&s->start_cv, &s->mu, &ts);
}

/* What runner_journal_start says of a start. */
enum runner_start {
	RS_STOPPING = -1,	/* the scheduler stops: it stays queued */
	RS_RUN = 0,
	RS_CANCELLED,		/* cancelled before it ran */
	RS_TAKEN,		/* the cluster: another node's (sched_unstart) */
	RS_FULL			/* the cluster: a cluster lock is full */
};

/*
 * j's locks of scope "cluster" into cl, their names copied into names
 * (a reload may free the config while the claim runs; the caller frees
 * them): the count, or SIZE_MAX on ENOMEM.
 */
static size_t
runner_cluster_locks(struct sched *s, const struct sjob *j,
    struct journal_slot *cl, char **names)
{
	const struct lock	*L;
	size_t			 i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < j->nlocks; i++) {
		if ((L = sjob_lock(s, j, i)) == NULL ||
		    L->cl->scope != CONF_SCOPE_CLUSTER)
			continue;
		if ((names[n] = strdup(L->cl->name)) == NULL) {
			while (n > 0)
				free(names[--n]);
			n = SIZE_MAX;
			break;
		}
		cl[n].lock = names[n];
		cl[n].slots = L->cl->slots;
		n++;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

/*
 * Outside the mutex: journals j's start before it runs, since a job runs
 * only once the journal says so (a restart after a crash would run a job
 * the journal still holds as queued a second time). While the journal
 * refuses (its disk is full), j keeps its slots, shows as queued, which
 * is what the journal holds, and the write is tried again, backing off
 * as the final rewrites do, until it is taken, j is cancelled, or the
 * scheduler stops. In the cluster the start is a claim (journal_claim):
 * the cluster may say no. An enum runner_start.
 */
static int
runner_journal_start(struct sched *s, struct sjob *j)
{
	struct journal_slot	 cl[j->nlocks > 0 ? j->nlocks : 1];
	char			*names[j->nlocks > 0 ? j->nlocks : 1];
	size_t			 ncl, i;
	int			 tries = 0, rc = 0, r;
	int64_t			 at = j->job.started_ms;

	if ((ncl = runner_cluster_locks(s, j, cl, names)) == SIZE_MAX)
		return RS_STOPPING;
	if (s->jr != NULL)
		j->life = journal_generation(s->jr);
	while (s->jr != NULL && (r = journal_claim(s->jr, j->job.id, &at,
	    j->job.slot, j->job.device, cl, ncl)) != JOURNAL_CLAIMED) {
		if (r != -1) {
			rc = r == JOURNAL_CLAIM_TAKEN ? RS_TAKEN : RS_FULL;
			break;
		}
		pthread_mutex_lock(&s->mu);
		if (tries++ == 0) {
			fprintf(stderr, "%s: job %s: start not journaled, the "
			    "job waits: %s\n", __func__, j->job.id,
			    journal_error(s->jr));
			j->start_unsaved = 1;
			sched_ev_job(s, j);
			pthread_cond_signal(&s->timer_cv);	/* to probe */
		}
		if (j->cancelling)
			rc = RS_CANCELLED;
		else if (s->stop)
			rc = RS_STOPPING;
		else {
			start_sleep(s, sched_rewrite_delay_ms(tries));
			/* The start is when it runs, not when it first tried. */
			j->job.started_ms = at = job_now_ms();
			j->start_ns = sched_mono_ns();
		}
		pthread_mutex_unlock(&s->mu);
		if (rc != 0)
			break;
	}
	for (i = 0; i < ncl; i++)
		free(names[i]);
	if (rc != 0)
		return rc;
	if (at != j->job.started_ms) {	/* the cluster's record of it */
		pthread_mutex_lock(&s->mu);
		j->job.started_ms = at;
		pthread_mutex_unlock(&s->mu);
	}
	if (tries > 0) {
		fprintf(stderr, "%s: job %s: start journaled after %d failed "
		    "tries\n", __func__, j->job.id, tries);
		pthread_mutex_lock(&s->mu);
		j->start_unsaved = 0;
		sched_ev_job(s, j);
		pthread_mutex_unlock(&s->mu);
	}
	return 0;
}

/*
 * The cluster, after fin's final write: 1 when the journal holds fin's
 * state, 0 when the write was fenced (this node lost its lease while j
 * ran; the cluster ended it "node lost"). A failed read counts as kept.
 */
static int
runner_end_kept(struct sched *s, const struct job *fin)
{
	struct job	 row;
	int		 kept = 1;

	memset(&row, 0, sizeof(row));
	if (journal_get(s->jr, fin->id, &row) == 1) {
		kept = row.state == fin->state;
		job_clear(&row);
	}
	return kept;
}

/*
 * The cluster: j's uploads, which the database holds (journal_pg_files.c),
 * onto this disk before it runs. 0, or -1 with o the failure.
 */
static int
runner_inputs(struct sched *s, const struct sjob *j, struct sched_outcome *o)
{
	char	 msg[300];

	if (!sched_clustered(s) || j->job.inputs == NULL ||
	    journal_files_fetch(s->jr, j->job.id, JOBDIR_IN) != -1)
		return 0;
	snprintf(msg, sizeof(msg), "its uploads could not be read from the "
	    "cluster's database: %s", journal_error(s->jr));
	memset(o, 0, sizeof(*o));
	o->state = JOB_FAILED;
	o->error = strdup(msg);
	return -1;
}

/*
 * Runs j (taken off the ready list) outside the mutex, then takes the
 * mutex, ends j and dispatches. Returns with the mutex held, so that the
 * runner picks its next job without letting go of it in between.
 */
static void
runner_run(struct sched *s, struct sjob *j)
{
	struct sched_outcome	 o;
	struct job		 fin, *again = NULL;
	int			 started, lost;

	if ((started = runner_journal_start(s, j)) == RS_TAKEN ||
	    started == RS_FULL) {
		pthread_mutex_lock(&s->mu);
		sched_unstart(s, j, started == RS_FULL);
		sched_dispatch(s);
		return;
	}
	if (started != RS_RUN) {
		/* Cancelled before it ran; or stopping: it stays queued. */
		memset(&o, 0, sizeof(o));
		o.state = started == RS_CANCELLED ? JOB_CANCELLED : JOB_FAILED;
		o.error = strdup(started == RS_CANCELLED ? "cancelled" : "not started: "
		    "the journal could not record its start");
	} else if (runner_inputs(s, j, &o) == 0) {
		sched_log(s, "job_started", j->job.id, j->job.task,
		    j->job.session, (j->start_ns - j->enq_ns) / 1000000, -1,
		    j->job.device, NULL);
		run_exec(s, j, j->doomed, &o);
	}
	/* Nobody else writes a running job: these and a shallow copy. */
	if (o.device[0] != '\0')
		snprintf(j->job.device, sizeof(j->job.device), "%s", o.device);
	free(j->job.files);
	j->job.files = o.files;
	j->job.file_bytes += o.files_bytes;
	fin = j->job;
	fin.state = o.state;
	fin.finished_ms = job_now_ms();
	fin.result = o.result;
	fin.error = o.error;
	fin.has_png = o.has_png;
	/* Stopping with the start unsaved: the journal keeps it queued. */
	if (s->jr != NULL && started != -1 && journal_finish_stored(s->jr, &fin) == -1) {
		sched_final_failed(s, __func__, &fin, 1,
		    sched_rewrite_delay_ms(1));
		again = sched_final_copy(&fin, __func__);
	}
	sched_log(s, o.state == JOB_DONE ? "job_done" : "job_failed",
	    j->job.id, j->job.task, j->job.session,
	    (j->start_ns - j->enq_ns) / 1000000,
	    (sched_mono_ns() - j->start_ns) / 1000000, j->job.device, o.error);

	/* Read before the mutex: the journal's is never taken under it. */
	lost = sched_clustered(s) && started == RS_RUN &&
	    (journal_generation(s->jr) != j->life ||
	    !runner_end_kept(s, &fin));
	pthread_mutex_lock(&s->mu);
	if (again != NULL)
		sched_rewrite_add(s, again);
	j->start_unsaved = 0;
	sjob_end(s, j, o.state, o.result, o.error, o.has_png);
	/* Shown as the journal holds it (other nodes read it there). */
	j->job.finished_ms = fin.finished_ms;
	s->self_take = 1;
	sched_dispatch(s);
	s->self_take = 0;
	/*
	 * The node lost its lease while j ran (it rejoined since): the
	 * cluster ended j "node lost" and refused this end; lookups go to
	 * the journal, which says so.
	 */
	if (lost)
		sched_forget_finished(s, j);
}

static void *
runner_main(void *arg)
{
	struct sched	*s = arg;
	struct sjob	*j;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (STAILQ_EMPTY(&s->ready) && !s->stop) {
			s->idle++;
			pthread_cond_wait(&s->work_cv, &s->mu);
			s->idle--;
		}
		if ((j = STAILQ_FIRST(&s->ready)) == NULL)
			break;	/* stopping, nothing left to run */
		STAILQ_REMOVE_HEAD(&s->ready, ready);
		pthread_mutex_unlock(&s->mu);
		runner_run(s, j);	/* returns with s->mu held */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/*
 * Ends the waiters past their lock's wait_timeout, in arrival order.
 * Returns with the snapshots to write; *next is lowered to the next
 * deadline.
 */
static void
expire_due(struct sched *s, int64_t now, int64_t *next, struct job ***snaps,
    size_t *nsnaps)
{
	struct lock_waiter	*w;
	struct lock		*L;
	char			 msg[160];
	int64_t			 dl;
	size_t			 li;

	for (li = 0; li < s->nlocks; li++) {
		L = &s->locks[li];
		if (L->cl->wait_timeout <= 0)
			continue;
		while ((w = TAILQ_FIRST(&L->waiters)) != NULL) {
			dl = sjob_of_waiter(w)->enq_ns +
			    (int64_t)L->cl->wait_timeout * 1000000000;
			if (dl > now) {
				if (dl < *next)
					*next = dl;
				break;
			}
			snprintf(msg, sizeof(msg), "waited longer than %d s "
			    "for lock %s", L->cl->wait_timeout, L->cl->name);
			sched_end_waiter(s, sjob_of_waiter(w), JOB_EXPIRED,
			    msg, snaps, nsnaps);
		}
	}
}

/*
 * While the journal cannot write, tries it every SCHED_PROBE_MS (letting
 * go of the mutex meanwhile); once it can again, the starts and final
 * writes waiting on it are tried at once. Returns 1 when it probed, else
 * 0 with *next lowered to the next probe.
 */
static int
probe_due(struct sched *s, int64_t now, int64_t *next)
{
	struct rewrite	*r;
	int		 ok;

	if (s->jr == NULL || journal_unwritable(s->jr) == NULL)
		return 0;
	if (now < s->probe_ns) {
		if (s->probe_ns < *next)
			*next = s->probe_ns;
		return 0;
	}
	s->probe_ns = now + (int64_t)SCHED_PROBE_MS * 1000000;
	pthread_mutex_unlock(&s->mu);
	ok = journal_probe(s->jr) == 0;
	pthread_mutex_lock(&s->mu);
	if (ok) {
		pthread_cond_broadcast(&s->start_cv);
		SLIST_FOREACH(r, &s->rewrites, link)
			r->due_ns = now;
	}
	return 1;
}

/* Sleeps on timer_cv until next (mono ns; INT64_MAX: until signalled). */
static void
timer_sleep(struct sched *s, int64_t next)
{
	struct timespec	 ts;

	if (next == INT64_MAX) {
		pthread_cond_wait(&s->timer_cv, &s->mu);
		return;
	}
	ts.tv_sec = next / 1000000000;
	ts.tv_nsec = next % 1000000000;
	pthread_cond_timedwait(&s->timer_cv, &s->mu, &ts);
}

static void *
timer_main(void *arg)
{
	struct sched	*s = arg;
	struct job	**snaps = NULL;
	int64_t		 now, next;
	size_t		 nsnaps, i;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		now = sched_mono_ns();
		next = INT64_MAX;
		nsnaps = 0;
		expire_due(s, now, &next, &snaps, &nsnaps);
		if (nsnaps > 0) {
			sched_dispatch(s);
			pthread_mutex_unlock(&s->mu);
			for (i = 0; i < nsnaps; i++)
				sched_snapshot_write(s, snaps[i]);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (!SLIST_EMPTY(&s->rewrites) &&
		    sched_rewrite_due(s, now, &next))
			continue;
		if (probe_due(s, now, &next))
			continue;
		timer_sleep(s, next);
	}
	pthread_mutex_unlock(&s->mu);
	free(snaps);
	return NULL;
}

/*
 * Starts nrunners runners and the timer, outside the mutex (nothing else
 * runs yet). Returns 0, or -1 with err (the threads started are stopped
 * by sched_threads_stop).
 */
int
sched_threads_start(struct sched *s, size_t nrunners, char *err,
    size_t errlen)
{
	size_t	 i;

	if ((s->runners = calloc(nrunners, sizeof(*s->runners))) == NULL) {
		sched_errf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < nrunners; i++) {
		if (pthread_create(&s->runners[i], NULL, runner_main, s) != 0) {
			sched_errf(err, errlen, "pthread_create failed");
			return -1;
		}
		s->nrunners = (int)i + 1;
	}
	if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
		sched_errf(err, errlen, "pthread_create failed");
		return -1;
	}
	s->timer_started = 1;
	return 0;
}

/* Under mu: grows the runners to want (a reload added slots). */
int
sched_runners_grow(struct sched *s, size_t want)
{
	pthread_t	*grown;

	if (want <= (size_t)s->nrunners || s->stop)
		return 0;
	if ((grown = realloc(s->runners, want * sizeof(*grown))) == NULL)
		return -1;
	s->runners = grown;
	while ((size_t)s->nrunners < want && pthread_create(
	    &s->runners[s->nrunners], NULL, runner_main, s) == 0)
		s->nrunners++;
	return (size_t)s->nrunners == want ? 0 : -1;
}

/*
 * Outside the mutex: stops and joins every thread. Runners finish the
 * job in hand first; started jobs still on the ready list are run too.
 */
void
sched_threads_stop(struct sched *s)
{
	int	 k;

	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	s->draining = 1;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->timer_cv);
	pthread_cond_broadcast(&s->start_cv);
	pthread_mutex_unlock(&s->mu);
	for (k = 0; k < s->nrunners; k++)
		pthread_join(s->runners[k], NULL);
	if (s->timer_started)
		pthread_join(s->timer, NULL);
	s->timer_started = 0;
	s->nrunners = 0;
}
