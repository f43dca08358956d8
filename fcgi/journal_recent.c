/*
 * journal_recent: the app page's "your recent jobs" (id, task, state of a
 * session's newest jobs) from memory instead of a query under the
 * journal's mutex on every page (issue 16: that query was an eighth of
 * the page's CPU, most of it waiting for the mutex).
 *
 * A direct-mapped cache of JOURNAL_RECENT_SLOTS sessions, each slot under
 * its own mutex, filled from the store on a miss. The store stays the
 * truth: every write that changes a session's jobs forgets that
 * session's slot after its commit (journal_recent_forget), and whatever
 * removes rows or changes many forgets them all (journal_recent_forget_all,
 * an epoch). A fill read before such a write is installed only when no
 * write touched its slot since the read began (the slot's generation), so
 * a cached list is never older than the last commit. Keyed by the whole
 * session id: one session never sees another's list.
 *
 * Lock order: the journal's mutex, then a slot's; a slot's mutex is never
 * held while the journal's is taken.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "journal_int.h"
#include "journal_sqlite.h"

struct journal_recent_slot {
	pthread_mutex_t		 mu;
	uint64_t		 gen;		/* bumped by every forget */
	uint64_t		 epoch;		/* journal's at the fill */
	int			 valid;
	int			 n;
	char			 session[JOB_SESSION_LEN + 1];
	struct journal_recent_job jobs[JOURNAL_RECENT_MAX];
};

struct journal_recent {
	_Atomic uint64_t		 epoch;
	struct journal_recent_slot	 slot[JOURNAL_RECENT_SLOTS];
};

struct journal_recent *
journal_recent_new(void)
{
	struct journal_recent	*r;
	size_t			 i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	for (i = 0; i < JOURNAL_RECENT_SLOTS; i++)
		pthread_mutex_init(&r->slot[i].mu, NULL);
	return r;
}

void
journal_recent_free(struct journal_recent *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < JOURNAL_RECENT_SLOTS; i++)
		pthread_mutex_destroy(&r->slot[i].mu);
	free(r);
}

/* FNV-1a of the session id. */
static struct journal_recent_slot *
slot_of(struct journal_recent *r, const char *session)
{
	uint32_t	 h = 2166136261u;

	for (; *session != '\0'; session++)
		h = (h ^ (unsigned char)*session) * 16777619u;
	return &r->slot[h % JOURNAL_RECENT_SLOTS];
}

void
journal_recent_forget(struct journal *j, const char *session)
{
	struct journal_recent_slot	*sl;

	if (j->recent == NULL)
		return;
	if (session == NULL || session[0] == '\0') {
		journal_recent_forget_all(j);
		return;
	}
	sl = slot_of(j->recent, session);
	pthread_mutex_lock(&sl->mu);
	sl->gen++;
	sl->valid = 0;
	pthread_mutex_unlock(&sl->mu);
}

void
journal_recent_forget_all(struct journal *j)
{
	if (j->recent != NULL)
		atomic_fetch_add(&j->recent->epoch, 1);
}

/* Copies the store's answer v (n jobs) into out; 0, or -1 (a name too long). */
static int
recent_copy(const struct job *v, int n, struct journal_recent_job *out)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (v[i].task == NULL ||
		    strlen(v[i].task) >= sizeof(out[i].task))
			return -1;
		memcpy(out[i].id, v[i].id, sizeof(out[i].id));
		strcpy(out[i].task, v[i].task);
		out[i].state = v[i].state;
	}
	return 0;
}

int
journal_session_recent(struct journal *j, const char *session, int max,
    struct journal_recent_job *out)
{
	struct journal_recent_slot	*sl;
	struct job			*v = NULL;
	uint64_t			 gen, epoch;
	int				 n;

	if (session == NULL || max <= 0)
		return 0;
	if (max > JOURNAL_RECENT_MAX)
		max = JOURNAL_RECENT_MAX;
	sl = slot_of(j->recent, session);
	epoch = atomic_load(&j->recent->epoch);
	pthread_mutex_lock(&sl->mu);
	if (sl->valid && sl->epoch == epoch &&
	    strcmp(sl->session, session) == 0) {
		n = sl->n < max ? sl->n : max;
		memcpy(out, sl->jobs, (size_t)n * sizeof(*out));
		pthread_mutex_unlock(&sl->mu);
		return n;
	}
	gen = sl->gen;
	pthread_mutex_unlock(&sl->mu);
	/* A miss: the store, then the slot unless a write came between. */
	if ((n = journal_session_jobs(j, session, JOURNAL_RECENT_MAX,
	    &v)) == -1)
		return -1;
	if (recent_copy(v, n, out) == -1) {
		journal_free_jobs(v, n);
		journal_seterr(j, "%s: a task name too long", __func__);
		return -1;
	}
	journal_free_jobs(v, n);
	pthread_mutex_lock(&sl->mu);
	if (sl->gen == gen && atomic_load(&j->recent->epoch) == epoch &&
	    strlen(session) < sizeof(sl->session)) {
		strcpy(sl->session, session);
		memcpy(sl->jobs, out, (size_t)n * sizeof(*out));
		sl->n = n;
		sl->epoch = epoch;
		sl->valid = 1;
	}
	pthread_mutex_unlock(&sl->mu);
	return n < max ? n : max;
}
