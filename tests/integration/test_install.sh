#!/bin/sh
# test_install: `make install DESTDIR=...` lays out what a deployment needs,
# and the installed responder accepts the installed example config.
# TAP output. Run from the build tree; top_builddir/top_srcdir come from
# the harness (fallback: the current directory).
set -u

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
make_cmd=${MAKE:-make}
. "$top_srcdir/tests/tap.sh"

echo "1..20"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-install.XXXXXX") || {
	echo "Bail out! mktemp failed"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/dest

# A nested make: not the parent's jobserver or flags.
run_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    "$make_cmd" -s -C "$top_builddir" "$@"
}

if ! dirs=$(run_make sluice-print-dirs 2>"$tmp/dirs.err"); then
	diag <"$tmp/dirs.err"
	echo "Bail out! make sluice-print-dirs failed"
	exit 1
fi
eval "$dirs"

run_make install DESTDIR="$dest" >"$tmp/install.log" 2>&1
st=$?
[ $st -eq 0 ] || tail -n 30 "$tmp/install.log" | diag
ok $st "make install DESTDIR=... succeeds"

d() { printf '%s%s' "$dest" "$1"; }

st=0
for f in "$sbindir/sluice" "$bindir/sluice-kernel" "$bindir/sluice-serve"; do
	[ -f "$(d "$f")" ] && [ -x "$(d "$f")" ] ||
	    { echo "missing or not executable: $f" | diag; st=1; }
done
ok $st "programs: sbin/sluice, bin/sluice-kernel, bin/sluice-serve"

st=0
for f in "$pkglibexecdir/sluice-worker" "$pkglibexecdir/sluice-example-primes"; do
	[ -f "$(d "$f")" ] && [ -x "$(d "$f")" ] ||
	    { echo "missing or not executable: $f" | diag; st=1; }
done
ok $st "workers: $pkglibexecdir/sluice-worker and the C example"

st=0
for f in "$includedir/sluice_worker.h" "$libdir/libsluiceworker.a" \
    "$libdir/pkgconfig/sluice-worker.pc" \
    "$pkgdatadir/python/sluice_worker.py" \
    "$pkgdatadir/python/sluice_example_heat.py" \
    "$mandir/man7/sluice-worker.7"; do
	[ -f "$(d "$f")" ] || { echo "missing: $f" | diag; st=1; }
done
ok $st "worker helpers: header, library, pkg-config, Python module, man page"

st=0
for t in header footer index job error; do
	[ -f "$(d "$pkgdatadir/templates/$t.html")" ] ||
	    { echo "missing: $pkgdatadir/templates/$t.html" | diag; st=1; }
done
ok $st "templates under $pkgdatadir/templates"

st=0
for f in app.css app.js; do
	[ -f "$(d "$pkgdatadir/static/$f")" ] ||
	    { echo "missing: $pkgdatadir/static/$f" | diag; st=1; }
done
ok $st "static files under $pkgdatadir/static"

st=0
[ -f "$(d "$sysconfdir/sluice.conf")" ] &&
    [ -f "$(d "$pkgdatadir/sluice.conf")" ] &&
    cmp -s "$(d "$sysconfdir/sluice.conf")" "$(d "$pkgdatadir/sluice.conf")" ||
    st=1
ok $st "example config: $sysconfdir/sluice.conf and $pkgdatadir/sluice.conf"

st=0
grep -q 'fastcgi_pass' "$(d "$examplesdir/sluice.conf")" 2>/dev/null || st=1
ok $st "nginx site example: $examplesdir/sluice.conf"

