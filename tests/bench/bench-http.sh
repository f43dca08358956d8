#!/bin/bash
# GET / through nginx + sluice vs nginx serving the very same bytes as a
# static file, interleaved in one run (wrk), printed as a ratio.
# usage: bench-http.sh BUILDDIR SRCDIR [SECONDS] [ROUNDS]
set -u
builddir=$1 srcdir=$2 secs=${3:-5} rounds=${4:-3}
command -v wrk >/dev/null || { echo "http: SKIP (wrk not installed)"; exit 0; }
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$srcdir/nginx/static" "$work/static"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
"$builddir/nginx/sluice-serve" --port "$port" --config "$srcdir/fcgi/sluice.conf" \
	--prefix "$work/prefix" --sluice "$builddir/sluice" \
	--templates "$srcdir/templates" --static "$work/static" --quiet \
	> "$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 1 200); do grep -q '^ready' "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
grep -q '^ready' "$work/serve.out" || { echo "http: sluice-serve did not start"; cat "$work/serve.err"; exit 1; }
sid=0123456789abcdef0123456789abcdef
curl -s -H "Cookie: sid=$sid" "http://127.0.0.1:$port/" > "$work/static/page.html"
bytes=$(wc -c < "$work/static/page.html")

# wrk's requests/s for URL.
rate() {
	wrk -t2 -c32 -d"${secs}s" -H "Cookie: sid=$sid" "$1" 2>/dev/null |
		awk '/^Requests\/sec:/ {print $2}'
}
dyn=() sta=()
for r in $(seq 1 "$rounds"); do
	dyn+=("$(rate "http://127.0.0.1:$port/")")
	sta+=("$(rate "http://127.0.0.1:$port/static/page.html")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median "${dyn[@]}") s=$(median "${sta[@]}")
ratio=$(awk -v d="$d" -v s="$s" 'BEGIN {printf "%.2f", (s > 0 ? d / s : 0)}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.45 ? "meets" : "MISSES")}')
echo "http GET /: $d req/s vs nginx static same $bytes bytes: $s req/s: ratio $ratio (target >= 0.45: $verdict)"
