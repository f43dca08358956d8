#!/bin/sh
# test_cli: the responder's command line without a server: sluice -t on
# template directories, sluice -p printing a setting. TAP output, the plan at the end. Run from the build
# tree; top_builddir/top_srcdir come from the harness (fallback: .).
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
sluice=$top_builddir/sluice
conf=$top_srcdir/tests/data/it.conf
. "$top_srcdir/tests/tap.sh"

[ -x "$sluice" ] || { echo "Bail out! no $sluice"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cli.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM

# ---- sluice -t and the template directory ----

st=0
"$sluice" -t -c "$conf" -T "$top_srcdir/templates" >"$tmp/out" 2>&1 || st=1
[ $st -eq 0 ] || diag <"$tmp/out"
ok $st "sluice -t accepts the shipped templates"

# refuses DIR MESSAGE WHAT: sluice -t on DIR exits 1 with a line that
# begins with MESSAGE (a grep pattern) and never says ok.
refuses() {
	local dir=$1 message=$2 what=$3 rc st=0
	"$sluice" -t -c "$conf" -T "$dir" >"$tmp/out" 2>&1
	rc=$?
	[ $rc -eq 1 ] || st=1
	grep -q "^$message" "$tmp/out" || st=1
	grep -q 'ok$' "$tmp/out" && st=1
	diag <"$tmp/out"
	ok $st "$what (exit $rc)"
}

# An empty directory has no syntax error to find: -t must still refuse it,
# naming the directory and the first page it lacks.
mkdir "$tmp/empty"
refuses "$tmp/empty" "$tmp/empty/index.html:0: missing template 'index'" \
    "sluice -t refuses an empty template directory"

# Only the page that is missing is named.
mkdir "$tmp/nojob"
cp "$top_srcdir"/templates/*.html "$tmp/nojob/"
rm "$tmp/nojob/job.html"
refuses "$tmp/nojob" "$tmp/nojob/job.html:0: missing template 'job'" \
    "sluice -t names a missing job.html"

# A partial that includes itself would make every page a 500 (issue 15
# item 16): -t refuses it, naming the file, the line and the cycle.
mkdir "$tmp/selfie"
cp "$top_srcdir"/templates/*.html "$tmp/selfie/"
printf '{{> footer}}\n' >> "$tmp/selfie/footer.html"
line=$(wc -l < "$tmp/selfie/footer.html")
refuses "$tmp/selfie" "$tmp/selfie/footer.html:$line: partial 'footer' includes itself: footer > footer" \
    "sluice -t refuses a partial that includes itself"

# ---- sluice -p: a setting as the responder reads it ----

# What a grep of the file gets wrong: a hex value, ':' for '=', and the
# key in comments of every kind before the real one.
cat >"$tmp/p.conf" <<'EOF'
# max_body = 1
// max_body = 2
server = {
  /* max_body = 3 */
  max_body: 0x10000;
  state = "/var/lib/from-the-file";
};
locks = { one = { slots = 1; }; };
tasks = { burn = { kernel = "burn"; locks = ["one"]; }; };
EOF
st=0
v=$("$sluice" -c "$tmp/p.conf" -p server.max_body 2>"$tmp/err") || st=1
[ "$v" = 65536 ] || st=1
[ -s "$tmp/err" ] && { diag <"$tmp/err"; st=1; }
ok $st "sluice -p server.max_body prints 0x10000 as 65536 (got '$v')"

# The default, when the file does not set it; a plain decimal.
grep -v 'max_body' "$tmp/p.conf" >"$tmp/p2.conf"
st=0
v=$("$sluice" -c "$tmp/p2.conf" -p server.max_body 2>/dev/null) || st=1
[ "$v" = 65536 ] || st=1
ok $st "sluice -p server.max_body prints the default (got '$v')"
sed 's/max_body: 0x10000;/max_body = 1024;/' "$tmp/p.conf" >"$tmp/p3.conf"
st=0
v=$("$sluice" -c "$tmp/p3.conf" -p server.max_body 2>/dev/null) || st=1
[ "$v" = 1024 ] || st=1
ok $st "sluice -p server.max_body prints 1024 (got '$v')"

