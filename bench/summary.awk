# bench/summary.awk - the README.md of a bench run, from agg.csv.
#
#   awk -v run=ID -v machine="..." -v setup="..." -v models="blocking ..." \
#       [-v banner="UNPINNED: ..."] -v drawn="throughput latency ..." \
#       [-v part_only=main|unresolved] [-v lead=FILE] -f bench/labels.awk -f bench/summary.awk agg.csv
#
# intervals: 1 when report.sh drew the open loop's latency over time
# (intervals.png), shown in the open-loop section.
# lead: a file holding the first section, already numbered 1 (the capacity,
# bench/capacity.awk), put before the chart sections, which then count
# from 2.
# One section per chart: the chart (if it was drawn) and its caption (what
# the error bars are), then a table with one row per model (those of
# `models`, in that order) and one column per point, holding the median over
# the repeats and the half-width of its 95% confidence interval as a
# percentage of it ("84.2k ±4%"; no ± with one repeat). A point that did not
# run is "—", one that failed is "✗"; both are listed with their reasons at
# the end. "*" marks a client-bound point. Then the unresolved points: those
# agg.csv marks resolved=0 (the throughput's or the CPU per message's
# interval wider than ±5%, or one repeat only), drawn hollow in the charts.
# banner (an unpinned run) goes at the top.

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
	ndrawn = split(drawn, d, " ")
	for (i = 1; i <= ndrawn; i++)
		is_drawn[d[i]] = 1
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

{
	w = $col["workload"]
	x = $col["x"] + 0
	m = $col["model"]
	if (!((w, x) in has_x)) {
		has_x[w, x] = 1
		nx[w]++
		xs[w, nx[w]] = x
	}
	has_wl[w] = 1
	key = w SUBSEP x SUBSEP m
	if ($col["status"] == "ok" && ("repeats" in col)) {
		r = $col["repeats"] + 0
		if (!(w in rep_lo) || r < rep_lo[w])
			rep_lo[w] = r
		if (!(w in rep_hi) || r > rep_hi[w])
			rep_hi[w] = r
	}
	status[key] = $col["status"]
	reason[key] = $col["reason"]
	bound[key] = $col["client_bound"]
	for (i = 1; i <= NF; i++)
		cell[key, i] = $i
	if (!(w in wl_size)) {
		wl_size[w] = $col["size"]
		wl_conns[w] = $col["connections"]
		wl_rate[w] = $col["rate"]
		wl_pipeline[w] = $col["pipeline"]
	}
	if ($col["status"] != "ok") {
		gap_key = w SUBSEP m SUBSEP $col["status"] SUBSEP $col["reason"]
		if (!(gap_key in gap_where)) {
			ngaps++
			gaps[ngaps] = gap_key
			gap_where[gap_key] = ""
		}
		gap_x[gap_key, ++gap_n[gap_key]] = x
	} else if (index($col["reason"], "repeats failed") > 0) {
		partial[++npartial] = w " " m " at " x ": " $col["reason"]
	}
	if ($col["status"] == "ok") {
		nok_points++
		if (("resolved" in col) && $col["resolved"] == "0")
			unresolved[key] = 1
	}
}

# The throughput figure a point is judged on: connections per second for
# churn, messages per second otherwise.
function tput_col(w) {
	return (w == "churn") ? "conns_per_s" : "msgs_per_s"
}

# A cell of the unresolved table: the median and its interval, in bold when
# the interval is wider than ±5% (or missing).
function unres_cell(key, c, how,    med, hi) {
	med = cell[key, col[c "_med"]]
	if (med == "")
		return "n/a"
	hi = cell[key, col[c "_ci_hi"]]
	if (hi == "" || (med > 0 && (hi - med) / med > 0.05))
		return "**" fmt(med + 0, how) ci_suffix(key, c, med + 0) "**"
	return fmt(med + 0, how) ci_suffix(key, c, med + 0)
}

