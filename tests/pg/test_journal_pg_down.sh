#!/bin/sh
# test_journal_pg_down: the PostgreSQL store's own tests (starting at
# once, the database going away and back), one at a time (-j1): one of
# them stops the server that all of them use.
exec "${top_srcdir:-.}/tests/pg/criterion-pg" \
    "${top_builddir:-.}/tests/pg/test_journal_pg_down" -j1
