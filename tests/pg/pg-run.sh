#!/bin/sh
# pg-run.sh CMD [ARG...]: runs CMD against a PostgreSQL of its own.
#
# initdb into a new temporary directory, a server listening on a unix
# socket in it only (listen_addresses = ''), a database "sluice"; CMD runs
# with SLUICE_TEST_PG (a libpq conninfo) and SLUICE_TEST_PG_CTL (a command
# that takes "stop" or "start", for tests that take the database away) in
# its environment. CMD and the server are stopped and the directory
# removed on every way out (CMD's end, an error, INT, TERM). Exits with
# CMD's status.
#
# The directory is under /tmp, not the build tree: a socket's path must fit
# in 107 bytes (distcheck's build trees are deep) and, when run as root,
# the server runs as an unprivileged user (PostgreSQL refuses root), who
# must reach it. That user is SLUICE_PG_USER, else "nobody".
#
# Without PostgreSQL's server programs (/usr/lib/postgresql/*/bin) it
# exits 77 (skip), or 1 when SLUICE_REQUIRE_PG=1 (CI, which installs them).
set -u

bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && bindir=$d
done
if [ -z "$bindir" ]; then
	if [ "${SLUICE_REQUIRE_PG:-0}" = 1 ]; then
		echo "pg-run: no PostgreSQL server (/usr/lib/postgresql/*/bin)" \
		    "and SLUICE_REQUIRE_PG=1: install postgresql (./bootstrap)" >&2
		exit 1
	fi
	echo "pg-run: no PostgreSQL server: skipped" >&2
	exit 77
fi

dir=$(mktemp -d /tmp/sluice-pg.XXXXXX) || exit 99
as=
if [ "$(id -u)" = 0 ]; then
	user=${SLUICE_PG_USER:-nobody}
	as="runuser -u $user --"
	chown "$user" "$dir"
fi
pgctl="$as $bindir/pg_ctl -D $dir/data -l $dir/log -w -s"

# Stops CMD and the server (if they run) and removes everything; on
# every exit.
child=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null
	if [ -f "$dir/data/postmaster.pid" ]; then
		$pgctl -m immediate stop >/dev/null 2>&1
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

fail() {
	echo "pg-run: $*" >&2
	[ -f "$dir/log" ] && tail -20 "$dir/log" >&2
	exit 99
}

$as "$bindir/initdb" -D "$dir/data" -U sluice -A trust -E UTF8 \
    --no-sync >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; fail "initdb failed"; }
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
fsync = off
CONF
$pgctl start || fail "pg_ctl start failed"
"$bindir/createdb" -h "$dir" -U sluice sluice || fail "createdb failed"

SLUICE_TEST_PG="host=$dir dbname=sluice user=sluice"
SLUICE_TEST_PG_CTL="$pgctl"
export SLUICE_TEST_PG SLUICE_TEST_PG_CTL
# In the background, so that a signal to this shell is handled at once
# (a trap waits for a foreground command to end, "wait" does not).
"$@" &
child=$!
wait "$child"
rc=$?
child=
exit $rc
