/*
 * lock: the slot accounting of one keyed lock.
 *
 * A lock has 1..LOCK_MAX_SLOTS slots kept in a bitmap of atomic words; a
 * set bit is a held slot. Claiming a slot is one compare-and-swap on the
 * first word with a clear bit, releasing it one atomic and, so an
 * uncontended acquire + release costs two atomic read-modify-writes, like
 * a mutex lock/unlock pair. Slot i of a lock with devices runs on
 * devices[i].
 *
 * The functions never block and never allocate; all are thread-safe on a
 * lock initialised with lock_init(). The scheduler calls them under its own
 * mutex (it must take all of a job's slots at once), but the lock itself
 * does not rely on that.
 */
#ifndef SLUICE_LOCK_H
#define SLUICE_LOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define LOCK_MAX_SLOTS	1024
#define LOCK_WORDS	(LOCK_MAX_SLOTS / 64)

struct lock {
	_Atomic uint64_t	 bits[LOCK_WORDS];	/* bit set = slot held */
	int			 nslots;		/* 1..LOCK_MAX_SLOTS */
	int			 nwords;		/* words in use */
};

/*
 * Initialises l with nslots free slots. Returns 0, or -1 when nslots is
 * outside 1..LOCK_MAX_SLOTS (l is then unusable). Not thread-safe: call it
 * before sharing l.
 */
int	lock_init(struct lock *l, int nslots);

/*
 * Changes the number of slots to nslots (1..LOCK_MAX_SLOTS; -1 otherwise,
 * nothing changed). Held slots stay held: after a shrink, slots at or past
 * nslots are released as usual but never claimed again, and lock_busy()
 * may exceed nslots until they are. Not thread-safe against the other
 * functions: the scheduler calls it under its mutex, as it does them all.
 */
int	lock_resize(struct lock *l, int nslots);

/*
 * Claims the lowest free slot and stores its index in *slot. Returns 0, or
 * -1 when every slot is held (*slot untouched). Never blocks.
 */
int	lock_try_acquire(struct lock *l, int *slot);

/*
 * Releases a slot claimed by lock_try_acquire(). Releasing a slot that is
 * not held, or out of range, is a programming error: it returns -1 and
 * changes nothing; otherwise 0.
 */
int	lock_release(struct lock *l, int slot);

/* Number of held slots (a snapshot when other threads race). */
int	lock_busy(const struct lock *l);

/* Number of free slots: nslots - lock_busy(), at least 0. */
int	lock_free(const struct lock *l);

/* 1 when slot is held, 0 when free or out of range. */
int	lock_held(const struct lock *l, int slot);

/*
 * Scheduler self-check, for tests only (sched.c implements it; declared
 * here to keep sched.h the public contract). Under the scheduler mutex,
 * verifies: busy <= slots and busy equals the running jobs holding each
 * lock; the queued counts match the waiter lists; no waiter could start
 * now (every lock of some waiter has a free slot); and, since the
 * scheduler was created, no job started on a fifo lock while an earlier
 * waiter of that lock could have started at that instant (counted only
 * while sched_audit_starts() is on). Returns 0, or -1
 * with the first problem in err. Thread-safe.
 */
struct sched;
int	sched_audit(struct sched *s, char *err, size_t errlen);
/*
 * Turns on (1) or off (0) the per-start fifo check that sched_audit()
 * reports; it costs a scan of the waiters at every start. Thread-safe.
 */
void	sched_audit_starts(struct sched *s, int on);

#endif