# The site example is valid nginx, nchan and TLS included: wrapped in an
# http block with its /run paths moved under $tmp (nginx -t binds the
# listen sockets and reads the certificate), see site.sh.
nchan_so=${SLUICE_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
. "$top_srcdir/tests/integration/site.sh"
if command -v nginx >/dev/null 2>&1 && [ -r "$nchan_so" ] &&
    site_conf "$(d "$examplesdir/sluice.conf")" "$tmp/ng"; then
	st=0
	nginx -t -q -p "$tmp/ng" -c "$tmp/ng/nginx.conf" >"$tmp/ng/t.log" 2>&1 ||
	    st=1
	[ $st -eq 0 ] || diag <"$tmp/ng/t.log"
	ok $st "nginx -t accepts the site example with nchan"
else
	skip "nginx -t of the site example" "no nginx, nchan module ($nchan_so) or openssl"
fi

st=0
"$(d "$sbindir/sluice")" -t -c "$(d "$sysconfdir/sluice.conf")" \
    -T "$(d "$pkgdatadir/templates")" >"$tmp/t.log" 2>&1 || st=1
diag <"$tmp/t.log"
ok $st "sluice -t accepts the installed config and templates"

# A broken copy must be refused: -t really checks.
st=0
sed 's/slots = 1;/slots = 0;/' "$(d "$sysconfdir/sluice.conf")" >"$tmp/bad.conf"
if "$(d "$sbindir/sluice")" -t -c "$tmp/bad.conf" \
    -T "$(d "$pkgdatadir/templates")" >"$tmp/bad.log" 2>&1; then
	st=1
fi
grep -q 'slots' "$tmp/bad.log" || st=1
diag <"$tmp/bad.log"
ok $st "sluice -t refuses a broken copy of it, naming the key"

service=$(d "$systemdunitdir/sluice.service")
socket=$(d "$systemdunitdir/sluice.socket")
st=0
[ -f "$service" ] && [ -f "$socket" ] || st=1
ok $st "systemd units under $systemdunitdir"

st=0
grep -q "^ExecStart=$sbindir/sluice -c $sysconfdir/sluice.conf" "$service" &&
    grep -q '^StandardInput=socket' "$service" &&
    grep -q '^Requires=sluice.socket' "$service" || st=1
ok $st "sluice.service: installed paths, socket on fd 0"

st=0
for k in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes \
    ProtectHome=yes PrivateTmp=yes; do
	grep -q "^$k\$" "$service" || { echo "missing $k" | diag; st=1; }
done
ok $st "sluice.service: unprivileged and sandboxed"

st=0
grep -q '^ListenStream=/run/sluice/sluice.sock$' "$socket" &&
    grep -q '^SocketMode=0660$' "$socket" || st=1
ok $st "sluice.socket: /run/sluice/sluice.sock, mode 0660"

st=0
grep -l '@[A-Za-z_]*@' "$service" "$socket" "$(d "$bindir/sluice-serve")" \
    "$(d "$mandir/man8/sluice.8")" "$(d "$mandir/man5/sluice.conf.5")" \
    2>/dev/null | diag
grep -q '@[A-Za-z_]*@' "$service" "$socket" "$(d "$bindir/sluice-serve")" \
    2>/dev/null && st=1
ok $st "no @VAR@ left in the generated files"

man8=$(d "$mandir/man8/sluice.8")
man5=$(d "$mandir/man5/sluice.conf.5")
st=0
[ -f "$man8" ] && [ -f "$man5" ] || st=1
ok $st "man pages: man8/sluice.8, man5/sluice.conf.5"

if command -v mandoc >/dev/null 2>&1; then
	st=0
	mandoc -Tlint -Wwarning "$man8" "$man5" >"$tmp/lint.log" 2>&1 || st=1
	diag <"$tmp/lint.log"
	ok $st "mandoc -Tlint: no warnings"
else
	skip "mandoc -Tlint: no warnings" "mandoc not installed"
fi

if command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1; then
	for page in "$man8" "$man5"; do
		st=0
		MANPAGER=cat MANWIDTH=80 man -l "$page" >"$tmp/man.out" \
		    2>"$tmp/man.err" || st=1
		grep -q 'SYNOPSIS\|DESCRIPTION' "$tmp/man.out" || st=1
		[ $st -eq 0 ] || diag <"$tmp/man.err"
		ok $st "man -l renders $(basename "$page")"
	done
else
	skip "man -l renders sluice.8" "man or groff not installed"
	skip "man -l renders sluice.conf.5" "man or groff not installed"
fi

exit $failed
