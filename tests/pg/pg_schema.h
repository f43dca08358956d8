/*
 * pg_schema.h: for tests against the PostgreSQL given by
 * tests/pg/pg-run.sh (SLUICE_TEST_PG): a new, empty schema per test, and
 * the conninfo that puts a connection in it (search_path), so that tests
 * running in parallel processes never see each other's tables.
 */
#ifndef SLUICE_TEST_PG_SCHEMA_H
#define SLUICE_TEST_PG_SCHEMA_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#define PG_SCHEMA_CONNINFO_MAX	1024

/* Runs sql on the conninfo given, failing the test on an error. */
static inline void
pg_schema_exec(const char *conninfo, const char *sql)
{
	PGconn		*c = PQconnectdb(conninfo);
	PGresult	*r;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s: %s", conninfo,
	    PQerrorMessage(c));
	r = PQexec(c, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* One integer a query gives, or fails the test. */
static inline long long
pg_schema_int(const char *conninfo, const char *sql)
{
	PGconn		*c = PQconnectdb(conninfo);
	PGresult	*r;
	long long	 v;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	cr_assert_eq(PQntuples(r), 1, "%s: %d rows", sql, PQntuples(r));
	v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* Makes the schema t<pid>_<n> and its conninfo into out. */
static inline void
pg_schema_new(char *out, size_t len)
{
	static int	 n;
	const char	*base = getenv("SLUICE_TEST_PG");
	char		 name[64], sql[128];

	cr_assert_not_null(base, "SLUICE_TEST_PG is not set: run through "
	    "tests/pg/pg-run.sh");
	snprintf(name, sizeof(name), "t%ld_%d", (long)getpid(), n++);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", name);
	pg_schema_exec(base, sql);
	cr_assert_lt((size_t)snprintf(out, len, "%s options='-c search_path=%s'",
	    base, name), len);
}

#endif
