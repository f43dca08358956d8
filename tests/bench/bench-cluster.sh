#!/bin/bash
# The cluster (issue 14) beside the SQLite single node, side by side in
# one run on this machine: three nodes behind one nginx on one PostgreSQL
# (tests/pg/pg-run.sh starts a private one), one responder on its SQLite
# journal, the same config (one lock "cpu" of 2 slots per node, the
# built-in "burn" kernel; ms=0 is a no-op job).
#
# - submit: POSTs per second (wrk, 8 connections, 32 sessions in turn,
#   interleaved rounds,
#   medians) while every slot is held, so that jobs only queue;
# - jobs/s: that queue (thousands of no-op jobs) drained once the slots
#   are let go: done jobs / (last finished - first started);
# - dispatch: accepted -> started (the jobs' own created_ms and
#   started_ms) of one no-op job at a time sent to node 1, whose slots
#   are held, so that an idle slot of another node runs it (p50/p99; the
#   single node: its own idle slot).
# usage: bench-cluster.sh BUILDDIR SRCDIR [SECONDS] [DISPATCHES]
set -u
builddir=$1 srcdir=$2 secs=${3:-3} ndispatch=${4:-200}
command -v wrk >/dev/null || { echo "cluster: SKIP (wrk not installed)"; exit 0; }
if [ -z "${SLUICE_TEST_PG:-}" ]; then
	sh "$srcdir/tests/pg/pg-run.sh" /bin/bash "$0" "$builddir" "$srcdir" \
	    "$secs" "$ndispatch"
	rc=$?
	[ "$rc" = 77 ] && { echo "cluster: SKIP (no PostgreSQL server)"; rc=0; }
	exit "$rc"
fi
top=$(mktemp -d /tmp/sluice-bench.XXXXXX)
. "$srcdir/tests/bench/bench-lib.sh"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$top"' EXIT
sid=0123456789abcdef0123456789abcdef nsess=32

