# bench/paired.awk - the paired gate's verdict: the working tree against a
# base revision, run alternately on the same machine (bench/paired.sh).
#
#   awk -f bench/stats.awk -f bench/labels.awk -f bench/paired.awk \
#       [-v mode=report|pending|leaning] [-v thr_cpu=1.07] [-v thr_tput=1.25] \
#       [-v width=0.04] paired.csv
#
# paired.csv: "side,round,seq," then a raw.csv row (bench/point.sh), one
# line per run; side is "base" or "now". A pair is the base run and the now
# run of one model at one point in one round (run next to each other, in
# ABBA order: bench/paired.sh). Per model and point, over the pairs where
# both runs are clean, the paired ratio now/base of server CPU per message
# and of throughput (connections per second for churn) and its 95% interval
# (stats_ratio_ci, bench/stats.awk: the geometric mean of the per-round
# ratios, Student's t on their logs). Slow drift of the machine moves both
# runs of a pair alike and cancels in the ratio.
#
# Server CPU per message is judged twice: as it is (CPU/msg), and divided
# by the load generator's CPU per message in the same run (CPU/msg ÷
# client). The load generator is the same program for both builds and, at
# one connection, does the same work per message whichever server it
# drives (a send, a receive, a wait); what moves both in one run is the
# machine (a busy host, a neighbour on the core, a slow state of the VM),
# and the division takes it out: on the development VM it cut the per-pair
# spread from 0.15-0.4 to 0.05-0.17 (bench/README.md). Where the server is
# the bottleneck (16 connections) a slower server also makes the client a
# little dearer per message (it waits more often: +4 to +10% for a 15%
# slower server), so there the division understates a rise: CPU/msg as it
# is stays a verdict of its own. At one connection it is shown but does not
# convict: there the server is not the bottleneck, the division loses
# nothing, and the raw figure alone carries the machine's spells (the one
# false alarm of the gate's trial, bench/README.md). Where the load
# generator reported no CPU, CPU/msg decides at every point.
#
# The rule (bench/README.md, "The paired gate", gives the noise behind it):
#
#   regression   CPU/msg ÷ client, or CPU/msg past one connection: the
#                interval's low end above thr_cpu (1.07: a rise of more
#                than 7% with 95% confidence), over at least min_pairs (6)
#                pairs;
#                throughput: its high end below 1/thr_tput (1.25: a loss of
#                more than 20%), as many pairs
#   better       the interval entirely past the threshold the other way
#   ok           anything else; "unresolved" when the interval is still
#                wider than +-width and straddles the threshold
#
# mode=pending prints "model workload x" for every model-point whose verdict
# is not settled yet, for bench/paired.sh to give another two rounds. The
# verdict that decides is CPU/msg ÷ client's (CPU/msg's where the load
# generator reported no CPU): settled is its interval wholly above thr_cpu
# (with min_pairs pairs), wholly below it, or narrower than +-width (log
# half-width); or CPU/msg convicted where it convicts. A point not run on both sides
# (blocking with 16 clients) is settled; one without two clean pairs yet is
# pending while both sides have clean runs. Throughput is judged on the
# pairs the CPU needed: it is the noisiest (the client's core is shared
# with everything else), and a witness, not the measure.
#
# mode=leaning prints, of those, the ones whose deciding ratio is itself
# above thr_cpu: the interval straddles the threshold from above, so more
# pairs may convict. bench/paired.sh gives only these rounds past
# PAIRED_MAX_ROUNDS: an unchanged model-point, centred near 1, is rarely
# one, and a slowed one that the noise kept from conviction is.
#
# mode=report (the default) prints the Markdown table (model, point,
# metric, base, now, now/base, 95% interval, pairs, verdict), then one line
# per problem, "REGRESSION: MODEL at POINT: METRIC ..." or "FAILED: ...",
# and exits 1 when there is any.
# Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	if (mode == "")
		mode = "report"
	if (thr_cpu == "")
		thr_cpu = 1.07
	if (thr_tput == "")
		thr_tput = 1.25
	if (width == "")
		width = 0.04
	if (min_pairs == "")
		min_pairs = 6
	min_pairs += 0
	thr_cpu += 0
	thr_tput += 0
	width += 0
	nmet = split("cpu rel tput", met, " ")
	label["cpu"] = "CPU/msg"
	label["rel"] = "CPU/msg ÷ client"
	label["tput"] = "throughput"
	unit["cpu"] = " µs"
	unit["rel"] = ""
	unit["tput"] = "/s"
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (!("side" in col) || !("server_us_per_msg" in col) || !("model" in col)) {
		print "paired.awk: " FILENAME ": not a paired.csv (side,round,seq, then raw.csv columns)" > "/dev/stderr"
		bad = 1
		exit 2
	}
	next
}

