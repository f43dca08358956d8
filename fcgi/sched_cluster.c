/*
 * sched_cluster: the scheduler as a node of the cluster (cluster.h).
 * Every node keeps the cluster's queued jobs of the tasks it offers in
 * its own locks' waiter lists (a mirror: their order, positions and
 * ETAs are the cluster's), filled from the database's notifications and
 * a poll; a node starts a waiter only by claiming it (journal_claim,
 * sched_thread.c), so a job runs on one node however many mirror it.
 * A waiter another node started, or that ended, is forgotten here
 * without a write: its row is the other node's to keep.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

/* Under mu: every lock of scope "cluster" may have a slot free again. */
static void
cluster_room(struct sched *s)
{
	size_t	 i;

	for (i = 0; i < s->nlocks; i++)
		s->locks[i].cluster_full = 0;
}

void
sched_cluster_queued(struct sched *s, const char *id)
{
	struct job	 job;
	int		 known;

	if (!sched_clustered(s))
		return;
	pthread_mutex_lock(&s->mu);
	known = sched_job_find(s, id) != NULL;
	pthread_mutex_unlock(&s->mu);
	memset(&job, 0, sizeof(job));
	if (known || journal_get(s->jr, id, &job) != 1)
		return;
	pthread_mutex_lock(&s->mu);
	sched_mirror_job(s, &job);
	sched_dispatch(s);
	pthread_mutex_unlock(&s->mu);
	job_clear(&job);
}

void
sched_cluster_gone(struct sched *s, const char *id)
{
	struct sjob	*j;

	if (!sched_clustered(s))
		return;
	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL &&
	    j->job.state == JOB_QUEUED && !j->pending)
		sched_forget_waiter(s, j);
	/* An end anywhere may have freed a cluster slot. */
	cluster_room(s);
	sched_dispatch(s);
	pthread_mutex_unlock(&s->mu);
}

void
sched_cluster_cancel(struct sched *s, const char *id)
{
	struct sjob	*j;

	if (!sched_clustered(s))
		return;
	/* A running job here is this node's: another's is forgotten. */
	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL && !j->pending &&
	    j->job.state == JOB_RUNNING)
		(void)sched_cancel_running(s, j);
	pthread_mutex_unlock(&s->mu);
}

/*
 * A poll reads the jobs queued after the highest seq the poll before the
 * last one saw: a job whose seq was drawn before a poll and committed
 * after it is still read by the next (its notification, at its commit,
 * is how it normally comes). Every CLUSTER_FULL_POLL-th poll reads the
 * whole queue, for a commit slower than a poll's interval. So a poll's
 * cost is what was queued since, not the queue's length.
 */
#define CLUSTER_FULL_POLL	30

void
sched_cluster_poll(struct sched *s)
{
	struct job	*v = NULL;
	int64_t		 after;
	int		 i, n;

	if (!sched_clustered(s))
		return;
	after = s->polls++ % CLUSTER_FULL_POLL == 0 ? 0 : s->poll_seen[0];
	/* Read outside the mutex: the page must not wait on the database. */
	if ((n = journal_queued_after(s->jr, after, &v)) == -1)
		return;
	s->poll_seen[0] = s->poll_seen[1];
	if (n > 0 && v[n - 1].seq > s->poll_seen[1])
		s->poll_seen[1] = v[n - 1].seq;
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < n; i++)
		sched_mirror_job(s, &v[i]);
	cluster_room(s);
	sched_dispatch(s);
	pthread_mutex_unlock(&s->mu);
	journal_free_jobs(v, n);
}

void
sched_cluster_let_go(struct sched *s)
{
	struct lock_waiter	*w, *next;
	struct sjob		*j;
	size_t			 i;

	for (i = 0; i < s->nlocks; i++)
		for (w = TAILQ_FIRST(&s->locks[i].waiters); w != NULL;
		    w = next) {
			next = TAILQ_NEXT(w, link);
			j = sjob_of_waiter(w);
			if (j->job.state == JOB_QUEUED && !j->pending)
				sched_forget_waiter(s, j);
		}
}
