/*
 * journal_pg_prep: the statements the journal's connection has prepared,
 * known by their text. journal_pg_run executes a statement by name from
 * its second call on, so the server parses and plans each of the store's
 * statements once per connection instead of once per call (in a
 * profile of the cluster's admission, parsing and planning were most of
 * the server's own work). A reconnect forgets them: they lived in the
 * server session that is gone. Under the journal's mutex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_pg.h"

/* FNV-1a: a cheap first test before strcmp. */
static uint32_t
prep_hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
prep_name(char name[JPG_PREP_NAME], size_t i)
{
	snprintf(name, JPG_PREP_NAME, "sluice_%zu", i);
}

int
jpg_prep(struct journal *j, const char *sql, int nparams,
    char name[JPG_PREP_NAME], PGresult **res)
{
	struct jpg_preps	*ps = &JPG(j)->preps;
	uint32_t		 h = prep_hash(sql);
	size_t			 i;
	PGresult		*r;

	*res = NULL;
	for (i = 0; i < ps->n; i++)
		if (ps->v[i].hash == h && strcmp(ps->v[i].sql, sql) == 0) {
			prep_name(name, i);
			return 1;
		}
	/* Full (the store has fewer statements than that): run unnamed. */
	if (ps->n == JPG_PREP_MAX ||
	    (ps->v[ps->n].sql = strdup(sql)) == NULL)
		return 0;
	prep_name(name, ps->n);
	r = PQprepare(JPG(j)->conn, name, sql, nparams, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		free(ps->v[ps->n].sql);
		ps->v[ps->n].sql = NULL;
		*res = r;
		return -1;
	}
	PQclear(r);
	ps->v[ps->n++].hash = h;
	return 1;
}

void
jpg_prep_forget(struct journal *j)
{
	struct jpg_preps	*ps = &JPG(j)->preps;

	while (ps->n > 0)
		free(ps->v[--ps->n].sql);
}