$0 == "" { next }

{
	s = $col["side"]
	r = $col["round"] + 0
	w = $col["workload"]
	u = $col["model"] SUBSEP w SUBSEP $col["x"]
	if (!(u in seen)) {
		seen[u] = 1
		order[++nunits] = u
	}
	st = $col["status"]
	runs[u, s]++
	if (st == "ok") {
		ok[u, s]++
		cpu[u, s, r] = $col["server_us_per_msg"]
		tcol = (w == "churn" && ("conns_per_s" in col)) ? "conns_per_s" : "msgs_per_s"
		tput[u, s, r] = $col[tcol]
		c = ("client_cpu_us_per_msg" in col) ? $col["client_cpu_us_per_msg"] : ""
		rel[u, s, r] = (c + 0 > 0 && cpu[u, s, r] + 0 > 0) ? cpu[u, s, r] / c : ""
		if (r > maxr[u])
			maxr[u] = r
	} else if (st == "not-run") {
		notrun[u, s]++
		why[u, s] = $col["reason"]
	} else {
		failed[u, s]++
		why[u, s] = ($col["reason"] == "" ? st : $col["reason"])
	}
}

# pairs(u, m, a, b): a[] = now, b[] = base over the rounds where both are
# clean and positive; returns their number.
function pairs(u, m, a, b,    r, n, x, y) {
	n = 0
	for (r = 1; r <= maxr[u]; r++) {
		if (!((u, "now", r) in cpu) || !((u, "base", r) in cpu))
			continue
		x = (m == "cpu") ? cpu[u, "now", r] : (m == "rel" ? rel[u, "now", r] : tput[u, "now", r])
		y = (m == "cpu") ? cpu[u, "base", r] : (m == "rel" ? rel[u, "base", r] : tput[u, "base", r])
		if (x == "" || y == "" || x + 0 <= 0 || y + 0 <= 0)
			continue
		a[++n] = x + 0
		b[n] = y + 0
	}
	return n
}

# judge(u, m): fills R[] with ratio, lo, hi, n, the medians base and now,
# and verdict: "regressed", "better", "ok", "unresolved" or "" (no pairs).
function judge(u, m,    a, b, n, o, t, half, worse, within, better, past) {
	delete R
	n = pairs(u, m, a, b)
	R["n"] = n
	R["verdict"] = ""
	if (n < 1)
		return
	R["now"] = stats_median(a, n)
	R["base"] = stats_median(b, n)
	stats_ratio_ci(a, b, n, o)
	R["ratio"] = o["ratio"]
	R["lo"] = o["lo"]
	R["hi"] = o["hi"]
	if (n < 2) {
		R["verdict"] = "unresolved"
		return
	}
	# Worse is up for CPU, down for throughput. t: the threshold on the
	# ratio now/base; "within": the whole interval on the good side of it.
	# A regression needs min_pairs pairs: a few pairs can agree by chance.
	half = log(o["hi"] / o["lo"]) / 2
	if (m != "tput") {
		t = thr_cpu
		worse = o["lo"] > t
		within = o["hi"] < t
		better = o["hi"] < 1 / t
	} else {
		t = 1 / thr_tput
		worse = o["hi"] < t
		within = o["lo"] > t
		better = o["lo"] > 1 / t
	}
	past = worse
	if (worse && n < min_pairs)
		worse = 0
	R["settled"] = worse || within || (half <= width && !past)
	if (worse)
		R["verdict"] = "regressed"
	else if (better)
		R["verdict"] = "better"
	else if (within || (half <= width && !past))
		R["verdict"] = "ok"
	else
		R["verdict"] = "unresolved"
}

# raw_convicts(u): whether CPU/msg as it is can convict at model-point u:
# past one connection, or where the load generator reported no CPU (no
# CPU/msg ÷ client to decide instead).
function raw_convicts(u,    p, a, b) {
	split(u, p, SUBSEP)
	return p[3] + 0 > 1 || pairs(u, "rel", a, b) < 2
}

function pct(v) {
	return (v == "") ? "—" : sprintf("%+.1f%%", (v - 1) * 100)
}

