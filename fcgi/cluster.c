/*
 * cluster: this responder as a node of the cluster (cluster.h): the join,
 * the lease thread (heartbeat and reaper) and the listening thread.
 *
 * Each thread has a libpq connection of its own (a struct cluster_link),
 * never the journal's. Every wait (connecting, a statement's answer, the
 * time to the next tick) is a poll() that also watches c->wake, an
 * eventfd written once by cluster_stop and never read, so that both
 * threads see it at once and stop within a poll's wake-up, whatever the
 * database does. A link that broke is dropped and made again with
 * back-off; the outage is logged once, and again when it is over.
 *
 * Times: the lease is compared in the database's clock (now()), so the
 * nodes' clocks need not agree; every node should have the same
 * cluster.lease (each reaps with its own). finished_ms of a reaped job is
 * this node's clock, as for every other final write.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "cluster.h"
#include "conf.h"
#include "job.h"

/*
 * pg_try_advisory_xact_lock's key for the reaper: "sluicr" in ASCII (the
 * schema's is "sluice", journal_pg.c).
 */
#define CLUSTER_REAP_LOCK	"115108117105099114"

#define CLUSTER_CONNECT_MS	5000	/* a connection attempt's limit */
#define CLUSTER_BACKOFF_MS	500	/* the first wait after a failure */
#define CLUSTER_LISTEN_MAX_MS	8000	/* the listening link's longest */
#define CLUSTER_POLL_MS		1000	/* hooks.poll's period */
#define CLUSTER_ERR_MAX		256

/* One thread's connection and its outage. */
struct cluster_link {
	PGconn		*pg;		/* NULL while down */
	const char	*role;		/* "lease" or "listen", for the log */
	int		 down;		/* the outage was logged */
	int		 backoff_ms;	/* the next wait after a failure */
	int		 max_backoff_ms;
	int64_t		 retry_ms;	/* monotonic: no attempt before */
	char		 err[CLUSTER_ERR_MAX]; /* the last failure */
};

struct cluster {
	char			*database;
	char			*node;
	int			 lease;		/* seconds */
	_Atomic int64_t		 generation;	/* the lease thread writes */
	struct cluster_hooks	 hooks;
	atomic_int		 fenced;
	atomic_int		 stop;
	int			 wake;		/* eventfd: readable once stopping */
	/* Held by cluster_start until it returns: the threads wait for it. */
	pthread_mutex_t		 gate;
	struct cluster_link	 lease_link;	/* the lease thread's */
	struct cluster_link	 listen_link;	/* the listening thread's */
	pthread_t		 lease_thread, listen_thread;
	int			 threads;	/* how many were started */
	/*
	 * The lease thread's: no reaping before (monotonic ms). After the
	 * database was away, every node's heartbeat is as old as the
	 * outage: the others are given a lease to renew before any counts
	 * as lost (their reconnects back off by lease/3 at most).
	 */
	int64_t			 reap_from_ms;
	int			 rejoin;	/* fenced, not joined again yet */
};

/*
 * Copies msg (libpq's: several lines, tabs) as one line for a log
 * field: each run of white space one space, quotes as apostrophes.
 */
