# tap.sh: TAP helpers for the shell tests, sourced after they set -u.
# ok STATUS DESCRIPTION prints "ok N" when STATUS is 0, "not ok N" (and
# sets failed=1) otherwise; skip DESCRIPTION WHY; diag quotes stdin.
n=0
failed=0

ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
diag() { sed 's/^/# /'; }
