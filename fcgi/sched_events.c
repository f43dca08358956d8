/*
 * sched_events: what changed, for live updates (app_events.c publishes
 * it). The scheduler only marks: a job whose state or progress changed
 * goes on a list of ids (once), a changed waiter list sets a flag; both
 * cost O(1) under the mutex and wake the publisher through its notify
 * hook. The publisher's sched_events_take does the one costly part, at
 * most every SCHED_EV_PASS_MS: a pass over the waiters (in a long queue
 * its head and the next slice: bounded, see pass_slice) that marks those
 * whose place *as shown* moved (exact below SCHED_EV_EXACT, else by a
 * tenth; an ETA by a tenth, or a second under ten), so that one dispatch
 * in a queue of 10,000 publishes a few tens of events, not 10,000: a
 * waiter at place p moves by 1/p of its place per dispatch, so only the
 * first ten or so, and those whose moves added up to a tenth, go out.
 *
 * Functions run under sched.mu unless their comment says otherwise.
 */
#include <sys/queue.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

#define SCHED_EV_PASS_MS	100	/* at most one pass per this */
#define SCHED_EV_EXACT		10	/* positions shown exactly below */
#define SCHED_EV_FRONT		64	/* a long queue's head, every pass */
#define SCHED_EV_SLICE		4096	/* and so many more per pass, fifo */
#define SCHED_EV_SLICE_FAIR	1024	/* fair: from the treaps, each */

/* Wakes the publisher once per batch of changes (until it takes them). */
static void
ev_wake(struct sched *s)
{
	if (s->ev.notify != NULL && !s->ev.woken) {
		s->ev.woken = 1;
		s->ev.notify(s->ev.arg);
	}
}

/* Puts j's id on the changed list (once). */
static void
ev_mark(struct sched *s, struct sjob *j)
{
	char	(*grown)[JOB_ID_LEN + 1];
	size_t	 ncap;

	if (j->ev_marked || s->ev.notify == NULL)
		return;
	if (s->ev.n == s->ev.cap) {
		ncap = s->ev.cap != 0 ? s->ev.cap * 2 : 64;
		if ((grown = realloc(s->ev.ids, ncap * sizeof(*grown))) ==
		    NULL)
			return;	/* the next change marks it again */
		s->ev.ids = grown;
		s->ev.cap = ncap;
	}
	memcpy(s->ev.ids[s->ev.n++], j->job.id, JOB_ID_LEN + 1);
	j->ev_marked = 1;
	ev_wake(s);
}

void
sched_ev_job(struct sched *s, struct sjob *j)
{
	ev_mark(s, j);
	if (!s->ev.gauges) {
		s->ev.gauges = 1;
		ev_wake(s);
	}
}

void
sched_ev_queues(struct sched *s)
{
	s->ev.slices = 0;	/* a long queue: every slice again */
	if (!s->ev.queues) {
		s->ev.queues = 1;
		ev_wake(s);
	}
	if (!s->ev.gauges) {
		s->ev.gauges = 1;
		ev_wake(s);
	}
}

void
sched_ev_free(struct sched *s)
{
	free(s->ev.ids);
	memset(&s->ev, 0, sizeof(s->ev));
}

/* 1 when a place shown as old would be shown otherwise as now. */
static int
pos_moved(int old, int now)
{
	if (old < 0)
		return 1;
	if (old < SCHED_EV_EXACT || now < SCHED_EV_EXACT)
		return old != now;
	return abs(now - old) * 10 >= old;
}

/*
 * The same for an ETA: by a second while under ten, else by a tenth.
 * (Pages show whole seconds, so less than a second is never visible;
 * and a second everywhere would move every waiter of a long queue at
 * each start of a job that takes a second or more.)
 */
static int
eta_moved(int64_t old, int64_t now)
{
	int64_t	 d = now > old ? now - old : old - now;

	return old < 0 || (d >= 1000 && d * 10 >= old);
}

