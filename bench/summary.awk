# bench/summary.awk - the README.md of a bench run, from agg.csv.
#
#   awk -v run=ID -v machine="..." -v setup="..." -v models="blocking ..." \
#       [-v banner="UNPINNED: ..."] -v drawn="throughput latency ..." \
#       -f bench/labels.awk -f bench/summary.awk agg.csv
#
# One section per chart: the chart (if it was drawn), then a table with one
# row per model (those of `models`, in that order) and one column per point,
# holding the median over the repeats. A point that did not run is "—", one
# that failed is "✗"; both are listed with their reasons at the end. "*"
# marks a client-bound point. banner (an unpinned run) goes at the top.

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

function chart(name, alt) {
	if (name in is_drawn)
		printf "![%s](%s.png)\n\n[SVG](%s.svg)\n\n", alt, name, name
	else
		printf "*(No chart: no point of this workload ran.)*\n\n"
}

# The value cell of model m at point x of workload w for metric column c.
function value_cell(w, x, m, c, how,    key, s) {
	key = w SUBSEP x SUBSEP m
	if (!(key in status))
		return ""
	if (status[key] == "not-run")
		return "—"
	if (status[key] != "ok")
		return "✗"
	s = cell[key, col[c "_med"]]
	if (s == "")
		return "n/a"
	s = fmt(s + 0, how)
	# Client-bound matters where the client's pace is the figure.
	if (bound[key] == 1 && c ~ /per_s$|^lat_/)
		s = s "*"
	return s
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
	chart(name, alt)
	table(w, c, how, corner)
	if (text != "")
		print text "\n"
}

END {
	for (w in has_wl)
		sort_x(w)
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
	print "Tables show the median over the repeats that ran; the charts add"
	print "min–max bars. `—` not run, `✗` failed (both listed with their reasons"
	print "under [Not run and failed](#not-run-and-failed)), `*` client-bound: the"
	print "load generator used at least 95% of the CPU it could use there (its"
	print "core when pinned), so the figure is what the client could drive, a floor"
	print "for the server. Files: `raw.csv` (one row per run), `agg.csv` (the"
	print "medians), `env.txt` (the machine), `logs/`."
	print ""

	n = 0
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
		    "server, children included, sampled around the measured window.")
		section(++n, "Server memory", "memory", "server memory", "closed",
		    "server_rss_kib", "mib", "connections →",
		    "Resident set (RSS) in MiB, summed over the server's processes, sampled in the middle " \
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
		chart("open", "open-loop latency")
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
}
