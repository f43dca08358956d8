/* lock: slot bitmap of one keyed lock. See lock.h for the contract. */
#include <stdatomic.h>
#include <stdint.h>

#include "lock.h"

int
lock_init(struct lock *l, int nslots)
{
	int	 i;

	if (nslots < 1 || nslots > LOCK_MAX_SLOTS)
		return -1;
	l->nslots = nslots;
	l->nwords = (nslots + 63) / 64;
	for (i = 0; i < LOCK_WORDS; i++)
		atomic_init(&l->bits[i], 0);
	return 0;
}

/*
 * Bits of word w that stand for real slots. After a shrink, words beyond
 * nslots may still hold slots (nwords covers them) but offer none.
 */
static inline uint64_t
lock_word_mask(const struct lock *l, int w)
{
	int	 rem;

	rem = l->nslots - 64 * w;
	if (rem <= 0)
		return 0;
	return rem >= 64 ? UINT64_MAX : (UINT64_C(1) << rem) - 1;
}

int
lock_resize(struct lock *l, int nslots)
{
	int	 w, nwords;

	if (nslots < 1 || nslots > LOCK_MAX_SLOTS)
		return -1;
	nwords = (nslots + 63) / 64;
	for (w = nwords; w < LOCK_WORDS; w++)
		if (atomic_load_explicit(&l->bits[w],
		    memory_order_relaxed) != 0)
			nwords = w + 1;
	l->nslots = nslots;
	l->nwords = nwords;
	return 0;
}

int
lock_try_acquire(struct lock *l, int *slot)
{
	uint64_t	 cur, mask, freebits;
	int		 w, bit;

	for (w = 0; w < l->nwords; w++) {
		mask = lock_word_mask(l, w);
		cur = atomic_load_explicit(&l->bits[w], memory_order_relaxed);
		while ((freebits = ~cur & mask) != 0) {
			bit = __builtin_ctzll(freebits);
			if (atomic_compare_exchange_weak_explicit(&l->bits[w],
			    &cur, cur | (UINT64_C(1) << bit),
			    memory_order_acquire, memory_order_relaxed)) {
				*slot = w * 64 + bit;
				return 0;
			}
			/* cur was reloaded by the failed CAS: try again. */
		}
	}
	return -1;
}

int
lock_release(struct lock *l, int slot)
{
	uint64_t	 bit, old;

	/* Slots past nslots may still be held after a shrink. */
	if (slot < 0 || slot >= 64 * l->nwords)
		return -1;
	bit = UINT64_C(1) << (slot % 64);
	old = atomic_fetch_and_explicit(&l->bits[slot / 64], ~bit,
	    memory_order_release);
	return (old & bit) ? 0 : -1;
}

int
lock_busy(const struct lock *l)
{
	int	 w, n = 0;

	for (w = 0; w < l->nwords; w++)
		n += __builtin_popcountll(atomic_load_explicit(
		    (_Atomic uint64_t *)&l->bits[w], memory_order_acquire));
	return n;
}

int
lock_free(const struct lock *l)
{
	int	 n = l->nslots - lock_busy(l);

	return n > 0 ? n : 0;
}

int
lock_held(const struct lock *l, int slot)
{
	uint64_t	 cur;

	if (slot < 0 || slot >= 64 * l->nwords)
		return 0;
	cur = atomic_load_explicit((_Atomic uint64_t *)&l->bits[slot / 64],
	    memory_order_acquire);
	return (cur >> (slot % 64)) & 1;
}
