#!/bin/bash
# Per-request cost against the queue's length (issue 16). Two servers,
# each one lock of one slot held by a long burn job and one session
# queueing 1 ms burn jobs through nginx: the baseline keeps 10 waiters,
# the other is filled to 1,000, 10,000 and 100,000. At each level, in
# interleaved rounds on both (the machine is shared: what drifts, drifts
# for both): p50/p99 of the JSON of the last job queued (position ~
# waiters) and of GET /; then the rate of submissions for a second (wrk,
# POST, 8 connections), three rounds on each, interleaved (so the
# baseline's latencies are measured at 10 waiters, then at some
# thousands: its bursts stay; and a level's rate covers the thousands
# its own bursts add).
# usage: bench-queue.sh BUILDDIR SRCDIR [SECONDS] [LEVELS...]
set -u
builddir=$1 srcdir=$2 secs=${3:-2}
shift 3 2>/dev/null || shift $#
levels=${*:-1000 10000 100000}
command -v wrk >/dev/null || { echo "queue: SKIP (wrk not installed)"; exit 0; }
top=$(mktemp -d /tmp/sluice-bench.XXXXXX)
. "$srcdir/tests/bench/bench-lib.sh"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$top"' EXIT
cat > "$top/queue.conf" <<'CONF'
server = { max_body = 65536; drain_timeout = 1; };
sessions = { max_active = 1000000; };
clients = { max_active = 0; };
locks = { cpu = { slots = 1; queue = 1000000; order = "fifo"; }; };
tasks = { burn = { kernel = "burn"; locks = ["cpu"]; title = "Burn"; }; };
CONF
sid=0123456789abcdef0123456789abcdef
# start NAME: a server in $top/NAME; sets base_NAME and tok_NAME.
start() {
	local port
	work=$top/$1; mkdir -p "$work"
	port=$(bench_free_port)
	bench_serve "queue-$1" "$port" "$top/queue.conf"
	pids+=("$serve_pid")
	eval "base_$1=http://127.0.0.1:$port"
	eval "tok_$1=$(curl -s -H "Cookie: sid=$sid" "http://127.0.0.1:$port/session.json" |
		sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/')"
	sed -e "s/@TOK@/$(eval echo "\$tok_$1")/" -e "s/@SID@/$sid/" > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "csrf=@TOK@&ms=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "sid=@SID@"
LUA
}
# submit1 NAME MS: one job by curl; prints its id.
submit1() {
	local loc base tok
	base=$(eval echo "\$base_$1") tok=$(eval echo "\$tok_$1")
	loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: sid=$sid" \
		--data "csrf=$tok&ms=$2" "$base/tasks/burn")
	echo "${loc##*/jobs/}"
}
waiting() {
	curl -s "$(eval echo "\$base_$1")/status.json" | grep -o '"cpu":{[^}]*' |
		grep -o '"queued":[0-9]*' | head -1 | cut -d: -f2
}
# submit_for NAME SECS: POSTs through wrk; prints the requests/s.
submit_for() {
	wrk -t2 -c8 -d"$2s" -s "$top/$1/post.lua" "$(eval echo "\$base_$1")/tasks/burn" 2>/dev/null |
		awk '/^Requests\/sec:/ {print int($2)}'
}
# fill_to NAME N: about N waiters (wrk runs for a time, at most 10 s a
# go, at the rate it last had).
rate_guess=1000
fill_to() {
	local have d r=$rate_guess
	while have=$(waiting "$1"); [ "$have" -lt "$(($2 - 1500))" ]; do
		d=$(awk -v n="$(($2 - have))" -v r="$r" 'BEGIN {d = int(0.8 * n / r); print (d < 1 ? 1 : d > 10 ? 10 : d)}')
		r=$(submit_for "$1" "$d")
		[ "${r:-0}" -gt 100 ] || r=100
		rate_guess=$r
	done
	while [ "$have" -lt "$(($2 - 1))" ]; do submit1 "$1" 1 > /dev/null; have=$((have + 1)); done
}
# settle NAME: waits (at most 60 s) until the live-updates publisher has
# published what the fill marked: its count stays the same for a second.
settle() {
	local a b=-1 i
	for i in $(seq 1 60); do
		a=$(curl -s "$(eval echo "\$base_$1")/status.json" | grep -o '"published":[0-9]*' | cut -d: -f2)
		[ "$a" = "$b" ] && return
		b=$a; sleep 1
	done
}
# lat_pair NAME JOB: sets jp50 jp99 gp50 gp99 (medians of three rounds).
lat_pair() {
	local base x y a=() b=() c=() d=()
	base=$(eval echo "\$base_$1")
	for _ in 1 2 3; do
		read -r x y < <(bench_lat "$base/jobs/$2.json" | tr '\n' ' '); a+=("$x") b+=("$y")
		read -r x y < <(bench_lat "$base/" | tr '\n' ' '); c+=("$x") d+=("$y")
	done
	jp50=$(bench_median "${a[@]}") jp99=$(bench_median "${b[@]}")
	gp50=$(bench_median "${c[@]}") gp99=$(bench_median "${d[@]}")
}
start base; start big
for n in base big; do submit1 "$n" 600000 > /dev/null; done	# hold the slots
fill_to base 10; fill_to big 10
blast=$(submit1 base 1)
meets() { awk -v r="$1" -v t="$2" -v d="$3" 'BEGIN {print ((d == "le" ? r <= t : r >= t) ? "meets" : "MISSES")}'; }
echo "queue: waiters | job JSON p50 / p99 us | GET / p50 / p99 us | submissions/s (1 s of POSTs) | vs the baseline, same rounds: JSON p50, GET / p50; submissions/s"
first_rate=
for level in $levels; do
	fill_to big "$level"
	last=$(submit1 big 1)
	n=$(waiting big)
	settle big
	lat_pair base "$blast"; b50=$jp50 bg50=$gp50 b99=$jp99 bg99=$gp99
	lat_pair big "$last"
	# Three rounds, interleaved, medians: a second of wrk adds thousands.
	a=() b=()
	for _ in 1 2 3; do a+=("$(submit_for big 1)") b+=("$(submit_for base 1)"); done
	r=$(bench_median "${a[@]}") rb=$(bench_median "${b[@]}")
	[ -n "$first_rate" ] || { first_rate=$r first_base=$rb first_level=$n; }
	rj=$(bench_ratio "$jp50" "$b50") rg=$(bench_ratio "$gp50" "$bg50") rr=$(bench_ratio "$r" "$rb")
	printf 'queue: %7d | %5s / %6s | %5s / %6s | %5s | %s, %s; submissions/s %s\n' "$n" "$jp50" "$jp99" "$gp50" "$gp99" "$r" "$rj" "$rg" "$rr"
	printf 'queue: %7d | %5s / %6s | %5s / %6s | %5s | (the baseline, same rounds; its bursts leave it %d waiters)\n' \
		10 "$b50" "$b99" "$bg50" "$bg99" "$rb" "$(waiting base)"
done
rs=$(bench_ratio "$r" "$first_rate")
# The levels are minutes apart and the machine drifts: each level's rate
# against the baseline's in the same rounds, then the last against the
# first, cancels what drifted for both.
rsd=$(awk -v a="$r" -v b="$rb" -v c="$first_rate" -v d="$first_base" \
	'BEGIN {printf "%.2f", (b > 0 && c > 0 && d > 0) ? (a / b) / (c / d) : 0}')
echo "queue job JSON p50 at $n vs 10 waiters: ratio $rj (target <= 1.2: $(meets "$rj" 1.2 le))"
echo "queue GET / p50 at $n vs 10 waiters: ratio $rg (target <= 1.2: $(meets "$rg" 1.2 le))"
echo "queue submissions/s at $n vs $first_level waiters, each against the baseline in its rounds: ratio $rsd (target >= 0.9: $(meets "$rsd" 0.9 ge); minutes apart, uncorrected: $rs)"
