# bench/c1m.gp - toward a million connections: per model, the memory its
# idle connections took at the largest count measured here, and that cost
# carried on to the target count, user and kernel stacked.
#
#   gnuplot -e "rundir='results/...'; fmt='png'; target='1M'" bench/c1m.gp
#
# bench/report.sh calls it for both formats. It reads rundir/data/common.gp
# (the footer: footer1, footer2_c1m) and rundir/data/c1m.dat (bench/c1m.awk: "index model N
# user_mib kernel_mib target_user_gib target_kernel_gib" after a comment
# line; NaN where the kernel's figures could not be read).

if (!exists("rundir") || !exists("fmt") || !exists("target")) {
	print "c1m.gp: set rundir, fmt and target with -e"
	exit status 2
}

load rundir . "/data/common.gp"
dat = rundir . "/data/c1m.dat"

if (fmt eq "svg") {
	set terminal svg size 1100,620 dynamic noenhanced font "DejaVu Sans,13" background rgb "white"
} else {
	set terminal pngcairo size 1100,620 noenhanced font "DejaVu Sans,11" background rgb "white"
}
set output rundir . "/c1m." . fmt

set encoding utf8
set border 3 lw 1 lc rgb "#444444"
set tics nomirror out scale 0.6 textcolor rgb "#333333"
set grid ytics lc rgb "#dddddd" lw 1 dt solid
set style data histogram
set style histogram rowstacked
set style fill solid 0.85 border rgb "#555555"
set boxwidth 0.7
set xtics rotate by -40 left font ",10"
set key outside top center horizontal samplen 1.5 noautotitle
set yrange [0:*]

user_colour = "#0072b2"
kernel_colour = "#e69f00"
# A missing kernel figure draws no bar.
nan0(x) = (x == x) ? x : 0

set multiplot layout 1,2 title sprintf("Idle connections: what they cost in memory, measured and projected (less is better)%s", (unpinned ? " · " . unpinned_label : "") . (net_label ne "" ? " · " . net_label : "")) font ",14"
set bmargin 7
set label 900 footer1 at screen 0.01, 0.035 left font ",8" textcolor rgb "#777777"
set label 899 footer2_c1m at screen 0.01, 0.012 left font ",8" textcolor rgb "#777777"

set title "measured, at the count on each bar (MiB)" font ",12"
plot dat using 4:xtic(2) title "user (PSS)" lc rgb user_colour, \
     '' using (nan0($5)) title "kernel (server's half)" lc rgb kernel_colour, \
     '' using 0:($4 + nan0($5)):(sprintf("%dk", $3 / 1000)) with labels offset 0,0.7 font ",9" notitle

unset label 899
set title sprintf("projected to %s connections (GiB)", target) font ",12"
plot dat using 6:xtic(2) title "user (PSS)" lc rgb user_colour, \
     '' using (nan0($7)) title "kernel (server's half)" lc rgb kernel_colour

unset multiplot
