/*
 * sched_recover: start-up recovery. The journal marks the jobs that were
 * running as failed ("interrupted by restart") and hands back the queued
 * ones in arrival order; each is queued again with its seq, its place and
 * its nonce, or failed when its task or params no longer fit the config.
 * Runs from sched_create before any thread of the scheduler exists.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kernel.h"
#include "params.h"
#include "sched_int.h"

struct recover_list {
	struct job	*jobs;
	size_t		 n, cap;
	int		 oom;
};

/* journal_recover's callback (under the journal's lock): only collects. */
static void
recover_collect(const struct job *job, void *arg)
{
	struct recover_list	*rl = arg;
	struct job		*grown;
	size_t			 cap;

	if (rl->oom)
		return;
	if (rl->n == rl->cap) {
		cap = rl->cap ? rl->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*grown) ||
		    (grown = realloc(rl->jobs, cap * sizeof(*grown))) == NULL) {
			rl->oom = 1;
			return;
		}
		rl->jobs = grown;
		rl->cap = cap;
	}
	memset(&rl->jobs[rl->n], 0, sizeof(rl->jobs[rl->n]));
	if (job_copy(&rl->jobs[rl->n], job) == -1) {
		rl->oom = 1;
		return;
	}
	rl->n++;
}

/* Fails a recovered job in the journal with msg. */
static void
recover_fail(struct sched *s, struct job *job, const char *msg)
{
	struct job	*again;

	job->state = JOB_FAILED;
	job->finished_ms = job_now_ms();
	free(job->error);
	job->error = strdup(msg);
	if (journal_finish_stored(s->jr, job) == -1) {
		sched_final_failed(s, __func__, job, 1,
		    sched_rewrite_delay_ms(1));
		if ((again = sched_final_copy(job, __func__)) != NULL) {
			pthread_mutex_lock(&s->mu);
			sched_rewrite_add(s, again);
			pthread_mutex_unlock(&s->mu);
		}
	}
	sched_log_job(s, job);
}

/*
 * Logs the running -> failed transition journal_recover just journaled
 * for each of run[0..n), as every other transition is logged.
 */
static void
recover_log_interrupted(struct sched *s, struct job *run, int n, int64_t now)
{
	int	 i;

	for (i = 0; i < n; i++) {
		run[i].state = JOB_FAILED;
		run[i].finished_ms = now;
		free(run[i].error);
		run[i].error = strdup(JOURNAL_INTERRUPTED);
		sched_log_job(s, &run[i]);
	}
}

/*
 * Why job cannot be queued again under the current config, or NULL. A
 * kernel task's params are checked against the kernel's own ranges, not
 * the task's narrowed ones: an accepted job was admitted, and a reload
 * that narrows a range keeps it queued too (reload_doom); only what the
 * kernel cannot run is refused.
 */
static const char *
recover_doom(struct sched *s, const struct job *job, struct stask **stp,
    char *msg, size_t msglen)
{
	const struct kernel_spec	*k;
	const struct kparam_spec	*in;
	json_t				*params;
	size_t				 nin;
	char				 why[200];

	if (job->task == NULL || (*stp = sched_task_find(s, job->task)) == NULL)
		return "task no longer configured";
	in = (*stp)->ct->inputs;
	nin = (*stp)->ct->ninputs;
	if ((*stp)->ct->kernel != NULL &&
	    (k = kernel_find((*stp)->ct->kernel)) != NULL) {
		in = k->params;
		nin = k->nparams;
	}
	if (in == NULL)
		return NULL;	/* a test hook's task: no params to check */
	if ((params = params_decode(in, nin, job->params, why,
	    sizeof(why))) == NULL) {
		snprintf(msg, msglen, "invalid params after restart: %s", why);
		return msg;
	}
	json_decref(params);
	return NULL;
}

/*
 * Queues a job read back from the journal again. mirror (the cluster: a
 * queued job of any node, sched_mirror_job): one whose task this node
 * does not offer, or whose params it cannot run, is left to the others,
 * never failed, and nothing is logged (the node that took it did).
 */
