/*
 * ctest: helpers for the cluster tests: N nodes of one cluster behind one
 * nginx (sluice-serve --backends N --cluster), on a PostgreSQL that
 * tests/pg/pg-run.sh started (SLUICE_TEST_PG, SLUICE_TEST_PG_CTL). Each
 * node is also reachable alone (its own nginx server on a unix socket),
 * can be signalled (kill -9, SIGSTOP, SIGCONT), and its workers say on
 * which node each job ran (tests/cluster/cluster_worker.py's log).
 * Not thread-safe: one test thread drives it.
 */
#ifndef SLUICE_CTEST_H
#define SLUICE_CTEST_H

#include <sys/types.h>

#include <stddef.h>

#include "itest.h"

#define CTEST_NODES_MAX		8
#define CTEST_CONNINFO_MAX	1024
#define CTEST_LIVES_MAX		16

struct ctest {
	/* Through nginx's port: least_conn over every node. */
	struct itest_server	 srv;
	/* node[i], 1..nodes: node i alone (nginx's run/http-I.sock). */
	struct itest_server	 node[CTEST_NODES_MAX + 1];
	pid_t			 pid[CTEST_NODES_MAX + 1];	/* node i's responder */
	/* Every pid node i had (sluice-serve --restart starts a node that
	   exited again): a worker's parent names its node by any of them. */
	pid_t			 lives[CTEST_NODES_MAX + 1][CTEST_LIVES_MAX];
	int			 nlives[CTEST_NODES_MAX + 1];
	int			 nodes;
	char			 dir[64];	/* the test's own: config, log */
	char			 conf[128];
	char			 log[128];	/* the workers' invocation log */
};

/*
 * Starts nodes (1..CTEST_NODES_MAX) nodes, named n-1..n-N, of
 * tests/cluster/cluster.conf with its database set to conninfo, behind
 * one nginx without per-address limits (the tests submit flat out from
 * 127.0.0.1); with restart, a node that exits is started again (as
 * systemd would). Waits until all answer. 0, or -1 with nothing left
 * running.
 */
int	ctest_start(struct ctest *, int nodes, const char *conninfo,
	    int restart);
/* Stops nginx and every node (a stopped one is continued first) and
   removes the test's directory; sluice-serve's exit status, or -1. */
int	ctest_stop(struct ctest *);

/* Sends sig to node i's responder (1..nodes), its current life; 0/-1. */
int	ctest_signal(struct ctest *, int node, int sig);
/* The node (1..nodes) whose responder is or was pid, or 0. */
int	ctest_node_of(const struct ctest *, pid_t pid);

/* "stop" or "start" for the test's PostgreSQL (SLUICE_TEST_PG_CTL); 0/-1. */
int	ctest_pg(const char *verb);

/* One worker invocation, as the log has it: the job and its node. */
struct ctest_run {
	char	job[33];
	int	node;		/* 1..nodes, 0: a responder not of this cluster */
	int	slot;
};

/*
 * Every invocation logged so far, in order, into *runs (the caller
 * frees it), their count in *n. 0, or -1 (unreadable log or line).
 */
int	ctest_runs(struct ctest *, struct ctest_run **runs, size_t *n);
/* How many times job id was run according to runs; *node its last node. */
int	ctest_run_count(const struct ctest_run *runs, size_t n,
	    const char *id, int *node);

/*
 * POSTs "csrf=CSRF&fields" to /tasks/task on s for session sid (the
 * token already fetched: itest_csrf). *status gets the answer's status;
 * on 303 id gets the job's id and 0 is returned; else -1 (and
 * retry_after, when not NULL, gets the Retry-After header or "").
 */
int	ctest_submit(const struct itest_server *s, const char *sid,
	    const char *csrf, const char *task, const char *fields,
	    char id[33], long *status, char *retry_after, size_t ralen);

/* Unix time in ms (CLOCK_REALTIME: the job JSON's clock). */
long long ctest_now_ms(void);

#endif
