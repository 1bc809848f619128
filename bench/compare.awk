# bench/compare.awk - the regression verdict: a bench run against a baseline.
#
#   awk -v thr_tput=1.3 -v thr_cpu=1.3 -v thr_p99=2.5 -v thr_drift=1.5 \
#       -f bench/compare.awk which=base BASE/agg.csv which=now NOW/agg.csv \
#       [which=confirm CONFIRM/agg.csv]
#
# Reads agg.csv files (bench/aggregate.awk: median, min and max per model
# and point). For every model, point and metric (throughput, p99 latency,
# server CPU per message) it computes the slowdown factor f: base/now for
# throughput, now/base for the others, so f > 1 is always worse. The rule
# (bench/README.md, "The regression gate", gives the figures behind it):
#
#   1. drift: the median f over every model at the same point, per metric
#      (at least min_models of them; else over the whole run, at least
#      min_pairs pairs; else 1). The machine's mood (a neighbour's load)
#      moves every model at a point alike; one slower server moves one
#      model. Each f is divided by its point's drift: ratios measured in the
#      same run, every other model being the reference.
#   2. A point is suspect when its normalised f passes the metric's
#      threshold AND the ranges do not overlap: the best repeat now is worse
#      than the worst repeat of the baseline (min/max in agg.csv).
#   3. A suspect is a regression only when a confirmation run (the suspect
#      points rerun, every model, given as which=confirm) finds it again by
#      the same rule. Without a confirmation run, suspects are regressions.
#   4. A drift past thr_drift on throughput or CPU is reported too, against
#      "all models": shared code (servers/lib/) slower, or the machine. It needs
#      confirming like the rest.
#
# Points not run on both sides (select past FD_SETSIZE; uring built without
# liburing for the baseline and now) are not compared. A model the baseline
# measured that cannot run now at all (every point of it not run: a library
# gone, io_uring refused) is reported once, "UNAVAILABLE: MODEL ...", and
# fails the gate like a missing point: the gate can no longer watch it.
#
# Output: the Markdown table on stdout (model, point, metric, baseline,
# now, change, verdict), then lines "REGRESSION: ...", "MISSING: ..." and
# "UNAVAILABLE: ...".
# With -v suspects=FILE, writes "workload x model" for every suspect point.
# Exit status: 0 nothing regressed, went missing or became unavailable; 1
# otherwise.

BEGIN {
	FS = ","
	nmet = split("tput lat_p99_us server_us_per_msg", met, " ")
	label["tput"] = "throughput"
	label["lat_p99_us"] = "p99 latency"
	label["server_us_per_msg"] = "CPU/msg"
	unit["tput"] = "/s"
	unit["lat_p99_us"] = " µs"
	unit["server_us_per_msg"] = " µs"
	thr["tput"] = thr_tput + 0
	thr["lat_p99_us"] = thr_p99 + 0
	thr["server_us_per_msg"] = thr_cpu + 0
	if (min_pairs == "")
		min_pairs = 6
	if (min_models == "")
		min_models = 5
	if (thr_drift == "")
		thr_drift = 1.5
}

FNR == 1 {
	delete col
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (!("workload" in col) || !("msgs_per_s_med" in col)) {
		print "compare.awk: " FILENAME ": not an agg.csv" > "/dev/stderr"
		bad = 1
		exit 2
	}
	has[which] = 1
	next
}

$0 == "" { next }

{
	w = $col["workload"]
	p = w SUBSEP $col["x"] SUBSEP $col["model"]
	if (which == "base" && !(p in seen)) {
		seen[p] = 1
		order[++npoints] = p
	} else if (which != "base" && !(p in seen)) {
		seen[p] = 1
		extra[p] = 1
		order[++npoints] = p
	}
	st[which, p] = $col["status"]
	why[which, p] = $col["reason"]
	# Per model: did the baseline measure it; does this run not run it at all?
	mdl = $col["model"]
	if (which == "base" && $col["status"] == "ok")
		base_ok[mdl] = 1
	if (which == "now") {
		now_rows[mdl]++
		if ($col["status"] == "not-run") {
			now_notrun[mdl]++
			if (!(mdl in now_why))
				now_why[mdl] = $col["reason"]
		}
	}
	# Throughput: connections per second for churn (one message each).
	tcol = (w == "churn" && ("conns_per_s_med" in col)) ? "conns_per_s" : "msgs_per_s"
	for (k = 1; k <= nmet; k++) {
		c = (met[k] == "tput") ? tcol : met[k]
		med[which, p, met[k]] = $col[c "_med"]
		lo[which, p, met[k]] = $col[c "_min"]
		hi[which, p, met[k]] = $col[c "_max"]
	}
}

