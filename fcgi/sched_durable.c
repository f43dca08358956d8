/*
 * sched_durable: final records and the journal. A final state is written
 * once by whoever ends the job; a write the journal refuses (disk full,
 * I/O error) becomes a rewrite that the timer thread repeats, backing
 * off from 1 s to 60 s, until the journal takes it, so that a job's row
 * never stays "running" because one write failed. The job's files are
 * stored before (its inputs by the submission, its outputs by the
 * executor), so a rewrite is the row alone.
 *
 * Functions run under sched.mu unless their comment says "outside".
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobdir.h"
#include "sched_int.h"

#define SCHED_REWRITE_MS	1000	/* first rewrite of a final state ... */
#define SCHED_REWRITE_MAX_MS	60000	/* ... doubling up to this */

/* A deep copy of a final record, or NULL (logged) on ENOMEM. Any thread. */
struct job *
sched_final_copy(const struct job *jb, const char *func)
{
	struct job	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL || job_copy(c, jb) == -1) {
		free(c);
		fprintf(stderr, "%s: job %s: out of memory: final state %s "
		    "not journaled\n", func, jb->id, job_state_name(jb->state));
		return NULL;
	}
	return c;
}

static void
final_free(struct job *c)
{
	job_clear(c);
	free(c);
}

/* A final write failed: says so, with the journal's reason. Any thread. */
void
sched_final_failed(struct sched *s, const char *func, const struct job *jb,
    int tries, int64_t next_ms)
{
	fprintf(stderr, "%s: job %s: final state %s not journaled (try %d), "
	    "retrying in %lld ms: %s\n", func, jb->id,
	    job_state_name(jb->state), tries, (long long)next_ms,
	    journal_error(s->jr));
}

/* Delay before the next write of a record that failed tries times. */
int64_t
sched_rewrite_delay_ms(int tries)
{
	int64_t	 ms = SCHED_REWRITE_MS;

	while (--tries > 0 && ms < SCHED_REWRITE_MAX_MS)
		ms *= 2;
	return ms < SCHED_REWRITE_MAX_MS ? ms : SCHED_REWRITE_MAX_MS;
}

/*
 * Hands the final record c (taken; the journal refused it once) to the
 * timer thread, which writes it again until the journal takes it.
 */
void
sched_rewrite_add(struct sched *s, struct job *c)
{
	struct rewrite	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "%s: job %s: out of memory: final state %s "
		    "lost\n", __func__, c->id, job_state_name(c->state));
		final_free(c);
		return;
	}
	r->job = c;
	r->tries = 1;
	r->due_ns = sched_mono_ns() + sched_rewrite_delay_ms(1) * 1000000;
	SLIST_INSERT_HEAD(&s->rewrites, r, link);
	pthread_cond_signal(&s->timer_cv);
}

/* The record of job id waiting to be written again, or NULL. */
const struct job *
sched_rewrite_find(struct sched *s, const char *id)
{
	struct rewrite	*r;

	SLIST_FOREACH(r, &s->rewrites, link)
		if (strcmp(r->job->id, id) == 0)
			return r->job;
	return NULL;
}

/* Outside the mutex: writes the marked records from head on. */
static void
rewrite_marked(struct sched *s, struct rewrite *head)
{
	struct rewrite	*r;

	for (r = head; r != NULL; r = SLIST_NEXT(r, link)) {
		if (!r->trying)
			continue;
		/* 1: written, without its files (they did not fit). */
		r->ok = journal_finish_stored(s->jr, r->job) >= 0;
		if (r->ok)
			fprintf(stderr, "%s: job %s: final state %s journaled "
			    "after %d failed tries\n", __func__, r->job->id,
			    job_state_name(r->job->state), r->tries);
		else {
			r->tries++;
			sched_final_failed(s, __func__, r->job, r->tries,
			    sched_rewrite_delay_ms(r->tries));
		}
	}
}

