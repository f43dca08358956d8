/*
 * journal_store.h: the store a journal test opens. Built plain, SQLite
 * (journal_open). Built with -DJOURNAL_TEST_PG (tests/pg/pg.am), the
 * PostgreSQL store in the database tests/pg/pg-run.sh gives
 * (SLUICE_TEST_PG), each test in a new schema of its own (tests run in
 * parallel processes), which starts empty as a new database would.
 * test_store_new() in each test's setup, before test_open.
 */
#ifndef SLUICE_TEST_JOURNAL_STORE_H
#define SLUICE_TEST_JOURNAL_STORE_H

#include <stddef.h>

#include "journal.h"

#ifdef JOURNAL_TEST_PG
#include "pg_schema.h"

static char	 test_db[PG_SCHEMA_CONNINFO_MAX];

static inline void
test_store_new(void)
{
	pg_schema_new(test_db, sizeof(test_db));
}

static inline struct journal *
test_open(const char *dir, char *err, size_t errlen)
{
	return journal_open_db(test_db, dir, err, errlen);
}
#else
static inline void
test_store_new(void)
{
}

static inline struct journal *
test_open(const char *dir, char *err, size_t errlen)
{
	return journal_open(dir, err, errlen);
}
#endif

#endif
