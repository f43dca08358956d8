#!/bin/sh
# test_journal_cluster_pg: the journal's cluster calls, nodes as journals
# on one PostgreSQL.
exec "${top_srcdir:-.}/tests/pg/criterion-pg" \
    "${top_builddir:-.}/tests/pg/test_journal_cluster_pg"
