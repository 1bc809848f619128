# bench/row.awk - one raw.csv row from a load generator report and the
# server samples bench/run.sh took around the measured window.
#
# Input: the report flattened by bench/jsonflat.awk ("path value" lines).
# Variables: head (model,workload,x,repeat), shape (connections..duration_s),
# lg_exit (the load generator's exit status, or "timeout"), lg_limit
# (seconds it was given), server_exit, args (server options), stat_a,
# stat_b and stat_mid (bench/run.sh server_stat: cpu_us rss_pages processes
# threads pids...), pss (KiB), t_a and t_b (microseconds), window_ok (the
# load generator was still running at t_b), page_kib, bound (client CPU share that counts as client-bound).
# Output: the CSV row, then a one-line summary for the progress display.

{
	v = $2
	for (i = 3; i <= NF; i++)
		v = v " " $i
	J[$1] = v
}

function get(k) {
	return (k in J) ? J[k] : ""
}

function first_of(a, b, c) {
	if (a in J)
		return J[a]
	if (b in J)
		return J[b]
	if (c in J)
		return J[c]
	return ""
}

function si(x) {
	if (x >= 1e6)
		return sprintf("%.3gM", x / 1e6)
	if (x >= 1e3)
		return sprintf("%.3gk", x / 1e3)
	return sprintf("%.3g", x)
}

END {
	split(stat_a, a, " ")
	split(stat_b, b, " ")
	split(stat_mid, mid, " ")

	msgs = get("msgs_per_s")
	errs = get("errors.connect") + get("errors.mismatch") + get("errors.reset") + get("errors.timeout")
	complete = get("complete")
	status = "ok"
	reason = ""
	if (lg_exit == "timeout" || lg_exit == 124 || lg_exit == 137) {
		status = "failed"
		reason = "loadgen did not finish within " lg_limit " s"
	} else if (msgs == "") {
		status = "failed"
		reason = "loadgen gave no report (exit " lg_exit "; see logs/loadgen.log)"
	} else if (lg_exit == 2) {
		status = "failed"
		reason = "loadgen usage error (see logs/loadgen.log)"
	} else if (lg_exit != 0 || errs > 0 || complete == "false") {
		status = "error"
		reason = sprintf("loadgen exit %s: errors connect %d mismatch %d reset %d timeout %d%s",
		    lg_exit, get("errors.connect"), get("errors.mismatch"), get("errors.reset"),
		    get("errors.timeout"), complete == "false" ? "; incomplete" : "")
	}

	cpu_s = ""
	window_s = ""
	cores = ""
	per_msg = ""
	if (window_ok == 1 && b[1] != "" && a[1] != "" && t_b > t_a) {
		cpu_s = (b[1] - a[1]) / 1e6
		window_s = (t_b - t_a) / 1e6
		cores = cpu_s / window_s
		if (msgs + 0 > 0)
			per_msg = cores * 1e6 / msgs
	}
	rss = (mid[2] != "") ? mid[2] * page_kib : ""
	client = get("client_cpu")
	cb = (client != "" && client + 0 >= bound + 0) ? 1 : 0

	row = head "," status "," reason "," shape
	row = row "," get("messages") "," msgs "," get("mib_per_s")
	row = row "," get("latency_us.min") "," get("latency_us.p50") "," get("latency_us.p90")
	row = row "," get("latency_us.p99") "," get("latency_us.p999")
	row = row "," first_of("latency_us.p9999", "latency_us.p99_99", "latency_us.p99.99")
	row = row "," get("latency_us.max") "," get("latency_us.mean")
	row = row "," get("errors.connect") "," get("errors.mismatch") "," get("errors.reset") "," get("errors.timeout")
	row = row "," complete "," client "," cb
	row = row "," (cpu_s == "" ? "" : sprintf("%.3f", cpu_s))
	row = row "," (window_s == "" ? "" : sprintf("%.3f", window_s))
	row = row "," (cores == "" ? "" : sprintf("%.4f", cores))
	row = row "," (per_msg == "" ? "" : sprintf("%.4g", per_msg))
	row = row "," rss "," pss "," mid[3] "," mid[4] "," args "," lg_exit "," server_exit
	row = row "," get("conns_per_s") "," get("connect_latency_us.p50") "," get("connect_latency_us.p99")
	row = row "," get("client_cpu_us_per_msg")
	print row

	if (status == "failed") {
		print "FAILED: " reason
		exit
	}
	line = sprintf("%s msg/s  p99 %s us", si(msgs + 0), si(get("latency_us.p99") + 0))
	if (per_msg != "")
		line = line sprintf("  server %s us/msg (%.2f cores)", si(per_msg), cores)
	if (rss != "")
		line = line "  " si(rss / 1024) " MiB"
	if (client != "")
		line = line sprintf("  client %.0f%%%s", client * 100, cb ? " (client-bound)" : "")
	if (status != "ok")
		line = line "  ERROR: " reason
	print line
}
