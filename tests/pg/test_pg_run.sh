#!/bin/sh
# test_pg_run: tests/pg/pg-run.sh gives its command a PostgreSQL it can
# use, passes the command's status on, and stops the server and removes
# its directory on every way out: the command's end, and a TERM or INT
# to the harness while the command runs. TAP output, the plan at the end.
set -u

top_srcdir=${top_srcdir:-.}
run=$top_srcdir/tests/pg/pg-run.sh
. "$top_srcdir/tests/tap.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pgrun.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM

bindir=
for d in /usr/lib/postgresql/*/bin; do
	[ -x "$d/pg_isready" ] && bindir=$d
done

# Probe run: skip everything when the harness skips (no server).
"$run" true 2>"$tmp/probe.err"
rc=$?
if [ "$rc" = 77 ]; then
	echo "1..0 # SKIP no PostgreSQL server"
	exit 0
fi
if [ "$rc" != 0 ] || [ -z "$bindir" ]; then
	echo "Bail out! pg-run.sh true: status $rc"
	diag <"$tmp/probe.err"
	exit 1
fi

# The command writes where its server is (socket directory, postmaster
# pid) into $1, then runs the rest of its arguments.
cat >"$tmp/cmd.sh" <<'CMD'
out=$1; shift
dir=${SLUICE_TEST_PG#host=}; dir=${dir%% *}
echo "$dir $(head -1 "$dir/data/postmaster.pid")" >"$out.tmp"
mv "$out.tmp" "$out"
"$@"
CMD

# gone OUT: the server OUT names is no longer running and its directory
# is removed (a zombie, not yet reaped by init, counts as gone).
gone() {
	[ -f "$1" ] || return 1
	set -- $(cat "$1")
	[ -d "$1" ] && return 1
	[ -r "/proc/$2/stat" ] || return 0
	[ "$(awk '{print $3}' "/proc/$2/stat")" = Z ]
}

"$run" sh "$tmp/cmd.sh" "$tmp/a" sh -c \
    'd=${SLUICE_TEST_PG#host=}; exec "$0/pg_isready" -q -h "${d%% *}"' \
    "$bindir" 2>"$tmp/a.err"
ok $? "the command can reach the server through SLUICE_TEST_PG"
gone "$tmp/a"
ok $? "after the command: server stopped, directory removed"

"$run" sh "$tmp/cmd.sh" "$tmp/b" sh -c 'exit 5' 2>/dev/null
ok $([ $? = 5 ]; echo $?) "the command's exit status is passed on"

# A signal to the harness while the command runs. A command started with
# & ignores INT (POSIX), unless given it back (env --default-signal).
for sig in TERM INT; do
	rm -f "$tmp/c"
	env --default-signal=INT "$run" sh "$tmp/cmd.sh" "$tmp/c" sleep 60 \
	    2>/dev/null &
	pid=$!
	i=0
	while [ ! -f "$tmp/c" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -$sig $pid
	wait $pid
	rc=$?
	gone "$tmp/c"
	ok $? "SIG$sig to the harness: server stopped, directory removed"
	ok $([ $rc != 0 ]; echo $?) "SIG$sig to the harness: it fails (status $rc)"
done

echo "1..$n"
exit $failed
