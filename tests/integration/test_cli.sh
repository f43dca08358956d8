#!/bin/sh
# test_cli: the responder's command line without a server: sluice -t on
# template directories. TAP output, the plan at the end. Run from the build
# tree; top_builddir/top_srcdir come from the harness (fallback: .).
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
sluice=$top_builddir/sluice
conf=$top_srcdir/tests/data/it.conf
n=0
failed=0

ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
diag() { sed 's/^/# /'; }

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

# An empty directory has no syntax error to find: -t must still refuse it,
# naming the directory and the first page it lacks.
mkdir "$tmp/empty"
"$sluice" -t -c "$conf" -T "$tmp/empty" >"$tmp/out" 2>&1
rc=$?
st=0
[ $rc -eq 1 ] || st=1
grep -q "^$tmp/empty/index.html:0: missing template 'index'" "$tmp/out" ||
    st=1
grep -q 'ok$' "$tmp/out" && st=1
diag <"$tmp/out"
ok $st "sluice -t refuses an empty template directory (exit $rc)"

# Only the page that is missing is named.
mkdir "$tmp/nojob"
cp "$top_srcdir"/templates/*.html "$tmp/nojob/"
rm "$tmp/nojob/job.html"
"$sluice" -t -c "$conf" -T "$tmp/nojob" >"$tmp/out" 2>&1
rc=$?
st=0
[ $rc -eq 1 ] || st=1
grep -q "^$tmp/nojob/job.html:0: missing template 'job'" "$tmp/out" || st=1
diag <"$tmp/out"
ok $st "sluice -t names a missing job.html (exit $rc)"

echo "1..$n"
exit $failed