# The overrides apply, as they do when serving.
st=0
v=$("$sluice" -c "$tmp/p.conf" -s /elsewhere -p server.state 2>/dev/null) ||
    st=1
[ "$v" = /elsewhere ] || st=1
v=$("$sluice" -c "$tmp/p.conf" -p server.state 2>/dev/null) || st=1
[ "$v" = /var/lib/from-the-file ] || st=1
ok $st "sluice -p server.state: the file's value, or -s's"

# The default listen address is a unix socket (TCP lets any local user
# forge SLUICE_SESSION); -l still overrides it.
st=0
v=$("$sluice" -c "$tmp/p.conf" -p server.listen 2>/dev/null) || st=1
[ "$v" = unix:/run/sluice/sluice.sock ] || st=1
v2=$("$sluice" -c "$tmp/p.conf" -l 127.0.0.1:9000 -p server.listen \
    2>/dev/null) || st=1
[ "$v2" = 127.0.0.1:9000 ] || st=1
ok $st "sluice -p server.listen: a unix socket by default, -l's otherwise (got '$v', '$v2')"

# No templates are needed to print a setting; -t adds their check.
st=0
"$sluice" -c "$tmp/p.conf" -T "$tmp/empty" -p server.threads \
    >"$tmp/out" 2>&1 || st=1
[ "$(cat "$tmp/out")" = "$(( $(getconf _NPROCESSORS_ONLN) < 2 ? 4 : 2 * $(getconf _NPROCESSORS_ONLN) ))" ] || st=1
"$sluice" -t -c "$tmp/p.conf" -T "$tmp/empty" -p server.threads \
    >"$tmp/out" 2>&1 && st=1
grep -q "missing template 'index'" "$tmp/out" || st=1
diag <"$tmp/out"
ok $st "sluice -p reads no templates unless -t is given"

st=0
"$sluice" -c "$tmp/p.conf" -p server.nope >"$tmp/out" 2>"$tmp/err" && st=1
[ -s "$tmp/out" ] && st=1
grep -q "server.nope: no such setting; one of:.* server.max_body" \
    "$tmp/err" || st=1
diag <"$tmp/err"
ok $st "sluice -p refuses an unknown key, listing the known ones"

st=0
printf 'server = { max_body = 0; };\n' >"$tmp/bad.conf"
"$sluice" -c "$tmp/bad.conf" -p server.max_body >"$tmp/out" 2>"$tmp/err" &&
    st=1
[ -s "$tmp/out" ] && st=1
grep -q "^$tmp/bad.conf:1: server.max_body: " "$tmp/err" || st=1
diag <"$tmp/err"
ok $st "sluice -p on a bad config: FILE:LINE: key, exit 1, nothing printed"

# A config with a cluster group: checked and printed; a responder on a
# database it cannot reach does not start, naming the key.
st=0
{ cat "$conf"; printf 'cluster = { database = "dbname=sluice host=/nonexistent"; node = "n-1"; };\n'; } \
    >"$tmp/cluster.conf"
v=$("$sluice" -c "$tmp/cluster.conf" -p cluster.node 2>/dev/null) || st=1
[ "$v" = n-1 ] || st=1
"$sluice" -R -c "$tmp/cluster.conf" -T "$top_srcdir/templates" \
    -l "unix:$tmp/c.sock" -s "$tmp/cstate" >"$tmp/out" 2>&1 && st=1
grep -q "cluster.database: cannot connect" "$tmp/out" || st=1
[ -e "$tmp/c.sock" ] && st=1
diag <"$tmp/out"
ok $st "a cluster group: -p prints it, the responder on an unreachable database does not start, naming the key"

echo "1..$n"
exit $failed
