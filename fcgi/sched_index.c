/*
 * sched_index: the scheduler's lookups: jobs by id and by (session,
 * nonce), sessions by id, clients by address, tasks by name; what a
 * job counts against; and making and freeing a job.
 * Everything here runs under sched.mu.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sched_int.h"

/* FNV-1a of a, and of b after a separator when b is not NULL. */
static uint64_t
hash_str(const char *a, const char *b)
{
	uint64_t	 h = UINT64_C(1469598103934665603);

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * UINT64_C(1099511628211);
	if (b != NULL) {
		h = (h ^ 0xff) * UINT64_C(1099511628211);
		for (; *b != '\0'; b++)
			h = (h ^ (unsigned char)*b) *
			    UINT64_C(1099511628211);
	}
	return h;
}

struct sjob *
sched_job_find(struct sched *s, const char *id)
{
	struct sjob	*j;

	LIST_FOREACH(j, &s->by_id[hash_str(id, NULL) % s->nbuckets], by_id)
		if (strcmp(j->job.id, id) == 0)
			return j;
	return NULL;
}

struct sjob *
sched_nonce_find(struct sched *s, const char *session, const char *nonce)
{
	struct sjob	*j;

	LIST_FOREACH(j, &s->by_nonce[hash_str(session, nonce) % s->nbuckets],
	    by_nonce)
		if (strcmp(j->job.session, session) == 0 &&
		    strcmp(j->job.nonce, nonce) == 0)
			return j;
	return NULL;
}

/* Puts j into the buckets of both tables. */
static void
index_insert(struct sched *s, struct sjob *j)
{
	LIST_INSERT_HEAD(&s->by_id[hash_str(j->job.id, NULL) % s->nbuckets],
	    j, by_id);
	if (j->job.nonce[0] != '\0')
		LIST_INSERT_HEAD(&s->by_nonce[hash_str(j->job.session,
		    j->job.nonce) % s->nbuckets], j, by_nonce);
}

/*
 * Both tables with four times the buckets, so that a lookup stays O(1)
 * in a queue of 1,000,000: O(jobs) once per x4 (amortised O(1) per job).
 * Out of memory: the tables stay as they are (longer chains, no harm).
 */
static void
index_grow(struct sched *s)
{
	struct sjob_bucket	*id, *nonce, *old = s->by_id;
	struct sjob		*j;
	size_t			 i, n = s->nbuckets;

	id = calloc(n * 4, sizeof(*id));
	nonce = calloc(n * 4, sizeof(*nonce));
	if (id == NULL || nonce == NULL) {
		free(id);
		free(nonce);
		return;
	}
	free(s->by_nonce);	/* every entry is in by_id too */
	s->by_id = id;
	s->by_nonce = nonce;
	s->nbuckets = n * 4;
	for (i = 0; i < n; i++)
		while ((j = LIST_FIRST(&old[i])) != NULL) {
			LIST_REMOVE(j, by_id);
			index_insert(s, j);
		}
	free(old);
}

/* Indexes j by id and, when it has one, by (session, nonce). */
void
sched_job_index(struct sched *s, struct sjob *j)
{
	index_insert(s, j);
	if (++s->nindexed > 2 * s->nbuckets)
		index_grow(s);
}

void
sched_job_unindex(struct sched *s, struct sjob *j)
{
	s->nindexed--;
	LIST_REMOVE(j, by_id);
	if (j->job.nonce[0] != '\0')
		LIST_REMOVE(j, by_nonce);
}

