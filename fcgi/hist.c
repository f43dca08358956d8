/* hist: duration histograms. See hist.h. */
#include <stdint.h>

#include "hist.h"

const int64_t hist_bounds_ms[HIST_N] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
	50000, 100000, 200000, 600000
};

void
hist_add(struct hist *h, double ms)
{
	int	 i;

	if (!(ms >= 0))
		ms = 0;
	for (i = 0; i < HIST_N && ms > (double)hist_bounds_ms[i]; i++)
		continue;
	h->b[i]++;
	h->sum_ms += ms;
	h->n++;
}

void
hist_cumulative(const struct hist *h, uint64_t cum[HIST_N + 1])
{
	uint64_t	 c = 0;
	int		 i;

	for (i = 0; i <= HIST_N; i++) {
		c += h->b[i];
		cum[i] = c;
	}
}