static void
recover_one(struct sched *s, struct job *job, int mirror)
{
	struct stask	*st = NULL;
	struct sjob	*j;
	struct sess	*e = NULL;
	struct sclient	*c = NULL;
	const char	*doom;
	char		 msg[256];

	if ((doom = recover_doom(s, job, &st, msg, sizeof(msg))) != NULL) {
		if (!mirror)
			recover_fail(s, job, doom);
		return;
	}
	if ((j = sjob_new(st, job->session, job->nonce, job->params, NULL)) ==
	    NULL ||
	    (job->inputs != NULL && (j->job.inputs = strdup(job->inputs)) ==
	    NULL) ||
	    sched_reserve(s, j) == -1 ||
	    (e = sched_sess_get(s, j->job.session, 1)) == NULL ||
	    (job->client[0] != '\0' && (c = sched_client_get(s, job->client,
	    1)) == NULL)) {
		sched_sess_put(s, e);
		sjob_free(j);
		if (!mirror)
			recover_fail(s, job, "out of memory during recovery");
		return;
	}
	/*
	 * Its uploads (already in its directory) and what they count, and
	 * its session's and client's caps, as before the restart.
	 */
	j->job.file_bytes = job->file_bytes;
	memcpy(j->job.client, job->client, sizeof(j->job.client));
	memcpy(j->job.id, job->id, sizeof(j->job.id));
	j->job.seq = job->seq;
	j->job.created_ms = job->created_ms;
	if (job->seq >= s->next_seq)
		s->next_seq = job->seq + 1;
	sched_job_count(s, j, e, c);
	j->enq_ns = sched_mono_ns();	/* wait_timeout counts from here */
	sched_job_index(s, j);
	sched_count_admitted(s, j);
	sched_enqueue(s, j);
	if (!mirror)
		sched_log(s, "job_queued", j->job.id, j->job.task,
		    j->job.session, -1, -1, NULL, NULL);
}

void
sched_mirror_job(struct sched *s, struct job *job)
{
	/* Uploads too: the runner fetches them from the database. */
	if (job->state == JOB_QUEUED && !s->draining &&
	    sched_job_find(s, job->id) == NULL)
		recover_one(s, job, 1);
}

/*
 * The journal cannot write (its disk is full): recovery without its
 * write. The jobs it holds as running become "interrupted" final records
 * to write once it can (shown meanwhile, marked unsaved), its queued ones
 * are queued again; they start once their start can be journaled. So the
 * responder starts, pages and JSON answer, submissions get 503. The
 * count of queued jobs, or -1.
 */
static int
recover_unwritable(struct sched *s, struct job *run, int nrun, int64_t now,
    struct recover_list *rl)
{
	struct job	*again;
	int		 i, n;

	fprintf(stderr, "level=error msg=\"journal cannot be written: "
	    "starting read-only (pages answer, submissions get 503) until it "
	    "can\" reason=\"%s\"\n", journal_unwritable(s->jr));
	if ((n = journal_queued_jobs(s->jr, &rl->jobs)) == -1)
		return -1;
	rl->n = rl->cap = (size_t)n;
	for (i = 0; i < nrun; i++) {
		run[i].state = JOB_FAILED;
		run[i].finished_ms = now;
		free(run[i].error);
		run[i].error = strdup(JOURNAL_INTERRUPTED);
		if ((again = sched_final_copy(&run[i], __func__)) != NULL) {
			pthread_mutex_lock(&s->mu);
			sched_rewrite_add(s, again);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return n;
}

/*
 * Continues the journal's numbering and queues its queued jobs again.
 * Returns 0, or -1 with the reason in err.
 */
int
sched_recover(struct sched *s, char *err, size_t errlen)
{
	struct recover_list	 rl;
	int64_t			 max;
	struct job		*run = NULL;
	int64_t			 now = job_now_ms();
	size_t			 i;
	int			 nrun = 0, rc = -1;

	memset(&rl, 0, sizeof(rl));
	/* Numbering from 1 over a journal we cannot read would reuse seqs. */
	if ((max = journal_max_seq(s->jr)) == -1) {
		sched_errf(err, errlen, "journal: reading the last seq: %s",
		    journal_error(s->jr));
		goto out;
	}
	if (max > 0)
		s->next_seq = max + 1;
	if ((nrun = journal_running_jobs(s->jr, &run)) == -1 ||
	    (journal_recover(s->jr, now, recover_collect, &rl) == -1 &&
	    (journal_unwritable(s->jr) == NULL ||
	    recover_unwritable(s, run, nrun, now, &rl) == -1))) {
		sched_errf(err, errlen, "journal recovery: %s",
		    journal_error(s->jr));
		goto out;
	}
	recover_log_interrupted(s, run, nrun, now);
	if (rl.oom) {
		sched_errf(err, errlen, "journal recovery: %s", "out of memory");
		goto out;
	}
	/* In the cluster every node's queued jobs are the cluster's. */
	for (i = 0; i < rl.n; i++)
		recover_one(s, &rl.jobs[i], sched_clustered(s));
	(void)journal_sweep(s->jr);	/* before any submission */
	rc = 0;
out:
	for (i = 0; i < rl.n; i++)
		job_clear(&rl.jobs[i]);
	free(rl.jobs);
	journal_free_jobs(run, nrun);
	return rc;
}
