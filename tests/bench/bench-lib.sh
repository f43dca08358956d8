# bench-lib.sh: what the bench scripts share, sourced by each of them.
# The caller sets builddir, srcdir and work (a private temp directory).

# A free loopback TCP port.
bench_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_serve NAME PORT CONFIG [sluice-serve options...]: starts nginx and
# the responder on a fresh $work/prefix, serve_pid set; exits the script
# (NAME in the message) when it does not become ready. The per-address
# limits are off: every bench client is 127.0.0.1, flat out.
bench_serve() {
	local name=$1 port=$2 config=$3
	shift 3
	rm -rf "$work/prefix"
	"$builddir/nginx/sluice-serve" --port "$port" --config "$config" \
		--prefix "$work/prefix" --sluice "$builddir/sluice" \
		--templates "$srcdir/templates" --quiet --submit-rate 0 \
		--conn-limit 0 --stream-limit 0 "$@" \
		> "$work/serve.out" 2>"$work/serve.err" &
	serve_pid=$!
	for _ in $(seq 1 200); do grep -q '^ready' "$work/serve.out" 2>/dev/null && break; sleep 0.05; done
	grep -q '^ready' "$work/serve.out" ||
		{ echo "$name: sluice-serve did not start"; cat "$work/serve.err"; exit 1; }
}

# Stops what bench_serve started, or the process whose pid the variable
# named $1 holds (nothing when it is not running), and clears the pid.
bench_stop() {
	local var=${1:-serve_pid} pid
	pid=${!var:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	printf -v "$var" ''
}

# The median of the arguments (numbers).
bench_median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# bench_lat URL [CONNS]: p50 and p99 in microseconds, one per line, of
# GET URL for $secs seconds (wrk --latency prints "99%  1.23ms"), with
# the cookie of session $sid.
bench_lat() {
	wrk -t2 -c"${2:-16}" -d"${secs}s" --latency -H "Cookie: sid=$sid" "$1" 2>/dev/null > "$work/lat.txt"
	for p in 50 99; do awk -v p="$p%" '$1 == p {v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
		m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 0; print v * m}' "$work/lat.txt"; done
}

# a / b to two decimals (0 when b is 0).
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
