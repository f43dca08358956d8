/*
 * Unit tests for slots.c (the held-slot bitmap) and lock.c (one keyed
 * lock: waiters, fifo and fair order, starts, ends, counters).
 */
/* The TSan build runs without Criterion: see tap_standalone.h. */
#ifdef SLUICE_TAP_STANDALONE
#include "tap_standalone.h"
#else
#include <criterion/criterion.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "lock.h"
#include "slots.h"

/* ---------------------------------------------------------------- slots */

Test(slots, init_bounds)
{
	struct slots	 s;

	cr_expect_eq(slots_init(&s, 0), -1);
	cr_expect_eq(slots_init(&s, -3), -1);
	cr_expect_eq(slots_init(&s, SLOTS_MAX + 1), -1);
	cr_expect_eq(slots_init(&s, 1), 0);
	cr_expect_eq(slots_init(&s, SLOTS_MAX), 0);
	cr_expect_eq(slots_busy(&s), 0);
	cr_expect_eq(slots_free(&s), SLOTS_MAX);
}

/* Fills n slots: lowest slot first, then full. */
static void
fill_and_check(int n)
{
	struct slots	 s;
	int		 i;

	cr_assert_eq(slots_init(&s, n), 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(slots_take(&s), i, "n=%d i=%d", n, i);
		cr_assert(slots_held(&s, i));
	}
	cr_assert_eq(slots_take(&s), -1, "n=%d: full", n);
	cr_assert_eq(slots_busy(&s), n);
	cr_assert_eq(slots_free(&s), 0);
	/* Free a middle slot: the next take gets exactly it. */
	cr_assert_eq(slots_put(&s, n / 2), 0);
	cr_assert_eq(slots_busy(&s), n - 1);
	cr_assert_not(slots_held(&s, n / 2));
	cr_assert_eq(slots_take(&s), n / 2);
	for (i = 0; i < n; i++)
		cr_assert_eq(slots_put(&s, i), 0);
	cr_assert_eq(slots_busy(&s), 0);
}

Test(slots, fill_sizes)
{
	static const int sizes[] = { 1, 2, 3, 63, 64, 65, 127, 128, 129,
	    1000, 1023, 1024 };
	size_t	 i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		fill_and_check(sizes[i]);
}

Test(slots, put_errors)
{
	struct slots	 s;
	int		 slot;

	cr_assert_eq(slots_init(&s, 3), 0);
	cr_expect_eq(slots_put(&s, 0), -1, "not held");
	cr_expect_eq(slots_put(&s, -1), -1, "negative");
	cr_expect_eq(slots_put(&s, 3), -1, "past the end");
	cr_expect_eq(slots_held(&s, 99), 0);
	cr_assert_eq((slot = slots_take(&s)), 0);
	cr_expect_eq(slots_put(&s, slot), 0);
	cr_expect_eq(slots_put(&s, slot), -1, "double put");
	cr_expect_eq(slots_busy(&s), 0);
}

Test(slots, shrink_keeps_held_slots)
{
	struct slots	 s;
	int		 i;

	cr_assert_eq(slots_init(&s, 130), 0);
	for (i = 0; i < 130; i++)
		cr_assert_eq(slots_take(&s), i);
	cr_assert_eq(slots_resize(&s, 2), 0);
	cr_expect_eq(slots_busy(&s), 130, "held slots stay held");
	cr_expect_eq(slots_free(&s), 0);
	cr_expect(slots_held(&s, 129), "a slot past the new end");
	cr_expect_eq(slots_put(&s, 129), 0);
	cr_expect_eq(slots_put(&s, 1), 0);
	cr_expect_eq(slots_take(&s), 1, "slot 1 is offered again");
	cr_expect_eq(slots_put(&s, 100), 0);
	cr_expect_eq(slots_take(&s), -1, "slot 100 is not offered");
	cr_expect_eq(slots_resize(&s, 0), -1);
	cr_expect_eq(slots_resize(&s, SLOTS_MAX + 1), -1);
}

Test(slots, grow_offers_new_slots)
{
	struct slots	 s;

	cr_assert_eq(slots_init(&s, 1), 0);
	cr_assert_eq(slots_take(&s), 0);
	cr_assert_eq(slots_take(&s), -1);
	cr_assert_eq(slots_resize(&s, 70), 0);
	cr_expect_eq(slots_take(&s), 1);
	cr_expect_eq(slots_free(&s), 68);
}

/* ----------------------------------------------------------------- lock */

static struct conf_lock
mkcl(int slots, enum conf_order order)
{
	struct conf_lock cl;

	memset(&cl, 0, sizeof(cl));
	cl.name = (char *)"l";
	cl.slots = slots;
	cl.queue = 64;
	cl.order = order;
	return cl;
}