static int
waiter_cmp(const void *a, const void *b, void *arg)
{
	const struct lock_waiter *x = *(const struct lock_waiter *const *)a;
	const struct lock_waiter *y = *(const struct lock_waiter *const *)b;

	return lock_before(arg, x, y) ? -1 : lock_before(arg, y, x);
}

int
sched_waiters_in_order(struct sched *s, size_t li, struct lock_waiter ***out)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	*w, **v;
	int			 n = 0;

	*out = NULL;
	if (L->nwait == 0)
		return 0;
	if ((v = malloc((size_t)L->nwait * sizeof(*v))) == NULL)
		return -1;
	TAILQ_FOREACH(w, &L->waiters, link)
		if (n < L->nwait)
			v[n++] = w;
	if (L->cl->order == CONF_ORDER_FAIR)
		qsort_r(v, (size_t)n, sizeof(*v), waiter_cmp, L);
	*out = v;
	return n;
}

/* Marks j when its shown place (pos, eta) moved. */
static void
check_place(struct sched *s, struct sjob *j, int pos, int64_t eta)
{
	if (pos_moved(j->ev_pos, pos) || eta_moved(j->ev_eta, eta)) {
		j->ev_pos = pos;
		j->ev_eta = eta;
		ev_mark(s, j);
	}
}

/*
 * Marks the waiters of lock li whose first lock it is and whose shown
 * place moved: position and ETA as sched_eta_ms computes them, for all
 * of them in one walk (a running sum of the estimates ahead).
 */
static void
pass_all(struct sched *s, size_t li, double running)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	**v;
	struct sjob		*j;
	double			 ahead = 0;
	int			 i, n;

	if ((n = sched_waiters_in_order(s, li, &v)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		j = sjob_of_waiter(v[i]);
		if (j->locks[0].lidx == li)
			check_place(s, j, i, (int64_t)ceil(sjob_est_ms(j) +
			    (i > 0 || !lock_has_room(L) ? (ahead + running) /
			    L->cl->slots : 0)));
		ahead += sjob_est_ms(j);
	}
	free(v);
}

/*
 * The same for one waiter w at place n with ahead ms before it; NULL
 * ahead: both from the treaps (lock_ahead).
 */
static void
pass_one(struct sched *s, size_t li, struct lock_waiter *w, double running,
    int n, const double *ahead)
{
	struct lock	*L = &s->locks[li];
	struct sjob	*j = sjob_of_waiter(w);
	double		 ms;

	if (j->locks[0].lidx != li)
		return;
	ms = ahead != NULL ? *ahead : lock_ahead(L, w, sched_unit_ms, &n);
	check_place(s, j, n, (int64_t)ceil(sjob_est_ms(j) + (n > 0 ||
	    !lock_has_room(L) ? (ms + running) / L->cl->slots : 0)));
}

/*
 * A long queue: the first SCHED_EV_FRONT waiters in the lock's order
 * (whose places move at every start), then the next slice from where the last pass stopped
 * (L->cursor, wrapping round), each at its place from the treaps. So a
 * pass costs O(front + slice) x O(log n), not O(n): a waiter far back is
 * looked at every n / slice passes, and its place, shown to a tenth,
 * moves that much only after a tenth of the queue has started.
 */
static void
pass_slice(struct sched *s, size_t li, double running)
{
	struct lock		*L = &s->locks[li];
	struct lock_waiter	*w, *front[SCHED_EV_FRONT];
	double			 ahead = 0;
	int			 i, n = 0, nf, slice, fifo;

	/* The front in the lock's order: a fair lock's is not the list's. */
	nf = lock_front(L, front, SCHED_EV_FRONT);
	for (i = 0; i < nf; i++)
		pass_one(s, li, front[i], running, 0, NULL);
	/* Fifo: list order is the order, so a running sum from the start. */
	fifo = L->cl->order == CONF_ORDER_FIFO;
	slice = fifo ? SCHED_EV_SLICE : SCHED_EV_SLICE_FAIR;
	for (w = L->cursor, i = 0; i < slice; i++) {
		if (w == NULL || i == 0) {
			if (w == NULL)
				w = TAILQ_FIRST(&L->waiters);
			ahead = lock_ahead(L, w, sched_unit_ms, &n);
		}
		pass_one(s, li, w, running, n, fifo ? &ahead : NULL);
		ahead += sjob_est_ms(sjob_of_waiter(w));
		n++;
		w = TAILQ_NEXT(w, link);
	}
	L->cursor = w;
}

