#!/bin/bash
# Live updates (nchan): what ten thousand open event streams cost, the app
# page under a full queue whose watchers stream instead of poll, and how
# soon a finished job is on screen in Chromium, streaming vs polling.
# usage: bench-events.sh BUILDDIR SRCDIR [STREAMS] [SECONDS]
set -u
builddir=$1 srcdir=$2 nstreams=${3:-10000} secs=${4:-5}
command -v wrk >/dev/null || { echo "events: SKIP (wrk not installed)"; exit 0; }
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] ||
	{ echo "events: SKIP (nginx's nchan module not installed)"; exit 0; }
work=$(mktemp -d /tmp/sluice-bench-events.XXXXXX)
. "$srcdir/tests/bench/bench-lib.sh"
streams_pid=
trap 'kill $streams_pid 2>/dev/null; bench_stop; rm -rf "$work"' EXIT
port=$(bench_free_port)
url=http://127.0.0.1:$port

serve() {
	bench_serve events "$port" "$srcdir/tests/bench/bench.conf" \
		--static "$srcdir/nginx/static" --worker-connections $((nstreams + 2048))
}
serve

# The CSRF token of session $1.
csrf_of() { curl -s -H "Cookie: sid=$1" "$url/session.json" | sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/'; }
# Submits a burn job of $2 ms for session $1; prints the job id.
submit() {
	local tok loc
	tok=$(csrf_of "$1")
	loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: sid=$1" \
		--data "csrf=$tok&ms=$2" "$url/tasks/burn")
	echo "${loc##*/jobs/}"
}
# Cancels job $2 of session $1.
cancel() {
	local tok
	tok=$(csrf_of "$1")
	curl -s -o /dev/null -H "Cookie: sid=$1" -H 'Accept: application/json' \
		--data "csrf=$tok" "$url/jobs/$2/cancel"
}
rate() {
	wrk -t2 -c32 -d"${secs}s" -H "Cookie: sid=$sid" "$url/" 2>/dev/null |
		awk '/^Requests\/sec:/ {print $2}'
}
# KiB resident in nginx's worker processes.
nginx_rss() {
	local master
	master=$(cat "$work/prefix/run/nginx.pid")
	for p in $(pgrep -P "$master"); do awk '/^VmRSS:/ {print $2}' "/proc/$p/status"; done |
		awk '{s += $1} END {print s + 0}'
}
# Responder threads busy, the status request itself not counted: the
# most of five looks.
threads_busy() {
	for _ in 1 2 3 4 5; do
		curl -s "$url/status.json" | grep -o '"threads_busy":[0-9]*' | cut -d: -f2
		sleep 0.2
	done | sort -n | tail -1 | awk '{print $1 - 1}'
}

# --- N streams on one job's events ---------------------------------------
# Both slots of the lock busy for ten minutes, and the watched job waiting
# behind them: its stream is quiet, as most of ten thousand watchers' are
# (what holding them costs); then it is cancelled, and its final event
# goes out to every stream at once (what a fan-out costs).
sid=0123456789abcdef0123456789abcdef
wsid=fedcba9876543210fedcba9876543210
run1=$(submit "$sid" 600000) run2=$(submit "$sid" 600000)
job=$(submit "$wsid" 600000)
r0=$(rate)
rss0=$(nginx_rss)
"$builddir/tests/bench/bench_streams" "$port" "/jobs/$job/events" "sid=$wsid" \
	"$nstreams" 300 > "$work/streams.out" 2> "$work/streams.err" &
streams_pid=$!
for _ in $(seq 1 900); do grep -q '^open' "$work/streams.out" && break; sleep 0.1; done
read -r _ n _ ok _ failed _ open_ms _ < <(grep '^open' "$work/streams.out")
if [ "${ok:-0}" -eq 0 ]; then
	echo "events streams: FAILED: no stream opened on /jobs/$job/events"
	sed 's/^/events streams: /' "$work/streams.err"
	exit 1
fi
busy=$(threads_busy)
rss1=$(nginx_rss)
r1=$(rate)
t_cancel=$(date +%s%3N)
cancel "$wsid" "$job"
wait "$streams_pid"
streams_pid=
read -r _ events _ ended _ first_end _ last_end _ final_first _ final_last \
	< <(grep '^events' "$work/streams.out")
cancel "$sid" "$run1"
cancel "$sid" "$run2"
for _ in $(seq 1 200); do	# both slots free again (cancel_grace)
	curl -s "$url/status.json" | grep -q '"cpu":{"slots":2,"busy":0' && break
	sleep 0.1
done
ratio=$(awk -v a="$r1" -v b="$r0" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
per=$(awk -v a="$rss0" -v b="$rss1" -v n="$ok" 'BEGIN {printf "%.1f", (n > 0 ? (b - a) / n : 0)}')
# ms from the cancel to $1 (a wall clock in ms; -1 when it never came).
since_cancel() { echo $(( $1 > 0 ? $1 - t_cancel : -1 )); }
v1=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.9 ? "meets" : "MISSES")}')
v2=$([ "$busy" -le 0 ] && echo meets || echo MISSES)
echo "events streams: $ok of $n open in $open_ms ms ($failed refused) on a waiting job; its final event reached the first stream $(since_cancel "$final_first") ms after the cancel, the last $(since_cancel "$final_last") ms after it; the channel then ended ${ended:-0} streams, $(since_cancel "$first_end")-$(since_cancel "$last_end") ms after the cancel (2 s after the final state by design; ${events:-0} events read in all)"
[ -s "$work/streams.err" ] && sed 's/^/events streams: /' "$work/streams.err"
echo "events streams: responder threads busy with $ok streams open: $busy (target 0: $v2); nginx workers $((rss1 / 1024)) MiB, $per KiB per stream"
echo "events GET / with $ok streams open: $r1 req/s vs without (before they opened) $r0 req/s: ratio $ratio (target >= 0.9: $v1)"
grep -o '"events":{[^}]*}' <(curl -s "$url/status.json") | sed 's/^/events metrics: /'

