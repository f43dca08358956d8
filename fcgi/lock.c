/* lock: one keyed lock (slots, waiters, order, counters). See lock.h. */
#include <sys/queue.h>

#include <string.h>

#include "lock.h"

int
lock_init(struct lock *l, const struct conf_lock *cl)
{
	memset(l, 0, sizeof(*l));
	if (slots_init(&l->slots, cl->slots) == -1)
		return -1;
	l->cl = cl;
	TAILQ_INIT(&l->waiters);
	return 0;
}

int
lock_rebind(struct lock *l, const struct conf_lock *cl)
{
	if (slots_resize(&l->slots, cl->slots) == -1)
		return -1;
	l->cl = cl;
	l->shrunk = slots_busy(&l->slots) > cl->slots;
	return 0;
}

int
lock_has_room(const struct lock *l)
{
	return slots_busy(&l->slots) < l->cl->slots;
}

int
lock_busy(const struct lock *l)
{
	return slots_busy(&l->slots);
}

int
lock_before(const struct lock *l, const struct lock_waiter *a,
    const struct lock_waiter *b)
{
	if (l->cl->order == CONF_ORDER_FAIR && a->turn->turn != b->turn->turn)
		return a->turn->turn < b->turn->turn;
	return a->seq < b->seq;
}

int
lock_wait(struct lock *l, struct lock_waiter *w)
{
	struct lock_waiter	*at;

	/* Recovered jobs come in seq order too: the walk is short. */
	TAILQ_FOREACH_REVERSE(at, &l->waiters, lock_waiters, link)
		if (at->seq < w->seq)
			break;
	if (at != NULL)
		TAILQ_INSERT_AFTER(&l->waiters, at, w, link);
	else
		TAILQ_INSERT_HEAD(&l->waiters, w, link);
	l->nwait++;
	/*
	 * A session that starts waiting goes behind the one just served,
	 * never ahead of its own last start: a session with a job still
	 * running keeps the turn lock_start gave it, so submitting its next
	 * job does not jump it back ahead of the others.
	 */
	if (w->turn->nwait++ == 0 && w->turn->turn < l->turn - 1)
		w->turn->turn = l->turn - 1;
	return TAILQ_FIRST(&l->waiters) == w;
}

void
lock_unwait(struct lock *l, struct lock_waiter *w)
{
	TAILQ_REMOVE(&l->waiters, w, link);
	l->nwait--;
	w->turn->nwait--;
}

int
lock_start_at(struct lock *l, struct lock_waiter *w, int slot,
    double waited_ms)
{
	lock_unwait(l, w);
	l->turn += 2;
	w->turn->turn = l->turn;
	l->n.started++;
	hist_add(&l->n.wait, waited_ms);
	return slot >= 0 ? slots_take_at(&l->slots, slot) :
	    slots_take(&l->slots);
}

int
lock_start(struct lock *l, struct lock_waiter *w, double waited_ms)
{
	return lock_start_at(l, w, -1, waited_ms);
}

int
lock_end_running(struct lock *l, int slot, enum job_state state,
    double run_ms)
{
	hist_add(&l->n.run, run_ms);
	l->n.ended[state]++;
	return slots_put(&l->slots, slot);
}

void
lock_end_waiting(struct lock *l, enum job_state state)
{
	l->n.ended[state]++;
}
