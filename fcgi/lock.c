/* lock: one keyed lock (slots, waiters, order, counters). See lock.h. */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "lock.h"

/* ---------------------------------------------------------------------- */
/* The order-statistic treaps (one per column) */

/* A well-mixed priority from a unique seq (splitmix64's finaliser). */
static uint64_t
node_prio(int64_t seq)
{
	uint64_t	 z = (uint64_t)seq + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int
node_cnt(const struct lock_waiter *t)
{
	return t != NULL ? t->cnt : 0;
}

static double
node_sum(const struct lock_waiter *t)
{
	return t != NULL ? t->sum : 0;
}

static void
node_update(struct lock_waiter *t)
{
	t->cnt = 1 + node_cnt(t->left) + node_cnt(t->right);
	t->sum = t->units + node_sum(t->left) + node_sum(t->right);
}

/* 1 when a goes before b in order (keys are unique: seq is). */
static int
key_before(enum conf_order order, const struct lock_waiter *a,
    const struct lock_waiter *b)
{
	if (order == CONF_ORDER_FAIR && a->round != b->round)
		return a->round < b->round;
	return a->seq < b->seq;
}

/* Splits t into the nodes before k (*lo) and the others (*hi). */
static void
node_split(enum conf_order order, struct lock_waiter *t,
    const struct lock_waiter *k, struct lock_waiter **lo,
    struct lock_waiter **hi)
{
	if (t == NULL) {
		*lo = *hi = NULL;
		return;
	}
	if (key_before(order, t, k)) {
		node_split(order, t->right, k, &t->right, hi);
		*lo = t;
	} else {
		node_split(order, t->left, k, lo, &t->left);
		*hi = t;
	}
	node_update(t);
}

/* Inserts w into t (w's key not in t); the new root. */
static struct lock_waiter *
node_insert(enum conf_order order, struct lock_waiter *t,
    struct lock_waiter *w)
{
	if (t == NULL || w->prio > t->prio) {
		node_split(order, t, w, &w->left, &w->right);
		node_update(w);
		return w;
	}
	if (key_before(order, w, t))
		t->left = node_insert(order, t->left, w);
	else
		t->right = node_insert(order, t->right, w);
	node_update(t);
	return t;
}

/* Joins a and b (every key of a before b's). */
static struct lock_waiter *
node_merge(struct lock_waiter *a, struct lock_waiter *b)
{
	if (a == NULL || b == NULL)
		return a != NULL ? a : b;
	if (a->prio > b->prio) {
		a->right = node_merge(a->right, b);
		node_update(a);
		return a;
	}
	b->left = node_merge(a, b->left);
	node_update(b);
	return b;
}

/* Removes w, which is in t; the new root. */
static struct lock_waiter *
node_remove(enum conf_order order, struct lock_waiter *t,
    struct lock_waiter *w)
{
	if (t == w)
		return node_merge(t->left, t->right);
	if (key_before(order, w, t))
		t->left = node_remove(order, t->left, w);
	else
		t->right = node_remove(order, t->right, w);
	node_update(t);
	return t;
}

/* Count (*n) and units of t's nodes before k (NULL: all). */
static double
node_before(enum conf_order order, const struct lock_waiter *t,
    const struct lock_waiter *k, int *n)
{
	double	 units = 0;

	*n = 0;
	if (k == NULL) {
		*n = node_cnt(t);
		return node_sum(t);
	}
	while (t != NULL) {
		if (key_before(order, t, k)) {
			*n += node_cnt(t->left) + 1;
			units += node_sum(t->left) + t->units;
			t = t->right;
		} else
			t = t->left;
	}
	return units;
}

static struct lock_col *
col_find(const struct lock *l, const void *cls)
{
	size_t	 i;

	for (i = 0; i < l->ncols; i++)
		if (l->cols[i].cls == cls)
			return &l->cols[i];
	return NULL;
}

/* Puts w into its column's treap. */
static void
col_insert(struct lock *l, struct lock_waiter *w)
{
	struct lock_col	*c = col_find(l, w->cls);

	w->left = w->right = NULL;
	w->prio = node_prio(w->seq);
	c->root = node_insert(l->keyed, c->root, w);
}

/* Every treap anew in the lock's current order (after a reload). */
static void
cols_rekey(struct lock *l)
{
	struct lock_waiter	*w;
	size_t			 i;

	for (i = 0; i < l->ncols; i++)
		l->cols[i].root = NULL;
	l->keyed = l->cl->order;
	TAILQ_FOREACH(w, &l->waiters, link)
		col_insert(l, w);
}

int
lock_reserve(struct lock *l, const void *cls)
{
	struct lock_col	*grown;

	if (col_find(l, cls) != NULL)
		return 0;
	/*
	 * Never reused: a column stays until lock_free, so that one reserved
	 * before a journal write is still there after it. Classes are tasks,
	 * which the scheduler never frees while it runs: few columns.
	 */
	if ((grown = realloc(l->cols, (l->ncols + 1) * sizeof(*grown))) ==
	    NULL)
		return -1;
	l->cols = grown;
	l->cols[l->ncols].cls = cls;
	l->cols[l->ncols++].root = NULL;
	return 0;
}

double
lock_ahead(const struct lock *l, const struct lock_waiter *w,
    double (*weight)(const void *cls), int *n)
{
	double	 total = 0, units;
	size_t	 i;
	int	 k;

	*n = 0;
	for (i = 0; i < l->ncols; i++) {
		units = node_before(l->keyed, l->cols[i].root, w, &k);
		if (k > 0) {
			*n += k;
			total += weight(l->cols[i].cls) * units;
		}
	}
	return total;
}

/* The first k nodes of t in order, appended to out[*n..k). */
static void
node_first(struct lock_waiter *t, struct lock_waiter **out, int k, int *n)
{
	if (t == NULL || *n >= k)
		return;
	node_first(t->left, out, k, n);
	if (*n < k)
		out[(*n)++] = t;
	node_first(t->right, out, k, n);
}

int
lock_front(const struct lock *l, struct lock_waiter **out, int k)
{
	struct lock_waiter	*col[LOCK_FRONT_MAX], *was[LOCK_FRONT_MAX];
	size_t			 i;
	int			 n = 0, nc, nw, a, b;

	if (k > LOCK_FRONT_MAX)
		k = LOCK_FRONT_MAX;
	for (i = 0; i < l->ncols; i++) {
		nc = 0;
		node_first(l->cols[i].root, col, k, &nc);
		/* Merge the column's first ones into what the others gave. */
		memcpy(was, out, (size_t)n * sizeof(*out));
		nw = n;
		for (n = a = b = 0; n < k && (a < nw || b < nc); n++)
			out[n] = b == nc || (a < nw && key_before(l->keyed,
			    was[a], col[b])) ? was[a++] : col[b++];
	}
	return n;
}

/* ---------------------------------------------------------------------- */

int
lock_init(struct lock *l, const struct conf_lock *cl)
{
	memset(l, 0, sizeof(*l));
	if (slots_init(&l->slots, cl->slots) == -1)
		return -1;
	l->cl = cl;
	l->keyed = cl->order;
	TAILQ_INIT(&l->waiters);
	return 0;
}

void
lock_free(struct lock *l)
{
	free(l->cols);
	l->cols = NULL;
	l->ncols = 0;
}

int
lock_rebind(struct lock *l, const struct conf_lock *cl)
{
	if (slots_resize(&l->slots, cl->slots) == -1)
		return -1;
	l->cl = cl;
	l->shrunk = slots_busy(&l->slots) > cl->slots;
	if (l->keyed != cl->order)
		cols_rekey(l);
	return 0;
}

int
lock_has_room(const struct lock *l)
{
	return !l->cluster_full && slots_busy(&l->slots) < l->cl->slots;
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
	return key_before(l->cl->order, a, b);
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
	 * Its session's next round, but never before the round being
	 * served: a session that comes back does not jump ahead of those
	 * that waited meanwhile. Taken in either order, so that a reload
	 * to fair finds the rounds there.
	 */
	w->round = w->turn->turn > l->round ? w->turn->turn : l->round;
	w->turn->turn = w->round + 1;
	col_insert(l, w);
	return TAILQ_FIRST(&l->waiters) == w;
}

void
lock_unwait(struct lock *l, struct lock_waiter *w)
{
	struct lock_col	*c = col_find(l, w->cls);

	c->root = node_remove(l->keyed, c->root, w);
	if (l->cursor == w)
		l->cursor = TAILQ_NEXT(w, link);
	TAILQ_REMOVE(&l->waiters, w, link);
	l->nwait--;
}

int
lock_start_at(struct lock *l, struct lock_waiter *w, int slot,
    double waited_ms)
{
	lock_unwait(l, w);
	if (w->round > l->round)
		l->round = w->round;
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
