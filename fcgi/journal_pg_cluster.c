/*
 * journal_pg_cluster: what the PostgreSQL store does for a node of the
 * cluster (journal.h: journal_admit, journal_claim, journal_notify):
 * the writes that must see every node's jobs at once. Each runs in one
 * transaction with the journal's mutex held; the notifications they
 * send go out with their commit (cluster.h reads them).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "job.h"
#include "journal.h"
#include "journal_int.h"
#include "journal_pg.h"

/*
 * Admission in one statement, after the session's advisory lock (so
 * that its snapshot sees every admission of the session before ours):
 * the job (session, nonce) made, if any; the session's active jobs,
 * counted up to the cap ($22, 0: none); the row inserted, and every node
 * told, only when neither refuses it. Its one row: the old id and the
 * new seq (NULL each when there is none: both NULL is the cap's refusal). A seq given (> 0) is kept; the
 * cluster's come from jobs_seq.
 */
static const char jpg_admit_sql[] =
	"WITH old AS (SELECT id FROM jobs WHERE session = $3 AND nonce = $4 "
	"AND $4 <> ''), "
	"active AS (SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE "
	"session = $3 AND state IN ('queued', 'running') LIMIT $22) AS a), "
	"ins AS (" JPG_INSERT_COLS "SELECT " JPG_INSERT_VALS("CASE WHEN "
	"$2::bigint > 0 THEN $2::bigint ELSE nextval('jobs_seq') END")
	" WHERE NOT EXISTS (SELECT 1 FROM old) AND ($22::bigint = 0 OR "
	"(SELECT n FROM active) < $22::bigint) RETURNING id, seq) "
	"SELECT (SELECT id FROM old), (SELECT seq FROM ins), "
	"(SELECT pg_notify('" JOURNAL_PG_CHANNEL
	"', 'q ' || id) FROM ins)";

/*
 * "VERB ID" to every node, with the caller's commit ("s" says which
 * node: "s ID NODE"). 0, or -1 recorded for func. Mutex held.
 */
static int
jpg_tell(struct journal *j, const char *verb, const char *id,
    const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	char			 msg[JOB_ID_LEN + sizeof(j->node) + 8];

	if (strcmp(verb, "s") == 0)
		snprintf(msg, sizeof(msg), "s %s %s", id, j->node);
	else
		snprintf(msg, sizeof(msg), "%s %s", verb, id);
	jpg_str(&p, msg);
	return journal_pg_cmd(j, "SELECT pg_notify('" JOURNAL_PG_CHANNEL
	    "', $1)", &p, func) == -1 ? -1 : 0;
}

/* admit's transaction: an enum journal_admit_rc, or -1. */
static int
jpg_admit_tx(struct journal *j, struct job *jb, int max_active,
    char old_id[JOB_ID_LEN + 1], const char *func)
{
	struct jpg_params	 p = { .n = 0 }, q = { .n = 0 };
	PGresult		*res;
	int			 rc = -1;

	jpg_str(&p, jb->session);
	/* Two nodes admitting for one session take turns here. */
	if (journal_pg_cmd(j, "SELECT pg_advisory_xact_lock(hashtext($1))",
	    &p, func) == -1)
		return -1;
	jpg_insert_params(j, &q, jb);
	jpg_int(&q, max_active > 0 ? max_active : 0);
	if ((res = journal_pg_run(j, jpg_admit_sql, &q, func)) == NULL)
		return -1;
	if (PQntuples(res) != 1)
		journal_seterr(j, "%s: admission returned no row", func);
	else if (!PQgetisnull(res, 0, 0) &&
	    job_id_valid(PQgetvalue(res, 0, 0))) {
		memcpy(old_id, PQgetvalue(res, 0, 0), JOB_ID_LEN + 1);
		rc = JOURNAL_ADMIT_NONCE;
	} else if (!PQgetisnull(res, 0, 1)) {
		jb->seq = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		rc = JOURNAL_ADMITTED;
	} else
		rc = JOURNAL_ADMIT_CAP;
	PQclear(res);
	if (rc == JOURNAL_ADMITTED && journal_pg_files_put(j, jb->id,
	    JOBDIR_IN, jb->inputs, func) == -1)
		rc = -1;
	return rc;
}

