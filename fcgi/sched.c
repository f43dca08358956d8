/*
 * sched: runs jobs under the keyed locks of the config. See sched.h for
 * the contract and sched_int.h for how the files share the work; this
 * file creates and destroys the scheduler and holds the public API that
 * responder threads call: submit, cancel, lookup, drain, evict. None of
 * them waits for a lock or a kernel: they take sched.mu for a few
 * microseconds (the journal writes happen outside it) and return.
 */
#include <sys/queue.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched_int.h"

/*
 * What the scheduler needs of a config beyond conf_load's checks, which
 * a config built another way (tests) may not have passed: every lock's
 * slots within its bitmap, and no more slots in all than runner threads
 * it may start (a started job beyond them would hold slots unrun).
 */
static void	evict_forget(const char *, void *);

int
sched_conf_check(const struct conf *conf, char *err, size_t errlen)
{
	long	 total = 0;
	size_t	 i;

	if (conf->nlocks == 0 || conf->ntasks == 0) {
		sched_errf(err, errlen, "no locks or no tasks");
		return -1;
	}
	for (i = 0; i < conf->nlocks; i++) {
		if (conf->locks[i].slots < 1 ||
		    conf->locks[i].slots > SLOTS_MAX) {
			sched_errf(err, errlen, "locks.%s.slots: must be "
			    "1..%d", conf->locks[i].name, SLOTS_MAX);
			return -1;
		}
		total += conf->locks[i].slots;
	}
	if (total > CONF_MAX_TOTAL_SLOTS) {
		sched_errf(err, errlen, "locks: %ld slots in all, more than %d",
		    total, CONF_MAX_TOTAL_SLOTS);
		return -1;
	}
	return 0;
}

/* The locks and tasks of conf (checked), before any thread. */
static int
sched_build(struct sched *s, const struct conf *conf)
{
	size_t	 i;

	s->nlocks = conf->nlocks;
	s->ntasks = conf->ntasks;
	s->locks = calloc(s->nlocks, sizeof(*s->locks));
	s->tasks = calloc(s->ntasks, sizeof(*s->tasks));
	s->nbuckets = SCHED_ID_BUCKETS;
	s->by_id = calloc(s->nbuckets, sizeof(*s->by_id));
	s->by_nonce = calloc(s->nbuckets, sizeof(*s->by_nonce));
	s->sessions = calloc(SCHED_SESS_BUCKETS, sizeof(*s->sessions));
	s->clients = calloc(SCHED_CLIENT_BUCKETS, sizeof(*s->clients));
	if (s->locks == NULL || s->tasks == NULL || s->by_id == NULL ||
	    s->by_nonce == NULL || s->sessions == NULL || s->clients == NULL)
		return -1;
	for (i = 0; i < s->nlocks; i++)
		(void)lock_init(&s->locks[i], &conf->locks[i]);
	for (i = 0; i < s->ntasks; i++) {
		if ((s->tasks[i] = stask_new()) == NULL)
			return -1;
		sched_task_bind(s->tasks[i], &conf->tasks[i]);
	}
	return 0;
}

