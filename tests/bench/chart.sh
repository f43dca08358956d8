#!/bin/sh
# Draws tests/bench/results.png from the "ratio R (target >= T" / "<= T"
# lines of results.txt: one bar per figure, scored against its target
# (R/T for ">=", T/R for "<="), so 1 is the target line and above it meets.
# usage: chart.sh RESULTS.txt OUT.png
set -u
in=$1 out=$2
command -v gnuplot >/dev/null || { echo "chart: gnuplot not installed, no chart"; exit 0; }
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# label<TAB>ratio<TAB>target
sed -n 's/^\([^:]*\):.*ratio \([0-9.]*\).*(target \([<>]=\) \([0-9.]*\).*/\1\t\2\t\4\t\3/p' "$in" |
	awk -F'\t' '$2 > 0 && $3 > 0 {gsub(/"/, "", $1);
		score = ($4 == ">=") ? $2 / $3 : $3 / $2;
		printf "\"%s (%s, target %s %s)\"\t%.3f\n", $1, $2, $4, $3, score}' > "$dat"
[ -s "$dat" ] || { echo "chart: no ratio lines in $in"; exit 0; }
gnuplot <<GP
set terminal pngcairo size 1250,600 font "sans,10" noenhanced
set output "$out"
set title "Sluice benchmarks: measured / target (1 = target; above meets)"
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics rotate by -25 left
set ylabel "score (log scale)"
set logscale y
set yrange [0.1:10]
set grid ytics
set key off
set bmargin 12
set rmargin 24
plot "$dat" using 0:2:xtic(1) with boxes lc rgb "#2563eb", \
     1 with lines lw 2 dt 2 lc rgb "#b91c1c"
GP
echo "chart: $out"
