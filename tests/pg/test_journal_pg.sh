#!/bin/sh
# test_journal_pg: tests/unit/test_journal.c against the PostgreSQL store.
exec "${top_srcdir:-.}/tests/pg/criterion-pg" \
    "${top_builddir:-.}/tests/pg/test_journal_pg"
