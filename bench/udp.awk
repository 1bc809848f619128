# bench/udp.awk - bench/udp.sh's table, from its results.csv:
# batch,conns,pipeline,round,messages,msgs_per_s,server_us_per_msg,lost,
# recvfrom,sendto,recvmmsg,sendmmsg,syscalls (one row per run).
#
#   awk -F, -v batch=16 -f bench/stats.awk -f bench/udp.awk results.csv
#
# Per load (connections x in flight) and --batch: the medians over the
# rounds, with their range, of the server's system calls per datagram (all,
# and the receive and send calls), its CPU per datagram and the throughput;
# then per load the ratio --batch / none of CPU per datagram and of
# throughput, paired by round, with its 95% interval (stats_ratio_ci).
# Plain POSIX awk: it runs under mawk, Debian's default.

NR == 1 { next }

{
	load = $2 "x" $3
	if (!(load in seen)) {
		seen[load] = 1
		loads[++nloads] = load
		conns[load] = $2
		inflight[load] = $3
	}
	k = load SUBSEP $1
	r = $4 + 0
	n = ++count[k]
	msgs = $5 + 0
	if (msgs <= 0) {
		bad++
		next
	}
	calls[k, n] = $13 / msgs
	recv[k, n] = ($9 + $11) / msgs
	send[k, n] = ($10 + $12) / msgs
	cpu[k, n] = $7
	tput[k, n] = $6
	lost[k] += $8
	by_round[load, $1, "cpu", r] = $7
	by_round[load, $1, "tput", r] = $6
	if (r > maxr)
		maxr = r
}

# cell(arr, k): "median (min-max)" of arr[k, 1..count[k]].
function cell(arr, k, fmt,    i, v, n, s, lo, hi) {
	n = count[k]
	for (i = 1; i <= n; i++) {
		v[i] = arr[k, i]
		if (i == 1 || v[i] < lo)
			lo = v[i]
		if (i == 1 || v[i] > hi)
			hi = v[i]
	}
	if (n == 0)
		return "—"
	return sprintf(fmt " (" fmt "–" fmt ")", stats_median(v, n), lo, hi)
}

function ratio(load, what,    r, a, b, n, o) {
	n = 0
	for (r = 1; r <= maxr; r++)
		if ((load, batch, what, r) in by_round && (load, 1, what, r) in by_round) {
			a[++n] = by_round[load, batch, what, r]
			b[n] = by_round[load, 1, what, r]
		}
	stats_ratio_ci(a, b, n, o)
	if (o["lo"] == "")
		return "—"
	return sprintf("%.2f (%.2f–%.2f)%s", o["ratio"], o["lo"], o["hi"],
	               stats_verdict(o["lo"], o["hi"]) == "none" ? ", no difference resolved" : "")
}

END {
	print "| load | --batch | system calls / datagram | receive calls / datagram | send calls / datagram | server CPU µs / datagram | datagrams/s | lost |"
	print "|---|---:|---|---|---|---|---|---:|"
	for (i = 1; i <= nloads; i++) {
		l = loads[i]
		for (j = 0; j < 2; j++) {
			b = j ? batch : 1
			k = l SUBSEP b
			printf "| %d connection%s, %d in flight each | %s | %s | %s | %s | %s | %s | %d |\n",
			    conns[l], conns[l] == 1 ? "" : "s", inflight[l], b == 1 ? "none" : b,
			    cell(calls, k, "%.2f"), cell(recv, k, "%.2f"), cell(send, k, "%.2f"),
			    cell(cpu, k, "%.2f"), cell(tput, k, "%.0f"), lost[k]
		}
	}
	print ""
	print "| load | CPU per datagram, --batch " batch " / none (95% interval) | datagrams/s, --batch " batch " / none |"
	print "|---|---|---|"
	for (i = 1; i <= nloads; i++)
		printf "| %d x %d | %s | %s |\n", conns[loads[i]], inflight[loads[i]], ratio(loads[i], "cpu"), ratio(loads[i], "tput")
	if (bad)
		print "\n" bad " run(s) echoed nothing and are left out."
}
