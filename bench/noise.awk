# bench/noise.awk - how noisy a run was at its headline points: per
# workload and point, over the models that ran ok there, the median and the
# largest repeat-to-repeat coefficient of variation (sd / mean) and 95%
# interval half-width (bench/stats.awk's interval of the median, relative
# to the median) of msgs/s and of server CPU per message, and the median
# number of repeats. The figures bench/README.md quotes before and after a
# change of method ("How noisy a run is").
#
#   awk -f bench/stats.awk -f bench/noise.awk RUN/raw.csv
#   awk -v points="closed:64 closed:256" -f bench/stats.awk -f bench/noise.awk RUN/raw.csv
#
# Prints a Markdown table. Plain POSIX awk (mawk).

BEGIN {
	FS = ","
	if (points == "")
		points = "closed:64 closed:256 closed:1024 idle:10000 churn:128"
	npoints = split(points, point, " ")
	for (i = 1; i <= npoints; i++)
		wanted[point[i]] = 1
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

$col["status"] == "ok" && (($col["workload"] ":" $col["x"]) in wanted) {
	key = $col["workload"] ":" $col["x"] SUBSEP $col["model"]
	if (!(key in n))
		models[$col["workload"] ":" $col["x"]] = models[$col["workload"] ":" $col["x"]] " " $col["model"]
	n[key]++
	tput[key, n[key]] = $col["msgs_per_s"]
	cpu[key, n[key]] = $col["server_us_per_msg"]
}

# cv(v, k): sd / mean of k numbers.
function cv(v, k,    i, mean) {
	for (i = 1; i <= k; i++)
		mean += v[i]
	mean /= k
	return mean > 0 ? stats_sd(v, k) / mean : ""
}

# spread(KEY_PREFIX, METRIC): appends the point's per-model CV and CI
# half-width of METRIC ("tput" or "cpu") to the lists cvs and cis.
function spread(p, metric,    list, m, nm, j, k, v, out) {
	nm = split(models[p], list, " ")
	for (m = 1; m <= nm; m++) {
		k = 0
		for (j = 1; j <= n[p, list[m]]; j++) {
			v[++k] = (metric == "tput") ? tput[p, list[m], j] : cpu[p, list[m], j]
			if (v[k] == "" || v[k] == "null")
				k--
		}
		if (k < 2)
			continue
		cvs[++ncv] = cv(v, k)
		stats_median_ci(v, k, out)
		cis[ncv] = out["rel"]
	}
}

function max_of(v, k,    i, m) {
	m = v[1]
	for (i = 2; i <= k; i++)
		if (v[i] > m)
			m = v[i]
	return m
}

function pct(x) {
	return (x == "") ? "—" : sprintf("%.1f%%", 100 * x)
}

END {
	print "| point | models | repeats (median) | msgs/s CV: median / max | msgs/s 95% CI ±: median / max | CPU/msg CV: median / max | CPU/msg 95% CI ±: median / max |"
	print "|---|---:|---:|---|---|---|---|"
	for (i = 1; i <= npoints; i++) {
		p = point[i]
		if (!(p in models))
			continue
		nm = split(models[p], list, " ")
		for (m = 1; m <= nm; m++)
			reps[m] = n[p, list[m]]
		line = "| " p " | " nm " | " stats_median(reps, nm)
		for (metric = 1; metric <= 2; metric++) {
			ncv = 0
			split("", cvs)
			split("", cis)
			spread(p, metric == 1 ? "tput" : "cpu")
			if (ncv == 0) {
				line = line " | — | —"
				continue
			}
			line = line " | " pct(stats_median(cvs, ncv)) " / " pct(max_of(cvs, ncv)) \
			    " | " pct(stats_median(cis, ncv)) " / " pct(max_of(cis, ncv))
		}
		print line " |"
	}
}
