/*
 * slots: which slots of one keyed lock are held, as a bitmap. Slot i of
 * a lock with devices runs on devices[i].
 *
 * Plain words, no atomics: the bitmap belongs to a struct lock, which
 * the scheduler's mutex guards (sched_int.h), so every function here runs
 * under that mutex. None blocks or allocates. Not thread-safe on its own.
 */
#ifndef SLUICE_SLOTS_H
#define SLUICE_SLOTS_H

#include <stdint.h>

#define SLOTS_MAX	1024
#define SLOTS_WORDS	(SLOTS_MAX / 64)

struct slots {
	uint64_t	 bits[SLOTS_WORDS];	/* bit set = slot held */
	int		 n;		/* slots offered, 1..SLOTS_MAX */
	int		 nwords;	/* words that may hold a bit */
	int		 busy;		/* bits set */
};

/* n free slots. Returns 0, or -1 when n is outside 1..SLOTS_MAX. */
int	slots_init(struct slots *, int n);

/*
 * Offers n slots from now on (1..SLOTS_MAX; -1 otherwise, nothing
 * changed). Held slots stay held: after a shrink, slots at or past n are
 * put back as usual but never taken again, and slots_busy() may exceed n
 * until they are.
 */
int	slots_resize(struct slots *, int n);

/* Takes the lowest free slot and returns it, or -1 when none is free. */
int	slots_take(struct slots *);

/* Takes slot, which must be free and offered: slot, or -1 (nothing taken). */
int	slots_take_at(struct slots *, int slot);

/*
 * The lowest free, offered slot that is set in the bitmap in (NULL: any)
 * and not set in out (NULL: none), or -1. Both have SLOTS_WORDS words.
 */
int	slots_first_free(const struct slots *, const uint64_t *in,
	    const uint64_t *out);

/*
 * Puts back a slot slots_take() returned: 0, or -1 (nothing changed) for
 * a slot that is not held or out of range, a programming error.
 */
int	slots_put(struct slots *, int slot);

/* Held slots; free ones offered (n - busy, at least 0). */
int	slots_busy(const struct slots *);
int	slots_free(const struct slots *);

/* 1 when slot is held, 0 when free or out of range. */
int	slots_held(const struct slots *, int slot);

#endif
