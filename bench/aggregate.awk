# bench/aggregate.awk - raw rows (one per model x workload x point x repeat)
# to one row per model x workload x point: how many repeats ran, and the
# median, minimum, maximum and the median's 95% confidence interval of every
# metric over the repeats that ran cleanly (status "ok").
#
#   awk -f bench/stats.awk -f bench/aggregate.awk raw.csv > agg.csv
#
# A point is "ok" when at least one repeat was ok, "not-run" when the driver
# refused it (the reason says why), and "failed" when it ran but no repeat
# was clean. A metric missing from every ok repeat (say p99.99 from a load
# generator that does not report it) is left empty, never zero.
#
# Columns: workload, x, model; runs (rows), ok (clean ones), repeats (the
# clean repeats the figures use), resolved (1 when the 95% intervals of the
# throughput, conns_per_s for churn and msgs_per_s otherwise, and of
# server_us_per_msg are both within +-5% of their medians (-v resolve=0.05),
# 0 when either is wider or there is one repeat only, empty for a point
# without a clean repeat), status, reason, client_bound, the point's
# settings, then for every metric <metric>_med, _min, _max, _ci_lo and _ci_hi.
# The interval is stats_median_ci (bench/stats.awk), its lower end clipped at
# 0 (no metric here can be negative); empty with one repeat.
# Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	OFS = ","
	nmetrics = split("msgs_per_s mib_per_s lat_p50_us lat_p90_us lat_p99_us " \
	    "lat_p999_us lat_p9999_us lat_max_us lat_mean_us server_cpu_cores " \
	    "server_us_per_msg server_rss_kib server_pss_kib server_procs server_threads " \
	    "server_ctx_switches_per_msg client_cpu conns_per_s connect_p99_us", metric, " ")
	for (m = 1; m <= nmetrics; m++)
		metric_no[metric[m]] = m
	nkeep = split("connections idle size pipeline rate duration_s", keep, " ")
	if (resolve == "")
		resolve = 0.05
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	if (!("model" in col) || !("workload" in col) || !("x" in col) || !("status" in col)) {
		print "aggregate.awk: " FILENAME ": not a bench raw.csv (no model,workload,x,status header)" > "/dev/stderr"
		bad = 1
		exit 1
	}
	next
}

$0 == "" { next }

{
	key = $col["workload"] SUBSEP $col["x"] SUBSEP $col["model"]
	if (!(key in runs)) {
		order[++nkeys] = key
		wl[key] = $col["workload"]
		xv[key] = $col["x"]
		md[key] = $col["model"]
		for (k = 1; k <= nkeep; k++)
			info[key, keep[k]] = (keep[k] in col) ? $col[keep[k]] : ""
	}
	runs[key]++
	status = $col["status"]
	reason = ("reason" in col) ? $col["reason"] : ""
	if (status == "ok") {
		ok[key]++
		if (("client_bound" in col) && $col["client_bound"] == 1)
			bound[key]++
		for (m = 1; m <= nmetrics; m++) {
			if (!(metric[m] in col))
				continue
			v = $col[metric[m]]
			if (v == "" || v == "NA" || v == "nan" || v == "null")
				continue
			n = ++count[key, m]
			val[key, m, n] = v + 0
		}
	} else if (status == "not-run") {
		notrun[key]++
		if (!(key in why))
			why[key] = reason
	} else {
		failed[key]++
		if (!(key in why))
			why[key] = reason
	}
}

function num(v) {
	# Whole numbers from 1000 up; 4 significant digits below.
	if (v >= 1000 || v <= -1000 || v == int(v))
		return sprintf("%.0f", v)
	return sprintf("%.4g", v)
}

# summarise(key, m): fills s[1..n] (sorted) and ci[] (stats_median_ci) for
# metric m of the point key; returns n, the values it had.
function summarise(key, m,    n, i, v) {
	split("", s)
	split("", ci)
	n = count[key, m] + 0
	for (i = 1; i <= n; i++)
		v[i] = val[key, m, i]
	if (n > 0) {
		stats_sort(v, n, s)
		stats_median_ci(v, n, ci)
	}
	return n
}

# is_resolved(key): 1 when the throughput's and the CPU per message's
# intervals are both within +-resolve of their medians, 0 otherwise (a
# metric without a figure, such as a CPU figure left empty, is not held
# against the point).
function is_resolved(key,    names, k, m) {
	split((wl[key] == "churn" ? "conns_per_s" : "msgs_per_s") " server_us_per_msg", names, " ")
	for (k = 1; k <= 2; k++) {
		m = metric_no[names[k]]
		if (summarise(key, m) == 0)
			continue
		if (ci["rel"] == "" || ci["rel"] > resolve + 0)
			return 0
	}
	return 1
}

END {
	if (bad)
		exit 1
	line = "workload,x,model,runs,ok,repeats,resolved,status,reason,client_bound"
	for (k = 1; k <= nkeep; k++)
		line = line "," keep[k]
	for (m = 1; m <= nmetrics; m++)
		line = line "," metric[m] "_med," metric[m] "_min," metric[m] "_max," \
		    metric[m] "_ci_lo," metric[m] "_ci_hi"
	print line
	for (i = 1; i <= nkeys; i++) {
		key = order[i]
		nok = ok[key] + 0
		if (nok > 0)
			status = "ok"
		else if (notrun[key] + 0 == runs[key])
			status = "not-run"
		else
			status = "failed"
		reason = (key in why) ? why[key] : ""
		if (nok > 0 && nok < runs[key])
			reason = (runs[key] - nok) " of " runs[key] " repeats failed: " reason
		line = wl[key] OFS xv[key] OFS md[key] OFS runs[key] OFS nok OFS nok
		line = line OFS (nok > 0 ? is_resolved(key) : "") OFS status OFS reason
		line = line OFS (bound[key] > 0 ? 1 : 0)
		for (k = 1; k <= nkeep; k++)
			line = line OFS info[key, keep[k]]
		for (m = 1; m <= nmetrics; m++) {
			n = summarise(key, m)
			if (n == 0) {
				line = line ",,,,,"
				continue
			}
			line = line OFS num(ci["median"]) OFS num(s[1]) OFS num(s[n])
			if (ci["lo"] == "")
				line = line ",,"
			else
				line = line OFS num(ci["lo"] < 0 ? 0 : ci["lo"]) OFS num(ci["hi"])
		}
		print line
	}
}