static void
cluster_msg(char *dst, size_t len, const char *msg)
{
	const char	*s = msg != NULL ? msg : "out of memory";
	size_t		 n = 0;

	for (; *s != '\0' && n + 1 < len; s++) {
		if ((unsigned char)*s > ' ')
			dst[n++] = *s == '"' ? '\'' : *s;
		else if (n > 0 && dst[n - 1] != ' ')
			dst[n++] = ' ';
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	if (len > 0)
		dst[n] = '\0';
}

static int
cluster_stopping(struct cluster *c)
{
	return atomic_load(&c->stop);
}

/*
 * Waits until fd (-1: none) has events, deadline_ms (monotonic) passes
 * or cluster_stop is called: 1, 0 or -1 respectively.
 */
static int
cluster_wait(struct cluster *c, int fd, short events, int64_t deadline_ms)
{
	struct pollfd	 p[2];
	int64_t		 left;
	int		 n;

	for (;;) {
		if (cluster_stopping(c))
			return -1;
		left = deadline_ms - job_mono_ms();
		if (left < 0)
			left = 0;
		p[0] = (struct pollfd){ .fd = c->wake, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = fd, .events = events };
		n = poll(p, 2, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n == -1 && errno != EINTR)
			return -1;	/* EFAULT, EINVAL, ENOMEM: give up */
		if (n > 0 && p[0].revents != 0)
			return -1;
		if (n > 0 && p[1].revents != 0)
			return 1;
		if (n == 0 && left == 0)
			return 0;
	}
}

/* The server's notices are not errors; libpq would print them. */
static void
cluster_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * A connection to c->database, made without blocking cluster_stop (its
 * host names are still resolved in the calling thread, as libpq does).
 * The keepalives (TCP only) let a silently dead server be noticed by a
 * listening connection; database's own settings win over them. NULL
 * with why in err.
 */
static PGconn *
cluster_connect(struct cluster *c, char *err, size_t errlen)
{
	static const char *const keys[] = { "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname", NULL };
	const char		*vals[] = { "10", "5", "3", c->database, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t			 deadline = job_mono_ms() + CLUSTER_CONNECT_MS;
	PGconn			*pg;
	int			 r;

	if ((pg = PQconnectStartParams(keys, vals, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (PQstatus(pg) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	    st != PGRES_POLLING_FAILED) {
		r = cluster_wait(c, PQsocket(pg), st == PGRES_POLLING_READING ?
		    POLLIN : POLLOUT, deadline);
		if (r != 1) {
			snprintf(err, errlen, "%s", r == 0 ?
			    "timeout expired" : "stopping");
			PQfinish(pg);
			return NULL;
		}
		st = PQconnectPoll(pg);
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		cluster_msg(err, errlen, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, cluster_notice, NULL);
	return pg;
}

/*
 * Forgets l's connection after a failure (why: l->err), logging the
 * outage once; the next attempt after the back-off.
 */
static void
cluster_link_drop(struct cluster *c, struct cluster_link *l)
{
	PQfinish(l->pg);
	l->pg = NULL;
	if (!l->down && !cluster_stopping(c))
		fprintf(stderr, "level=warn msg=\"cluster: database connection "
		    "lost\" node=%s thread=%s error=\"%s\"\n", c->node, l->role,
		    l->err);
	l->down = 1;
	l->retry_ms = job_mono_ms() + l->backoff_ms;
	l->backoff_ms = l->backoff_ms * 2 > l->max_backoff_ms ?
	    l->max_backoff_ms : l->backoff_ms * 2;
}

/*
 * Makes sure l is connected, trying again once its back-off has passed:
 * 0, or -1 (not yet, or it failed: l->retry_ms says when to try next).
 */
static int
cluster_link_up(struct cluster *c, struct cluster_link *l)
{
	if (l->pg != NULL)
		return 0;
	if (job_mono_ms() < l->retry_ms)
		return -1;
	if ((l->pg = cluster_connect(c, l->err, sizeof(l->err))) == NULL) {
		cluster_link_drop(c, l);
		return -1;
	}
	if (l->down)
		fprintf(stderr, "level=info msg=\"cluster: database connection "
		    "back\" node=%s thread=%s\n", c->node, l->role);
	if (l->down && l == &c->lease_link)
		c->reap_from_ms = job_mono_ms() + (int64_t)c->lease * 1000;
	l->down = 0;
	l->backoff_ms = CLUSTER_BACKOFF_MS;
	return 0;
}

/*
 * How long a statement's answer may take: the lease (at least 5 s). A
 * node that cannot renew within its lease is lost anyway; a connection
 * that hangs longer is given up and made again.
 */
static int64_t
cluster_answer_ms(const struct cluster *c)
{
	return c->lease < 5 ? 5000 : (int64_t)c->lease * 1000;
}

/*
 * Runs sql with its n values v on l's connection, waiting for the answer
 * without blocking cluster_stop: the result (rows or a command's status)
 * for the caller to PQclear, or NULL with why in l->err. A connection
 * found broken, not answering in time (cluster_answer_ms) or left
 * mid-statement by cluster_stop is dropped; after
 * a statement's error it stays (a transaction is the caller's to roll
 * back).
 */
static PGresult *
cluster_exec(struct cluster *c, struct cluster_link *l, const char *sql,
    int n, const char *const *v)
{
	int64_t		 deadline = job_mono_ms() + cluster_answer_ms(c);
	PGresult	*res = NULL, *more;
	ExecStatusType	 st;
	int		 r = 1;

	if (!PQsendQueryParams(l->pg, sql, n, NULL, v, NULL, NULL, 0))
		goto broken;
	while (PQisBusy(l->pg))
		if ((r = cluster_wait(c, PQsocket(l->pg), POLLIN,
		    deadline)) != 1 || !PQconsumeInput(l->pg))
			goto broken;
	res = PQgetResult(l->pg);
	while ((more = PQgetResult(l->pg)) != NULL)	/* to the end */
		PQclear(more);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	cluster_msg(l->err, sizeof(l->err), res != NULL &&
	    PQresultErrorMessage(res)[0] != '\0' ? PQresultErrorMessage(res) :
	    PQerrorMessage(l->pg));
	PQclear(res);
	if (PQstatus(l->pg) != CONNECTION_OK)
		cluster_link_drop(c, l);
	return NULL;
broken:
	cluster_msg(l->err, sizeof(l->err), r == -1 ? "stopping" : r == 0 ?
	    "no answer in time" : PQerrorMessage(l->pg));
	cluster_link_drop(c, l);
	return NULL;
}

/* Runs a command whose rows do not matter: 0, or -1 (l->err). */
static int
cluster_cmd(struct cluster *c, struct cluster_link *l, const char *sql)
{
	PGresult	*res = cluster_exec(c, l, sql, 0, NULL);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/* Logs a failed statement of the lease thread (the link is still up). */
static void
cluster_failed(struct cluster *c, const char *what)
{
	if (c->lease_link.pg != NULL && !cluster_stopping(c))
		fprintf(stderr, "level=error msg=\"cluster: %s failed\" node=%s "
		    "error=\"%s\"\n", what, c->node, c->lease_link.err);
}

/*
 * Joins: the node's row with a new generation (1 for a new node), its
 * heartbeat now and lost cleared, in one statement so that two starts of
 * one name get two generations. 0, or -1 (c->lease_link.err).
 */
static int
cluster_join(struct cluster *c)
{
	const char	*v[1] = { c->node };
	PGresult	*res;

	res = cluster_exec(c, &c->lease_link, "INSERT INTO nodes (name, "
	    "generation) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET "
	    "generation = nodes.generation + 1, heartbeat_at = now(), "
	    "joined_at = now(), lost = false RETURNING generation", 1, v);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1)
		atomic_store(&c->generation, strtoll(PQgetvalue(res, 0, 0),
		    NULL, 10));
	PQclear(res);
	if (atomic_load(&c->generation) <= 0) {
		snprintf(c->lease_link.err, sizeof(c->lease_link.err),
		    "no generation returned");
		return -1;
	}
	return 0;
}

/*
 * After a fence: joins again as a new life, then tells hooks.fenced
 * (the journal must write as that life from now on). A failed join is
 * tried again on the next tick.
 */
static void
cluster_rejoin(struct cluster *c)
{
	if (cluster_join(c) == -1) {
		c->rejoin = 1;
		cluster_failed(c, "rejoin");
		return;
	}
	c->rejoin = 0;
	fprintf(stderr, "level=warn msg=\"cluster: rejoined after the fence\" "
	    "node=%s generation=%lld\n", c->node,
	    (long long)atomic_load(&c->generation));
	if (c->hooks.fenced != NULL)
		c->hooks.fenced(c->hooks.arg);
}

/*
 * Renews the heartbeat of this generation. A row found lost or of
 * another generation fences the node (the cluster ended its running
 * jobs): it rejoins as a new generation.
 */
static void
cluster_renew(struct cluster *c)
{
	char		 gen[24];
	const char	*v[2] = { c->node, gen };
	PGresult	*res;

	snprintf(gen, sizeof(gen), "%lld", (long long)atomic_load(
	    &c->generation));
	res = cluster_exec(c, &c->lease_link, "UPDATE nodes SET heartbeat_at "
	    "= now() WHERE name = $1 AND generation = $2::bigint AND NOT lost",
	    2, v);
	if (res == NULL) {
		cluster_failed(c, "lease renewal");
		return;
	}
	if (strcmp(PQcmdTuples(res), "0") == 0) {
		atomic_store(&c->fenced, 1);
		fprintf(stderr, "level=error msg=\"cluster: fenced: this node's "
		    "lease was lost\" node=%s generation=%lld\n", c->node,
		    (long long)atomic_load(&c->generation));
		PQclear(res);
		cluster_rejoin(c);
		return;
	}
	PQclear(res);
}

/*
 * In the reaper's transaction: the running jobs of node (row r of lost)
 * up to its generation end failed "node lost", each announced ("e ID",
 * delivered at the commit), and its cluster slots are freed. The jobs
 * failed, or -1.
 */
static int
cluster_reap_node(struct cluster *c, PGresult *lost, int r)
{
	char		 now[24];
	const char	*v[3] = { PQgetvalue(lost, r, 0),
	    PQgetvalue(lost, r, 1), now };
	PGresult	*res;
	int		 n;

	snprintf(now, sizeof(now), "%lld", (long long)job_now_ms());
	res = cluster_exec(c, &c->lease_link, "WITH failed AS (UPDATE jobs "
	    "SET state = 'failed', error = '" CLUSTER_NODE_LOST "', "
	    "finished_ms = $3::bigint WHERE state = 'running' AND node = $1 "
	    "AND generation <= $2::bigint RETURNING id) SELECT pg_notify('"
	    CLUSTER_CHANNEL "', 'e ' || id) FROM failed", 3, v);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	res = cluster_exec(c, &c->lease_link, "DELETE FROM cluster_slots "
	    "WHERE node = $1 AND generation <= $2::bigint", 2, v);
	PQclear(res);
	return res != NULL ? n : -1;
}

/* Logs what a committed reap did: each node lost with its jobs failed. */
static void
cluster_reap_log(struct cluster *c, PGresult *lost, const int *jobs)
{
	int	 r;

	for (r = 0; r < PQntuples(lost); r++)
		fprintf(stderr, "level=warn msg=\"cluster: node lost\" node=%s "
		    "lost=%s generation=%s jobs_failed=%d\n", c->node,
		    PQgetvalue(lost, r, 0), PQgetvalue(lost, r, 1), jobs[r]);
}

/*
 * The reaper, in one transaction under its advisory lock (one node at a
 * time; the others find it taken and skip this tick): the nodes silent
 * for more than the lease marked lost and their jobs and slots ended.
 */
static void
cluster_reap(struct cluster *c)
{
	struct cluster_link	*l = &c->lease_link;
	char			 secs[16];
	const char		*v[1] = { secs };
	PGresult		*got = NULL, *lost = NULL;
	int			*jobs = NULL;
	int			 r, ok = 0;

	snprintf(secs, sizeof(secs), "%d", c->lease);
	if (cluster_cmd(c, l, "BEGIN") == -1 || (got = cluster_exec(c, l,
	    "SELECT pg_try_advisory_xact_lock(" CLUSTER_REAP_LOCK ")", 0,
	    NULL)) == NULL)
		goto out;
	if (PQntuples(got) != 1 || strcmp(PQgetvalue(got, 0, 0), "t") != 0) {
		ok = 1;		/* another node reaps now */
		goto out;
	}
	if ((lost = cluster_exec(c, l, "UPDATE nodes SET lost = true WHERE "
	    "NOT lost AND heartbeat_at < now() - make_interval(secs => "
	    "$1::int) RETURNING name, generation", 1, v)) == NULL)
		goto out;
	if (PQntuples(lost) > 0 &&
	    (jobs = calloc((size_t)PQntuples(lost), sizeof(*jobs))) == NULL) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		goto out;
	}
	for (r = 0; r < PQntuples(lost); r++)
		if ((jobs[r] = cluster_reap_node(c, lost, r)) == -1)
			goto out;
	if (cluster_cmd(c, l, "COMMIT") == -1)
		goto out;
	ok = 1;
	if (jobs != NULL)
		cluster_reap_log(c, lost, jobs);
out:
	if (!ok)
		cluster_failed(c, "reaper");
	if (l->pg != NULL && PQtransactionStatus(l->pg) != PQTRANS_IDLE)
		(void)cluster_cmd(c, l, "ROLLBACK");
	PQclear(got);
	PQclear(lost);
	free(jobs);
}

/* Waits for cluster_start to have returned (it holds the gate). */
static void
cluster_wait_start(struct cluster *c)
{
	pthread_mutex_lock(&c->gate);
	pthread_mutex_unlock(&c->gate);
}

/* The period of the heartbeat and the reaper: lease/3, at least 1 s. */
static int64_t
cluster_tick_ms(const struct cluster *c)
{
	int64_t	 ms = (int64_t)c->lease * 1000 / 3;

	return ms < 1000 ? 1000 : ms;
}

/* The lease thread: a tick every lease/3, sooner after a failure. */
static void *
cluster_lease_main(void *arg)
{
	struct cluster	*c = arg;
	int64_t		 next = job_mono_ms() + cluster_tick_ms(c);

	cluster_wait_start(c);
	while (cluster_wait(c, -1, 0, next) == 0) {
		next = job_mono_ms() + cluster_tick_ms(c);
		if (cluster_link_up(c, &c->lease_link) == -1) {
			next = c->lease_link.retry_ms;
			continue;
		}
		if (c->rejoin)
			cluster_rejoin(c);
		else
			cluster_renew(c);
		if (c->lease_link.pg != NULL && job_mono_ms() >= c->reap_from_ms)
			cluster_reap(c);
	}
	return NULL;
}

/* A notification's verb and the hook it calls. */
struct cluster_verb {
	char	  verb;
	int	  with_node;	/* "s ID NODE", else "X ID" */
	void	(*call)(const struct cluster_hooks *, const char *id,
		    const char *node);
};

static void
cluster_call_queued(const struct cluster_hooks *h, const char *id,
    const char *node)
{
	(void)node;
	if (h->queued != NULL)
		h->queued(h->arg, id);
}

static void
cluster_call_started(const struct cluster_hooks *h, const char *id,
    const char *node)
{
	if (h->started != NULL)
		h->started(h->arg, id, node);
}

static void
cluster_call_ended(const struct cluster_hooks *h, const char *id,
    const char *node)
{
	(void)node;
	if (h->ended != NULL)
		h->ended(h->arg, id);
}

static void
cluster_call_cancel(const struct cluster_hooks *h, const char *id,
    const char *node)
{
	(void)node;
	if (h->cancel != NULL)
		h->cancel(h->arg, id);
}

static const struct cluster_verb cluster_verbs[] = {
	{ 'q', 0, cluster_call_queued },
	{ 's', 1, cluster_call_started },
	{ 'e', 0, cluster_call_ended },
	{ 'c', 0, cluster_call_cancel },
};

/* 1 when s is a node name: 1..CONF_NODE_MAX of A-Z a-z 0-9 . _ - */
static int
cluster_node_valid(const char *s)
{
	size_t	 n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");

	return n > 0 && n <= CONF_NODE_MAX && s[n] == '\0';
}

/*
 * Calls the hook of one payload, "VERB ID" or "s ID NODE" (cluster.h);
 * anything else (another sender on the channel, a newer program's verb)
 * is ignored.
 */
static void
cluster_dispatch(struct cluster *c, const char *payload)
{
	char		 id[JOB_ID_LEN + 1];
	const char	*rest;
	size_t		 i;

	if (payload[0] == '\0' || payload[1] != ' ' ||
	    strnlen(payload + 2, JOB_ID_LEN + 1) < JOB_ID_LEN)
		return;
	memcpy(id, payload + 2, JOB_ID_LEN);
	id[JOB_ID_LEN] = '\0';
	if (!job_id_valid(id))
		return;
	rest = payload + 2 + JOB_ID_LEN;
	for (i = 0; i < sizeof(cluster_verbs) / sizeof(cluster_verbs[0]); i++) {
		if (cluster_verbs[i].verb != payload[0])
			continue;
		if (cluster_verbs[i].with_node ? rest[0] == ' ' &&
		    cluster_node_valid(rest + 1) : rest[0] == '\0')
			cluster_verbs[i].call(&c->hooks, id, rest[0] == ' ' ?
			    rest + 1 : NULL);
		return;
	}
}

/* Hands every notification libpq holds to its hook. */
static void
cluster_notifies(struct cluster *c)
{
	PGnotify	*n;

	while (!cluster_stopping(c) &&
	    (n = PQnotifies(c->listen_link.pg)) != NULL) {
		if (strcmp(n->relname, CLUSTER_CHANNEL) == 0)
			cluster_dispatch(c, n->extra);
		PQfreemem(n);
	}
}

/* (Re)connects the listening link and listens: 0, or -1 (retry later). */
static int
cluster_listen_up(struct cluster *c)
{
	struct cluster_link	*l = &c->listen_link;

	if (cluster_link_up(c, l) == -1)
		return -1;
	if (cluster_cmd(c, l, "LISTEN " CLUSTER_CHANNEL) == -1) {
		if (l->pg != NULL)	/* a statement's error: retry too */
			cluster_link_drop(c, l);
		return -1;
	}
	return 0;
}

/*
 * The listening thread: the notifications as they come, and hooks.poll
 * every CLUSTER_POLL_MS while listening (and at once after listening
 * again: what was sent meanwhile was missed). While the link is down
 * poll is not called: the journal's database is most likely down too.
 */
static void *
cluster_listen_main(void *arg)
{
	struct cluster		*c = arg;
	struct cluster_link	*l = &c->listen_link;
	int64_t			 poll_at = 0;
	int			 r;

	cluster_wait_start(c);
	while (!cluster_stopping(c)) {
		if (l->pg == NULL) {
			if (cluster_listen_up(c) == -1) {
				if (cluster_wait(c, -1, 0, l->retry_ms) == -1)
					break;
				continue;
			}
			poll_at = 0;
		}
		cluster_notifies(c);
		if (job_mono_ms() >= poll_at && !cluster_stopping(c)) {
			if (c->hooks.poll != NULL)
				c->hooks.poll(c->hooks.arg);
			poll_at = job_mono_ms() + CLUSTER_POLL_MS;
		}
		if ((r = cluster_wait(c, PQsocket(l->pg), POLLIN, poll_at)) ==
		    -1)
			break;
		if (r == 1 && !PQconsumeInput(l->pg)) {
			cluster_msg(l->err, sizeof(l->err),
			    PQerrorMessage(l->pg));
			cluster_link_drop(c, l);
		}
	}
	return NULL;
}

/* Frees c (its threads joined or never started). */
static void
cluster_free(struct cluster *c)
{
	PQfinish(c->lease_link.pg);
	PQfinish(c->listen_link.pg);
	if (c->wake != -1)
		close(c->wake);
	pthread_mutex_destroy(&c->gate);
	free(c->database);
	free(c->node);
	free(c);
}

/* Wakes and joins the threads started; they call no hook after. */
static void
cluster_join_threads(struct cluster *c)
{
	uint64_t	 one = 1;

	atomic_store(&c->stop, 1);
	(void)write(c->wake, &one, sizeof(one));
	if (c->threads > 1)
		pthread_join(c->listen_thread, NULL);
	if (c->threads > 0)
		pthread_join(c->lease_thread, NULL);
}

/* Starts both threads, which wait for c->gate (held): 0, or -1 (err). */
static int
cluster_threads(struct cluster *c, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = pthread_create(&c->lease_thread, NULL, cluster_lease_main,
	    c)) != 0)
		goto fail;
	c->threads++;
	if ((rc = pthread_create(&c->listen_thread, NULL, cluster_listen_main,
	    c)) != 0)
		goto fail;
	c->threads++;
	return 0;
fail:
	snprintf(err, errlen, "cluster: thread: %s", strerror(rc));
	return -1;
}

/* c's fields from conf, before anything can fail halfway: 0 or -1. */
static int
cluster_init(struct cluster *c, const struct conf *conf,
    const struct cluster_hooks *hooks)
{
	c->wake = -1;
	c->lease = conf->cluster_lease;
	c->hooks = *hooks;
	atomic_init(&c->fenced, 0);
	atomic_init(&c->stop, 0);
	c->lease_link = (struct cluster_link){ .role = "lease",
	    .backoff_ms = CLUSTER_BACKOFF_MS };
	c->listen_link = (struct cluster_link){ .role = "listen",
	    .backoff_ms = CLUSTER_BACKOFF_MS,
	    .max_backoff_ms = CLUSTER_LISTEN_MAX_MS };
	/* A renewal must come again within the lease, outage or not. */
	c->lease_link.max_backoff_ms = (int)cluster_tick_ms(c);
	if (pthread_mutex_init(&c->gate, NULL) != 0) {
		free(c);
		return -1;
	}
	if ((c->database = strdup(conf->cluster_database)) == NULL ||
	    (c->node = strdup(conf->cluster_node)) == NULL ||
	    (c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		cluster_free(c);
		return -1;
	}
	return 0;
}

struct cluster *
cluster_start(const struct conf *conf, const struct cluster_hooks *hooks,
    char *err, size_t errlen)
{
	struct cluster	*c;
	char		 why[CLUSTER_ERR_MAX];

	if (conf->cluster_database == NULL || conf->cluster_node == NULL ||
	    conf->cluster_lease < 1) {
		snprintf(err, errlen, "cluster: no cluster.database, node or "
		    "lease");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    cluster_init(c, conf, hooks) == -1) {
		snprintf(err, errlen, "cluster: %s", strerror(errno));
		return NULL;
	}
	if ((c->lease_link.pg = cluster_connect(c, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "cluster.database: cannot connect: %s",
		    why);
		goto fail;
	}
	if (cluster_join(c) == -1) {
		snprintf(err, errlen, "cluster.database: joining as node %s: "
		    "%s", c->node, c->lease_link.err);
		goto fail;
	}
	pthread_mutex_lock(&c->gate);
	if (cluster_threads(c, err, errlen) == -1) {
		pthread_mutex_unlock(&c->gate);
		goto fail;
	}
	fprintf(stderr, "level=info msg=\"cluster: node joined\" node=%s "
	    "generation=%lld lease=%d\n", c->node, (long long)c->generation,
	    c->lease);
	pthread_mutex_unlock(&c->gate);
	return c;
fail:
	cluster_join_threads(c);
	cluster_free(c);
	return NULL;
}

int64_t
cluster_generation(const struct cluster *c)
{
	return atomic_load(&((struct cluster *)c)->generation);
}

int
cluster_fenced(const struct cluster *c)
{
	return atomic_load(&c->fenced);
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL)
		return;
	cluster_join_threads(c);
	fprintf(stderr, "level=info msg=\"cluster: node stopped\" node=%s "
	    "generation=%lld\n", c->node, (long long)c->generation);
	cluster_free(c);
}
