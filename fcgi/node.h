/*
 * node: this responder as a node of the cluster (cluster.database set):
 * cluster.h's lease and notifications wired to the journal and the
 * scheduler. main() starts it after the journal opens and before the
 * scheduler recovers (the journal must know the node first), attaches
 * the scheduler once it exists (notifications before that are left to
 * the recovery, which reads every queued job), and stops it before the
 * scheduler goes.
 */
#ifndef SLUICE_NODE_H
#define SLUICE_NODE_H

#include <stddef.h>

#include "app.h"
#include "conf.h"
#include "journal.h"
#include "sched.h"

struct node;

/*
 * Joins conf's cluster and names the node to j (journal_set_node).
 * Returns the node, or NULL with a message in err; *out NULL and 0 when
 * conf has no cluster group (one machine). conf and j must outlive it.
 */
int	node_start(const struct conf *conf, struct journal *j,
	    struct node **out, char *err, size_t errlen);
/* /metrics and /status.json of a show the cluster's numbers (NULL n:
   none). Before the responders start. */
void	node_show(struct node *n, struct app *a);
/* From now on the notifications reach s. NULL n is a no-op. */
void	node_attach(struct node *n, struct sched *s);
/* Stops the node's threads (no call into the scheduler after) and frees n. */
void	node_stop(struct node *n);

#endif
