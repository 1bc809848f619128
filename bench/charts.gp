# bench/charts.gp - draws one chart of a bench run.
#
#   gnuplot -e "rundir='results/...'; chart='throughput'; fmt='png'" bench/charts.gp
#
# bench/report.sh calls it for every chart and both formats (png, svg). It
# reads rundir/data/common.gp (the footer naming the machine, and whether the
# run was unpinned), and rundir/data/CHART.dat and CHART.gp, written by
# bench/chartdata.awk: one data block per model of the run (median, min, max
# of the repeats), blank lines where a point did not run, the key titles and
# line types, the x tics and a note naming the gaps.

if (!exists("rundir") || !exists("chart") || !exists("fmt")) {
	print "charts.gp: set rundir, chart and fmt with -e"
	exit status 2
}

here = system("dirname '" . ARG0 . "'")
load here . "/style.gp"
load rundir . "/data/common.gp"
load rundir . "/data/" . chart . ".gp"
dat = rundir . "/data/" . chart . ".dat"

if (fmt eq "svg") {
	set terminal svg size 1100,680 dynamic noenhanced font "DejaVu Sans,13" background rgb "white"
} else {
	set terminal pngcairo size 1100,680 noenhanced font "DejaVu Sans,11" background rgb "white"
}
set output rundir . "/" . chart . "." . fmt

set encoding utf8
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.6 textcolor rgb "#333333"
set grid xtics ytics lc rgb "#dddddd" lw 1 dt solid
set grid mxtics mytics lc rgb "#eeeeee" lw 1 dt solid
set key outside right top vertical Left reverse samplen 3.5 spacing 1.3 width 1 noautotitle
set key title "model" left
set bars 1.5
set title font ",15" textcolor rgb "#222222"

# Under the x axis label: one line per gap in the chart (not run or failed,
# and why), then the footer naming the machine.
set bmargin (note_lines > 0 ? note_lines + 6.5 : 6)
set label 900 footer1 at character 1.5, 2 left font ",9" textcolor rgb "#777777"
set label 899 footer2 at character 1.5, 1 left font ",9" textcolor rgb "#777777"
if (note_lines > 0) {
	set label 901 "Gaps in the lines (not run or failed):" at character 1.5, (note_lines + 3.2) left \
	    font ",9" textcolor rgb "#9b3b00"
	do for [k=1:note_lines] {
		set label (901 + k) "  " . N[k] at character 1.5, (note_lines + 3.2 - k) left \
		    font ",9" textcolor rgb "#9b3b00"
	}
}

# Log y axes run from the decade below the lowest bar to the one above the
# highest, so every decade drawn has its tic.
y_lo = (ylo > 0) ? ylo : 1
y_hi = (yhi > y_lo) ? yhi : y_lo * 10
decades = sprintf("set yrange [%g:%g]", 0.999 * 10.0 ** floor(log10(y_lo)), 1.001 * 10.0 ** ceil(log10(y_hi)))

# Latency tics in words: the data is in microseconds.
time_tics = '("1 µs" 1, "10 µs" 10, "100 µs" 100, "1 ms" 1000, "10 ms" 10000, "100 ms" 100000, "1 s" 1000000, "10 s" 10000000)'

set logscale x 10
set xrange [xmin / 1.4 : xmax * 1.4]
set mxtics 10

ttl = chart

# Client-bound rings belong where the client's limit shapes the figure.
if (chart eq "cpu" || chart eq "memory" || chart eq "open") { has_cb = 0 }
ylab_cb = ""

