# bench/paired-noise.awk - the noise of this machine as the paired gate sees
# it: paired runs of two builds of the same code (make bench-check
# BASE=HEAD on a clean tree, with PAIRED_MIN_ROUNDS = PAIRED_MAX_ROUNDS so
# that every model-point gets every round).
#
#   awk -f bench/stats.awk -f bench/paired-noise.awk [-v width=0.04] paired.csv...
#
# For every model-point and each metric (server CPU per message, the same
# divided by the load generator's CPU per message in the run, throughput):
# the pairs, the geometric mean of now/base (1 on unchanged
# code, but for noise), the standard deviation of the per-pair log-ratios
# (sd: 0.05 is about +-5% per pair), the 95% interval's half-width over
# all the pairs, and the pairs the interval needs to reach +-width
# (t(n-1) * sd / sqrt(n) <= width). Then, per metric, the median, 90th
# percentile and maximum of sd and of |log(ratio)| over the model-points:
# the figures the paired gate's threshold, width and cap are chosen from
# (bench/README.md, "The paired gate").

BEGIN {
	FS = ","
	if (width == "")
		width = 0.04
	width += 0
	nmet = split("cpu rel tput", met, " ")
	label["cpu"] = "CPU/msg"
	label["rel"] = "CPU/msg ÷ client"
	label["tput"] = "throughput"
}

FNR == 1 {
	delete col
	for (i = 1; i <= NF; i++)
		col[$i] = i
	file++
	next
}

$col["status"] == "ok" {
	u = $col["model"] SUBSEP $col["workload"] SUBSEP $col["x"]
	if (!(u in seen)) {
		seen[u] = 1
		order[++nunits] = u
	}
	k = file SUBSEP $col["round"]
	if (!((u, k) in rk)) {
		rk[u, k] = 1
		keys[u, ++nk[u]] = k
	}
	s = $col["side"]
	c[u, k, s, "cpu"] = $col["server_us_per_msg"]
	t = ($col["workload"] == "churn") ? "conns_per_s" : "msgs_per_s"
	c[u, k, s, "tput"] = $col[t]
	cl = ("client_cpu_us_per_msg" in col) ? $col["client_cpu_us_per_msg"] : ""
	c[u, k, s, "rel"] = (cl + 0 > 0 && $col["server_us_per_msg"] + 0 > 0) ? $col["server_us_per_msg"] / cl : ""
}

function pctl(a, n, p,    s) {
	if (n < 1)
		return ""
	stats_sort(a, n, s)
	return s[int(n * p + 0.999) < 1 ? 1 : int(n * p + 0.999)]
}

END {
	print "| model | point | metric | pairs | now/base | sd of log(now/base) | ±95% over the pairs | pairs for ±" sprintf("%.0f%%", width * 100) " |"
	print "|---|---|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nunits; i++) {
		u = order[i]
		split(u, p, SUBSEP)
		for (m = 1; m <= nmet; m++) {
			n = 0
			delete l
			for (j = 1; j <= nk[u]; j++) {
				k = keys[u, j]
				x = c[u, k, "now", met[m]]
				y = c[u, k, "base", met[m]]
				if (x + 0 > 0 && y + 0 > 0)
					l[++n] = log(x / y)
			}
			if (n < 2)
				continue
			sd = stats_sd(l, n)
			mean = 0
			for (j = 1; j <= n; j++)
				mean += l[j]
			mean /= n
			half = stats_t975(n - 1) * sd / sqrt(n)
			# The pairs an interval of +-width needs with this sd.
			need = 2
			while (need < 1000 && stats_t975(need - 1) * sd / sqrt(need) > width)
				need++
			printf "| %s | %s %s | %s | %d | %.3f | %.3f | ±%.1f%% | %s |\n", p[1], p[2], p[3], label[met[m]], n,
			    exp(mean), sd, (exp(half) - 1) * 100, (need >= 1000 ? "1000+" : need)
			sds[met[m], ++ns[met[m]]] = sd
			devs[met[m], ns[met[m]]] = (mean < 0) ? -mean : mean
			psd[p[2] " " p[3], met[m], ++nps[p[2] " " p[3], met[m]]] = sd
			points[p[2] " " p[3]] = 1
		}
	}
	print ""
	print "| metric | model-points | sd: median / p90 / max | abs(log now/base): median / p90 / max |"
	print "|---|---:|---|---|"
	for (m = 1; m <= nmet; m++) {
		n = ns[met[m]]
		delete a
		delete b
		for (j = 1; j <= n; j++) {
			a[j] = sds[met[m], j]
			b[j] = devs[met[m], j]
		}
		printf "| %s | %d | %.3f / %.3f / %.3f | %.3f / %.3f / %.3f |\n", label[met[m]], n,
		    stats_median(a, n), pctl(a, n, 0.9), pctl(a, n, 1), stats_median(b, n), pctl(b, n, 0.9), pctl(b, n, 1)
	}
	print ""
	print "| point | metric | sd: median / max over the models |"
	print "|---|---|---|"
	for (q in points)
		for (m = 1; m <= nmet; m++) {
			n = nps[q, met[m]]
			delete a
			for (j = 1; j <= n; j++)
				a[j] = psd[q, met[m], j]
			if (n > 0)
				printf "| %s | %s | %.3f / %.3f |\n", q, label[met[m]], stats_median(a, n), pctl(a, n, 1)
		}
}