/*
 * Timer thread: writes again the records due by now (letting go of the
 * mutex meanwhile), drops those the journal took and sets the next
 * attempt of the others. Returns 1 when it wrote (the mutex was let go),
 * else 0 with *next lowered to the earliest due time.
 */
int
sched_rewrite_due(struct sched *s, int64_t now, int64_t *next)
{
	struct rewrite	*r, *tmp, *head;
	int		 n = 0;

	SLIST_FOREACH(r, &s->rewrites, link)
		if (r->due_ns <= now) {
			r->trying = 1;
			n++;
		} else if (r->due_ns < *next)
			*next = r->due_ns;
	if (n == 0)
		return 0;
	/* Others only add at the head: from head on, the list holds still. */
	head = SLIST_FIRST(&s->rewrites);
	pthread_mutex_unlock(&s->mu);
	rewrite_marked(s, head);
	pthread_mutex_lock(&s->mu);
	now = sched_mono_ns();
	/* glibc's sys/queue.h has no SLIST_FOREACH_SAFE. */
	for (r = SLIST_FIRST(&s->rewrites); r != NULL; r = tmp) {
		tmp = SLIST_NEXT(r, link);
		if (!r->trying)
			continue;
		r->trying = 0;
		if (!r->ok) {
			r->due_ns = now + sched_rewrite_delay_ms(r->tries) *
			    1000000;
			continue;
		}
		SLIST_REMOVE(&s->rewrites, r, rewrite, link);
		final_free(r->job);
		free(r);
	}
	return 1;
}

/*
 * sched_destroy, threads stopped: one last write of each record left;
 * a state still refused is lost (the row stays running, and the restart
 * fails it), and so are its output files, which nothing would count.
 */
void
sched_rewrite_flush(struct sched *s)
{
	struct rewrite	*r;

	while ((r = SLIST_FIRST(&s->rewrites)) != NULL) {
		SLIST_REMOVE_HEAD(&s->rewrites, link);
		if (journal_finish_stored(s->jr, r->job) == -1) {
			fprintf(stderr, "%s: job %s: final state %s lost after "
			    "%d tries: %s\n", __func__, r->job->id,
			    job_state_name(r->job->state), r->tries + 1,
			    journal_error(s->jr));
			(void)jobdir_remove_kind(journal_files_root(s->jr),
			    r->job->id, JOBDIR_OUT);
		}
		final_free(r->job);
		free(r);
	}
}

/* A deep copy for a journal write outside the mutex; NULL if not needed. */
struct job *
sched_snapshot(struct sched *s, const struct sjob *j)
{
	if (s->jr == NULL && s->opts.log == NULL)
		return NULL;
	return sched_final_copy(&j->job, __func__);
}

/*
 * Outside the mutex: writes and logs a final record of a job that did
 * not run to its end (cancelled, expired, failed by a reload), taking c.
 * A write the journal refuses becomes a rewrite.
 */
void
sched_snapshot_write(struct sched *s, struct job *c)
{
	if (c == NULL)
		return;
	sched_log_job(s, c);
	if (s->jr != NULL && journal_finish_stored(s->jr, c) == -1) {
		sched_final_failed(s, __func__, c, 1,
		    sched_rewrite_delay_ms(1));
		pthread_mutex_lock(&s->mu);
		sched_rewrite_add(s, c);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	final_free(c);
}

/*
 * Ends waiter j in state with msg; its snapshot (to write once the mutex
 * is let go) is added to *snaps.
 */
void
sched_end_waiter(struct sched *s, struct sjob *j, enum job_state state,
    const char *msg, struct job ***snaps, size_t *nsnaps)
{
	struct job	**grown, *c;

	sjob_end(s, j, state, NULL, strdup(msg), 0);
	if ((c = sched_snapshot(s, j)) == NULL)
		return;
	grown = realloc(*snaps, (*nsnaps + 1) * sizeof(**snaps));
	if (grown == NULL) {
		final_free(c);
		return;
	}
	*snaps = grown;
	(*snaps)[(*nsnaps)++] = c;
}