# newdb NAME: a database of its own for one run of the cluster; its
# conninfo.
newdb() {
	psql -q "$SLUICE_TEST_PG" -c "CREATE DATABASE $1" >/dev/null || exit 1
	echo "${SLUICE_TEST_PG/dbname=sluice/dbname=$1}"
}
# start NAME [DB]: a server in $top/NAME (a cluster of 3 on DB when
# given, nodes bench-1..3); sets base_NAME, tok_NAME, db_NAME.
start() {
	local name=$1 db=${2:-} port opts=() i
	work=$top/$name; mkdir -p "$work"
	{
		echo 'server = { max_body = 65536; drain_timeout = 1; };'
		echo 'sessions = { max_active = 10000; };'
		echo 'clients = { max_active = 0; };'
		[ -z "$db" ] || echo "cluster = { database = \"$db\"; lease = 10; };"
		echo 'locks = { cpu = { slots = 2; queue = 1000000; }; };'
		echo 'tasks = { burn = { kernel = "burn"; locks = ["cpu"]; title = "Burn"; }; };'
	} > "$work/sluice.conf"
	[ -z "$db" ] || opts=(--backends 3 --cluster --node-prefix bench)
	port=$(bench_free_port)
	bench_serve "cluster-$name" "$port" "$work/sluice.conf" "${opts[@]}"
	pids+=("$serve_pid")
	printf -v "base_$name" 'http://127.0.0.1:%s' "$port"
	printf -v "db_$name" '%s' "$db"
	printf -v "tok_$name" '%s' "$(token "$name" "$sid")"
	# wrk's POSTs come from $nsess sessions in turn, as users' would.
	{
		echo 'local s = {'
		for i in $(seq 1 "$nsess"); do
			printf '{"%032x", "%s"},\n' "$i" "$(token "$name" "$(printf %032x "$i")")"
		done
		cat <<'LUA'
}
local i = 0
request = function()
	i = i % #s + 1
	return wrk.format("POST", nil, {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Cookie"] = "sid=" .. s[i][1] }, "csrf=" .. s[i][2] .. "&ms=0")
end
LUA
	} > "$work/post.lua"
}
# token NAME SID: the CSRF token of session SID.
token() {
	curl -s -H "Cookie: sid=$2" "$(base "$1")/session.json" |
		sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/'
}
tok() { local v=tok_$1; echo "${!v}"; }
base() { local v=base_$1; echo "${!v}"; }
# sql NAME QUERY: one value per line, from the server's job store.
sql() {
	local v=db_$1
	if [ -n "${!v}" ]; then psql -Atq "${!v}" -c "$2"
	else sqlite3 "$top/$1/prefix/state/jobs.db" "$2"; fi
}
# post NAME PATH BODY [CURL OPTIONS]: POSTs with the session; prints
# where it was sent on (a 303's Location).
post() {
	local name=$1 path=$2 body=$3
	shift 3
	curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: sid=$sid" \
		--data "csrf=$(tok "$name")&$body" "$@" "$(base "$name")$path"
}
# submit NAME MS [CURL OPTIONS]: one burn job; prints its id.
submit() {
	local loc name=$1 ms=$2
	shift 2
	loc=$(post "$name" /tasks/burn "ms=$ms" "$@")
	echo "${loc##*/jobs/}"
}
# until_count NAME WHERE N: waits (at most 120 s) until N jobs match.
until_count() {
	for _ in $(seq 1 6000); do
		[ "$(sql "$1" "SELECT count(*) FROM jobs WHERE $2")" = "$3" ] && return 0
		sleep 0.02
	done
	echo "cluster: $1: never $3 jobs where $2"; exit 1
}
# hold NAME N: N long jobs, until all N run.
hold() {
	local i
	for i in $(seq 1 "$2"); do submit "$1" 600000 > /dev/null; done
	until_count "$1" "state = 'running'" "$2"
}
# release NAME [WHERE]: cancels the running jobs (that match WHERE).
release() {
	local id
	for id in $(sql "$1" "SELECT id FROM jobs WHERE state = 'running' ${2:+AND $2}"); do
		post "$1" "/jobs/$id/cancel" "" > /dev/null
	done
}
submit_rate() {
	wrk -t2 -c8 -d"${secs}s" -s "$top/$1/post.lua" "$(base "$1")/tasks/burn" 2>/dev/null |
		awk '/^Requests\/sec:/ {print int($2)}'
}
# drain NAME: lets the held slots go; prints the no-op jobs done per
# second and how many there were.
drain() {
	local n
	n=$(sql "$1" "SELECT count(*) FROM jobs WHERE state = 'queued'")
	release "$1"
	until_count "$1" "state IN ('queued', 'running')" 0
	sql "$1" "SELECT count(*) * 1000.0 / CASE WHEN MAX(finished_ms) > MIN(started_ms) THEN MAX(finished_ms) - MIN(started_ms) ELSE 1 END FROM jobs WHERE state = 'done'" 2>/dev/null |
		awk -v n="$n" '{printf "%d %d\n", $1, n}'
}
# dispatch NAME [CURL OPTIONS]: $ndispatch no-op jobs one at a time
# (each waits for the one before to be done); prints p50 and p99 of
# started_ms - created_ms.
dispatch() {
	local name=$1 i id
	shift
	for i in $(seq 1 "$ndispatch"); do
		id=$(submit "$name" 0 "$@")
		until_count "$name" "id = '$id' AND state = 'done'" 1
	done
	sql "$name" "SELECT started_ms - created_ms FROM jobs WHERE state = 'done'" |
		sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)], a[int(NR * 0.99 + 0.999)]}'
}

# Submissions and the drained queue: both up, every slot held.
start cluster "$(newdb bench_queue)"
start single
hold cluster 6
hold single 2
rc=() rs=()
for _ in 1 2 3; do
	rc+=("$(submit_rate cluster)")
	rs+=("$(submit_rate single)")
done
c=$(bench_median "${rc[@]}") s=$(bench_median "${rs[@]}")
echo "cluster submit: 3 nodes $c/s, SQLite single node $s/s (rounds ${rc[*]} | ${rs[*]}); ratio $(bench_ratio "$c" "$s")"
read -r jc nc < <(drain cluster)
read -r js ns < <(drain single)
echo "cluster jobs/s: no-op jobs drained from a queue of $nc: 3 nodes x 2 slots $jc/s (target >= 500); SQLite single node, 2 slots, queue of $ns: $js/s; ratio $(bench_ratio "$jc" "$js")"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()

# Dispatch: node 1's slots held, the others idle.
start cluster "$(newdb bench_dispatch)"
hold cluster 6
release cluster "node <> 'bench-1'"
until_count cluster "state = 'running'" 2
read -r c50 c99 < <(dispatch cluster --unix-socket "$top/cluster/prefix/run/http-1.sock")
away=$(sql cluster "SELECT count(*) FROM jobs WHERE state = 'done' AND node <> 'bench-1'")
start single
read -r s50 s99 < <(dispatch single)
echo "cluster dispatch: accepted on busy node 1 -> started on another node's idle slot: p50 $c50 ms, p99 $c99 ms (target <= 20; $away of $ndispatch ran elsewhere); SQLite single node, its own idle slot: p50 $s50 ms, p99 $s99 ms"
