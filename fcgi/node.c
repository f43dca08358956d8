/*
 * node: the cluster's hooks (cluster.h) to the scheduler (sched.h).
 * A notification about a job is the scheduler's to act on: a job queued
 * anywhere waits here too, one started elsewhere or ended is forgotten,
 * a cancel reaches the worker running it here. A fenced node (its lease
 * was lost while it could not renew it: paused, cut off) rejoins as a
 * new generation (node_fenced).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "metrics.h"
#include "node.h"
#ifdef HAVE_LIBPQ
#include "cluster.h"
#endif

/* Read every NODE_STATS_POLLS polls (seconds) for /metrics. */
#define NODE_STATS_POLLS	2

struct node {
	struct cluster		*cluster;
	struct journal		*journal;
	const struct conf	*conf;
	_Atomic(struct sched *)	 sched;		/* NULL until attached */
	unsigned		 polls;		/* the cluster's thread only */
	/* The cluster's numbers as last read (node_stats), under mu. */
	pthread_mutex_t		 mu;
	struct journal_node	*nodes;
	int			 nnodes;
	int64_t			 queued;
	int64_t			 read_ns;	/* 0: never */
};

#ifdef HAVE_LIBPQ
static void
node_queued(void *arg, const char *id)
{
	struct node	*n = arg;
	struct sched	*s = atomic_load(&n->sched);

	if (s != NULL)
		sched_cluster_queued(s, id);
}

static void
node_started(void *arg, const char *id, const char *node)
{
	struct node	*n = arg;
	struct sched	*s = atomic_load(&n->sched);

	/* Ours is running here already: nothing to forget. */
	if (s != NULL && strcmp(node, n->conf->cluster_node) != 0)
		sched_cluster_gone(s, id);
}

static void
node_ended(void *arg, const char *id)
{
	struct node	*n = arg;
	struct sched	*s = atomic_load(&n->sched);

	if (s != NULL)
		sched_cluster_gone(s, id);
}

static void
node_cancel(void *arg, const char *id)
{
	struct node	*n = arg;
	struct sched	*s = atomic_load(&n->sched);

	if (s != NULL)
		sched_cluster_cancel(s, id);
}

/* The cluster's nodes read again for /metrics (a failed read keeps the
   last: its age says how old it is). */
static void
node_read_stats(struct node *n)
{
	struct journal_node	*v, *old;
	int64_t			 queued;
	int			 k;

	if ((k = journal_nodes(n->journal, &v, &queued)) == -1)
		return;
	pthread_mutex_lock(&n->mu);
	old = n->nodes;
	n->nodes = v;
	n->nnodes = k;
	n->queued = queued;
	n->read_ns = job_mono_ns();
	pthread_mutex_unlock(&n->mu);
	free(old);
}

static void
node_poll(void *arg)
{
	struct node	*n = arg;
	struct sched	*s = atomic_load(&n->sched);

	if (s != NULL)
		sched_cluster_poll(s);
	if (n->polls++ % NODE_STATS_POLLS == 0)
		node_read_stats(n);
}

/* app_cluster_stats_fn: the numbers last read. */
static int
node_stats(void *arg, struct metrics_cluster *out)
{
	struct node	*n = arg;
	int		 i, rc = 0;

	memset(out, 0, sizeof(*out));
	out->has = 1;
	snprintf(out->node, sizeof(out->node), "%s", n->conf->cluster_node);
	out->generation = cluster_generation(n->cluster);
	pthread_mutex_lock(&n->mu);
	out->queued = n->queued;
	out->age_s = n->read_ns > 0 ?
	    (double)(job_mono_ns() - n->read_ns) / 1e9 : -1;
	if (n->nnodes > 0 && (out->nodes = calloc((size_t)n->nnodes,
	    sizeof(*out->nodes))) == NULL)
		rc = -1;
	for (i = 0; out->nodes != NULL && i < n->nnodes; i++) {
		memcpy(out->nodes[i].name, n->nodes[i].name,
		    sizeof(out->nodes[i].name));
		out->nodes[i].generation = n->nodes[i].generation;
		out->nodes[i].lost = n->nodes[i].lost;
		out->nodes[i].heartbeat_age_s = n->nodes[i].heartbeat_age_s;
		out->nodes[i].running = n->nodes[i].running;
	}
	out->nnodes = out->nodes != NULL ? n->nnodes : 0;
	pthread_mutex_unlock(&n->mu);
	return rc;
}

/*
 * The lease was lost (the node was paused or cut off past it): the
 * cluster failed its running jobs "node lost", and the node rejoined as
 * a new life. The journal writes as that one from now on, so nothing of
 * the old life's jobs is written (journal.h: the fence); they end here
 * when their workers do, their results refused.
 */
static void
node_fenced(void *arg)
{
	struct node	*n = arg;

	journal_set_node(n->journal, n->conf->cluster_node,
	    cluster_generation(n->cluster));
}

int
node_start(const struct conf *conf, struct journal *j, struct node **out,
    char *err, size_t errlen)
{
	struct cluster_hooks	 hooks = {
		node_queued, node_started, node_ended, node_cancel, node_poll,
		node_fenced, NULL
	};
	struct node		*n;

	*out = NULL;
	if (conf->cluster_database == NULL)
		return 0;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->journal = j;
	n->conf = conf;
	pthread_mutex_init(&n->mu, NULL);
	hooks.arg = n;
	if ((n->cluster = cluster_start(conf, &hooks, err, errlen)) == NULL) {
		pthread_mutex_destroy(&n->mu);
		free(n);
		return -1;
	}
	journal_set_node(j, conf->cluster_node, cluster_generation(n->cluster));
	fprintf(stderr, "level=info msg=\"joined the cluster\" node=%s "
	    "generation=%lld lease=%d\n", conf->cluster_node,
	    (long long)cluster_generation(n->cluster), conf->cluster_lease);
	*out = n;
	return 0;
}

void
node_stop(struct node *n)
{
	if (n == NULL)
		return;
	cluster_stop(n->cluster);
	pthread_mutex_destroy(&n->mu);
	free(n->nodes);
	free(n);
}

void
node_show(struct node *n, struct app *a)
{
	if (n != NULL)
		app_set_cluster_stats(a, node_stats, n);
}
#else
int
node_start(const struct conf *conf, struct journal *j, struct node **out,
    char *err, size_t errlen)
{
	(void)j;
	*out = NULL;
	if (conf->cluster_database == NULL)
		return 0;
	snprintf(err, errlen, "cluster.database is set, but this sluice was "
	    "built without libpq (install libpq-dev and build again)");
	return -1;
}

void
node_stop(struct node *n)
{
	(void)n;
}

void
node_show(struct node *n, struct app *a)
{
	(void)n;
	(void)a;
}
#endif

void
node_attach(struct node *n, struct sched *s)
{
	if (n != NULL)
		atomic_store(&n->sched, s);
}
