# bench/transport.gp - the transport chart of a bench run: per model, the
# closed loop over TCP loopback and over a Unix-domain socket, side by side.
#
#   gnuplot -e "rundir='results/...'; fmt='png'; conns=64" bench/transport.gp
#
# bench/report.sh calls it for both formats. It reads rundir/data/common.gp
# (the footer: footer1, footer2_bars) and rundir/data/transport.dat (bench/transport.awk: one row
# per model, "index model tcp_msgs lo hi unix_msgs lo hi tcp_cpu lo hi
# unix_cpu lo hi"). Two panels: messages per second, and server CPU per
# message; each model two bars, TCP and Unix, whiskers the 95% interval of
# the median.

if (!exists("rundir") || !exists("fmt") || !exists("conns")) {
	print "transport.gp: set rundir, fmt and conns with -e"
	exit status 2
}

load rundir . "/data/common.gp"
dat = rundir . "/data/transport.dat"

if (fmt eq "svg") {
	set terminal svg size 1100,620 dynamic noenhanced font "DejaVu Sans,13" background rgb "white"
} else {
	set terminal pngcairo size 1100,620 noenhanced font "DejaVu Sans,11" background rgb "white"
}
set output rundir . "/transport." . fmt

set encoding utf8
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.6 textcolor rgb "#333333"
set grid ytics lc rgb "#dddddd" lw 1 dt solid
set style data histogram
set style histogram errorbars gap 1.5 lw 1
set style fill solid 0.85 border rgb "#555555"
set boxwidth 0.9
set bars 0.4
set xtics rotate by -40 left font ",10"
set key top left horizontal samplen 1.5 noautotitle
set yrange [0:*]

tcp = "#0072b2"
unix = "#e69f00"

set multiplot layout 1,2 title sprintf("Transport: closed loop at %d connections, 64-byte messages, TCP loopback or a Unix socket%s", conns, (unpinned ? " · " . unpinned_label : "") . (net_label ne "" ? " · " . net_label : "")) font ",14"
set bmargin 7
set label 900 footer1 at screen 0.01, 0.035 left font ",8" textcolor rgb "#777777"
set label 899 footer2_bars at screen 0.01, 0.012 left font ",8" textcolor rgb "#777777"

set title "messages per second (more is better)" font ",12"
set format y "%.0s%c"
plot dat using 3:4:5:xtic(2) title "TCP" lc rgb tcp, \
     '' using 6:7:8 title "Unix socket" lc rgb unix

unset label 900
unset label 899
set title "server CPU per message, µs (less is better)" font ",12"
set format y "%g"
plot dat using 9:10:11:xtic(2) title "TCP" lc rgb tcp, \
     '' using 12:13:14 title "Unix socket" lc rgb unix

unset multiplot
