# bench/capacity.gp - the capacity chart of a bench run: per model, the
# highest rate at which p99 stayed at or under 1 ms and under 10 ms, one
# panel per connection count.
#
#   gnuplot -e "rundir='results/...'; fmt='png'; conns='64 1024'; targets='cap1ms cap10ms'" bench/capacity.gp
#
# bench/report.sh calls it for both formats. It reads rundir/data/common.gp
# (the footer: footer1, footer2_once) and rundir/data/capacity.dat
# (bench/capacity.awk: one row per model, "index model", then for each
# connection count the 1 ms capacity and its mark, the 10 ms capacity and
# its mark). A mark is "*" (client-bound) or "< N" (even the first rate
# tried, N, missed the target), written above its bar; a gap (NaN) is a
# model that did not run there.
# targets names the capacity workloads the run searched: a target it left
# out (BENCH=quick: cap1ms) is zeros in the data and has no key entry.

if (!exists("rundir") || !exists("fmt") || !exists("conns") || !exists("targets")) {
	print "capacity.gp: set rundir, fmt, conns and targets with -e"
	exit status 2
}

load rundir . "/data/common.gp"
dat = rundir . "/data/capacity.dat"
panels = words(conns)

if (fmt eq "svg") {
	set terminal svg size 1100,620 dynamic noenhanced font "DejaVu Sans,13" background rgb "white"
} else {
	set terminal pngcairo size 1100,620 noenhanced font "DejaVu Sans,11" background rgb "white"
}
set output rundir . "/capacity." . fmt

set encoding utf8
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.6 textcolor rgb "#333333"
set grid ytics lc rgb "#dddddd" lw 1 dt solid
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#555555"
set boxwidth 0.9
set xtics rotate by -40 left font ",10"
set key outside top center horizontal samplen 1.5 noautotitle
set yrange [0:*]
set format y "%.0s%c"

tight = "#d55e00"
loose = "#56b4e9"
# The centre of bar j (0: 1 ms, 1: 10 ms) of row r in a cluster of two
# with a gap of one bar.
bar_x(r, j) = r + (j - 0.5) / 3.0

set multiplot layout 1,panels title sprintf("Capacity: the highest rate at which p99 stays under the target (more is better)%s", (unpinned ? " · " . unpinned_label : "") . (net_label ne "" ? " · " . net_label : "")) font ",14"
set bmargin 7
set label 900 footer1 at screen 0.01, 0.035 left font ",8" textcolor rgb "#777777"
set label 899 footer2_once at screen 0.01, 0.012 left font ",8" textcolor rgb "#777777"

do for [i = 1:panels] {
	c = 3 + 4 * (i - 1)
	set title sprintf("%s connections, messages per second", word(conns, i)) font ",12"
	plot dat using c:xtic(2) title (strstrt(targets, "cap1ms") ? "p99 ≤ 1 ms" : "") lc rgb tight, \
	     '' using (column(c + 2)) title (strstrt(targets, "cap10ms") ? "p99 ≤ 10 ms" : "") lc rgb loose, \
	     '' using (bar_x($0, 0)):(column(c) == column(c) ? column(c) : 0):(stringcolumn(c + 1)) \
	        with labels rotate by 90 left offset 0,0.3 font ",9" notitle, \
	     '' using (bar_x($0, 1)):(column(c + 2) == column(c + 2) ? column(c + 2) : 0):(stringcolumn(c + 3)) \
	        with labels rotate by 90 left offset 0,0.3 font ",9" notitle
	unset label 900
	unset label 899
}

unset multiplot
