#!/bin/sh
# test_cluster: the cluster end to end (tests/cluster/test_cluster.c)
# against a PostgreSQL of its own (tests/pg/pg-run.sh): skipped without
# PostgreSQL's server programs, a failure then with SLUICE_REQUIRE_PG=1.
# One test at a time (-j1): each starts three nodes and an nginx, and one
# stops the database.
exec "${top_srcdir:-.}/tests/pg/criterion-pg" \
    "${top_builddir:-.}/tests/cluster/test_cluster" -j1
