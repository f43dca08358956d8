/*
 * stats_read: reading numbers back out of the two renderings of a stats
 * snapshot, as a client would (test_metrics.c, test_app.c): a sample of
 * the Prometheus text and a number at a path of a JSON object.
 */
#ifndef SLUICE_TEST_STATS_READ_H
#define SLUICE_TEST_STATS_READ_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* The value of the sample "series " (name and labels) in text; NAN if none. */
static inline double
stats_sample(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NAN;
}

/* The number at a path of keys (NULL-terminated) in o; NAN if absent. */
static inline double
stats_json_at(const json_t *o, const char *const *keys)
{
	for (; *keys != NULL && o != NULL; keys++)
		o = json_object_get(o, *keys);
	return json_is_number(o) ? json_number_value(o) : NAN;
}

/* stats_json_at(o, "a", "b", ...) without spelling out the array. */
#define AT(o, ...)	\
	stats_json_at((o), (const char *const []){ __VA_ARGS__, NULL })

#endif