END {
	if (bad)
		exit 2
	if (mode == "pending" || mode == "leaning") {
		for (i = 1; i <= nunits; i++) {
			u = order[i]
			# Not run, or failing, on either side: more rounds will not help.
			if (!ok[u, "base"] || !ok[u, "now"])
				continue
			judge(u, "cpu")
			if (R["verdict"] == "regressed" && raw_convicts(u))
				continue
			judge(u, "rel")
			if (R["n"] < 2)
				judge(u, "cpu")
			if (mode == "leaning" && !(R["n"] >= 2 && R["ratio"] > thr_cpu))
				continue
			if (R["n"] < 2 || !R["settled"]) {
				split(u, p, SUBSEP)
				print p[1], p[2], p[3]
			}
		}
		exit 0
	}
	print "| model | point | metric | base | now | now/base | 95% interval | pairs | verdict |"
	print "|---|---|---|---:|---:|---:|---|---:|---|"
	nbad = 0
	for (i = 1; i <= nunits; i++) {
		u = order[i]
		split(u, p, SUBSEP)
		model = p[1]
		pn = point_label(p[2], p[3])
		if (!ok[u, "base"] && !ok[u, "now"]) {
			if (notrun[u, "base"] && notrun[u, "now"])
				continue
			printf "| %s | %s | — | failed | failed | — | — | 0 | **FAILED** on both builds |\n", model, pn
			problem[++nbad] = "FAILED: " model " at " pn ": no clean run on either build (" why[u, "now"] ")"
			continue
		}
		if (!ok[u, "now"]) {
			printf "| %s | %s | — | ok | %s | — | — | 0 | **FAILED** |\n", model, pn, (notrun[u, "now"] ? "not run" : "failed")
			problem[++nbad] = "FAILED: " model " at " pn ": no clean run of this build in " runs[u, "now"] " (" why[u, "now"] ")"
			continue
		}
		if (!ok[u, "base"]) {
			printf "| %s | %s | — | %s | ok | — | — | 0 | runs now (not in the base build) |\n", model, pn, (notrun[u, "base"] ? "not run" : "failed")
			continue
		}
		judge(u, "rel")
		has_rel = R["n"] >= 2
		for (k = 1; k <= nmet; k++) {
			m = met[k]
			judge(u, m)
			if (m == "rel" && R["n"] < 1)
				continue
			v = R["verdict"]
			if (v == "regressed" && m == "cpu" && !raw_convicts(u)) {
				v = "above the threshold; at one connection ÷ client decides"
			} else if (v == "regressed") {
				v = "**REGRESSED**"
				problem[++nbad] = sprintf("REGRESSION: %s at %s: %s %s (%s -> %s%s; 95%% interval %s .. %s over %d pairs; threshold %s)",
				    model, pn, label[m], pct(R["ratio"]), figure_label(R["base"]), figure_label(R["now"]), unit[m],
				    pct(R["lo"]), pct(R["hi"]), R["n"], (m != "tput") ? pct(thr_cpu) : pct(1 / thr_tput))
			} else if (v == "unresolved") {
				v = "ok (unresolved: interval wider than ±" sprintf("%.0f%%", width * 100) ")"
				if (m == "rel" || (m == "cpu" && !has_rel))
					unresolved[++nunres] = sprintf("%s at %s: %s %s (%s .. %s over %d pairs)", model, pn,
					    label[m], pct(R["ratio"]), pct(R["lo"]), pct(R["hi"]), R["n"])
			} else if (v == "") {
				v = "no figure"
			}
			printf "| %s | %s | %s | %s%s | %s%s | %s | %s .. %s | %d | %s |\n", model, pn, label[m],
			    figure_label(R["base"]), unit[m], figure_label(R["now"]), unit[m], pct(R["ratio"]), pct(R["lo"]), pct(R["hi"]), R["n"], v
		}
		if (failed[u, "now"] + failed[u, "base"] > 0)
			warn[++nwarn] = sprintf("%s at %s: %d failed runs of this build, %d of the base (left out of the pairs)",
			    model, pn, failed[u, "now"], failed[u, "base"])
	}
	print ""
	for (i = 1; i <= nwarn; i++)
		print "> **Warning:** " warn[i]
	if (nwarn)
		print ""
	if (nunres) {
		print "Unresolved (too noisy to tell a rise of " pct(thr_cpu) " from none, within the rounds; not a failure):"
		for (i = 1; i <= nunres; i++)
			print "- " unresolved[i]
		print ""
	}
	for (i = 1; i <= nbad; i++)
		print problem[i]
	exit nbad > 0 ? 1 : 0
}
