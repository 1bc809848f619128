# bench/row.awk - one raw.csv row (bench/point.sh): the point's own fields,
# and, for a point that ran, the load generator's report.
#
#   awk -v header="$CSV_HEADER" -v model=... -f bench/row.awk LOADGEN_CSV
#
# Input: bin/loadgen --format csv (a header line and one row; the server_*
# columns come from its --server-pid), or nothing (/dev/null) for a point
# that did not run. Variables: header (the raw.csv columns), model,
# workload, x, repeat, connections, idle, size, rate, warmup_s, duration_s,
# status (not-run or failed: the row is the point's fields and the reason;
# empty: judged from the report), loadgen_exit (its exit status, or
# "timeout"), loadgen_limit (the seconds it was given), server_exit, bound
# (the client CPU, in cores, from which the point is client-bound); the
# environment's ROW_REASON and ROW_ARGS (the server's options: read from the
# environment, where awk leaves backslashes alone).
# A capacity point (workload cap1ms, cap10ms: loadgen --search) reports the
# step at the rate found, with no error; loadgen's exit 1 there means no
# rate met the target, a measured result: ok, with capacity 0 and a reason.
# Output: the row, its columns in the order of header.

BEGIN {
	FS = ","
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		name[i] = $i
	next
}

NR == 2 {
	for (i = 1; i <= NF; i++)
		L[name[i]] = $i
	have_report = 1
}

function get(k) {
	return (k in L) ? L[k] : ""
}


END {
	V["model"] = model
	V["workload"] = workload
	V["x"] = x
	V["repeat"] = repeat
	V["connections"] = connections
	V["idle"] = idle
	V["size"] = size
	V["pipeline"] = 1
	V["rate"] = rate
	V["warmup_s"] = warmup_s
	V["duration_s"] = duration_s
	V["server_args"] = ENVIRON["ROW_ARGS"]
	V["loadgen_exit"] = loadgen_exit
	V["server_exit"] = server_exit
	reason = ENVIRON["ROW_REASON"]

	if (status == "") {
		msgs = get("msgs_per_s")
		errs = get("errors_connect") + get("errors_mismatch") + get("errors_reset") + get("errors_timeout")
		complete = get("complete")
		status = "ok"
		if (loadgen_exit == "timeout") {
			status = "failed"
			reason = "loadgen did not finish within " loadgen_limit " s"
		} else if (!have_report || msgs == "") {
			status = "failed"
			reason = "loadgen gave no report (exit " loadgen_exit "; see logs/loadgen.log)"
		} else if (loadgen_exit == 2) {
			status = "failed"
			reason = "loadgen usage error (see logs/loadgen.log)"
		} else if (workload ~ /^cap/ && loadgen_exit == 1 && get("capacity_ended_by") == "none-met") {
			reason = "no rate met the target: even the first step (" get("rate") " msg/s) missed it"
		} else if (loadgen_exit != 0 || errs > 0 || complete == "false") {
			status = "error"
			reason = sprintf("loadgen exit %s: errors connect %d mismatch %d reset %d timeout %d%s",
			    loadgen_exit, get("errors_connect"), get("errors_mismatch"), get("errors_reset"),
			    get("errors_timeout"), complete == "false" ? "; incomplete" : "")
		}
	}
	V["status"] = status
	V["reason"] = reason

	if (have_report && status != "failed") {
		V["messages"] = get("messages")
		V["msgs_per_s"] = get("msgs_per_s")
		V["mib_per_s"] = get("mib_per_s")
		split("min p50 p90 p99 p999 p9999 max mean", p, " ")
		for (i = 1; i <= 8; i++)
			V["lat_" p[i] "_us"] = get("latency_us_" p[i])
		split("connect mismatch reset timeout", e, " ")
		for (i = 1; i <= 4; i++)
			V["err_" e[i]] = get("errors_" e[i])
		V["complete"] = get("complete")
		client = get("client_cpu")
		V["client_cpu"] = client
		V["client_bound"] = (client != "" && client + 0 >= bound + 0) ? 1 : 0
		# The server's figures, over the load generator's measured window.
		cpu = get("server_cpu_s")
		window = get("duration_s")
		V["server_cpu_s"] = cpu
		if (cpu != "" && window + 0 > 0) {
			V["server_window_s"] = window
			V["server_cpu_cores"] = sprintf("%.4f", cpu / window)
		}
		V["server_us_per_msg"] = get("server_us_per_msg")
		V["server_rss_kib"] = get("server_rss_kib")
		V["server_pss_kib"] = get("server_pss_kib")
		V["server_procs"] = get("server_procs")
		V["server_threads"] = get("server_threads")
		V["server_ctx_switches_per_msg"] = get("server_ctx_switches_per_msg")
		V["conns_per_s"] = get("conns_per_s")
		V["connect_p50_us"] = get("connect_latency_us_p50")
		V["connect_p99_us"] = get("connect_latency_us_p99")
		V["client_cpu_us_per_msg"] = get("client_cpu_us_per_msg")
		V["transport"] = get("transport")
		if (workload ~ /^cap/) {
			V["rate"] = get("rate")
			V["capacity_ended_by"] = get("capacity_ended_by")
			V["capacity_msgs_per_s"] = get("capacity_msgs_per_s") == "" ? 0 : get("capacity_msgs_per_s")
		}
	}

	n = split(header, col, ",")
	line = V[col[1]]
	for (i = 2; i <= n; i++)
		line = line "," V[col[i]]
	print line
}
