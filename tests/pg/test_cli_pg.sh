#!/bin/sh
# test_cli_pg: sluice -t with cluster.database: it connects, and says so,
# when the database can be reached, and fails naming the key when it
# cannot. Runs itself again under tests/pg/pg-run.sh (a PostgreSQL of its
# own); skipped without PostgreSQL's server. TAP, the plan at the end.
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
if [ -z "${SLUICE_TEST_PG:-}" ]; then
	"$top_srcdir/tests/pg/pg-run.sh" sh "$0"
	rc=$?
	[ $rc = 77 ] && echo "1..0 # SKIP no PostgreSQL server"
	[ $rc != 0 ] && [ $rc != 77 ] && echo "Bail out! pg-run.sh: status $rc"
	exit 0
fi
sluice=$top_builddir/sluice
. "$top_srcdir/tests/tap.sh"

[ -x "$sluice" ] || { echo "Bail out! no $sluice"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-clipg.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM

# conf DATABASE: it.conf with a cluster group on DATABASE, as $tmp/c.conf.
conf() {
	{ cat "$top_srcdir/tests/data/it.conf"
	  printf 'cluster = { database = "%s"; node = "n-1"; };\n' "$1"; } \
	    >"$tmp/c.conf"
}

conf "$SLUICE_TEST_PG"
st=0
"$sluice" -t -c "$tmp/c.conf" -T "$top_srcdir/templates" \
    >"$tmp/out" 2>&1 || st=1
grep -q "cluster.database can be reached" "$tmp/out" || st=1
diag <"$tmp/out"
ok $st "sluice -t: cluster.database reachable, said so, exit 0"

conf "host=$tmp/nowhere dbname=sluice user=sluice connect_timeout=5"
st=0
"$sluice" -t -c "$tmp/c.conf" -T "$top_srcdir/templates" \
    >"$tmp/out" 2>&1 && st=1
grep -q "^sluice: $tmp/c.conf: cluster.database: cannot connect: " \
    "$tmp/out" || st=1
diag <"$tmp/out"
ok $st "sluice -t: cluster.database unreachable: exit 1, naming the key"

echo "1..$n"
exit $failed