/* l on cl, with the one column the waiters of these tests take. */
static void
mklock(struct lock *l, const struct conf_lock *cl)
{
	cr_assert_eq(lock_init(l, cl), 0);
	cr_assert_eq(lock_reserve(l, NULL), 0);
	cr_assert_eq(lock_reserve(l, NULL), 0, "once per class");
	cr_assert_eq(l->ncols, 1);
}

/* Waiter i of session sess (its turn cell), arrival seq. */
static void
mkwaiter(struct lock_waiter *w, int64_t seq, struct lock_turn *turn)
{
	memset(w, 0, sizeof(*w));
	w->seq = seq;
	w->turn = turn;
}

Test(lock, waiters_in_arrival_order)
{
	struct conf_lock	 cl = mkcl(1, CONF_ORDER_FIFO);
	struct lock		 l;
	struct lock_turn	 t = { 0, 0 };
	struct lock_waiter	 w[4], *it;
	static const int64_t	 seqs[4] = { 5, 2, 9, 7 };
	int64_t			 last = 0;
	int			 i, n = 0;

	mklock(&l, &cl);
	for (i = 0; i < 4; i++) {
		mkwaiter(&w[i], seqs[i], &t);
		cr_expect_eq(lock_wait(&l, &w[i]), i < 2, "head %d", i);
	}
	cr_expect_eq(l.nwait, 4);
	TAILQ_FOREACH(it, &l.waiters, link) {
		cr_expect_gt(it->seq, last);
		last = it->seq;
		n++;
	}
	cr_expect_eq(n, 4);
	lock_unwait(&l, &w[1]);
	cr_expect_eq(TAILQ_FIRST(&l.waiters), &w[0]);
	cr_expect_eq(l.nwait, 3);
	lock_free(&l);
}

Test(lock, fifo_order_is_seq)
{
	struct conf_lock	 cl = mkcl(1, CONF_ORDER_FIFO);
	struct lock		 l;
	struct lock_turn	 a = { 10, 0 }, b = { 0, 0 };
	struct lock_waiter	 wa, wb;

	mklock(&l, &cl);
	mkwaiter(&wa, 1, &a);
	mkwaiter(&wb, 2, &b);
	cr_expect(lock_before(&l, &wa, &wb), "turns do not count in fifo");
	cr_expect_not(lock_before(&l, &wb, &wa));
	lock_free(&l);
}

/*
 * Fair: session A queues three jobs, B one later; B's goes second, after
 * A's first, then A's others; and A, served, queueing again goes behind
 * B's waiting job.
 */
Test(lock, fair_sessions_take_turns)
{
	struct conf_lock	 cl = mkcl(1, CONF_ORDER_FAIR);
	struct lock		 l;
	struct lock_turn	 a = { 0, 0 }, b = { 0, 0 };
	struct lock_waiter	 wa[3], wb, *first;
	int			 i, slot;

	mklock(&l, &cl);
	for (i = 0; i < 3; i++) {
		mkwaiter(&wa[i], 1 + i, &a);
		lock_wait(&l, &wa[i]);
	}
	mkwaiter(&wb, 10, &b);
	lock_wait(&l, &wb);
	slot = lock_start(&l, &wa[0], 1.0);
	cr_expect_eq(slot, 0);
	cr_expect_eq(l.round, 0, "round 0 is served");
	cr_expect_eq(a.turn, 3, "A's next job takes round 3");
	cr_expect_eq(wb.round, 0, "B joins the round being served");
	/* B (turn behind) now goes before A's second. */
	cr_expect(lock_before(&l, &wb, &wa[1]));
	cr_expect_not(lock_before(&l, &wa[1], &wb));
	/* Within one session, arrival order. */
	cr_expect(lock_before(&l, &wa[1], &wa[2]));
	cr_expect_eq(lock_end_running(&l, slot, JOB_DONE, 3.0), 0);
	first = &wb;
	cr_expect_eq(lock_start(&l, first, 2.0), 0);
	cr_expect_eq(b.turn, 1);
	cr_expect(lock_before(&l, &wa[1], &wa[2]));
	cr_expect_eq(l.n.started, 2);
	cr_expect_eq(l.n.ended[JOB_DONE], 1);
	cr_expect_eq(l.n.wait.n, 2);
	cr_expect_eq(l.n.run.n, 1);
	lock_free(&l);
}

