#!/bin/bash
# GET / through nginx + sluice vs the ceiling, a fixed-bytes FastCGI
# responder behind the same nginx (bench_fcgi_fixed), and vs nginx
# serving the very same bytes as a static file: interleaved rounds in one
# run (wrk), medians, printed as ratios (the machines are noisy).
# usage: bench-http.sh BUILDDIR SRCDIR [SECONDS] [ROUNDS]
set -u
builddir=$1 srcdir=$2 secs=${3:-5} rounds=${4:-3}
command -v wrk >/dev/null || { echo "http: SKIP (wrk not installed)"; exit 0; }
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
. "$srcdir/tests/bench/bench-lib.sh"
# The fixed-bytes responder runs behind a second sluice-serve (the same
# nginx binary and configuration, its own prefix and port).
trap 'bench_stop; bench_stop fixed_pid; rm -rf "$work"' EXIT
cp -r "$srcdir/nginx/static" "$work/static"
port=$(bench_free_port)

# Starts sluice-serve on CONFIG (its own prefix each time).
serve() { bench_serve http "$port" "$1" --static "$work/static"; }
threads=$("$builddir/sluice" -c "$srcdir/tests/bench/bench.conf" -p server.threads)
serve "$srcdir/tests/bench/bench.conf"
sid=0123456789abcdef0123456789abcdef
curl -s -H "Cookie: sid=$sid" "http://127.0.0.1:$port/" > "$work/static/page.html"
bytes=$(wc -c < "$work/static/page.html")

fport=$(bench_free_port)
mkdir -p "$work/fixed"
BENCH_FIXED_PAGE=$work/static/page.html "$builddir/nginx/sluice-serve" \
	--port "$fport" --config "$srcdir/tests/bench/bench.conf" \
	--prefix "$work/fixed/prefix" --sluice "$builddir/tests/bench/bench_fcgi_fixed" \
	--templates "$srcdir/templates" --static "$work/static" --quiet \
	--client-max-body "$("$builddir/sluice" -c "$srcdir/tests/bench/bench.conf" -p tasks.max_body)" \
	--submit-rate 0 --conn-limit 0 --stream-limit 0 \
	> "$work/fixed/serve.out" 2>"$work/fixed/serve.err" &
fixed_pid=$!
for _ in $(seq 1 200); do grep -q '^ready' "$work/fixed/serve.out" 2>/dev/null && break; sleep 0.05; done
grep -q '^ready' "$work/fixed/serve.out" ||
	{ echo "http: the fixed-bytes responder did not start"; cat "$work/fixed/serve.err"; exit 1; }
fbytes=$(curl -s "http://127.0.0.1:$fport/" | wc -c)
[ "$fbytes" = "$bytes" ] ||
	{ echo "http: the fixed-bytes responder answers $fbytes bytes, not $bytes"; exit 1; }

