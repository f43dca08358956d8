/*
 * lock: one keyed lock of the config, as the scheduler runs it: its held
 * slots, the jobs waiting for it in its order, and its counters.
 *
 * Order. Waiters are kept in arrival order (seq). A fifo lock serves
 * them so; a fair lock serves by (the session's turn on this lock, seq):
 * the lock's turn advances by 2 at every start and the session served
 * gets the new value; a session that starts waiting gets max(its turn,
 * turn - 1), i.e. it goes behind every session that has waited since
 * before the last start but ahead of the one just served. So sessions
 * take turns: one session's ten jobs do not block another's one. Each
 * waiter points at its session's turn on this lock (struct lock_turn),
 * which its owner keeps.
 *
 * Not thread-safe: the scheduler's mutex guards every lock and every
 * lock_turn (sched_int.h). Nothing here blocks or allocates.
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
	int64_t		 turn;		/* its order key on the lock */
	int		 nwait;		/* its jobs waiting on the lock */
};

/* A job waiting on a lock; embedded in the job (container_of). */
struct lock_waiter {
	TAILQ_ENTRY(lock_waiter) link;
	int64_t			 seq;	/* arrival order, unique */
	struct lock_turn	*turn;	/* its session's, on this lock */
};
TAILQ_HEAD(lock_waiters, lock_waiter);

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
	int64_t			 turn;
	int			 shrunk;	/* busy may exceed slots (reload) */
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
 * counters; a lock shrunk below its busy count starts nothing until
 * busy < slots. Returns 0, or -1 (nothing changed) as lock_init.
 */
int	lock_rebind(struct lock *l, const struct conf_lock *cl);

/* 1 when a slot is free now. */
int	lock_has_room(const struct lock *l);
int	lock_busy(const struct lock *l);

/* 1 when waiter a goes before waiter b in l's order. */
int	lock_before(const struct lock *l, const struct lock_waiter *a,
	    const struct lock_waiter *b);

/*
 * Queues w (seq and turn set) in arrival order. Returns 1 when w is now
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