# --- the saturated page, its 16 watchers streaming vs polling -------------
lat99() { wrk -t2 -c16 -d"${secs}s" --latency -H "Cookie: sid=$sid" "$url/" 2>/dev/null |
	awk '$1 == "99%" {v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
		print v * ((u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 0)}'; }
idles=()
for _ in 1 2 3; do idles+=("$(lat99)"); done
first_job=
for i in $(seq 1 66); do
	ssid=$(printf '%032x' "$((0xbe00 + i))")
	j=$(submit "$ssid" 600000)
	[ -n "$first_job" ] || { first_job=$j; first_sid=$ssid; }
done
polls=() streams=()
for _ in 1 2 3; do
	wrk -t1 -c16 -d"$((secs + 2))s" -H "Cookie: sid=$first_sid" "$url/jobs/$first_job.json" >/dev/null 2>&1 &
	poll_pid=$!
	sleep 1
	polls+=("$(lat99)")
	wait $poll_pid 2>/dev/null
	"$builddir/tests/bench/bench_streams" "$port" "/jobs/$first_job/events" "sid=$first_sid" \
		16 "$((secs + 30))" > "$work/sat.out" 2>&1 &
	streams_pid=$!
	sleep 1
	streams+=("$(lat99)")
	kill "$streams_pid" 2>/dev/null; wait "$streams_pid" 2>/dev/null; streams_pid=
done
poll99=$(bench_median "${polls[@]}") stream99=$(bench_median "${streams[@]}") idle99=$(bench_median "${idles[@]}")
rs=$(awk -v a="$stream99" -v b="$idle99" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
rp=$(awk -v a="$poll99" -v b="$idle99" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
v3=$(awk -v r="$rs" 'BEGIN {print (r <= 1.5 ? "meets" : "MISSES")}')
echo "events GET / p99 saturated vs idle, 16 watchers streaming: $stream99 us vs $idle99 us: ratio $rs (target <= 1.5: $v3); polling the JSON instead: $poll99 us, ratio $rp (medians of 3, interleaved)"
bench_stop

# --- finished-to-shown in Chromium -----------------------------------------
node=$(command -v node || true)
modules=$srcdir/node_modules
[ -f "$modules/playwright-core/package.json" ] || modules=$builddir/tests/browser/npm/node_modules
if [ -z "$node" ] || [ ! -x /usr/bin/chromium ] || [ ! -f "$modules/playwright-core/package.json" ]; then
	echo "events browser: SKIP (node, chromium or playwright-core missing: make check installs it)"
	exit 0
fi
serve
NODE_PATH=$modules SLUICE_URL=$url SLUICE_CHROMIUM=/usr/bin/chromium \
	"$node" "$srcdir/tests/bench/bench-events.js"
