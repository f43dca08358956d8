/* slots: the held-slot bitmap of a keyed lock. See slots.h. */
#include <stdint.h>
#include <string.h>

#include "slots.h"

int
slots_init(struct slots *s, int n)
{
	if (n < 1 || n > SLOTS_MAX)
		return -1;
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->nwords = (n + 63) / 64;
	return 0;
}

/*
 * Bits of word w that stand for offered slots. After a shrink, words
 * beyond n may still hold slots (nwords covers them) but offer none.
 */
static uint64_t
slots_word_mask(const struct slots *s, int w)
{
	int	 rem = s->n - 64 * w;

	if (rem <= 0)
		return 0;
	return rem >= 64 ? UINT64_MAX : (UINT64_C(1) << rem) - 1;
}

int
slots_resize(struct slots *s, int n)
{
	int	 w, nwords;

	if (n < 1 || n > SLOTS_MAX)
		return -1;
	nwords = (n + 63) / 64;
	for (w = nwords; w < SLOTS_WORDS; w++)
		if (s->bits[w] != 0)
			nwords = w + 1;
	s->n = n;
	s->nwords = nwords;
	return 0;
}

int
slots_take(struct slots *s)
{
	uint64_t	 free_bits;
	int		 w, bit;

	for (w = 0; w < s->nwords; w++) {
		free_bits = ~s->bits[w] & slots_word_mask(s, w);
		if (free_bits == 0)
			continue;
		bit = __builtin_ctzll(free_bits);
		s->bits[w] |= UINT64_C(1) << bit;
		s->busy++;
		return 64 * w + bit;
	}
	return -1;
}

int
slots_take_at(struct slots *s, int slot)
{
	if (slot < 0 || slot >= s->n || slots_held(s, slot))
		return -1;
	s->bits[slot / 64] |= UINT64_C(1) << (slot % 64);
	s->busy++;
	return slot;
}

int
slots_first_free(const struct slots *s, const uint64_t *in,
    const uint64_t *out)
{
	uint64_t	 cand;
	int		 w;

	for (w = 0; w < s->nwords; w++) {
		cand = ~s->bits[w] & slots_word_mask(s, w);
		if (in != NULL)
			cand &= in[w];
		if (out != NULL)
			cand &= ~out[w];
		if (cand != 0)
			return 64 * w + __builtin_ctzll(cand);
	}
	return -1;
}

int
slots_put(struct slots *s, int slot)
{
	uint64_t	 bit;

	if (!slots_held(s, slot))
		return -1;
	bit = UINT64_C(1) << (slot % 64);
	s->bits[slot / 64] &= ~bit;
	s->busy--;
	return 0;
}

int
slots_busy(const struct slots *s)
{
	return s->busy;
}

int
slots_free(const struct slots *s)
{
	return s->busy < s->n ? s->n - s->busy : 0;
}

int
slots_held(const struct slots *s, int slot)
{
	if (slot < 0 || slot >= SLOTS_MAX || slot / 64 >= s->nwords)
		return 0;
	return (s->bits[slot / 64] >> (slot % 64)) & 1;
}
