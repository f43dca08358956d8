#!/bin/sh
# test_serve_cluster: sluice-serve --cluster without a database: the
# options it refuses, and the nginx site it writes (no hash affinity, no
# 404 hopping, node i alone on run/http-i.sock) next to the one of
# --backends K (a hash, 404 hopping, as before). The nodes cannot reach
# the database given, so sluice-serve stops once it has written the
# site. TAP, the plan at the end.
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
serve=$top_builddir/nginx/sluice-serve
. "$top_srcdir/tests/tap.sh"

[ -x "$serve" ] || { echo "Bail out! no $serve"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-sc.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM
nginx_bin=${SLUICE_NGINX:-nginx}
command -v "$nginx_bin" >/dev/null 2>&1 || nginx_bin=/usr/sbin/nginx

# serve PREFIX ARG...: sluice-serve on a random port in PREFIX; its
# exit status (the nodes exit at start: no database).
serve() {
	local prefix=$1
	shift
	timeout 60 "$serve" --port "$(shuf -i 20000-60000 -n 1)" --prefix "$prefix" \
	    --sluice "$top_builddir/sluice" --templates "$top_srcdir/templates" \
	    --static "$top_srcdir/nginx/static" --quiet "$@" \
	    >"$prefix.out" 2>&1
}

# A cluster config whose database is nowhere.
sed 's|@DATABASE@|host=/nonexistent/sluice dbname=none connect_timeout=1|; s|@WORKER@|/bin/true|; s|@LOG@|/dev/null|' \
    "$top_srcdir/tests/cluster/cluster.conf" >"$tmp/cluster.conf"

st=0
serve "$tmp/a" --config "$top_srcdir/tests/data/it.conf" --cluster && st=1
grep -q -- "--cluster needs a cluster group" "$tmp/a.out" || st=1
[ -e "$tmp/a/conf/nginx.conf" ] && st=1
[ $st -eq 0 ] || diag <"$tmp/a.out"
ok $st "--cluster without a cluster group: refused, said so, nothing written"

st=0
serve "$tmp/b" --config "$top_srcdir/tests/data/it.conf" --node-prefix x && st=1
grep -q -- "--node-prefix needs --cluster" "$tmp/b.out" || st=1
[ $st -eq 0 ] || diag <"$tmp/b.out"
ok $st "--node-prefix without --cluster: refused"

st=0
serve "$tmp/c" --config "$tmp/cluster.conf" --cluster --node-prefix 'a/b' && st=1
grep -q -- "--node-prefix: A-Z" "$tmp/c.out" || st=1
[ $st -eq 0 ] || diag <"$tmp/c.out"
ok $st "--node-prefix with a character no node name has: refused"

serve "$tmp/d" --config "$tmp/cluster.conf" --cluster --backends 3 \
    --node-prefix n
conf=$tmp/d/conf/nginx.conf
st=0
[ -s "$conf" ] || st=1
grep -q 'least_conn;' "$conf" || st=1
grep -q 'hash ' "$conf" && st=1
grep -q 'http_404' "$conf" && st=1
for i in 1 2 3; do
	grep -q "listen unix:$tmp/d/run/http-$i.sock;" "$conf" || st=1
	grep -q "fastcgi_pass sluice_node_$i;" "$conf" || st=1
done
[ "$(grep -c 'fastcgi_next_upstream error http_503 non_idempotent;' "$conf")" = 16 ] || st=1
[ $st -eq 0 ] || { diag <"$tmp/d.out"; grep -n 'upstream\|hash\|least_conn\|next_upstream\|listen' "$conf" | diag; }
ok $st "--cluster --backends 3: least_conn, no hash, no http_404, node i alone on run/http-i.sock"

st=0
"$nginx_bin" -t -q -p "$tmp/d" -c "$conf" >"$tmp/t.out" 2>&1 || st=1
[ $st -eq 0 ] || diag <"$tmp/t.out"
ok $st "the cluster's nginx site passes nginx -t"

st=0
for i in 1 2 3; do
	[ -d "$tmp/d/state/node-$i" ] || st=1
done
[ -e "$tmp/d/state/secret" ] && st=1
[ $st -eq 0 ] || ls -lR "$tmp/d/state" | diag
ok $st "a state directory per node, no shared secret file"

# The same without --cluster: as before (hash, 404 hopping), the nodes'
# own servers absent. it.conf's responders start: stop them at "ready".
"$serve" --port "$(shuf -i 20000-60000 -n 1)" --prefix "$tmp/e" \
    --config "$top_srcdir/tests/data/it.conf" --backends 3 \
    --sluice "$top_builddir/sluice" --templates "$top_srcdir/templates" \
    --static "$top_srcdir/nginx/static" --quiet >"$tmp/e.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	[ -s "$tmp/e/conf/nginx.conf" ] && break
	sleep 0.05
done
kill -TERM $pid 2>/dev/null
wait $pid
conf=$tmp/e/conf/nginx.conf
st=0
grep -q 'hash $sluice_sid consistent;' "$conf" || st=1
grep -q 'least_conn' "$conf" && st=1
[ "$(grep -c 'fastcgi_next_upstream error http_404 http_503 non_idempotent;' "$conf")" = 2 ] || st=1
grep -q 'http-1.sock' "$conf" && st=1
[ $st -eq 0 ] || grep -n 'upstream\|hash\|next_upstream\|listen' "$conf" | diag
ok $st "--backends 3 without --cluster: the consistent hash and 404 hopping as before"

echo "1..$n"
exit 0