int
journal_pg_admit(struct journal *j, struct job *jb, int max_active,
    char old_id[JOB_ID_LEN + 1])
{
	static const char	 func[] = "journal_admit";
	int			 rc = -1;

	if (journal_pg_enter(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	if ((rc = jpg_admit_tx(j, jb, max_active, old_id, func)) == -1 ||
	    journal_pg_cmd(j, "COMMIT", NULL, func) == -1) {
		rc = -1;
		journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
	/* The uploads are the cluster's now; the runner fetches them. */
	if (rc == JOURNAL_ADMITTED && jb->inputs != NULL)
		(void)jobdir_remove(journal_results_dir(j), jb->id);
out:
	pthread_mutex_unlock(&j->mtx);
	journal_recent_forget(j, jb->session);
	return rc;
}

/*
 * In claim's transaction: a free slot of cluster lock cl for id. Another
 * node taking the same slot at once makes ours conflict (the primary
 * key), so the next free one is tried, as many times as there are
 * slots. 1 when one is held, 0 when none is free, -1.
 */
static int
jpg_claim_slot(struct journal *j, const char *id,
    const struct journal_slot *cl, const char *func)
{
	struct jpg_params	 p = { .n = 0 }, l = { .n = 0 };
	int64_t			 n;
	int			 i;

	jpg_str(&l, cl->lock);
	jpg_str(&p, cl->lock);
	jpg_int(&p, cl->slots);
	jpg_str(&p, id);
	jpg_str(&p, j->node);
	jpg_int(&p, j->generation);
	for (i = 0; i < cl->slots; i++) {
		if ((n = journal_pg_cmd(j, "INSERT INTO cluster_slots (lock, "
		    "slot, job, node, generation) SELECT $1, s, $3, $4, "
		    "$5::bigint FROM generate_series(0, $2::int - 1) s WHERE "
		    "NOT EXISTS (SELECT 1 FROM cluster_slots c WHERE "
		    "c.lock = $1 AND c.slot = s) ORDER BY s LIMIT 1 "
		    "ON CONFLICT DO NOTHING", &p, func)) != 0)
			return n > 0 ? 1 : -1;
		if ((n = journal_pg_int(j, "SELECT count(*) FROM "
		    "cluster_slots WHERE lock = $1", &l, func)) == -1)
			return -1;
		if (n >= cl->slots)
			return 0;
	}
	return 0;
}

/* claim's transaction: an enum journal_claim_rc, or -1. */
static int
jpg_claim_tx(struct journal *j, const char *id, int64_t *started_ms,
    int slot, const char *device, const struct journal_slot *cl, size_t n,
    const char *func)
{
	struct jpg_params	 p = { .n = 0 }, q = { .n = 0 };
	int64_t			 rows, t;
	size_t			 i;
	int			 r;

	jpg_str(&q, id);
	jpg_str(&p, id);
	jpg_int(&p, *started_ms);
	jpg_int(&p, slot);
	jpg_str(&p, device == NULL ? "" : device);
	jpg_str(&p, j->node);
	jpg_int(&p, j->generation);
	/* Only a node that holds its lease takes a job. */
	if ((rows = journal_pg_cmd(j, "UPDATE jobs SET state = 'running', "
	    "started_ms = $2::bigint, slot = $3::int, device = $4, node = $5, "
	    "generation = $6::bigint WHERE id = $1 AND state = 'queued' AND "
	    "EXISTS (SELECT 1 FROM nodes WHERE name = $5 AND "
	    "generation = $6::bigint AND NOT lost)", &p, func)) == -1)
		return -1;
	if (rows == 0)
		return JOURNAL_CLAIM_TAKEN;
	for (i = 0; i < n; i++)
		if ((r = jpg_claim_slot(j, id, &cl[i], func)) != 1)
			return r == 0 ? JOURNAL_CLAIM_FULL : -1;
	/* Read after the slots were: a later clock than their last end. */
	if (n > 0 && (t = journal_pg_int(j, "UPDATE jobs SET started_ms = "
	    "GREATEST(started_ms, floor(extract(epoch FROM "
	    "clock_timestamp()) * 1000)::bigint) WHERE id = $1 "
	    "RETURNING started_ms", &q, func)) == -1)
		return -1;
	if (n > 0)
		*started_ms = t;
	return jpg_tell(j, "s", id, func) == -1 ? -1 : JOURNAL_CLAIMED;
}

int
journal_pg_claim(struct journal *j, const char *id, int64_t *started_ms,
    int slot, const char *device, const struct journal_slot *cl, size_t n)
{
	static const char	 func[] = "journal_claim";
	int			 rc = -1;

	if (journal_pg_enter(j, func) == -1 ||
	    journal_pg_cmd(j, "BEGIN", NULL, func) == -1)
		goto out;
	rc = jpg_claim_tx(j, id, started_ms, slot, device, cl, n, func);
	/* Taken or full: nothing of it may stay. */
	if (rc != JOURNAL_CLAIMED) {
		journal_pg_rollback(j);
		goto out;
	}
	if (journal_pg_cmd(j, "COMMIT", NULL, func) == -1) {
		rc = -1;
		journal_pg_rollback(j);
		goto out;
	}
	journal_pg_wrote(j);
out:
	pthread_mutex_unlock(&j->mtx);
	if (rc == JOURNAL_CLAIMED)
		journal_recent_forget(j, "");
	return rc;
}

int
journal_pg_notify(struct journal *j, const char *verb, const char *id)
{
	int	 rc = -1;

	if (journal_pg_enter(j, "journal_notify") == 0)
		rc = jpg_tell(j, verb, id, "journal_notify");
	pthread_mutex_unlock(&j->mtx);
	return rc;
}

int
journal_pg_fenced(struct journal *j, const char *id, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	int64_t			 n;

	jpg_str(&p, id);
	if (j->node[0] == '\0' || (n = journal_pg_int(j, "SELECT count(*) "
	    "FROM jobs WHERE id = $1", &p, func)) == 0) {
		journal_seterr(j, "%s: no such job: %s", func, id);
		return -1;
	}
	if (n == -1)
		return -1;
	fprintf(stderr, "level=warn msg=\"final write fenced: the job is no "
	    "longer this node's (its lease was lost)\" job=%s node=%s "
	    "generation=%lld\n", id, j->node, (long long)j->generation);
	return 0;
}

/* Hex of len bytes of v into out (2 * len + 1 bytes). */
static void
jpg_hex(const unsigned char *v, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[v[i] >> 4];
		out[2 * i + 1] = digits[v[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The secret's row, made with secret when none is there; 1 or -1. */
static int
jpg_secret_tx(struct journal *j, const char *name, unsigned char *secret,
    size_t len, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	PGresult		*res;
	char			 hex[129];
	const char		*v;
	size_t			 i;
	int			 ret = -1;

	jpg_hex(secret, len, hex);
	jpg_str(&p, name);
	jpg_str(&p, hex);
	/* Nodes starting at once: the first insert wins, all read it. */
	if (journal_pg_cmd(j, "INSERT INTO secrets (name, value) VALUES ($1, "
	    "decode($2, 'hex')) ON CONFLICT (name) DO NOTHING", &p,
	    func) == -1 ||
	    (res = journal_pg_run(j, "SELECT encode(value, 'hex') FROM "
	    "secrets WHERE name = $1 AND length(value) = length($2) / 2", &p,
	    func)) == NULL)
		return -1;
	if (PQntuples(res) != 1 ||
	    strlen(v = PQgetvalue(res, 0, 0)) != 2 * len) {
		journal_seterr(j, "%s: the cluster's secret %s is not of "
		    "%zu bytes", func, name, len);
		goto out;
	}
	for (i = 0; i < len; i++)
		if (sscanf(v + 2 * i, "%2hhx", &secret[i]) != 1)
			goto out;
	ret = 1;
out:
	PQclear(res);
	return ret;
}

int
journal_pg_secret(struct journal *j, const char *name,
    unsigned char *secret, size_t len)
{
	static const char	 func[] = "journal_secret";
	int			 rc = -1;

	if (journal_pg_enter(j, func) == 0)
		rc = jpg_secret_tx(j, name, secret, len, func);
	pthread_mutex_unlock(&j->mtx);
	return rc;
}

/* The rows of nodes into *out: the count, or -1. Mutex held. */
static int
jpg_nodes_read(struct journal *j, struct journal_node **out,
    const char *func)
{
	PGresult		*res;
	struct journal_node	*v = NULL;
	int			 i, n;

	if ((res = journal_pg_run(j, "SELECT n.name, n.generation, "
	    "n.lost::int, extract(epoch FROM now() - n.heartbeat_at), "
	    "(SELECT count(*) FROM jobs WHERE state = 'running' AND "
	    "node = n.name AND generation = n.generation) FROM nodes n "
	    "ORDER BY n.name", NULL, func)) == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (v = calloc((size_t)n, sizeof(*v))) == NULL) {
		journal_seterr(j, "%s: out of memory", func);
		PQclear(res);
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(v[i].name, sizeof(v[i].name), "%s",
		    PQgetvalue(res, i, 0));
		v[i].generation = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		v[i].lost = atoi(PQgetvalue(res, i, 2));
		v[i].heartbeat_age_s = strtod(PQgetvalue(res, i, 3), NULL);
		v[i].running = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	}
	PQclear(res);
	*out = v;
	return n;
}

int
journal_pg_nodes(struct journal *j, struct journal_node **out,
    int64_t *queued)
{
	static const char	 func[] = "journal_nodes";
	int			 n = -1;

	if (journal_pg_enter(j, func) == 0 &&
	    (*queued = journal_pg_int(j, "SELECT count(*) FROM jobs WHERE "
	    "state = 'queued'", NULL, func)) != -1)
		n = jpg_nodes_read(j, out, func);
	pthread_mutex_unlock(&j->mtx);
	return n;
}