static void
sched_sync_init(struct sched *s)
{
	pthread_condattr_t	 ca;

	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->timer_cv, &ca);
	pthread_cond_init(&s->drain_cv, &ca);
	pthread_cond_init(&s->reconf_cv, NULL);
	pthread_cond_init(&s->start_cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* Frees what sched_build and the jobs hold (no thread runs). */
static void
sched_free_all(struct sched *s)
{
	struct sjob	*j;
	struct sess	*e;
	struct sclient	*c;
	struct stask	*st;
	size_t		 i;

	for (i = 0; i < s->nbuckets && s->by_id != NULL; i++)
		while ((j = LIST_FIRST(&s->by_id[i])) != NULL) {
			sched_job_unindex(s, j);
			sjob_free(j);	/* queued jobs stay journaled */
		}
	for (i = 0; i < SCHED_SESS_BUCKETS && s->sessions != NULL; i++)
		while ((e = LIST_FIRST(&s->sessions[i])) != NULL) {
			LIST_REMOVE(e, link);
			sched_sess_free(e);
		}
	for (i = 0; i < SCHED_CLIENT_BUCKETS && s->clients != NULL; i++)
		while ((c = LIST_FIRST(&s->clients[i])) != NULL) {
			LIST_REMOVE(c, link);
			free(c);
		}
	for (i = 0; i < s->nlocks && s->locks != NULL; i++)
		lock_free(&s->locks[i]);
	for (i = 0; i < s->ntasks && s->tasks != NULL; i++)
		stask_free(s->tasks[i]);
	while ((st = SLIST_FIRST(&s->retired)) != NULL) {
		SLIST_REMOVE_HEAD(&s->retired, retired);
		stask_free(st);
	}
	sched_ev_free(s);
	free(s->runners);
	free(s->locks);
	free(s->tasks);
	free(s->by_id);
	free(s->by_nonce);
	free(s->sessions);
	free(s->clients);
	free(s);
}

/* Runners by default: one per slot of all locks (conf checked). */
static size_t
default_runners(const struct conf *conf)
{
	size_t	 i, total = 0;

	for (i = 0; i < conf->nlocks; i++)
		total += (size_t)conf->locks[i].slots;
	return total;
}

struct sched *
sched_create(const struct conf *conf, struct journal *jr,
    const struct sched_opts *opts, char *err, size_t errlen)
{
	struct sched	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sched_errf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = conf;
	s->jr = jr;
	if (opts != NULL)
		s->opts = *opts;
	s->next_seq = 1;
	STAILQ_INIT(&s->ready);
	TAILQ_INIT(&s->running.head);
	TAILQ_INIT(&s->finished.head);
	SLIST_INIT(&s->rewrites);
	SLIST_INIT(&s->retired);
	if (sched_conf_check(conf, err, errlen) == -1) {
		sched_free_all(s);
		return NULL;
	}
	sched_sync_init(s);
	if (sched_build(s, conf) == -1) {
		sched_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (jr != NULL)
		journal_on_evict(jr, evict_forget, s);
	if (jr != NULL && sched_recover(s, err, errlen) == -1)
		goto fail;
	pthread_mutex_lock(&s->mu);
	sched_dispatch(s);	/* recovered jobs */
	pthread_mutex_unlock(&s->mu);
	if (sched_threads_start(s, s->opts.threads > 0 ?
	    (size_t)s->opts.threads : default_runners(conf), err,
	    errlen) == -1)
		goto fail;
	return s;
fail:
	sched_destroy(s);
	return NULL;
}

void
sched_destroy(struct sched *s)
{
	if (s == NULL)
		return;
	sched_threads_stop(s);
	if (s->jr != NULL) {
		sched_rewrite_flush(s);
		journal_on_evict(s->jr, NULL, NULL);	/* s goes */
	}
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->timer_cv);
	pthread_cond_destroy(&s->drain_cv);
	pthread_cond_destroy(&s->reconf_cv);
	pthread_cond_destroy(&s->start_cv);
	pthread_mutex_destroy(&s->mu);
	sched_free_all(s);
}

/* ---------------------------------------------------------------------- */
/* Submission, in steps */

/*
 * A repeated nonce answers with the job it made, but only for the same
 * task: a nonce reused for another task is a client error (CONFLICT).
 */
static enum sched_rc
nonce_answer(const char *old_id, const char *old_task, const char *task,
    char id[JOB_ID_LEN + 1])
{
	memcpy(id, old_id, JOB_ID_LEN + 1);
	return old_task != NULL && strcmp(old_task, task) == 0 ? SCHED_OK :
	    SCHED_CONFLICT;
}

/*
 * Outside the mutex: the job a repeated (session, nonce) made, in memory
 * and then in the journal. Returns 1 with *rc set when there is one,
 * 0 when not, -1 when the journal cannot say.
 */
static int
nonce_lookup(struct sched *s, const char *session, const char *nonce,
    const char *task, char id[JOB_ID_LEN + 1], enum sched_rc *rc)
{
	struct sjob	*old;
	struct job	 found;
	int		 r;

	pthread_mutex_lock(&s->mu);
	if ((old = sched_nonce_find(s, session, nonce)) != NULL)
		*rc = nonce_answer(old->job.id, old->job.task, task, id);
	pthread_mutex_unlock(&s->mu);
	if (old != NULL)
		return 1;
	if (s->jr == NULL)
		return 0;
	memset(&found, 0, sizeof(found));
	if ((r = journal_find_nonce(s->jr, session, nonce, &found)) == 1) {
		*rc = nonce_answer(found.id, found.task, task, id);
		job_clear(&found);
	}
	return r;
}

/*
 * Under mu: whether the session's cap, the client's (c NULL: none; 0 in
 * the config: no cap) and every lock's queue leave room for a job of st.
 * Sessions are free (nginx mints one for any request without a cookie),
 * so the session's cap alone does not stop one address from taking every
 * queue. Returns SCHED_OK, or the refusal counted with *retry_after set.
 */
static enum sched_rc
admission(struct sched *s, struct stask *st, const struct sess *e,
    const struct sclient *c, int *retry_after)
{
	struct lock	*L;
	size_t		 i;
	enum sched_rc	 cap = SCHED_OK;

	if (e->active >= s->conf->max_active)
		cap = SCHED_SESSION_LIMIT;
	else if (c != NULL && s->conf->client_max_active > 0 &&
	    c->active >= s->conf->client_max_active)
		cap = SCHED_CLIENT_LIMIT;
	if (cap != SCHED_OK) {
		st->refused++;
		*retry_after = sched_retry_after_secs(sched_eta_ms(s, st, NULL,
		    NULL));
		return cap;
	}
	for (i = 0; i < st->ct->nlocks; i++) {
		L = &s->locks[st->ct->lock_index[i]];
		/* A free slot is room too, so that queue = 0 still runs. */
		if (L->nwait + L->npending >= L->cl->queue +
		    (L->cl->slots - lock_busy(L))) {
			L->n.refused++;
			st->refused++;
			*retry_after = sched_retry_after_secs(
			    sched_first_end_ms(s, st->ct->lock_index[i],
			    sched_est_now(s)));
			return SCHED_QUEUE_FULL;
		}
	}
	return SCHED_OK;
}

/* Under mu: j's places are held while its journal write is in flight. */
static void
pending_count(struct sched *s, struct sjob *j, int delta)
{
	size_t	 i;

	j->pending = delta > 0;
	s->npending += delta;
	for (i = 0; i < j->nlocks; i++)
		sjob_lock(s, j, i)->npending += delta;
	if (s->npending == 0 && s->reconf)
		pthread_cond_broadcast(&s->reconf_cv);
}

/* Under mu: j (admitted, indexed, counted active) is forgotten again. */
static void
admit_undo(struct sched *s, struct sjob *j)
{
	j->st->nqueued--;
	sched_job_unindex(s, j);
	sched_job_uncount(s, j);
	if (s->drain_waiters > 0)
		pthread_cond_broadcast(&s->drain_cv);
}

/*
 * Under mu, let go of for the journal write: j, admitted, is journaled
 * before it can start (journal_admit: in the cluster the database has
 * the last word on the nonce and the session's cap, and numbers it).
 * Returns JOURNAL_ADMITTED, or with j undone (the caller frees it): -1
 * when the journal refused it, JOURNAL_ADMIT_NONCE with the id of the
 * job its nonce made already in j->job.id, JOURNAL_ADMIT_CAP.
 */
static int
admit_journal(struct sched *s, struct sjob *j)
{
	char	 old[JOB_ID_LEN + 1];
	int	 r;

	pending_count(s, j, 1);
	pthread_mutex_unlock(&s->mu);
	r = journal_admit(s->jr, &j->job, sched_clustered(s) ?
	    s->conf->max_active : 0, old);
	/* Logged now: no runner can start it before the relock. */
	if (r == JOURNAL_ADMITTED)
		sched_log(s, "job_queued", j->job.id, j->job.task,
		    j->job.session, -1, -1, NULL, NULL);
	else if (r == -1)
		sched_log(s, "job_failed", j->job.id, j->job.task,
		    j->job.session, -1, -1, NULL, "journal write failed");
	pthread_mutex_lock(&s->mu);
	pending_count(s, j, -1);
	if (r == JOURNAL_ADMITTED)
		return r;
	if (r == -1) {
		fprintf(stderr, "%s: job %s: %s\n", __func__, j->job.id,
		    journal_error(s->jr));
		/* The timer probes a journal that cannot write. */
		pthread_cond_signal(&s->timer_cv);
	}
	admit_undo(s, j);
	if (r == JOURNAL_ADMIT_NONCE)
		memcpy(j->job.id, old, sizeof(old));
	return r;
}

/*
 * Under mu: j of st for session e and client c (or NULL) passed
 * admission: numbered, indexed, journaled, queued, dispatched. Returns
 * SCHED_OK with the job's id in id: j is the scheduler's, or (the
 * cluster had the job of its nonce already, whose id it is) freed.
 * Else SCHED_JOURNAL_DOWN or SCHED_SESSION_LIMIT (the cluster's count)
 * with *retry_after set, or SCHED_ERROR; the caller frees j.
 */
static enum sched_rc
admit(struct sched *s, struct sjob *j, struct sess *e, struct sclient *c,
    char id[JOB_ID_LEN + 1], int *retry_after)
{
	int	 r;

	if (sched_reserve(s, j) == -1) {
		sched_sess_put(s, e);
		sched_client_put(s, c);
		return SCHED_ERROR;
	}
	sched_job_count(s, j, e, c);
	/* The cluster numbers its jobs: journal_admit sets it. */
	j->job.seq = sched_clustered(s) ? 0 : s->next_seq++;
	j->enq_ns = sched_mono_ns();
	sched_job_index(s, j);
	j->st->nqueued++;	/* pending counts as queued */
	if (s->jr != NULL && (r = admit_journal(s, j)) != JOURNAL_ADMITTED) {
		if (r == JOURNAL_ADMIT_NONCE) {
			memcpy(id, j->job.id, JOB_ID_LEN + 1);
			sjob_free(j);
			return SCHED_OK;
		}
		if (r == JOURNAL_ADMIT_CAP) {
			j->st->refused++;
			*retry_after = sched_retry_after_secs(sched_eta_ms(s,
			    j->st, NULL, NULL));
			return SCHED_SESSION_LIMIT;
		}
		if (journal_unwritable(s->jr) == NULL)
			return SCHED_ERROR;
		*retry_after = SCHED_JOURNAL_RETRY_S;
		return SCHED_JOURNAL_DOWN;
	}
	j->st->nqueued--;	/* sched_enqueue counts it again */
	sched_count_admitted(s, j);
	sched_enqueue(s, j);
	sched_dispatch(s);
	memcpy(id, j->job.id, JOB_ID_LEN + 1);
	return SCHED_OK;
}

/* 1 when two inputs signatures (NULL: none) are the same. */
static int
sig_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Under mu: the steps from the task to an admitted job (params parsed). */
static enum sched_rc
submit_locked(struct sched *s, const struct sched_request *rq,
    const json_t *params, char id[JOB_ID_LEN + 1], int *retry_after)
{
	struct stask	*st;
	struct sjob	*j, *old;
	struct sess	*e;
	struct sclient	*c = NULL;
	enum sched_rc	 rc;

	while (s->reconf)
		pthread_cond_wait(&s->reconf_cv, &s->mu);
	if ((st = sched_task_find(s, rq->task)) == NULL)
		return SCHED_UNKNOWN_TASK;
	/*
	 * params fit the inputs of the caller's config generation; a SIGHUP
	 * since may have given the task other ones (another kernel, other
	 * inputs): running it with these values would be garbage.
	 */
	if (!sig_equal(st->ct->inputs_sig, rq->sig)) {
		*retry_after = 1;
		return SCHED_CHANGED;
	}
	if (s->draining)
		return SCHED_DRAINING;
	/* A job it cannot record would be lost, or run twice, by a crash. */
	if (s->jr != NULL && journal_unwritable(s->jr) != NULL) {
		*retry_after = SCHED_JOURNAL_RETRY_S;
		return SCHED_JOURNAL_DOWN;
	}
	if (rq->nonce[0] != '\0' && (old = sched_nonce_find(s, rq->session,
	    rq->nonce)) != NULL)
		return nonce_answer(old->job.id, old->job.task, rq->task, id);
	if ((e = sched_sess_get(s, rq->session, 1)) == NULL ||
	    (rq->client[0] != '\0' && (c = sched_client_get(s, rq->client,
	    1)) == NULL)) {
		sched_sess_put(s, e);
		return SCHED_ERROR;
	}
	if ((rc = admission(s, st, e, c, retry_after)) != SCHED_OK ||
	    (j = sjob_new(st, rq->session, rq->nonce, rq->params, params)) ==
	    NULL ||
	    (rq->inputs != NULL && (j->job.inputs = strdup(rq->inputs)) ==
	    NULL)) {
		if (rc == SCHED_OK) {
			sjob_free(j);
			rc = SCHED_ERROR;
		}
		sched_sess_put(s, e);
		sched_client_put(s, c);
		return rc;
	}
	snprintf(j->job.client, sizeof(j->job.client), "%s", rq->client);
	j->job.file_bytes = rq->input_bytes;
	if (rq->id != NULL)
		memcpy(j->job.id, rq->id, JOB_ID_LEN + 1);
	else
		job_new_id(j->job.id);
	j->job.created_ms = job_now_ms();
	if ((rc = admit(s, j, e, c, id, retry_after)) != SCHED_OK)
		sjob_free(j);
	return rc;
}

enum sched_rc
sched_submit_req(struct sched *s, const struct sched_request *req,
    char id[JOB_ID_LEN + 1], int *retry_after)
{
	struct sched_request	 rq = *req;
	json_t			*params;
	enum sched_rc		 rc;
	int			 dummy;

	if (retry_after == NULL)
		retry_after = &dummy;
	*retry_after = 0;
	if (rq.nonce == NULL)
		rq.nonce = "";
	if (rq.client == NULL)
		rq.client = "";
	if (rq.session == NULL || strlen(rq.session) > JOB_SESSION_LEN ||
	    strlen(rq.client) > JOB_CLIENT_LEN ||
	    strlen(rq.nonce) > JOB_NONCE_MAX ||
	    (rq.id != NULL && !job_id_valid(rq.id)) || rq.input_bytes < 0)
		return SCHED_ERROR;
	if (rq.task == NULL)
		return SCHED_UNKNOWN_TASK;
	if (rq.nonce[0] != '\0') {
		switch (nonce_lookup(s, rq.session, rq.nonce, rq.task, id,
		    &rc)) {
		case 1:
			return rc;
		case -1:
			/* The cluster's database away: try again later. */
			if (journal_unwritable(s->jr) == NULL)
				return SCHED_ERROR;
			*retry_after = SCHED_JOURNAL_RETRY_S;
			return SCHED_JOURNAL_DOWN;
		default:
			break;
		}
	}
	/* The params' cost is read from them outside the mutex. */
	params = rq.params != NULL ? json_loads(rq.params, 0, NULL) : NULL;
	pthread_mutex_lock(&s->mu);
	rc = submit_locked(s, &rq, params, id, retry_after);
	pthread_mutex_unlock(&s->mu);
	json_decref(params);
	/* With a journal it was logged before the journal write. */
	if (rc == SCHED_OK && s->jr == NULL)
		sched_log(s, "job_queued", id, rq.task, rq.session, -1, -1,
		    NULL, NULL);
	return rc;
}

enum sched_rc
sched_submit(struct sched *s, const char *task, const char *sig,
    const char *session, const char *nonce, const char *params_json,
    char id[JOB_ID_LEN + 1], int *retry_after)
{
	struct sched_request	 rq;

	memset(&rq, 0, sizeof(rq));
	rq.task = task;
	rq.sig = sig;
	rq.session = session;
	rq.nonce = nonce;
	rq.params = params_json;
	return sched_submit_req(s, &rq, id, retry_after);
}

/* ---------------------------------------------------------------------- */
/* Cancel, lookup, drain, evict */

/*
 * Outside the mutex, in the cluster: cancel of a job another node runs
 * (its node hears "c ID" and stops its worker) or that waits only
 * elsewhere (a task this node does not offer): its end is written here,
 * fenced on its being queued still (a node that takes it meanwhile
 * wins, and hears the cancel).
 */
static enum sched_rc
cancel_elsewhere(struct sched *s, struct job *found)
{
	if (found->state == JOB_QUEUED) {
		found->state = JOB_CANCELLED;
		found->finished_ms = job_now_ms();
		free(found->error);
		found->error = strdup("cancelled");
		if (journal_finish_stored(s->jr, found) == -1)
			return SCHED_ERROR;
		sched_log_job(s, found);
	}
	return journal_notify(s->jr, "c", found->id) == 0 ? SCHED_OK :
	    SCHED_ERROR;
}

/* Outside the mutex: cancel of a job only the journal knows. */
static enum sched_rc
cancel_journaled(struct sched *s, const char *id, const char *session)
{
	struct job	 found;
	enum sched_rc	 rc;

	if (s->jr == NULL)
		return SCHED_NOT_FOUND;
	memset(&found, 0, sizeof(found));
	if (journal_get(s->jr, id, &found) != 1)
		return SCHED_NOT_FOUND;
	if (session != NULL && strcmp(found.session, session) != 0)
		rc = SCHED_NOT_FOUND;
	else if (sched_clustered(s) && !job_state_final(found.state))
		rc = cancel_elsewhere(s, &found);
	else
		rc = SCHED_CONFLICT;
	job_clear(&found);
	return rc;
}

/*
 * Under mu: asks running j's worker to stop (once); the job ends when
 * the executor's run returns. Without an executor (the tests' hook) a
 * running job cannot be stopped.
 */
enum sched_rc
sched_cancel_running(struct sched *s, struct sjob *j)
{
	const struct sched_exec	*x = s->opts.exec;

	if (j->start_unsaved) {
		/* Not run yet: the runner ends it instead of running it. */
		j->cancelling = 1;
		pthread_cond_broadcast(&s->start_cv);
		return SCHED_OK;
	}
	if (x == NULL || x->cancel == NULL)
		return SCHED_CONFLICT;
	if (!j->cancelling && j->doomed == NULL &&
	    x->cancel(x->arg, j->job.id) == 0)
		j->cancelling = 1;
	return SCHED_OK;
}

enum sched_rc
sched_cancel(struct sched *s, const char *id, const char *session)
{
	struct sjob	*j;
	struct job	*snap = NULL;
	enum sched_rc	 rc;
	int		 tell = 0;

	if (id == NULL)
		return SCHED_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) == NULL) {
		pthread_mutex_unlock(&s->mu);
		return cancel_journaled(s, id, session);
	}
	if ((session != NULL && strcmp(j->job.session, session) != 0) ||
	    j->pending)
		rc = SCHED_NOT_FOUND;
	else if (j->job.state == JOB_RUNNING)
		rc = sched_cancel_running(s, j);
	else if (j->job.state != JOB_QUEUED)
		rc = SCHED_CONFLICT;
	else {
		sjob_end(s, j, JOB_CANCELLED, NULL, strdup("cancelled"), 0);
		snap = sched_snapshot(s, j);
		sched_dispatch(s);
		tell = sched_clustered(s);
		rc = SCHED_OK;
	}
	pthread_mutex_unlock(&s->mu);
	sched_snapshot_write(s, snap);
	/*
	 * A waiter here may be another node's start already (its "s ID" not
	 * heard yet): the end written above was fenced off, and that node
	 * must hear the cancel.
	 */
	if (tell && journal_notify(s->jr, "c", id) == -1)
		rc = SCHED_ERROR;
	return rc;
}

