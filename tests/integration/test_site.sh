#!/bin/sh
# test_site: the production site, nginx/sluice.conf, run for real (nginx
# and one responder, as site.sh rewrites its paths and ports): it passes
# nginx -t, plain http only redirects, and the session cookie is
# __Host-sid, Secure, Path=/, no Domain; a planted cookie without the
# prefix (sid=..., which a sibling domain or plain http could set) is
# ignored: a fresh session. TAP output. Run from the build tree;
# top_builddir/top_srcdir come from the harness (fallback: .).
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/integration/site.sh"

echo "1..7"
nchan_so=${SLUICE_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
if ! command -v nginx >/dev/null 2>&1 || ! command -v curl >/dev/null 2>&1 ||
    [ ! -r "$nchan_so" ]; then
	for i in 1 2 3 4 5 6 7; do
		skip "the production site" "no nginx, curl or nchan module"
	done
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-site.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait; rm -rf "$tmp"' \
    EXIT INT TERM

# Two free ports on 127.0.0.1 (the kernel's choice; a race with another
# test taking them in between is harmless here: nginx would fail to start).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
http=$(free_port) https=$(free_port)
site_conf "$top_srcdir/nginx/sluice.conf" "$tmp/ng" "$http" "$https" || {
	echo "Bail out! site_conf failed (openssl?)"
	exit 1
}

st=0
nginx -t -q -p "$tmp/ng" -c "$tmp/ng/nginx.conf" >"$tmp/t.log" 2>&1 || st=1
[ $st -eq 0 ] || diag <"$tmp/t.log"
ok $st "nginx -t accepts nginx/sluice.conf (TLS, nchan, limits)"

rflag=
[ "$(id -u)" = 0 ] && rflag=-R
"$top_builddir/sluice" -q $rflag -c "$top_srcdir/tests/data/it.conf" \
    -l "unix:$tmp/ng/run/sluice/sluice.sock" -s "$tmp/state" \
    -T "$top_srcdir/templates" -e "unix:$tmp/ng/run/nginx-sluice/nchan.sock" \
    2>"$tmp/sluice.log" &
pids="$pids $!"
nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" -g 'daemon off;' \
    2>"$tmp/nginx.log" &
pids="$pids $!"
base=https://127.0.0.1:$https
up=1
for _ in $(seq 1 100); do
	curl -ksf -o /dev/null "$base/healthz" 2>/dev/null && { up=0; break; }
	sleep 0.1
done
[ $up -eq 0 ] || { diag <"$tmp/sluice.log"; diag <"$tmp/nginx.log"; }
ok $up "nginx and a responder answer over https"

code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
    "http://127.0.0.1:$http/jobs/x")
st=1
[ "$code" = "301 https://127.0.0.1/jobs/x" ] && st=0
ok $st "plain http only redirects to https ($code)"

# set_cookie [CURL ARGS]: the Set-Cookie line of GET / (or nothing).
set_cookie() {
	curl -ks -o /dev/null -D - "$@" "$base/" | tr -d '\r' |
	    grep -i '^set-cookie:' | sed 's/^[^:]*: //'
}
c=$(set_cookie)
echo "$c" | diag
st=1
echo "$c" | grep -Eq '^__Host-sid=[0-9a-f]{32}; Path=/; Secure; HttpOnly; SameSite=Lax$' &&
    st=0
ok $st "a new session gets __Host-sid, Secure, Path=/, no Domain"
fresh=$(echo "$c" | sed 's/^__Host-sid=\([0-9a-f]*\);.*/\1/')

# session COOKIE: the session the responder sees for that Cookie header.
session() {
	curl -ks -H "Cookie: $1" "$base/session.json" |
	    sed 's/.*"session":"\([0-9a-f]*\)".*/\1/'
}
planted=0123456789abcdef0123456789abcdef
st=1
[ -n "$(set_cookie -H "Cookie: sid=$planted")" ] &&
    [ "$(session "sid=$planted")" != "$planted" ] && st=0
ok $st "a planted sid cookie (no prefix) is ignored: a fresh session"

st=1
[ -z "$(set_cookie -H "Cookie: __Host-sid=$fresh")" ] &&
    [ "$(session "other=1; __Host-sid=$fresh")" = "$fresh" ] && st=0
ok $st "the __Host-sid cookie it set is the session (no new cookie)"

st=1
[ "$(session "sid=$planted; __Host-sid=$fresh")" = "$fresh" ] &&
    [ "$(session "__Host-sid=$fresh$fresh")" != "$fresh$fresh" ] && st=0
ok $st "next to a planted sid the __Host-sid wins; a malformed one is ignored"
exit $failed