/* A session with a job running keeps its turn when it queues again. */
Test(lock, fair_running_session_stays_behind)
{
	struct conf_lock	 cl = mkcl(2, CONF_ORDER_FAIR);
	struct lock		 l;
	struct lock_turn	 a = { 0, 0 }, b = { 0, 0 };
	struct lock_waiter	 wa1, wa2, wb;

	mklock(&l, &cl);
	mkwaiter(&wa1, 1, &a);
	lock_wait(&l, &wa1);
	cr_assert_eq(lock_start(&l, &wa1, 0), 0);
	mkwaiter(&wb, 2, &b);
	lock_wait(&l, &wb);
	mkwaiter(&wa2, 3, &a);
	lock_wait(&l, &wa2);
	cr_expect(lock_before(&l, &wb, &wa2));
	cr_expect_eq(lock_busy(&l), 1);
	cr_expect(lock_has_room(&l));
	lock_free(&l);
}

Test(lock, rebind_shrinks_and_grows)
{
	struct conf_lock	 cl = mkcl(2, CONF_ORDER_FIFO);
	struct conf_lock	 small = mkcl(1, CONF_ORDER_FIFO);
	struct conf_lock	 bad = mkcl(0, CONF_ORDER_FIFO);
	struct lock		 l;
	struct lock_turn	 t = { 0, 0 };
	struct lock_waiter	 w[2];
	int			 i;

	mklock(&l, &cl);
	for (i = 0; i < 2; i++) {
		mkwaiter(&w[i], i + 1, &t);
		lock_wait(&l, &w[i]);
		cr_assert_eq(lock_start(&l, &w[i], 0), i);
	}
	cr_expect_eq(lock_rebind(&l, &bad), -1);
	cr_expect_eq(l.cl, &cl, "a refused rebind changes nothing");
	cr_assert_eq(lock_rebind(&l, &small), 0);
	cr_expect(l.shrunk);
	cr_expect_eq(lock_busy(&l), 2);
	cr_expect_not(lock_has_room(&l));
	cr_expect_eq(lock_end_running(&l, 1, JOB_FAILED, 1), 0);
	cr_expect_not(lock_has_room(&l), "busy 1 of 1");
	cr_expect_eq(lock_end_running(&l, 1, JOB_FAILED, 1), -1, "twice");
	cr_expect_eq(lock_end_running(&l, 0, JOB_DONE, 1), 0);
	cr_expect(lock_has_room(&l));
	lock_end_waiting(&l, JOB_CANCELLED);
	cr_expect_eq(l.n.ended[JOB_CANCELLED], 1);
	cr_expect_eq(l.n.ended[JOB_FAILED], 2);
	lock_free(&l);
	cr_expect_eq(lock_init(&l, &bad), -1);
}

/* ------------------------------------------- positions (order statistic) */

#define RND_N	400	/* waiters at most */

/* The weight of class c (integers: the sums compare exactly). */
static double
rnd_weight(const void *cls)
{
	return (double)(1 + *(const int *)cls);
}

/* The brute force: the waiters of l before w (NULL: all), walked. */
static double
walk_ahead(const struct lock *l, const struct lock_waiter *w, int *n)
{
	const struct lock_waiter	*x;
	double				 sum = 0;

	*n = 0;
	TAILQ_FOREACH(x, &l->waiters, link)
		if (w == NULL || (x != w && lock_before(l, x, w))) {
			(*n)++;
			sum += rnd_weight(x->cls) * x->units;
		}
	return sum;
}

/* Every waiter's place and cost ahead: the treaps against the walk. */
static void
check_places(const struct lock *l, struct lock_waiter *w, const int *in)
{
	struct lock_waiter	*front[16];
	double			 fast, slow;
	int			 i, nf, ns;

	/* The front: the first ones in the order, in that order. */
	nf = lock_front(l, front, 16);
	walk_ahead(l, NULL, &ns);
	cr_assert_eq(nf, ns < 16 ? ns : 16, "front of %d waiters: %d", ns, nf);
	for (i = 0; i < nf; i++) {
		walk_ahead(l, front[i], &ns);
		cr_assert_eq(ns, i, "front %d is at place %d", i, ns);
	}

	for (i = 0; i <= RND_N; i++) {
		if (i < RND_N && !in[i])
			continue;
		fast = lock_ahead(l, i < RND_N ? &w[i] : NULL, rnd_weight, &nf);
		slow = walk_ahead(l, i < RND_N ? &w[i] : NULL, &ns);
		cr_assert_eq(nf, ns, "waiter %d: %d ahead, walk %d", i, nf, ns);
		cr_assert_eq(fast, slow, "waiter %d: %g, walk %g", i, fast,
		    slow);
	}
}

