/*
 * sched_audit: the scheduler's self-check, for tests (sched.h). It walks
 * everything under the mutex, so it is slow on purpose and never called
 * by the server.
 */
#include <sys/queue.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched_int.h"

void
sched_audit_starts(struct sched *s, int on)
{
	pthread_mutex_lock(&s->mu);
	s->audit_starts = on;
	pthread_mutex_unlock(&s->mu);
}

/* Lock li's busy count against its running holders. */
static int
audit_busy(struct sched *s, size_t li, char *err, size_t errlen)
{
	struct lock	*L = &s->locks[li];
	struct sjob	*j;
	int		 holders = 0;

	TAILQ_FOREACH(j, &s->running.head, state_link)
		if (sjob_lock_of(j, li) != NULL)
			holders++;
	if ((lock_busy(L) > L->cl->slots && !L->shrunk) ||
	    lock_busy(L) != holders) {
		sched_errf(err, errlen, "lock %s: busy/holders %d/%d",
		    L->cl->name, lock_busy(L), holders);
		return -1;
	}
	return 0;
}

/* Lock li's waiters: in seq order, none startable, counted right. */
static int
audit_waiters(struct sched *s, size_t li, char *err, size_t errlen)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	*w, *next;
	int			 nw = 0;

	TAILQ_FOREACH(w, &L->waiters, link) {
		nw++;
		next = TAILQ_NEXT(w, link);
		if (next != NULL && next->seq <= w->seq) {
			sched_errf(err, errlen, "lock %s: waiters out of "
			    "order", L->cl->name);
			return -1;
		}
		if (!s->stop && sched_startable(s, sjob_of_waiter(w))) {
			sched_errf(err, errlen, "lock %s: job %s could start "
			    "but waits", L->cl->name,
			    sjob_of_waiter(w)->job.id);
			return -1;
		}
	}
	if (nw != L->nwait) {
		sched_errf(err, errlen, "lock %s: waiter count", L->cl->name);
		return -1;
	}
	return 0;
}

/*
 * Lock li's treaps against the brute force: the waiters in the lock's
 * order, then, for each, the count and the cost of those before
 * it summed one by one, as lock_ahead must have them.
 */
static int
audit_positions(struct sched *s, size_t li, char *err, size_t errlen)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	**v;
	double			 walk = 0, fast;
	int			 i, n, k, rc = 0;

	if ((n = sched_waiters_in_order(s, li, &v)) <= 0) {
		if (n == -1)
			sched_errf(err, errlen, "out of memory");
		return n;
	}
	for (i = 0; i <= n && rc == 0; i++) {
		fast = lock_ahead(L, i < n ? v[i] : NULL, sched_unit_ms, &k);
		if (k != i || fabs(fast - walk) > 1e-9 * fmax(1, walk)) {
			sched_errf(err, errlen, "lock %s: waiter %d of %d has "
			    "%d ahead, %g ms, the walk %g ms", L->cl->name,
			    i, n, k, fast, walk);
			rc = -1;
		}
		if (i < n)
			walk += v[i]->units * sched_unit_ms(v[i]->cls);
	}
	free(v);
	return rc;
}

int
sched_audit(struct sched *s, char *err, size_t errlen)
{
	size_t	 li;
	int	 rc = -1;

	pthread_mutex_lock(&s->mu);
	for (li = 0; li < s->nlocks; li++)
		if (audit_busy(s, li, err, errlen) == -1 ||
		    audit_waiters(s, li, err, errlen) == -1 ||
		    audit_positions(s, li, err, errlen) == -1)
			goto out;
	if (s->fifo_violations > 0) {
		sched_errf(err, errlen, "%llu starts passed an earlier "
		    "startable job on a fifo lock",
		    (unsigned long long)s->fifo_violations);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
