# bench/transport.awk - TCP loopback against a Unix-domain socket, per model:
# the transport chart's data and its section of a run's README.
#
#   awk -v models="blocking fork ..." -v dat=transport.dat [-v x=64] \
#       -f bench/stats.awk -f bench/labels.awk -f bench/transport.awk raw.csv
#
# The closed loop runs over TCP (workload closed) and over a Unix socket
# (workload unix) at the same connection counts. At x (the largest count
# both have, unless given), for every model of `models` (teaching order)
# that ran cleanly over both: the median messages per second and server CPU
# per message over each transport, with the 95% interval of each median
# (stats_median_ci), and the ratio Unix / TCP of each, paired by round
# (raw.csv's repeat: stats_ratio_ci, the geometric mean of the per-round
# ratios and its 95% interval). 1 - the CPU ratio is the share of the
# model's CPU per message that the TCP path cost and a Unix socket does not.
#
# dat gets one row per model: "index model tcp_msgs lo hi unix_msgs lo hi
# tcp_cpu lo hi unix_cpu lo hi" (bench/transport.gp); stdout gets the
# Markdown section, or nothing when the run has no unix points. Exits 0.
# Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

($col["workload"] == "closed" || $col["workload"] == "unix") && $col["status"] == "ok" {
	w = $col["workload"]
	p = $col["x"] + 0
	have[w, p] = 1
	k = $col["model"] SUBSEP w SUBSEP p
	r = $col["repeat"] + 0
	msgs[k, r] = $col["msgs_per_s"]
	cpu[k, r] = $col["server_us_per_msg"]
	if (r > maxr)
		maxr = r
	if (w == "unix" && (!(p in unix_x)))
		unix_x[p] = 1
}

# values(m, w, which, v): the clean rounds' figures of model m over
# workload w at x into v[1..n]; returns n.
function values(m, w, which, v,    r, k, n, f) {
	n = 0
	k = m SUBSEP w SUBSEP x
	for (r = 1; r <= maxr; r++) {
		f = (which == "msgs") ? msgs[k, r] : cpu[k, r]
		if ((k, r) in msgs && f != "")
			v[++n] = f + 0
	}
	return n
}

# paired(m, which, o): the ratio unix / tcp of model m, paired by round.
function paired(m, which, o,    r, kt, ku, a, b, n, fa, fb) {
	n = 0
	kt = m SUBSEP "closed" SUBSEP x
	ku = m SUBSEP "unix" SUBSEP x
	for (r = 1; r <= maxr; r++) {
		if (!((kt, r) in msgs) || !((ku, r) in msgs))
			continue
		fa = (which == "msgs") ? msgs[ku, r] : cpu[ku, r]
		fb = (which == "msgs") ? msgs[kt, r] : cpu[kt, r]
		if (fa == "" || fb == "")
			continue
		a[++n] = fa + 0
		b[n] = fb + 0
	}
	stats_ratio_ci(a, b, n, o)
}

# med(m, w, which, o): the median and its interval ("" ends: the median).
function med(m, w, which, o,    v, n) {
	n = values(m, w, which, v)
	if (n == 0) {
		o["median"] = ""
		return 0
	}
	stats_median_ci(v, n, o)
	if (o["lo"] == "") {
		o["lo"] = o["median"]
		o["hi"] = o["median"]
	}
	return n
}

function ratio_text(o) {
	if (o["ratio"] == "")
		return "—"
	if (o["lo"] == "")
		return sprintf("%.2f (one round)", o["ratio"])
	return sprintf("%.2f (%.2f–%.2f)", o["ratio"], o["lo"], o["hi"])
}

# What a CPU ratio's interval says: the TCP path's share of the cost.
function share_text(o) {
	if (o["lo"] == "")
		return "—"
	if (stats_verdict(o["lo"], o["hi"]) == "none")
		return "no difference resolved"
	return sprintf("%.0f%% (%.0f–%.0f%%)", (1 - o["ratio"]) * 100, (1 - o["hi"]) * 100,
	               (1 - o["lo"]) * 100)
}

END {
	if (x == "")
		for (p in unix_x)
			if (have["closed", p] && (x == "" || p + 0 > x + 0))
				x = p
	if (x == "")
		exit 0
	print "## Transport: TCP loopback or a Unix-domain socket\n"
	printf "The closed loop at %s connections (64-byte messages) over TCP on loopback and over a Unix-domain stream socket (`-u`, `loadgen --unix`), the same servers and load generator. ", x
	print "Medians with their 95% intervals; the ratios Unix / TCP are paired by round (the geometric mean of the per-round ratios, with its 95% interval). "
	print "**TCP's share** is 1 − the CPU ratio: the part of the server's CPU per message that the TCP path cost and a Unix socket does not; \"no difference resolved\" when the interval includes 1.\n"
	print "![transport](transport.png)\n"
	print "| model | msgs/s TCP | msgs/s Unix | Unix / TCP | CPU/msg TCP | CPU/msg Unix | Unix / TCP | TCP's share of the CPU |"
	print "|---|---:|---:|---|---:|---:|---|---|"
	for (i = 1; i <= nmodels; i++) {
		m = model[i]
		if (!med(m, "closed", "msgs", tm) || !med(m, "unix", "msgs", um)) {
			if (have["unix", x])
				skipped = skipped (skipped == "" ? "" : ", ") m
			continue
		}
		med(m, "closed", "cpu", tc)
		med(m, "unix", "cpu", uc)
		paired(m, "msgs", rm)
		paired(m, "cpu", rc)
		printf "%d %s %s %s %s %s %s %s %s %s %s %s %s %s\n", ++n, m, tm["median"], tm["lo"], tm["hi"],
		    um["median"], um["lo"], um["hi"], num(tc["median"]), num(tc["lo"]), num(tc["hi"]),
		    num(uc["median"]), num(uc["lo"]), num(uc["hi"]) > dat
		printf "| %s | %s | %s | %s | %s µs | %s µs | %s | %s |\n", m, figure_label(tm["median"]),
		    figure_label(um["median"]), ratio_text(rm), figure_label(tc["median"]),
		    figure_label(uc["median"]), ratio_text(rc), share_text(rc)
	}
	if (skipped != "")
		print "\nNot over both transports at this point (not run or failed): " skipped "."
	print ""
	close(dat)
}

# A missing figure as gnuplot's NaN.
function num(v) {
	return v == "" ? "NaN" : v
}