/* The session entry, created when create is set; NULL on ENOMEM/absent. */
struct sess *
sched_sess_get(struct sched *s, const char *sid, int create)
{
	struct sess_bucket	*bp;
	struct sess		*e;

	bp = &s->sessions[hash_str(sid, NULL) % SCHED_SESS_BUCKETS];
	LIST_FOREACH(e, bp, link)
		if (strcmp(e->sid, sid) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	if ((e->turns = calloc(s->nlocks, sizeof(*e->turns))) == NULL) {
		free(e);
		return NULL;
	}
	snprintf(e->sid, sizeof(e->sid), "%s", sid);
	LIST_INSERT_HEAD(bp, e, link);
	return e;
}

/* Frees the session entry once it has no active job. */
void
sched_sess_put(struct sched *s, struct sess *e)
{
	(void)s;
	if (e == NULL || e->active > 0)
		return;
	LIST_REMOVE(e, link);
	sched_sess_free(e);
}

void
sched_sess_free(struct sess *e)
{
	free(e->turns);
	free(e);
}

struct sclient *
sched_client_get(struct sched *s, const char *addr, int create)
{
	struct sclient_bucket	*bp;
	struct sclient		*c;

	if (addr == NULL || addr[0] == '\0')
		return NULL;
	bp = &s->clients[hash_str(addr, NULL) % SCHED_CLIENT_BUCKETS];
	LIST_FOREACH(c, bp, link)
		if (strcmp(c->addr, addr) == 0)
			return c;
	if (!create || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	LIST_INSERT_HEAD(bp, c, link);
	return c;
}

void
sched_client_put(struct sched *s, struct sclient *c)
{
	(void)s;
	if (c == NULL || c->active > 0)
		return;
	LIST_REMOVE(c, link);
	free(c);
}

void
sched_job_count(struct sched *s, struct sjob *j, struct sess *e,
    struct sclient *c)
{
	j->sess = e;
	e->active++;
	if ((j->client = c) != NULL)
		c->active++;
	s->active++;
}

void
sched_job_uncount(struct sched *s, struct sjob *j)
{
	j->sess->active--;
	sched_sess_put(s, j->sess);
	j->sess = NULL;
	if (j->client != NULL) {
		j->client->active--;
		sched_client_put(s, j->client);
		j->client = NULL;
	}
	s->active--;
}

struct stask *
sched_task_find(struct sched *s, const char *name)
{
	size_t	 i;

	for (i = 0; i < s->ntasks; i++)
		if (strcmp(s->tasks[i]->ct->name, name) == 0)
			return s->tasks[i];
	return NULL;
}

struct stask *
stask_new(void)
{
	struct stask	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if ((st->devs = calloc(SLOTS_MAX, sizeof(*st->devs))) == NULL) {
		free(st);
		return NULL;
	}
	st->ema_ms = SCHED_SEED_MS;
	return st;
}

void
stask_free(struct stask *st)
{
	if (st == NULL)
		return;
	free(st->devs);
	free(st->failing);
	free(st);
}

void
sched_task_bind(struct stask *st, const struct conf_task *ct)
{
	st->ct = ct;
	sched_cost_bind(st);
}

struct lock *
sjob_lock(struct sched *s, const struct sjob *j, size_t i)
{
	if (j->locks[i].lidx >= s->nlocks)
		return NULL;
	return &s->locks[j->locks[i].lidx];
}

struct sjob_lock *
sjob_lock_of(const struct sjob *j, size_t li)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (j->locks[i].lidx == li)
			return (struct sjob_lock *)&j->locks[i];
	return NULL;
}

/* The JSON array of the task's lock names, e.g. ["gpu"]; NULL on ENOMEM. */
static char *
locks_json(const struct conf_task *ct)
{
	json_t	*a;
	char	*out = NULL;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < ct->nlocks; i++)
		if (json_array_append_new(a, json_string(ct->locks[i])) == -1)
			goto out;
	out = json_dumps(a, JSON_COMPACT);
out:
	json_decref(a);
	return out;
}

/* A new job of st (not yet indexed or queued); NULL on ENOMEM. */
struct sjob *
sjob_new(struct stask *st, const char *session, const char *nonce,
    const char *params_json, const json_t *params)
{
	struct sjob	*j;
	size_t		 i, n = st->ct->nlocks;

	if ((j = calloc(1, sizeof(*j) + n * sizeof(j->locks[0]))) == NULL)
		return NULL;
	j->st = st;
	j->nlocks = n;
	j->wlock = st->ct->worker_lock < n ? st->ct->worker_lock : 0;
	j->device = -1;
	for (i = 0; i < n; i++) {
		j->locks[i].lidx = st->ct->lock_index[i];
		j->locks[i].slot = -1;
		j->locks[i].pos = (int)i;
	}
	snprintf(j->job.session, sizeof(j->job.session), "%s", session);
	snprintf(j->job.nonce, sizeof(j->job.nonce), "%s", nonce);
	j->job.task = strdup(st->ct->name);
	j->job.kernel = st->ct->kernel != NULL ? strdup(st->ct->kernel) :
	    NULL;
	j->job.locks = locks_json(st->ct);
	j->job.params = strdup(params_json != NULL ? params_json : "{}");
	if (j->job.task == NULL || (st->ct->kernel != NULL &&
	    j->job.kernel == NULL) || j->job.locks == NULL ||
	    j->job.params == NULL) {
		sjob_free(j);
		return NULL;
	}
	j->units = params != NULL ? sched_cost_units_of(st->ct->kernel,
	    params) : sched_cost_units(st->ct->kernel, j->job.params);
	j->job.state = JOB_QUEUED;
	j->job.slot = -1;
	j->job.position = -1;
	j->job.eta_ms = -1;
	j->ev_pos = -1;
	j->ev_eta = -1;
	return j;
}

void
sjob_free(struct sjob *j)
{
	if (j == NULL)
		return;
	job_clear(&j->job);
	free(j->doomed);
	free(j);
}