# The section listing the unresolved points, workload by workload in the
# order of the report, then by point and model.
function unresolved_section(    nwl, wls, listed, w, k, j, i, key, n1, one, nmulti, line) {
	print "## Unresolved points\n"
	nwl = split("closed idle churn open size", wls, " ")
	for (k = 1; k <= nwl; k++)
		listed[wls[k]] = 1
	for (w in has_wl)
		if (!(w in listed))
			wls[++nwl] = w
	n1 = nmulti = 0
	one = ""
	for (k = 1; k <= nwl; k++)
		for (j = 1; j <= nx[wls[k]]; j++)
			for (i = 1; i <= nmodels; i++) {
				key = wls[k] SUBSEP xs[wls[k], j] SUBSEP model[i]
				if (!(key in unresolved))
					continue
				if (cell[key, col["repeats"]] + 0 < 2) {
					n1++
					one = one (one == "" ? "" : ", ") wls[k] " " x_label(wls[k], xs[wls[k], j]) \
					    " " model[i]
					continue
				}
				multi[++nmulti] = key
			}
	if (n1 > 0 && n1 == nok_points) {
		print "Every point has one repeat only: no interval, so none is resolved (all are drawn"
		print "hollow). Profiles with more repeats give each point its interval.\n"
		return
	}
	if (n1 + nmulti == 0) {
		print "None: at every point that ran, the 95% confidence intervals of the throughput and"
		print "of the server CPU per message are within ±5% of their medians.\n"
		return
	}
	print "Points where the 95% confidence interval of the median throughput (msgs/s;"
	print "churn: connections/s) or of the server CPU per message is wider than ±5% of"
	print "it (in bold): the repeats disagree too much to place the point within 5%."
	print "The charts draw them hollow. More repeats narrow the interval: ten instead of"
	print "three make it about 3.5 times narrower (Student's t falls from 4.30 to 2.26,"
	print "the standard error with the square root of the count); a quieter machine more so.\n"
	if (nmulti > 0) {
		print "| workload | point | model | repeats | throughput | server CPU µs/msg |"
		print "|---|---:|---|---:|---:|---:|"
		for (k = 1; k <= nmulti; k++) {
			key = multi[k]
			split(key, part, SUBSEP)
			line = "| " part[1] " | " x_label(part[1], part[2]) " | " part[3] " | "
			line = line cell[key, col["repeats"]] " | " unres_cell(key, tput_col(part[1]), "si")
			print line " | " unres_cell(key, "server_us_per_msg", "num") " |"
		}
		print ""
	}
	if (n1 > 0)
		print "One repeat only, so no interval (" n1 (n1 == 1 ? " point" : " points") "): " one ".\n"
}

function sort_x(w,    i, j, t) {
	for (i = 2; i <= nx[w]; i++) {
		t = xs[w, i]
		for (j = i - 1; j >= 1 && xs[w, j] > t; j--)
			xs[w, j + 1] = xs[w, j]
		xs[w, j + 1] = t
	}
}

# 3 significant digits with k/M suffixes: rates and counts.
function si(v) {
	if (v >= 1e6)
		return sprintf("%.3gM", v / 1e6)
	if (v >= 1e3)
		return sprintf("%.3gk", v / 1e3)
	return sprintf("%.3g", v)
}

# 3 significant digits, no suffix: latencies, microseconds, MiB.
function sig(v) {
	if (v >= 1000)
		return sprintf("%d", v + 0.5)
	return sprintf("%.3g", v)
}

function fmt(v, how) {
	if (how == "si")
		return si(v)
	if (how == "mib")
		return sig(v / 1024)
	return sig(v)
}

function x_label(w, x) {
	return (w == "size") ? bytes_label(x) : count_label(x)
}

function chart(name, alt, w) {
	if (name in is_drawn) {
		printf "![%s](%s.png)\n\n[SVG](%s.svg)\n\n", alt, name, name
		printf "*%s*\n\n", caption(w)
	} else {
		printf "*(No chart: no point of this workload ran.)*\n\n"
	}
}

# How many repeats the points of workload w had: "3", or "3 to 8" when
# they differ.
function repeats_of(w) {
	if (!(w in rep_lo))
		return "?"
	if (rep_lo[w] == rep_hi[w])
		return rep_lo[w]
	return rep_lo[w] " to " rep_hi[w]
}

# The caption under a chart: what its error bars and hollow markers are.
function caption(w,    r) {
	r = repeats_of(w)
	if (r == 1)
		return "One repeat: no error bars (no interval), every point hollow (unresolved)."
	return "Error bars: 95% confidence interval of the median over " r " repeats. Hollow " \
	    "markers: [unresolved points](#unresolved-points), whose interval (msgs/s or server CPU " \
	    "per message) is wider than ±5%."
}

