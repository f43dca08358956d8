#!/bin/sh
# tests/gpu/run's path without a GPU, on this build's programs (nothing is
# built for it): SLUICE_FORCE_CPU=1 hides any GPU, SLUICE_GPU_BIN points
# the script at a directory laid out as the bundle's bin/. It must exit 0,
# say "no CUDA device" and why, run every gpu:: test (each skipped), the
# comparison of sluice-kernel --vs-cpu, and a job through sluice-worker.
# TAP on stdout.
src=${top_srcdir:-.}
build=${top_builddir:-.}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-nogpu.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
for p in sluice-worker sluice-kernel tests/gpu/test_gpu; do
	ln -s "$(cd "$build" && pwd)/$p" "$tmp/bin/$(basename "$p")"
done
echo "1..6"
SLUICE_FORCE_CPU=1 SLUICE_GPU_BIN="$tmp/bin" \
    sh "$src/tests/gpu/run" "$tmp/results.txt" >"$tmp/out" 2>&1
rc=$?
sed 's/^/# /' "$tmp/out"
n=0
check() {	# check DESCRIPTION CONDITION...
	n=$((n + 1))
	what=$1
	shift
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}
check "exits 0 without a GPU (got $rc)" test "$rc" = 0
check "says why there is no CUDA device" \
    grep -q '^INFO devices: no CUDA device: CPU only (SLUICE_FORCE_CPU=1)' \
    "$tmp/results.txt"
check "runs every gpu:: test, each skipped" \
    grep -Eq '^PASS gpu tests: ([1-9][0-9]*) of \1 skipped' "$tmp/results.txt"
check "compares an image with sluice-kernel --vs-cpu" \
    grep -q '^PASS mandelbrot vs cpu (cpu): identical' "$tmp/results.txt"
check "serves jobs through sluice-worker" \
    grep -q '^INFO first-job latency burn warm on cpu: ready' \
    "$tmp/results.txt"
check "writes its summary, and no FAIL" \
    sh -c "grep -q '^== summary' '$tmp/results.txt' &&
        ! grep -q '^FAIL' '$tmp/results.txt'"
