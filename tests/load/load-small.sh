#!/bin/sh
# TAP: a small load run (16 clients, 200 burn jobs of 0-20 ms over two
# locks) through nginx against sluice-serve; sluice-load checks the lock
# holders from the job timestamps, that no accepted job is lost, and that
# every refusal is 503 or 429. `make load` runs the full size.
# usage: load-small.sh [CLIENTS] [JOBS]   (top_srcdir/top_builddir from env)
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
clients=${1:-16}
jobs=${2:-200}
load=$builddir/tests/load/sluice-load
serve=$builddir/nginx/sluice-serve

echo "1..2"
if [ ! -x "$load" ] || [ ! -x "$serve" ] || [ ! -x "$builddir/sluice" ]; then
	echo "ok 1 # SKIP sluice-load, sluice-serve or sluice not built"
	echo "ok 2 # SKIP not run"
	exit 0
fi
command -v "${NGINX:-nginx}" >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
	echo "ok 1 # SKIP nginx not installed"
	echo "ok 2 # SKIP not run"
	exit 0
}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-load.XXXXXX") || exit 1
serve_pid=
cleanup() {
	if [ -n "$serve_pid" ]; then
		kill -TERM "$serve_pid" 2>/dev/null
		wait "$serve_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + $$ % 20000)))
"$serve" --port "$port" --config "$srcdir/tests/data/load.conf" \
	--prefix "$work/prefix" --sluice "$builddir/sluice" \
	--templates "$srcdir/templates" --static "$srcdir/nginx/static" \
	--submit-rate 0 --conn-limit 0 --stream-limit 0 \
	--quiet > "$work/serve.out" 2> "$work/serve.err" &
serve_pid=$!
i=0
while [ $i -lt 300 ] && ! grep -q '^ready' "$work/serve.out" 2>/dev/null; do
	kill -0 "$serve_pid" 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
if ! grep -q '^ready' "$work/serve.out" 2>/dev/null; then
	echo "not ok 1 - sluice-serve did not become ready"
	sed 's/^/# /' "$work/serve.err"
	echo "not ok 2 - not run"
	exit 0
fi
"$load" -u "http://127.0.0.1:$port" -c "$clients" -n "$jobs" -m 0-20 -d 120 \
	> "$work/load.out" 2> "$work/load.err"
rc=$?
sed 's/^/# /' "$work/load.out" "$work/load.err"
if [ $rc -eq 0 ]; then
	echo "ok 1 - $clients clients, $jobs jobs: no lock over its slots, nothing lost, refusals 503/429 only"
else
	echo "not ok 1 - sluice-load exited $rc"
fi
# Afterwards the server still answers with nothing running or queued, and
# its only 5xx answers were the 503 refusals sluice-load counted.
r503=$(sed -n 's/.*refused_503=\([0-9]*\).*/\1/p' "$work/load.out")
if curl -fsS "http://127.0.0.1:$port/status.json" > "$work/status.json" 2>/dev/null &&
    ! grep -q '"busy":[1-9]' "$work/status.json" &&
    ! grep -q '"queued":[1-9]' "$work/status.json" &&
    grep -q "\"5xx\":${r503:-x}[,}]" "$work/status.json"; then
	echo "ok 2 - server healthy after the run: no slot busy, nothing queued, no 5xx but the ${r503} refusals"
else
	echo "not ok 2 - server unhealthy after the run"
	sed 's/^/# /' "$work/status.json"
fi
exit 0