/* Under mu: copies job j into out with its live position and ETA. */
static enum sched_rc
lookup_live(struct sched *s, const struct sjob *j, struct job *out)
{
	int64_t	 left;
	int	 pos;

	if (job_copy(out, &j->job) == -1)
		return SCHED_ERROR;
	out->position = -1;
	out->eta_ms = -1;
	if (j->start_unsaved) {
		/* Holds its slots, but the journal says queued: so do we. */
		out->state = JOB_QUEUED;
		out->started_ms = 0;
		out->position = 0;
		out->eta_ms = (int64_t)ceil(sjob_est_ms(j));
	} else if (j->job.state == JOB_QUEUED) {
		out->eta_ms = sched_eta_ms(s, j->st, j->pending ? NULL : j,
		    &pos);
		out->position = pos;
	} else if (j->job.state == JOB_RUNNING) {
		left = (int64_t)ceil(sjob_left_ms(j, sched_est_now(s)));
		out->eta_ms = left > 0 ? left : 0;
	}
	return SCHED_OK;
}

/*
 * Under mu: the job from memory: live, or a final record not journaled
 * yet (newer than the journal's row). Returns 1 with *rc set when found
 * there (NOT_FOUND for another session's), 0 when the journal must say.
 */
static int
lookup_memory(struct sched *s, const char *id, const char *session,
    struct job *out, enum sched_rc *rc)
{
	const struct sjob	*j;
	const struct job	*rj;

