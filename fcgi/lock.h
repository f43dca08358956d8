/*
 * lock: one keyed lock of the config, as the scheduler runs it: its held
 * slots, the jobs waiting for it in its order, and its counters.
 *
 * Order. Waiters are kept in arrival order (seq). A fifo lock serves
 * them so; a fair lock serves by (round, seq): a session's waiters on a
 * lock take rounds 0, 1, 2... in turn, a session that starts waiting
 * takes the round being served (the highest started so far), so its
 * first job goes behind the waiters of that round that came before it
 * and ahead of the second job of every other session. So sessions take
 * turns: one session's ten jobs do not block another's one. A waiter's
 * key never changes while it waits; each waiter points at its session's
 * next round on this lock (struct lock_turn), which its owner keeps.
 *
 * Positions. Besides the arrival list, every waiter sits in an
 * order-statistic treap of its lock keyed by the lock's order (a treap:
 * a binary search tree on the key, a heap on a priority hashed from
 * seq, so its depth is O(log n) with high probability whatever the
 * arrival pattern), one treap per column: per class of waiter (its
 * task), because what a unit costs is per class and changes as the
 * scheduler learns. Each node holds the count and units of its subtree,
 * so how many waiters, and how many units of each class, go before a
 * waiter is a walk down each column: O(columns x log n), whatever the
 * queue's length. Columns are made by lock_reserve (the only allocation)
 * and kept until lock_free.
 *
 * Not thread-safe: the scheduler's mutex guards every lock and every
 * lock_turn (sched_int.h). Nothing here blocks; only lock_reserve
 * allocates.
 */
#ifndef SLUICE_LOCK_H
#define SLUICE_LOCK_H

#include <sys/queue.h>

#include <stdint.h>

#include "conf.h"
#include "hist.h"
#include "job.h"
#include "slots.h"

/* One session's place in a fair lock's rotation. */
struct lock_turn {
	int64_t		 turn;		/* the round its next waiter takes, at least */
};

/* A job waiting on a lock; embedded in the job (container_of). */
struct lock_waiter {
	TAILQ_ENTRY(lock_waiter) link;
	int64_t			 seq;	/* arrival order, unique */
	struct lock_turn	*turn;	/* its session's, on this lock */
	const void		*cls;	/* its column (lock_reserve'd) */
	double			 units;	/* its cost, in its class's units */
	int64_t			 round;	/* fair key; set by lock_wait */
	/* Its node in its column's treap (lock.c). */
	struct lock_waiter	*left, *right;
	uint64_t		 prio;
	int			 cnt;	/* waiters in the subtree */
	double			 sum;	/* their units */
};
TAILQ_HEAD(lock_waiters, lock_waiter);

/* The waiters of one class, as an order-statistic treap. */
struct lock_col {
	const void		*cls;
	struct lock_waiter	*root;
};

#define LOCK_NSTATES	(JOB_CANCELLED + 1)

struct lock_counters {
	uint64_t	 admitted, refused, started;
	uint64_t	 ended[LOCK_NSTATES];	/* by final state */
	struct hist	 wait, run;		/* ms */
};

struct lock {
	const struct conf_lock	*cl;
	struct slots		 slots;
	struct lock_waiters	 waiters;	/* by seq */
	int			 nwait;
	int			 npending;	/* admitted, journal write in flight */
	int64_t			 round;	/* highest round started */
	struct lock_col		*cols;
	size_t			 ncols;
	enum conf_order		 keyed;	/* the order the treaps follow */
	/* Where the live-updates pass (sched_events.c) goes on next: a
	   waiter, moved on to the next when it leaves; NULL: the head. */
	struct lock_waiter	*cursor;
	int			 shrunk;	/* busy may exceed slots (reload) */
	int			 cluster_full;	/* scope "cluster": every node's
						   slots are held (a refused
						   claim); no room until one is
						   freed somewhere */
	struct lock_counters	 n;
};

/*
 * Sets up l for cl (which must outlive it, or the next lock_rebind):
 * free slots, no waiters, zero counters. Returns 0, or -1 when
 * cl->slots is outside 1..SLOTS_MAX.
 */
int	lock_init(struct lock *l, const struct conf_lock *cl);

/*
 * Binds l to cl after a reload, keeping its held slots, waiters and
 * counters (its treaps re-keyed when the order changed: O(n log n),
 * once per reload); a lock shrunk below its busy count starts nothing until
 * busy < slots. Returns 0, or -1 (nothing changed) as lock_init.
 */
int	lock_rebind(struct lock *l, const struct conf_lock *cl);

/* Frees l's columns (l has no waiters); lock_init may follow. */
void	lock_free(struct lock *l);

/*
 * Makes sure l has a column for waiters of class cls (compared as a
 * pointer, never dereferenced here), which lock_wait needs. Returns 0,
 * or -1 on ENOMEM.
 */
int	lock_reserve(struct lock *l, const void *cls);

/*
 * How many waiters go before w in l's order (w NULL: all of them), in
 * *n, and the weighted sum of their units: weight(cls) x the units of
 * the class, over the classes. O(columns x log waiters).
 */
double	lock_ahead(const struct lock *l, const struct lock_waiter *w,
	    double (*weight)(const void *cls), int *n);

/*
 * The first k (at most LOCK_FRONT_MAX) waiters in l's order, into out:
 * their count. O(columns x (k + log waiters)).
 */
#define LOCK_FRONT_MAX	64
int	lock_front(const struct lock *l, struct lock_waiter **out, int k);

/* 1 when a slot is free now (and, scope "cluster", not all held elsewhere). */
int	lock_has_room(const struct lock *l);
int	lock_busy(const struct lock *l);

/* 1 when waiter a goes before waiter b in l's order. */
int	lock_before(const struct lock *l, const struct lock_waiter *a,
	    const struct lock_waiter *b);

/*
 * Queues w (seq, turn, cls and units set; its class reserved) in
 * arrival order. Returns 1 when w is now
 * the first waiter (the head's wait deadline changed), else 0.
 */
int	lock_wait(struct lock *l, struct lock_waiter *w);
/* Takes w, which waits on l, off its list. */
void	lock_unwait(struct lock *l, struct lock_waiter *w);

/*
 * Starts waiter w on l: takes it off the list, takes the lowest free slot
 * and returns it, advances the rotation, counts the start and its wait.
 * The caller checked lock_has_room().
 */
int	lock_start(struct lock *l, struct lock_waiter *w, double waited_ms);
/* The same on a chosen slot (free, as sched_worker_slot found it). */
int	lock_start_at(struct lock *l, struct lock_waiter *w, int slot,
	    double waited_ms);

/*
 * A job that held slot ended in state after run_ms: the slot is free
 * again. Returns 0, or -1 when slot was not held (a programming error,
 * counted nonetheless).
 */
int	lock_end_running(struct lock *l, int slot, enum job_state state,
	    double run_ms);
/* A job that never started ended in state (cancelled, expired...). */
void	lock_end_waiting(struct lock *l, enum job_state state);

#endif
