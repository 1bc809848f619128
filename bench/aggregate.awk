# bench/aggregate.awk - raw rows (one per model x workload x point x repeat)
# to one row per model x workload x point: how many repeats ran, and the
# median, minimum and maximum of every metric over the repeats that ran
# cleanly (status "ok").
#
#   awk -f bench/aggregate.awk raw.csv > agg.csv
#
# A point is "ok" when at least one repeat was ok, "not-run" when the driver
# refused it (the reason says why), and "failed" when it ran but no repeat
# was clean. A metric missing from every ok repeat (say p99.99 from a load
# generator that does not report it) is left empty, never zero.
# Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	OFS = ","
	nmetrics = split("msgs_per_s mib_per_s lat_p50_us lat_p90_us lat_p99_us " \
	    "lat_p999_us lat_p9999_us lat_max_us lat_mean_us server_cpu_cores " \
	    "server_us_per_msg server_rss_kib server_pss_kib client_cpu conns_per_s " \
	    "connect_p99_us", metric, " ")
	nkeep = split("connections idle size pipeline rate duration_s", keep, " ")
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
			if (v == "" || v == "NA" || v == "nan")
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

# Sorts val[key, m, 1..n] in place (insertion sort: n is a handful).
function sort_values(key, m, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = val[key, m, i]
		for (j = i - 1; j >= 1 && val[key, m, j] > t; j--)
			val[key, m, j + 1] = val[key, m, j]
		val[key, m, j + 1] = t
	}
}

function median(key, m, n) {
	if (n % 2)
		return val[key, m, (n + 1) / 2]
	return (val[key, m, n / 2] + val[key, m, n / 2 + 1]) / 2
}

function num(v) {
	# Whole numbers from 1000 up; 4 significant digits below.
	if (v >= 1000 || v <= -1000 || v == int(v))
		return sprintf("%.0f", v)
	return sprintf("%.4g", v)
}

END {
	if (bad)
		exit 1
	line = "workload,x,model,runs,ok,status,reason,client_bound"
	for (k = 1; k <= nkeep; k++)
		line = line "," keep[k]
	for (m = 1; m <= nmetrics; m++)
		line = line "," metric[m] "_med," metric[m] "_min," metric[m] "_max"
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
		line = wl[key] OFS xv[key] OFS md[key] OFS runs[key] OFS nok OFS status OFS reason
		line = line OFS (bound[key] > 0 ? 1 : 0)
		for (k = 1; k <= nkeep; k++)
			line = line OFS info[key, keep[k]]
		for (m = 1; m <= nmetrics; m++) {
			n = count[key, m] + 0
			if (n == 0) {
				line = line ",,,"
				continue
			}
			sort_values(key, m, n)
			line = line OFS num(median(key, m, n)) OFS num(val[key, m, 1]) OFS num(val[key, m, n])
		}
		print line
	}
}