	*rc = SCHED_NOT_FOUND;
	if ((j = sched_job_find(s, id)) != NULL) {
		if (session == NULL || strcmp(j->job.session, session) == 0)
			*rc = lookup_live(s, j, out);
		if (*rc == SCHED_OK && job_state_final(j->job.state))
			out->unsaved = sched_rewrite_find(s, id) != NULL;
		return 1;
	}
	if ((rj = sched_rewrite_find(s, id)) == NULL)
		return 0;
	if (session != NULL && strcmp(rj->session, session) != 0)
		return 1;
	*rc = job_copy(out, rj) == -1 ? SCHED_ERROR : SCHED_OK;
	out->position = -1;
	out->eta_ms = -1;
	out->unsaved = 1;
	return 1;
}

enum sched_rc
sched_lookup(struct sched *s, const char *id, const char *session,
    struct job *out)
{
	enum sched_rc	 rc;
	int		 found;

	memset(out, 0, sizeof(*out));
	if (id == NULL)
		return SCHED_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	found = lookup_memory(s, id, session, out, &rc);
	pthread_mutex_unlock(&s->mu);
	if (found || s->jr == NULL)
		return found ? rc : SCHED_NOT_FOUND;
	if (journal_get(s->jr, id, out) != 1) {
		memset(out, 0, sizeof(*out));
		return SCHED_NOT_FOUND;
	}
	if (session != NULL && strcmp(out->session, session) != 0) {
		job_clear(out);
		return SCHED_NOT_FOUND;
	}
	out->position = -1;
	out->eta_ms = -1;
	return SCHED_OK;
}