/* One pass over lock li; 1 when slices of it are left to look at. */
static int
pass_lock(struct sched *s, size_t li, int64_t now)
{
	struct lock	*L = &s->locks[li];
	double		 running;
	int		 slice;

	if (L->nwait == 0)
		return 0;
	running = sched_running_left_ms(s, li, now);
	if (L->nwait <= SCHED_EV_FRONT + SCHED_EV_SLICE) {
		pass_all(s, li, running);
		return 0;
	}
	pass_slice(s, li, running);
	slice = L->cl->order == CONF_ORDER_FAIR ? SCHED_EV_SLICE_FAIR :
	    SCHED_EV_SLICE;
	return s->ev.slices * slice < L->nwait;
}

/* Any thread, outside the mutex. */
void
sched_events_attach(struct sched *s, void (*notify)(void *), void *arg)
{
	pthread_mutex_lock(&s->mu);
	s->ev.notify = notify;
	s->ev.arg = arg;
	s->ev.queues = 1;	/* the first take looks at every waiter */
	s->ev.gauges = 1;	/* and a new stream has gauges at once */
	pthread_mutex_unlock(&s->mu);
	if (notify != NULL)
		notify(arg);
}

/* Any thread, outside the mutex. */
size_t
sched_events_take(struct sched *s, char (*ids)[JOB_ID_LEN + 1], size_t max,
    int *gauges, int *again_ms)
{
	struct sjob	*j;
	int64_t		 now = sched_mono_ns(), since, est_now;
	size_t		 i, n;
	int		 more;

	*again_ms = -1;
	pthread_mutex_lock(&s->mu);
	since = (now - s->ev.pass_ns) / 1000000;
	if (s->ev.queues && since >= SCHED_EV_PASS_MS) {
		/* After a change, passes go on until each waiter had one. */
		s->ev.slices++;
		est_now = sched_est_now(s);
		for (i = 0, more = 0; i < s->nlocks; i++)
			more |= pass_lock(s, i, est_now);
		s->ev.queues = more;
		if (more)
			*again_ms = SCHED_EV_PASS_MS;
		s->ev.pass_ns = now;
	} else if (s->ev.queues)
		*again_ms = (int)(SCHED_EV_PASS_MS - since);
	n = s->ev.n < max ? s->ev.n : max;
	memcpy(ids, s->ev.ids, n * sizeof(*ids));
	memmove(s->ev.ids, s->ev.ids + n, (s->ev.n - n) * sizeof(*ids));
	s->ev.n -= n;
	for (i = 0; i < n; i++)
		if ((j = sched_job_find(s, ids[i])) != NULL)
			j->ev_marked = 0;
	*gauges = s->ev.gauges;
	s->ev.gauges = 0;
	s->ev.woken = 0;
	if (s->ev.n > 0)
		*again_ms = 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Any thread, outside the mutex. */
void
sched_events_published(struct sched *s, const char *id)
{
	struct sjob	*j;

	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL)
		j->ev_published_ns = sched_mono_ns();
	pthread_mutex_unlock(&s->mu);
}

/* Any thread, outside the mutex. */
int
sched_events_fresh(struct sched *s, const char *id, int64_t since_ns)
{
	struct sjob	*j;
	int		 fresh = 0;

	pthread_mutex_lock(&s->mu);
	if ((j = sched_job_find(s, id)) != NULL) {
		fresh = j->ev_published_ns != 0 &&
		    j->ev_published_ns >= since_ns;
		if (!fresh)
			ev_mark(s, j);
	}
	pthread_mutex_unlock(&s->mu);
	return fresh;
}
