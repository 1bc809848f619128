# bench/timeline.gp - the timeline picture of one or more server traces
# (bench/timeline.sh draws them: it runs bench/timeline.awk on each trace
# first).
#
#   gnuplot -e "data='DIR/a DIR/b'; titles='a|b'; lookfile='F'; xmax=3.1; out='x'; fmt='png'" \
#       bench/timeline.gp
#
# data: the prefixes bench/timeline.awk wrote (PREFIX.lanes, .marks, .waits,
# .tids, .info), one panel each; titles: each panel's title, separated by
# "|"; lookfile: a file holding what to look for (the lines under a single
# picture's title; none for a sheet); xmax: the shared time axis, seconds.
#
# Each panel: time across; one lane per connection, in the order accepted
# (conn 1 at the top), its bar from when it began to be served to its close,
# in the colour of the thread or process that served it, a thin grey line
# before that (accepted, waiting for a worker); a mark for each read (dot)
# and write (triangle), an accept (|) and a close (x), a shed (red X); and
# on the bottom lane the waits of an event loop (select, poll, epoll_wait,
# io_uring_enter), one impulse each, as tall as the fds it found ready.

if (!exists("data") || !exists("titles") || !exists("xmax") || !exists("out") || !exists("fmt")) {
	print "timeline.gp: set data, titles, xmax, out and fmt with -e"
	exit status 2
}
if (!exists("lookfile")) lookfile = ""

n = words(data)
cols = n == 1 ? 1 : (n > 12 ? 4 : (n > 4 ? 3 : 2))
rows = int((n + cols - 1) / cols)
width = n == 1 ? 1000 : 1300
height = n == 1 ? 480 : 60 + 190 * rows

if (fmt eq "svg") {
	set terminal svg size width,height dynamic noenhanced font "DejaVu Sans,12" background rgb "white"
} else {
	set terminal pngcairo size width,height noenhanced font "DejaVu Sans,10" background rgb "white"
}
set output out . "." . fmt

# Eight colours (Okabe-Ito, then grey) for the threads and processes, in
# the order they first appear; the ninth reuses the first.
array hue[8] = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#555555"]
do for [i = 1:8] {
	set linetype i lc rgb hue[i] lw 1 pt 7 ps 0.5
}
set linetype cycle 8

set encoding utf8
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.5 textcolor rgb "#333333"
set key off
set xrange [0:xmax]
set grid xtics lc rgb "#eeeeee" lw 1 dt solid

info(p, key) = system(sprintf("awk '$1 == \"%s\" { print $2 }' %s.info", key, p))
title_of(i) = system(sprintf("echo '%s' | cut -d'|' -f%d", titles, i))

if (n == 1) {
	look = lookfile eq "" ? "" : system("cat " . lookfile)
	set title (look eq "" ? title_of(1) : sprintf("%s\n%s", title_of(1), look)) font ",12"
	set bmargin 7
	set label 901 "bar: served, in the colour of the thread or process serving it · grey line: accepted, waiting for a worker\n● read  ▲ write  | accept  × close  ✖ (red) shed · bottom lane: an event loop's waits, as tall as the fds found ready" \
	    at screen 0.5, 0.06 center font ",9" textcolor rgb "#555555"
	set xlabel "seconds since the server started" font ",10" offset 0,0.3
} else {
	set multiplot layout rows,cols title "Every model under the same three slow clients: seconds across, one lane per connection, colour = the thread or process serving it; waits at the bottom" font ",13" spacing 0.05,0.09 margins 0.06,0.99,0.05,0.93
}

do for [i = 1:n] {
	p = word(data, i)
	lanes = int(info(p, "lanes"))
	ready = int(info(p, "max_ready"))
	ready = ready > 0 ? ready : 1
	set yrange [-0.2:lanes + 0.8]
	# conn 1 at the top; the waits' lane at the bottom, y 0..0.8.
	set ytics () font ",9"
	do for [l = 1:lanes] {
		set ytics add (sprintf("conn %d", l) lanes + 1 - l)
	}
	set ytics add ("waits" 0.4)
	if (n > 1) { set title title_of(i) font ",11" offset 0,-0.5 }
	plot p . ".lanes" using 2:(lanes + 1 - $1):($3 - $2):(0) with vectors nohead lw 1 lc rgb "#bbbbbb", \
	     '' using 3:(lanes + 1 - $1):($4 - $3):(0):5 with vectors nohead lw 7 lc variable, \
	     p . ".marks" using ($3 == 1 ? $1 : NaN):(lanes + 1 - $2 - 0.25):4 with points pt 7 ps 0.6 lc variable, \
	     '' using ($3 == 2 ? $1 : NaN):(lanes + 1 - $2 + 0.25):4 with points pt 9 ps 0.7 lc variable, \
	     '' using ($3 == 3 ? $1 : NaN):(lanes + 1 - $2 - 0.3):(0):(0.6) with vectors nohead lw 2 lc rgb "#000000", \
	     '' using ($3 == 4 ? $1 : NaN):(lanes + 1 - $2) with points pt 2 ps 1 lc rgb "#000000", \
	     '' using ($3 == 5 ? $1 : NaN):(lanes + 1 - $2) with points pt 2 ps 1.6 lw 2 lc rgb "#d00000", \
	     p . ".waits" using 1:(0.8 * $2 / ready):3 with impulses lw 1 lc variable, \
	     '' using 1:(0):3 with points pt 7 ps 0.2 lc variable
}

if (n > 1) { unset multiplot }