/* Under mu: task's state and (task, slot)'s slot index, or NULL. */
static struct stask *
worker_task(struct sched *s, const char *task, int slot)
{
	struct stask	*st = sched_task_find(s, task);

	if (st == NULL || slot < 0 || slot >= SLOTS_MAX)
		return NULL;
	return st;
}

void
sched_worker_ready(struct sched *s, const char *task, int slot,
    const char *device)
{
	struct stask	*st;
	uint64_t	 bit = UINT64_C(1) << (slot % 64);

	pthread_mutex_lock(&s->mu);
	if ((st = worker_task(s, task, slot)) != NULL) {
		if (device != NULL) {
			st->ready[slot / 64] |= bit;
			snprintf(st->devs[slot], sizeof(st->devs[slot]), "%s",
			    device);
		} else {
			st->ready[slot / 64] &= ~bit;
			st->wanted[slot / 64] &= ~bit;
		}
		sched_dispatch(s);
	}
	pthread_mutex_unlock(&s->mu);
}

void
sched_task_failing(struct sched *s, const char *task, const char *why)
{
	struct stask	*st;

	pthread_mutex_lock(&s->mu);
	if ((st = sched_task_find(s, task)) != NULL) {
		free(st->failing);
		st->failing = why != NULL ? strdup(why) : NULL;
		if (why != NULL && s->opts.log != NULL)
			fprintf(s->opts.log, "level=warn msg=\"workers fail to "
			    "start: their jobs fail at once\" task=%s\n", task);
		sched_dispatch(s);
	}
	pthread_mutex_unlock(&s->mu);
}