# " ±4%": the half-width of the 95% interval of column c's median, as a
# percentage of it; "" with one repeat (no interval) or a zero median.
function ci_suffix(key, c, med,    hi, p) {
	if (!((c "_ci_hi") in col))
		return ""
	hi = cell[key, col[c "_ci_hi"]]
	if (hi == "" || med <= 0)
		return ""
	p = 100 * (hi - med) / med
	return (p < 10) ? sprintf(" ±%.2g%%", p) : sprintf(" ±%.0f%%", p)
}

# The value cell of model m at point x of workload w for metric column c.
function value_cell(w, x, m, c, how,    key, s, med) {
	key = w SUBSEP x SUBSEP m
	if (!(key in status))
		return ""
	if (status[key] == "not-run")
		return "—"
	if (status[key] != "ok")
		return "✗"
	med = cell[key, col[c "_med"]]
	if (med == "")
		return "n/a"
	s = fmt(med + 0, how)
	# Client-bound matters where the client's pace is the figure.
	if (bound[key] == 1 && c ~ /per_s$|^lat_/)
		s = s "*"
	return s ci_suffix(key, c, med + 0)
}

# A table: one row per model, one column per point of workload w.
function table(w, c, how, corner,    i, j, line, sep) {
	line = "| " corner " |"
	sep = "|---|"
	for (j = 1; j <= nx[w]; j++) {
		line = line " " x_label(w, xs[w, j]) " |"
		sep = sep "---:|"
	}
	print line
	print sep
	for (i = 1; i <= nmodels; i++) {
		line = "| " model[i] " |"
		for (j = 1; j <= nx[w]; j++)
			line = line " " value_cell(w, xs[w, j], model[i], c, how) " |"
		print line
	}
	print ""
}

function section(num, title, name, alt, w, c, how, corner, text) {
	printf "## %d. %s\n\n", num, title
	chart(name, alt, w)
	table(w, c, how, corner)
	if (text != "")
		print text "\n"
}

