#!/bin/sh
# Browser tests: real headless Chromium (Debian's chromium) driven by
# playwright-core from npm, against nginx + sluice started by sluice-serve;
# axe-core (npm) checks every page visited for accessibility violations.
# Prints TAP. Skips (TAP "1..0 # SKIP") only when node or chromium is
# absent; with SLUICE_REQUIRE_BROWSER=1 (CI) that is a failure instead.
#
# Environment: top_srcdir, top_builddir (set by make check); optional
# SLUICE_CHROMIUM (browser binary, default /usr/bin/chromium), NODE,
# SLUICE_BROWSER_KEEP=1 (keep the server prefix and logs).
set -u

srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
srcdir=$(cd "$srcdir" && pwd)
builddir=$(cd "$builddir" && pwd)
node=${NODE:-$(command -v node || command -v nodejs || true)}
chromium=${SLUICE_CHROMIUM:-/usr/bin/chromium}

skip() {
	if [ "${SLUICE_REQUIRE_BROWSER:-0}" = 1 ]; then
		echo "1..1"
		echo "not ok 1 - browser tests required but cannot run: $*"
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}
bail() {
	echo "Bail out! $*"
	exit 1
}

[ -n "$node" ] && [ -x "$node" ] || skip "node not found (apt-get install nodejs npm)"
[ -x "$chromium" ] || skip "$chromium not found (apt-get install chromium)"
[ -x "$builddir/sluice" ] || bail "$builddir/sluice not built"
[ -x "$builddir/nginx/sluice-serve" ] || bail "$builddir/nginx/sluice-serve not built"

# playwright-core and axe-core: the source tree's node_modules when both
# are there (an in-tree checkout after ./bootstrap), else installed from the
# lockfile (npm ci; from npm's cache when it holds them) into the source
# tree, or into the build tree for VPATH builds and distcheck (the source
# tree may be read-only).
npm_packages="playwright-core axe-core"
have_modules() {	# have_modules DIR: every package of npm_packages in DIR
	for p in $npm_packages; do
		[ -f "$1/$p/package.json" ] || return 1
	done
}
if have_modules "$srcdir/node_modules"; then
	modules=$srcdir/node_modules
else
	if [ "$srcdir" = "$builddir" ]; then
		npmdir=$srcdir
	else
		npmdir=$builddir/tests/browser/npm
		mkdir -p "$npmdir" || bail "cannot create $npmdir"
		cp "$srcdir/package.json" "$srcdir/package-lock.json" "$npmdir/" ||
		    bail "cannot copy package.json"
	fi
	modules=$npmdir/node_modules
	if ! have_modules "$modules"; then
		npm=$(command -v npm || true)
		[ -n "$npm" ] || skip "npm not found to install $npm_packages (apt-get install npm)"
		echo "# installing $npm_packages: npm ci in $npmdir"
		(cd "$npmdir" && "$npm" ci --no-audit --no-fund --prefer-offline \
		    --loglevel=error) 2>&1 | sed 's/^/# /'
		have_modules "$modules" ||
		    bail "npm ci failed in $npmdir (network? registry?)"
	fi
fi

work=$builddir/tests/browser
mkdir -p "$work" || bail "cannot create $work"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/sluice-browser.XXXXXX") || bail "mktemp failed"
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	if [ "${SLUICE_BROWSER_KEEP:-0}" = 1 ]; then
		echo "# kept $prefix" >&2
	else
		rm -rf "$prefix"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	"$node" -e 'const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Start the server; a port taken between probe and bind means another try.
url=
for attempt in 1 2 3; do
	port=$(free_port) || bail "no free port"
	log=$prefix/serve-$attempt.log
	"$builddir/nginx/sluice-serve" --port "$port" \
	    --config "$srcdir/tests/data/browser.conf" --prefix "$prefix/srv-$attempt" \
	    --sluice "$builddir/sluice" --templates "$srcdir/templates" \
	    --static "$srcdir/nginx/static" --quiet \
	    --python "$srcdir/kernels:$srcdir/kernels/examples:$srcdir/tests/data/workers" \
	    >"$log" 2>&1 &
	server_pid=$!
	i=0
	while [ $i -lt 200 ]; do
		if grep -q '^ready ' "$log" 2>/dev/null; then
			url=$(sed -n 's/^ready //p' "$log" | head -n 1)
			break
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$url" ] && break
	kill -TERM "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=
	sed 's/^/# /' "$log"
done
[ -n "$url" ] || bail "sluice-serve did not start"
echo "# server $url"

NODE_PATH=$modules SLUICE_URL=$url SLUICE_CHROMIUM=$chromium \
    SLUICE_ARTIFACTS=$work SLUICE_PROFILE=$prefix/profile \
    "$node" "$srcdir/tests/browser/flow.js"
rc=$?
if [ $rc -ne 0 ]; then
	for f in "$prefix"/srv-*/logs/error.log "$prefix"/serve-*.log; do
		[ -s "$f" ] && { echo "# --- $f"; tail -n 20 "$f" | sed 's/^/# /'; }
	done
fi
exit $rc