# wrk's requests/s for URL.
rate() {
	wrk -t2 -c32 -d"${secs}s" -H "Cookie: sid=$sid" "$1" 2>/dev/null |
		awk '/^Requests\/sec:/ {print $2}'
}
# a/b with two decimals (0 when b is 0).
# Sets d, f and s: medians of GET / from sluice, from the fixed-bytes
# responder and of the static copy, interleaved; ratio (d/s), rfix (d/f)
# and rfs (f/s).
measure_page() {
	local dyn=() fix=() sta=() r
	rounds_fix=
	for r in $(seq 1 "$rounds"); do
		dyn+=("$(rate "http://127.0.0.1:$port/")")
		fix+=("$(rate "http://127.0.0.1:$fport/")")
		sta+=("$(rate "http://127.0.0.1:$port/static/page.html")")
		rounds_fix="$rounds_fix $(bench_ratio "${dyn[-1]}" "${fix[-1]}")"
	done
	d=$(bench_median "${dyn[@]}") f=$(bench_median "${fix[@]}")
	s=$(bench_median "${sta[@]}")
	ratio=$(bench_ratio "$d" "$s") rfix=$(bench_ratio "$d" "$f") rfs=$(bench_ratio "$f" "$s")
}
measure_page
verdict=$(awk -v r="$rfix" 'BEGIN {print (r >= 0.9 ? "meets" : "MISSES")}')
echo "http GET / vs fixed-bytes FastCGI responder: $d req/s vs $f req/s: ratio $rfix (target >= 0.9: $verdict; $threads responder threads, the default here; medians of $rounds interleaved rounds, each round's ratio:$rounds_fix)"
echo "http fixed-bytes FastCGI responder vs nginx static same $bytes bytes: $f req/s vs $s req/s: ratio $rfs (the transport's own cost, no target)"
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.45 ? "meets" : "MISSES")}')
echo "http GET /: $d req/s vs nginx static same $bytes bytes: $s req/s: ratio $ratio (target >= 0.45: $verdict; $threads responder threads, the default here)"

# p50/p99 of GET / idle, then with the burn queue saturated (2 running, 64
# waiting, 66 sessions) while other clients poll a job's JSON.
# wrk --latency prints "99%  1.23ms"; convert to microseconds.
read -r idle50 idle99 < <(bench_lat "http://127.0.0.1:$port/" | tr '\n' ' ')
first_job=
for i in $(seq 1 66); do
	ssid=$(printf '%032x' "$((0xbe00 + i))")
	tok=$(curl -s -H "Cookie: sid=$ssid" "http://127.0.0.1:$port/session.json" | sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/')
	loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: sid=$ssid" \
		--data "csrf=$tok&ms=600000" "http://127.0.0.1:$port/tasks/burn")
	[ -n "$first_job" ] || { first_job=${loc##*/jobs/}; first_sid=$ssid; }
done
queued=$(curl -s "http://127.0.0.1:$port/status.json" | grep -o '"cpu":{[^}]*' |
	grep -o '"queued":[0-9]*' | head -1 | cut -d: -f2)
wrk -t1 -c16 -d"$((secs + 2))s" -H "Cookie: sid=$first_sid" \
	"http://127.0.0.1:$port/jobs/$first_job.json" >/dev/null 2>&1 &
poll_pid=$!
sleep 1
read -r sat50 sat99 < <(bench_lat "http://127.0.0.1:$port/" | tr '\n' ' ')
wait $poll_pid 2>/dev/null
r99=$(bench_ratio "$sat99" "$idle99") r50=$(bench_ratio "$sat50" "$idle50")
verdict=$(awk -v r="$r99" 'BEGIN {print (r <= 1.5 ? "meets" : "MISSES")}')
echo "http GET / p99 saturated vs idle: ${sat99} us vs ${idle99} us (lock cpu 2/2 busy, $queued waiting, 16 clients polling a job): ratio $r99 (target <= 1.5: $verdict)"
echo "http GET / p50 saturated vs idle: ${sat50} us vs ${idle50} us: ratio $r50"

# The same page with 16 responder threads (the default until 2026-12):
# what threads beyond the cores cost on this machine.
bench_stop
# A threads setting of the config's own gives way (a second one is a
# config error, and the line was lost).
sed -e '/^server = {/ s/threads *= *[0-9]* *; *//' \
	-e 's/^server = {/server = { threads = 16;/' \
	"$srcdir/tests/bench/bench.conf" > "$work/bench16.conf"
t16=$("$builddir/sluice" -c "$work/bench16.conf" -p server.threads 2>&1)
[ "$t16" = 16 ] ||
	{ echo "http: the 16-thread config is not one ($t16)"; exit 1; }
serve "$work/bench16.conf"
measure_page
echo "http GET / with 16 responder threads: $d req/s vs fixed-bytes $f req/s: ratio $rfix (rounds:$rounds_fix); vs static $s req/s: ratio $ratio (for comparison, no target)"
