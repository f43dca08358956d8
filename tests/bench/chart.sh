#!/bin/sh
# Draws tests/bench/results.png from the "ratio R (target >= T" / "<= T"
# lines of results.txt: one bar per figure, its target as a marker.
# usage: chart.sh RESULTS.txt OUT.png
set -u
in=$1 out=$2
command -v gnuplot >/dev/null || { echo "chart: gnuplot not installed, no chart"; exit 0; }
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# label<TAB>ratio<TAB>target
sed -n 's/^\([^:]*\):.*ratio \([0-9.]*\).*(target \([<>]=\) \([0-9.]*\).*/\1\t\2\t\4\t\3/p' "$in" |
	awk -F'\t' '{gsub(/"/, "", $1); printf "\"%s\"\t%s\t%s\t%s\n", $1, $2, $3, $4}' > "$dat"
[ -s "$dat" ] || { echo "chart: no ratio lines in $in"; exit 0; }
gnuplot <<GP
set terminal pngcairo size 1000,520 font "sans,10" noenhanced
set output "$out"
set title "Sluice benchmarks: measured ratio (bars) vs target (diamonds)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set xtics rotate by -25 left
set ylabel "ratio"
set yrange [0:*]
set grid ytics
set key top right
plot "$dat" using 2:xtic(1) title "measured" lc rgb "#2563eb", \
     "" using 0:3 with points pt 13 ps 2 lc rgb "#b91c1c" title "target"
GP
echo "chart: $out"
