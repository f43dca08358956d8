/*
 * cluster: this responder as a node of a cluster (cluster.database set):
 * its lease, the reaper of lost nodes, and the database's notifications.
 *
 * Lease. cluster_start joins: the node's row in nodes gets a new
 * generation (a restarted node is a new life of it; lost is cleared).
 * The running jobs of its earlier lives are the journal's recovery's
 * to end (journal_recover, once journal_set_node told it the node). A
 * thread renews the heartbeat every lease/3 seconds on
 * a connection of its own (never behind the journal's mutex). When a
 * renewal finds the row lost or of another generation, the node is
 * fenced: the cluster ended its running jobs, and it joins again as a
 * new generation, then calls hooks.fenced (once per fence), whose
 * caller tells the journal the new generation: the old life's final
 * writes no longer match and are refused. A reaper waits a lease after
 * its own reconnect, so that a database outage loses no node.
 *
 * Reaper. The same thread, on every node, under
 * pg_try_advisory_xact_lock (one node at a time does it): nodes silent
 * for more than lease seconds are marked lost, their running jobs end
 * failed "node lost" (finished_ms now), their cluster slots are freed,
 * and an "e ID" notification goes out for each such job.
 *
 * Notifications. A listening connection of its own (LISTEN sluice_jobs)
 * calls the hooks for each payload "VERB ID [NODE]" (sent by the
 * journal's writes, in their transactions, journal.h):
 *   q ID        a job was queued (by any node)       -> hooks.queued
 *   s ID NODE   it started on NODE                   -> hooks.started
 *   e ID        it ended (its cluster slots are free) -> hooks.ended
 *   c ID        its cancel was asked                 -> hooks.cancel
 * hooks.poll is called every second (and after the listening connection
 * is made again): the safety net for missed notifications.
 * Hooks are called on the cluster's threads, never under a lock of the
 * caller's; they may block briefly (a journal read).
 */
#ifndef SLUICE_CLUSTER_H
#define SLUICE_CLUSTER_H

#include <stdint.h>

#include "conf.h"

/* The notification channel of the journal's writes. */
#define CLUSTER_CHANNEL	"sluice_jobs"
/* The error of a job the reaper ended (its node was lost). */
#define CLUSTER_NODE_LOST	"node lost"

struct cluster_hooks {
	void	(*queued)(void *arg, const char *id);
	void	(*started)(void *arg, const char *id, const char *node);
	void	(*ended)(void *arg, const char *id);
	void	(*cancel)(void *arg, const char *id);
	void	(*poll)(void *arg);
	void	(*fenced)(void *arg);
	void	*arg;
};

struct cluster;

/*
 * Joins conf's cluster (conf->cluster_database, _node, _lease) as a new
 * generation and starts the lease and listening threads (the hooks are
 * not called before it returns; the caller then tells its journal who
 * it is, journal_set_node). NULL with a message in err (naming
 * cluster.database when it cannot connect). conf is read here only;
 * hooks is copied.
 */
struct cluster	*cluster_start(const struct conf *conf,
		    const struct cluster_hooks *hooks, char *err,
		    size_t errlen);

/* This node's generation (its life), > 0. Thread-safe. */
int64_t		 cluster_generation(const struct cluster *);
/* 1 once the node was found fenced (its lease lost), else 0. */
int		 cluster_fenced(const struct cluster *);

/*
 * Stops the threads (no hook runs once it returns) and frees c; the
 * node's row stays (a restart takes a new generation). NULL is a no-op.
 */
void		 cluster_stop(struct cluster *c);

#endif