# f: the slowdown factor of run r against the baseline (> 1: worse), or ""
# when either side has no figure.
function factor(r, p, m,    b, n) {
	b = med["base", p, m]
	n = med[r, p, m]
	if (b == "" || n == "" || st["base", p] != "ok" || st[r, p] != "ok")
		return ""
	if (b + 0 <= 0 || n + 0 <= 0)
		return ""
	return (m == "tput") ? b / n : n / b
}

# The ranges do not overlap: every repeat now is worse than every repeat of
# the baseline.
function apart(r, p, m) {
	if (m == "tput")
		return hi[r, p, m] + 0 < lo["base", p, m] + 0
	return lo[r, p, m] + 0 > hi["base", p, m] + 0
}

function sort_list(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

# drift[r, m]: the median factor over the run's points, 1 when too few.
function compute_drift(r,    k, i, n, f, list) {
	for (k = 1; k <= nmet; k++) {
		n = 0
		delete list
		for (i = 1; i <= npoints; i++) {
			f = factor(r, order[i], met[k])
			if (f != "")
				list[++n] = f
		}
		npairs[r, met[k]] = n
		if (n < min_pairs) {
			drift[r, met[k]] = 1
			continue
		}
		sort_list(list, n)
		drift[r, met[k]] = (n % 2) ? list[(n + 1) / 2] : (list[n / 2] + list[n / 2 + 1]) / 2
	}
}

# pdrift[r, point, m]: the median factor over the models at one point
# (workload and x), when at least min_models of them ran there. Load on the
# machine does not hit every point alike (closed c=16 rides on the client's
# wake-ups, c=256 on the server's CPU): each point is its own reference.
function compute_point_drift(r,    k, i, j, n, f, q, a, list, done) {
	for (k = 1; k <= nmet; k++)
		for (i = 1; i <= npoints; i++) {
			split(order[i], a, SUBSEP)
			q = a[1] SUBSEP a[2]
			if ((q, met[k]) in done)
				continue
			done[q, met[k]] = 1
			n = 0
			delete list
			for (j = 1; j <= npoints; j++) {
				split(order[j], a, SUBSEP)
				if (a[1] SUBSEP a[2] != q)
					continue
				f = factor(r, order[j], met[k])
				if (f != "")
					list[++n] = f
			}
			if (n < min_models) {
				pdrift[r, q, met[k]] = drift[r, met[k]]
				continue
			}
			sort_list(list, n)
			pdrift[r, q, met[k]] = (n % 2) ? list[(n + 1) / 2] : (list[n / 2] + list[n / 2 + 1]) / 2
		}
}

# norm(r, p, m): the factor divided by its point's drift.
function norm(r, p, m,    a) {
	split(p, a, SUBSEP)
	return factor(r, p, m) / pdrift[r, a[1] SUBSEP a[2], m]
}

# suspect(r, p, m): 1 when run r is beyond noise at p on m.
function suspect(r, p, m,    f) {
	f = factor(r, p, m)
	if (f == "")
		return 0
	return norm(r, p, m) > thr[m] && apart(r, p, m)
}

function point_name(p,    a) {
	split(p, a, SUBSEP)
	return point_label(a[1], a[2])
}

function model_of(p,    a) {
	split(p, a, SUBSEP)
	return a[3]
}

# The change as the user reads it: now against the baseline, in percent.
function change(p, m,    b, n) {
	b = med["base", p, m]
	n = med["now", p, m]
	if (b == "" || n == "" || b + 0 == 0)
		return "—"
	return sprintf("%+.0f%%", (n / b - 1) * 100)
}

function row(model, point, metric, b, n, ch, verdict) {
	printf "| %s | %s | %s | %s | %s | %s | %s |\n", model, point, metric, b, n, ch, verdict
}

END {
	if (bad)
		exit 2
	compute_drift("now")
	compute_point_drift("now")
	if ("confirm" in has) {
		compute_drift("confirm")
		compute_point_drift("confirm")
	}

	# The models the baseline measured and this run could not run anywhere.
	for (mdl in now_rows)
		if ((mdl in base_ok) && now_notrun[mdl] == now_rows[mdl])
			unavailable[mdl] = 1

	print "| model | point | metric | baseline | now | change | verdict |"
	print "|---|---|---|---:|---:|---:|---|"
	nbad = 0
	for (i = 1; i <= npoints; i++) {
		p = order[i]
		model = model_of(p)
		pn = point_name(p)
		sb = st["base", p]
		sn = (("now", p) in st) ? st["now", p] : ""
		if (p in extra && sb == "") {
			if (sn == "ok")
				row(model, pn, "—", "—", "ran", "—", "new point (not in the baseline)")
			continue
		}
		if (sb == "not-run" && (sn == "not-run" || sn == ""))
			continue
		if (model in unavailable) {
			if (sb == "ok") {
				row(model, pn, "—", sb, "not run", "—", "**UNAVAILABLE**")
				unavail_points[model]++
			}
			continue
		}
		if (sn == "") {
			row(model, pn, "—", sb, "—", "—", "**MISSING**")
			problem[++nbad] = "MISSING: " model " at " pn ": in the baseline, not in this run"
			continue
		}
		if (sb != "ok" && sn == "ok") {
			row(model, pn, "—", sb, "ok", "—", "runs now (was " sb ")")
			continue
		}
		if (sn != "ok") {
			row(model, pn, "—", sb, sn, "—", "**FAILED**")
			problem[++nbad] = "MISSING: " model " at " pn ": " sn " in this run (" why["now", p] ")"
			continue
		}
		for (k = 1; k <= nmet; k++) {
			m = met[k]
			f = factor("now", p, m)
			if (f == "") {
				if (med["base", p, m] != "" || med["now", p, m] != "")
					row(model, pn, label[m], figure_label(med["base", p, m]), figure_label(med["now", p, m]), "—", "no figure")
				continue
			}
			verdict = "ok"
			if (norm("now", p, m) < 1 / thr[m] && (m == "tput" ? lo["now", p, m] + 0 > hi["base", p, m] + 0 : hi["now", p, m] + 0 < lo["base", p, m] + 0))
				verdict = "better"
			if (suspect("now", p, m)) {
				if (suspects != "")
					sus[p] = 1
				if ("confirm" in has && !suspect("confirm", p, m)) {
					verdict = "noise (not confirmed on rerun)"
				} else {
					verdict = "**REGRESSED**"
					if ("confirm" in has)
						verdict = verdict " (confirmed)"
					problem[++nbad] = sprintf("REGRESSION: %s at %s: %s %s (%s -> %s%s; %.2fx worse, %.2fx beside the other models; threshold %.2fx)",
					    model, pn, label[m], change(p, m), figure_label(med["base", p, m]), figure_label(med["now", p, m]), unit[m],
					    f, norm("now", p, m), thr[m])
				}
			} else if (norm("now", p, m) > thr[m]) {
				verdict = "ok (within the repeats' spread)"
			}
			row(model, pn, label[m], figure_label(med["base", p, m]) unit[m], figure_label(med["now", p, m]) unit[m], change(p, m), verdict)
		}
	}
	print ""
	for (i = 1; i <= npoints; i++) {
		model = model_of(order[i])
		if ((model in unavailable) && !(model in unavail_told)) {
			unavail_told[model] = 1
			problem[++nbad] = sprintf("UNAVAILABLE: %s: measured in the baseline (%d points), cannot run here now: %s",
			    model, unavail_points[model], now_why[model])
		}
	}
	# The run as a whole: every model slower alike.
	for (k = 1; k <= nmet; k++) {
		m = met[k]
		if (m == "lat_p99_us")
			continue
		d = drift["now", m]
		line = sprintf("Drift (median over %d model-points) of %s: %.2fx", npairs["now", m], label[m], d)
		if (d > thr_drift) {
			cd = ("confirm" in has) ? drift["confirm", m] : d
			if (suspects != "")
				sus_all = 1
			if (cd > thr_drift) {
				line = line " — **REGRESSED**: every model slower"
				problem[++nbad] = sprintf("REGRESSION: all models: %s %.2fx worse across the run (threshold %.2fx): shared code, or the machine",
				    label[m], d, thr_drift)
			} else {
				line = line " — noise (not confirmed on rerun)"
			}
		}
		print line "  "
	}
	print ""
	if (suspects != "") {
		printf "" > suspects
		if (sus_all)
			print "all" > suspects
		for (i = 1; i <= npoints; i++)
			if (order[i] in sus) {
				split(order[i], a, SUBSEP)
				print a[1], a[2], a[3] > suspects
			}
		close(suspects)
	}
	for (i = 1; i <= nbad; i++)
		print problem[i]
	exit nbad > 0 ? 1 : 0
}