END {
	for (w in has_wl)
		sort_x(w)
	# part: "main" (everything but the unresolved points), "unresolved" (only
	# them), or empty (everything), so that report.sh can put the verdicts
	# between the two.
	if (part_only == "unresolved") {
		unresolved_section()
		exit
	}
	printf "# Bench run %s\n\n", run
	if (banner != "") {
		printf "> **%s.** Nothing is pinned in this run: the server may use every core, and\n", banner
		print "> shares them with the load generator (and the bench driver). Every other"
		print "> run pins the server to one core and the client to another, so compare"
		print "> these figures with each other, not with a pinned run's."
		print ""
	}
	printf "%s\n\n", machine
	printf "%s\n\n", setup
	print "Tables show the median over the repeats that ran and, after ±, the"
	print "half-width of its 95% confidence interval as a percentage of it"
	print "(`84.2k ±4%`: the interval is 80.8k to 87.6k; none with one repeat);"
	print "the charts draw that interval as error bars, and points whose"
	print "interval is wider than ±5% hollow ([Unresolved points](#unresolved-points))."
	print "`—` not run, `✗` failed (both listed with their reasons"
	print "under [Not run and failed](#not-run-and-failed)), `*` client-bound: the"
	print "load generator used at least 95% of the CPU it could use there (its"
	print "core when pinned), so the figure is what the client could drive, a floor"
	print "for the server. Files: `raw.csv` (one row per run), `agg.csv` (the"
	print "medians and their intervals), `env.txt` (the machine), `logs/`. Which model"
	print "beats which at the headline points, and by how much: [Verdicts at the"
	print "headline points](#verdicts-at-the-headline-points)."
	print ""

	n = 0
	if (lead != "") {
		while ((getline text < lead) > 0) {
			print text
			n = 1
		}
		close(lead)
	}
	if ("closed" in has_wl) {
		section(++n, "Closed-loop throughput", "throughput", "closed-loop throughput", "closed",
		    "msgs_per_s", "si", "connections →",
		    sprintf("Messages per second; %d-byte messages, %d in flight per connection.",
		        wl_size["closed"], wl_pipeline["closed"]))
		section(++n, "Closed-loop p99 latency", "latency", "p99 latency", "closed",
		    "lat_p99_us", "num", "connections →",
		    "p99 round-trip latency in µs, same runs as above.")
		section(++n, "Server CPU per message", "cpu", "server CPU per message", "closed",
		    "server_us_per_msg", "num", "connections →",
		    "Server user+sys CPU time per echoed message, µs: every process and thread of the " \
		    "server, children included (reaped ones too), read by the load generator at the two " \
		    "edges of the measured window (loadgen --server-pid).")
		section(++n, "Server memory", "memory", "server memory", "closed",
		    "server_rss_kib", "mib", "connections →",
		    "Resident set (RSS) in MiB, summed over the server's processes, read at the end " \
		    "of the measured window. Summed RSS counts pages that fork's children share once per " \
		    "child; the proportional set size (PSS) below counts them once:")
		table("closed", "server_pss_kib", "mib", "PSS, MiB")
		# Unpinned, how the cores were shared is half the story.
		if (banner != "") {
			print "Cores used, unpinned: the server's CPU time over the measured window (1.0 = one core"
			print "busy), then the load generator's. The two together cannot pass the machine's cores.\n"
			table("closed", "server_cpu_cores", "num", "server cores")
			table("closed", "client_cpu", "num", "client cores")
		}
	}
	if ("idle" in has_wl)
		section(++n, "Idle connections (C10K)", "idle", "idle connections", "idle",
		    "msgs_per_s", "si", "idle →",
		    sprintf("Messages per second of %d active clients while the idle connections are held open.",
		        wl_conns["idle"]))
	if ("idle" in has_wl) {
		print "Server memory with the idle connections held, RSS summed and PSS, MiB:\n"
		table("idle", "server_rss_kib", "mib", "RSS, idle →")
		table("idle", "server_pss_kib", "mib", "PSS, idle →")
	}
	if ("churn" in has_wl)
		section(++n, "Connection churn", "churn", "connection churn", "churn",
		    "conns_per_s", "si", "clients →",
		    "Connections per second: each one connects, echoes one message and closes.")
	if ("open" in has_wl) {
		printf "## %d. Open-loop latency\n\n", ++n
		chart("open", "open-loop latency", "open")
		w = "open"
		x = xs[w, 1]
		printf "Offered %s msg/s over %d connections, %d-byte messages; latency is timed from " \
		    "the intended send time, so a stall counts against every message it delays. µs:\n\n",
		    si(wl_rate[w]), wl_conns[w], wl_size[w]
		np = split("p50 p90 p99 p999 p9999 max", p, " ")
		split("p50 p90 p99 p99.9 p99.99 max", pl, " ")
		line = "| model | achieved msg/s |"
		sep = "|---|---:|"
		for (k = 1; k <= np; k++) {
			line = line " " pl[k] " |"
			sep = sep "---:|"
		}
		print line
		print sep
		for (i = 1; i <= nmodels; i++) {
			line = "| " model[i] " | " value_cell(w, x, model[i], "msgs_per_s", "si") " |"
			for (k = 1; k <= np; k++)
				line = line " " value_cell(w, x, model[i], "lat_" p[k] "_us", "num") " |"
			print line
		}
		print ""
		if (intervals) {
			print "The same runs over time: p99 and the maximum of every 100 ms of the measured"
			print "window, first round (`loadgen --interval 100ms`; the lines are kept in"
			print "`intervals/`). A stall is a spike where it happened:\n"
			print "![latency over time](intervals.png) ([SVG](intervals.svg))\n"
		}
	}
	if ("size" in has_wl)
		section(++n, "Message size", "size", "message size", "size",
		    "mib_per_s", "num", "size →",
		    sprintf("MiB/s of echoed payload at %d connections.", wl_conns["size"]))

	print "## Not run and failed\n"
	if (ngaps == 0 && npartial == 0) {
		print "Every point ran.\n"
	} else {
		print "| workload | model | points | status | reason |"
		print "|---|---|---|---|---|"
		for (g = 1; g <= ngaps; g++) {
			split(gaps[g], part, SUBSEP)
			where = ""
			for (k = 1; k <= gap_n[gaps[g]]; k++)
				where = where (k > 1 ? ", " : "") x_label(part[1], gap_x[gaps[g], k])
			printf "| %s | %s | %s | %s | %s |\n", part[1], part[2], where, part[3], part[4]
		}
		print ""
		for (k = 1; k <= npartial; k++)
			print "- " partial[k]
		if (npartial)
			print ""
	}
	if (part_only != "main")
		unresolved_section()
}