if (chart eq "throughput") {
	ttl = sprintf("Closed-loop throughput: %d-byte messages, %d in flight per connection", wl_size, wl_pipeline)
	set xlabel "connections (log scale)"
	set ylabel "messages per second" . ylab_cb
	set yrange [0:*]
	set format y "%.0s%c"
}
if (chart eq "latency") {
	ttl = sprintf("Closed-loop tail latency: p99, %d-byte messages", wl_size)
	set xlabel "connections (log scale)"
	set ylabel "p99 round-trip latency (log scale)"
	set logscale y 10
	set ytics @time_tics
	@decades
}
if (chart eq "cpu") {
	ttl = sprintf("Server CPU cost: user+sys time per echoed message, %d-byte messages", wl_size)
	set xlabel "connections (log scale)"
	set ylabel "server CPU per message, µs"
	set yrange [0:*]
}
if (chart eq "memory") {
	ttl = "Server memory: resident set summed over all its processes"
	set xlabel "connections (log scale)"
	set ylabel "server RSS, MiB (log scale)"
	set logscale y 10
	@decades
	set format y "%g"
}
if (chart eq "idle") {
	ttl = sprintf("Idle connections (C10K): throughput of %d active clients beside idle ones", wl_conns)
	set xlabel sprintf("idle connections held open (log scale; drawn at idle + %d active)", wl_conns)
	set ylabel "messages per second (active clients)" . ylab_cb
	set yrange [0:*]
	set format y "%.0s%c"
}
if (chart eq "churn") {
	ttl = sprintf("Connection churn: connect, one %d-byte echo, close", wl_size)
	set xlabel "concurrent clients (log scale)"
	set ylabel "connections per second" . ylab_cb
	set yrange [0:*]
	set format y "%.0s%c"
}
if (chart eq "open") {
	ttl = sprintf("Open-loop latency at %.0f msg/s offered, %d connections, %d-byte messages", wl_rate, wl_conns, wl_size)
	set xlabel "percentile (log scale of 1/(1 - p))"
	set ylabel "round-trip latency (log scale)"
	set logscale y 10
	set ytics @time_tics
	@decades
	set xrange [xmin / 1.3 : xmax * 1.3]
	unset mxtics
	set grid nomxtics
}
if (chart eq "size") {
	ttl = sprintf("Message size: echoed payload throughput at %d connections", wl_conns)
	set xlabel "message size (log scale)"
	set ylabel "MiB/s echoed (log scale)" . ylab_cb
	set logscale y 10
	@decades
	set format y "%g"
	unset mxtics
	set grid nomxtics
}

# An unpinned run says so above every chart, in red: in every other run the
# server has one core.
# A run in two network namespaces says that too.
if (exists("net_label") && net_label ne "") {
	ttl = ttl . "\n" . net_label
}
if (exists("unpinned") && unpinned) {
	set title (unpinned_label . "\n" . ttl) textcolor rgb "#b00000"
} else {
	set title ttl
}

# The median with its 95% confidence interval as the bar, per model; then
# the unresolved points (interval wider than +-5%) hollow: a white copy of
# the marker hides the line and the bar behind it, and the model's empty
# marker of the same shape goes on top (style.gp: SOLID, HOLLOW); then the
# client-bound rings. Each model is nudged sideways a little (1.5% per model
# on the log axis, by its place in the teaching order), so that bars at the
# same x do not hide each other. On a log axis a bar reaching 0 is drawn to
# the bottom of the chart.
dodge(t) = 1.015 ** (t - 6.5)
bar_lo(v) = (v > 0 ? v : 1e-30)
solid_pt(t) = (t <= |SOLID| ? SOLID[t] : 7)
hollow_pt(t) = (t <= |HOLLOW| ? HOLLOW[t] : 6)
plot for [i=1:nblocks] dat index (i - 1) using ($1 * dodge(LT[i])):2:(bar_lo($3)):4 with yerrorlines lt LT[i] title T[i], \
     for [i=1:(has_unresolved ? nblocks : 0)] dat index (i - 1) using ($1 * dodge(LT[i])):($6 == 0 ? $2 : NaN) \
         with points lt LT[i] pt solid_pt(LT[i]) lc rgb "white" notitle, \
     for [i=1:(has_unresolved ? nblocks : 0)] dat index (i - 1) using ($1 * dodge(LT[i])):($6 == 0 ? $2 : NaN) \
         with points lt LT[i] pt hollow_pt(LT[i]) notitle, \
     for [i=1:(has_unresolved ? 1 : 0)] keyentry with points pt 6 ps 1.3 lw 2 lc rgb "#444444" \
         title "hollow: 95% CI wider than ±5%", \
     for [i=1:(has_cb ? nblocks : 0)] dat index (i - 1) using ($1 * dodge(LT[i])):($5 > 0 ? $2 : NaN) \
         with points pt 6 ps 2.6 lw 1.5 lc rgb cb_color notitle, \
     for [i=1:(has_cb ? 1 : 0)] keyentry with points pt 6 ps 2 lw 1.5 lc rgb cb_color title "client-bound"
