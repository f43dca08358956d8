/*
 * sluice-example-primes: counts the primes up to n with a segmented
 * sieve of Eratosthenes, as a Sluice worker written in C on the helper
 * library (sluice_worker.h). An example to copy: it reports progress per
 * segment and stops when the job is cancelled.
 *
 *	cc -o primes primes.c $(pkg-config --cflags --libs sluice-worker)
 *
 * Config (the example config has it):
 *
 *	primes = {
 *	  worker = ["sluice-example-primes"];
 *	  locks = ["cpu"];
 *	  inputs = { n = { type = "int"; min = 10; max = 4000000000; }; };
 *	};
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice_worker.h"

#define SEGMENT	(1 << 18)	/* numbers per segment: fits a cache */

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The primes up to sqrt(n), by a plain sieve; *count of them. */
static uint32_t *
small_primes(uint64_t n, size_t *count)
{
	uint32_t	 lim = (uint32_t)sqrt((double)n) + 1, i, j;
	uint32_t	*p;
	char		*comp;
	size_t		 k = 0;

	if ((comp = calloc(lim + 1, 1)) == NULL ||
	    (p = malloc((lim + 1) * sizeof(*p))) == NULL) {
		free(comp);
		return NULL;
	}
	for (i = 2; i <= lim; i++) {
		if (comp[i])
			continue;
		p[k++] = i;
		for (j = i * 2; j <= lim; j += i)
			comp[j] = 1;
	}
	free(comp);
	*count = k;
	return p;
}

/* Sieves [lo, lo + len) with the small primes; counts what is left. */
static uint64_t
sieve_segment(uint64_t lo, uint64_t len, const uint32_t *p, size_t np,
    char *comp, uint64_t *largest)
{
	uint64_t	 i, start, c = 0;
	size_t		 k;

	memset(comp, 0, len);
	for (k = 0; k < np && (uint64_t)p[k] * p[k] < lo + len; k++) {
		start = (lo + p[k] - 1) / p[k] * p[k];
		if (start < (uint64_t)p[k] * p[k])
			start = (uint64_t)p[k] * p[k];
		for (i = start; i < lo + len; i += p[k])
			comp[i - lo] = 1;
	}
	for (i = 0; i < len; i++)
		if (!comp[i] && lo + i >= 2) {
			c++;
			*largest = lo + i;
		}
	return c;
}

static int
run(struct sw *w, const struct sw_job *job, void *arg)
{
	const json_t	*nv = json_object_get(job->params, "n");
	uint64_t	 n, lo, len, count = 0, largest = 0;
	uint32_t	*p;
	size_t		 np;
	char		*comp, msg[80];
	double		 t0 = now_ms();

	(void)arg;
	if (!json_is_integer(nv) || json_integer_value(nv) < 2)
		return sw_error(w, "n: must be a whole number of at least 2");
	n = (uint64_t)json_integer_value(nv);
	if ((p = small_primes(n, &np)) == NULL ||
	    (comp = malloc(SEGMENT)) == NULL) {
		free(p);
		return sw_error(w, "out of memory");
	}
	for (lo = 0; lo <= n; lo += SEGMENT) {
		if (sw_cancelled(w)) {
			free(comp);
			free(p);
			return sw_error(w, "cancelled");
		}
		len = n - lo + 1 < SEGMENT ? n - lo + 1 : SEGMENT;
		count += sieve_segment(lo, len, p, np, comp, &largest);
		if ((lo / SEGMENT) % 64 == 0) {
			snprintf(msg, sizeof(msg), "%llu of %llu",
			    (unsigned long long)(lo + len),
			    (unsigned long long)n);
			sw_progress(w, (double)(lo + len) / (double)n, msg);
		}
	}
	free(comp);
	free(p);
	return sw_result(w, json_pack("{s:I,s:I,s:f}", "primes",
	    (json_int_t)count, "largest", (json_int_t)largest, "ms",
	    round((now_ms() - t0) * 10) / 10), NULL, 0);
}

int
main(void)
{
	struct sw	*w;
	char		 err[256];
	int		 rc;

	if ((w = sw_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice-example-primes: %s\n", err);
		return 2;
	}
	rc = sw_serve(w, NULL, run, NULL);
	sw_close(w);
	return rc == 0 ? 0 : 1;
}
