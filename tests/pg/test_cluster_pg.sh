#!/bin/sh
# test_cluster_pg: the cluster's node (lease, reaper, notifications), one
# test at a time (-j1): the notification channel is the database's, and
# one test stops the server that all of them use.
exec "${top_srcdir:-.}/tests/pg/criterion-pg" \
    "${top_builddir:-.}/tests/pg/test_cluster_pg" -j1