void
sched_job_progress(struct sched *s, const char *id, double fraction,
    const char *message)
{
	struct sjob	*j;
	char		*m = message != NULL ? strdup(message) : NULL;

	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL &&
	    j->job.state == JOB_RUNNING) {
		j->job.has_progress = 1;
		j->job.progress = fraction < 0 ? 0 : fraction > 1 ? 1 :
		    fraction;
		free(j->job.progress_message);
		j->job.progress_message = m;
		m = NULL;
		sched_ev_job(s, j);
	}
	pthread_mutex_unlock(&s->mu);
	free(m);
}

void
sched_kick(struct sched *s)
{
	size_t	 i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->ntasks; i++)
		memset(s->tasks[i]->wanted, 0, sizeof(s->tasks[i]->wanted));
	sched_dispatch(s);
	pthread_mutex_unlock(&s->mu);
}

int
sched_drain(struct sched *s, int64_t timeout_ms)
{
	struct timespec	 ts;
	int64_t		 dl;
	int		 n;

	if (timeout_ms < 0)
		timeout_ms = 0;
	dl = sched_mono_ns() + (timeout_ms > INT64_MAX / 2000000 ?
	    INT64_MAX / 2 : timeout_ms * 1000000);
	ts.tv_sec = dl / 1000000000;
	ts.tv_nsec = dl % 1000000000;
	pthread_mutex_lock(&s->mu);
	s->draining = 1;
	s->drain_waiters++;
	/* The cluster's queued jobs are not this node's to finish. */
	if (sched_clustered(s))
		sched_cluster_let_go(s);
	while (s->active > 0)
		if (pthread_cond_timedwait(&s->drain_cv, &s->mu, &ts) ==
		    ETIMEDOUT)
			break;
	s->drain_waiters--;
	n = s->active;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/*
 * journal_evict's callback: forgets evicted job id in memory, so that
 * /jobs/ID stops showing a job whose row and image are gone. A job whose
 * final row is written but which has not yet ended here (the runner
 * takes the mutex after the write) is marked, and sjob_end forgets it.
 */
static void
evict_forget(const char *id, void *arg)
{
	struct sched	*s = arg;
	struct sjob	*j;

	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL) {
		if (job_state_final(j->job.state))
			sched_forget_finished(s, j);
		else if (j->job.state == JOB_RUNNING)
			j->evicted = 1;
	}
	pthread_mutex_unlock(&s->mu);
}

int
sched_evict(struct sched *s, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes)
{
	if (s->jr == NULL)
		return 0;
	return journal_evict(s->jr, now_ms, ttl_ms, max_bytes, evict_forget,
	    s);
}
