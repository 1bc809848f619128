# bench/intervals.gp - the open loop's latency over time: per model, the p99
# and the maximum of every 100 ms of the measured window (first round), so a
# stall shows as a spike where it happened instead of hiding in the run's
# percentiles.
#
#   gnuplot -e "rundir='results/...'; fmt='png'; models='fork thread ...'; rate=10000; \
#       ymax=2000" bench/intervals.gp
#
# bench/report.sh calls it for both formats, with the models that have a
# file, and ymax (µs: the largest max of any panel, so all share one axis).
# It reads rundir/data/common.gp (the footer) and
# rundir/intervals/open-RATE-MODEL-r1.csv (loadgen --interval 100ms
# --format csv: time_s, interval_s, rate, messages, msgs_per_s, p50_us,
# p99_us, max_us, errors; an interval with no echo has empty latencies, a
# gap in its line).

if (!exists("rundir") || !exists("fmt") || !exists("models") || !exists("rate") || !exists("ymax")) {
	print "intervals.gp: set rundir, fmt, models, rate and ymax with -e"
	exit status 2
}

load rundir . "/data/common.gp"
n = words(models)
cols = n > 12 ? 4 : (n > 6 ? 3 : 2)
rows = int((n + cols - 1) / cols)

if (fmt eq "svg") {
	set terminal svg size 1200,250 + 190 * rows dynamic noenhanced font "DejaVu Sans,12" background rgb "white"
} else {
	set terminal pngcairo size 1200,250 + 190 * rows noenhanced font "DejaVu Sans,10" background rgb "white"
}
set output rundir . "/intervals." . fmt

set encoding utf8
set datafile separator ","
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.5 textcolor rgb "#333333"
set grid ytics lc rgb "#e5e5e5" lw 1 dt solid
set logscale y
set format y "%.0s%c"
set yrange [10:ymax * 1.5]
set xrange [0:*]
set key off
set xtics 0.5
set xlabel "s into the measured window" font ",9" offset 0,0.8

set multiplot layout rows,cols \
    title sprintf("Open loop at %g msg/s: p99 (dark) and max (light) latency per 100 ms, µs, log scale%s", \
                  rate, (unpinned ? " · " . unpinned_label : "") . (net_label ne "" ? " · " . net_label : "")) font ",13" \
    margins 0.05, 0.98, 0.09, 0.92 spacing 0.04, 0.07
set label 900 footer1 at screen 0.01, 0.028 left font ",8" textcolor rgb "#777777"
set label 899 footer2_first at screen 0.01, 0.008 left font ",8" textcolor rgb "#777777"

do for [i = 1:n] {
	m = word(models, i)
	set title m font ",11" offset 0,-0.6
	# Each line's value holds from its interval's start (time_s - interval_s).
	plot sprintf("%s/intervals/open-%g-%s-r1.csv", rundir, rate, m) \
	        every ::1 using ($1 - $2):8 with steps lw 1 lc rgb "#9ecae1", \
	     '' every ::1 using ($1 - $2):7 with steps lw 1.5 lc rgb "#08519c"
	unset label 900
	unset label 899
}

unset multiplot