/* The first waiter in l's order (what a dispatch with room starts). */
static struct lock_waiter *
first_in_order(struct lock *l)
{
	struct lock_waiter	*x, *best = NULL;

	TAILQ_FOREACH(x, &l->waiters, link)
		if (best == NULL || lock_before(l, x, best))
			best = x;
	return best;
}

/*
 * Random submit / cancel / dispatch sequences, three classes, six
 * sessions: after every step every waiter's position and weighted units
 * ahead equal the walk's; a dispatch starts the waiter at position 0; and
 * a reload to the other order re-keys the treaps.
 */
static void
random_places(enum conf_order order, unsigned seed)
{
	struct conf_lock	 cl = mkcl(1, order);
	struct conf_lock	 other = mkcl(1, order == CONF_ORDER_FIFO ?
				    CONF_ORDER_FAIR : CONF_ORDER_FIFO);
	static struct lock_waiter w[RND_N];
	static const int	 cls[3] = { 0, 1, 2 };
	struct lock_turn	 turns[6];
	struct lock_waiter	*f;
	struct lock		 l;
	int			 in[RND_N], step, i, n, k, slot;

	memset(turns, 0, sizeof(turns));
	memset(in, 0, sizeof(in));
	cr_assert_eq(lock_init(&l, &cl), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(lock_reserve(&l, &cls[i]), 0);
	for (step = n = 0; step < 3 * RND_N; step++) {
		k = rand_r(&seed) % 10;
		if (k < 5 && n < RND_N) {		/* submit */
			mkwaiter(&w[n], n + 1, &turns[rand_r(&seed) % 6]);
			w[n].cls = &cls[rand_r(&seed) % 3];
			w[n].units = 1 + rand_r(&seed) % 1000;
			lock_wait(&l, &w[n]);
			in[n++] = 1;
		} else if (k < 7 && n > 0) {		/* cancel */
			i = rand_r(&seed) % n;
			if (in[i]) {
				lock_unwait(&l, &w[i]);
				in[i] = 0;
			}
		} else if ((f = first_in_order(&l)) != NULL) {	/* dispatch */
			cr_assert_eq(lock_ahead(&l, f, rnd_weight, &i), 0);
			cr_assert_eq(i, 0, "the first in order is at 0");
			slot = lock_start(&l, f, 0);
			cr_assert_eq(lock_end_running(&l, slot, JOB_DONE, 0), 0);
			in[f - w] = 0;
		}
		if (step == 2 * RND_N) {
			cr_assert_eq(lock_rebind(&l, &other), 0);
			cr_assert_eq(l.keyed, other.order);
		}
		if (step % 7 == 0 || step == 2 * RND_N)
			check_places(&l, w, in);
	}
	check_places(&l, w, in);
	lock_free(&l);
}

Test(lock, positions_match_a_walk_fifo)
{
	random_places(CONF_ORDER_FIFO, 1);
	random_places(CONF_ORDER_FIFO, 2);
}

Test(lock, positions_match_a_walk_fair)
{
	random_places(CONF_ORDER_FAIR, 3);
	random_places(CONF_ORDER_FAIR, 4);
}

static double
one_weight(const void *cls)
{
	(void)cls;
	return 1;
}

/* Fair: a session's jobs take rounds; the others' first jobs go between. */
Test(lock, fair_rounds_interleave_sessions)
{
	struct conf_lock	 cl = mkcl(1, CONF_ORDER_FAIR);
	struct lock_turn	 a = { 0, 0 }, b = { 0, 0 };
	struct lock_waiter	 wa[3], wb[2], *order[5], *f;
	struct lock		 l;
	int			 i, n;

	mklock(&l, &cl);
	for (i = 0; i < 3; i++) {
		mkwaiter(&wa[i], 1 + i, &a);
		lock_wait(&l, &wa[i]);
	}
	for (i = 0; i < 2; i++) {
		mkwaiter(&wb[i], 10 + i, &b);
		lock_wait(&l, &wb[i]);
	}
	order[0] = &wa[0], order[1] = &wb[0], order[2] = &wa[1];
	order[3] = &wb[1], order[4] = &wa[2];
	for (i = 0; i < 5; i++) {
		cr_expect_eq(lock_ahead(&l, order[i], one_weight, &n), 0);
		cr_expect_eq(n, i, "position %d", i);
	}
	for (i = 0; i < 5; i++) {
		f = first_in_order(&l);
		cr_expect_eq(f, order[i], "start %d", i);
		cr_assert_eq(lock_end_running(&l, lock_start(&l, f, 0),
		    JOB_DONE, 0), 0);
	}
	lock_free(&l);
}
