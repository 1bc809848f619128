# bench/compare-noise.awk - the noise of this machine, as the regression
# gate sees it: unchanged runs compared with a baseline.
#
#   awk -f bench/compare-noise.awk BASE/agg.csv RUN1/agg.csv RUN2/agg.csv ...
#
# (agg.csv: bench/aggregate.awk of each run's raw.csv; bench/check.sh
# writes it.) For each metric (throughput, p99 latency, server CPU per
# message) and every model and point of each run against the first file:
#
#   f       the slowdown factor of the median (> 1: worse), as compare.awk
#   f/drift the same divided by the median f of all models at its point
#           (the machine's drift there), as compare.awk does
#   spread  max/min of the repeats within one run (every file)
#
# and prints their median, 95th percentile and maximum, and how many
# model-points passed 1.3x, 1.4x, 1.5x, 2x and 3x after the drift: the
# figures the gate's thresholds (bench/compare.sh THR_*) are chosen from.

BEGIN {
	FS = ","
	nmet = split("tput lat_p99_us server_us_per_msg", met, " ")
	label["tput"] = "throughput"
	label["lat_p99_us"] = "p99 latency"
	label["server_us_per_msg"] = "CPU/msg"
	nthr = split("1.3 1.4 1.5 2 3", thr, " ")
}

FNR == 1 {
	file++
	delete col
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

$col["status"] == "ok" {
	p = $col["workload"] SUBSEP $col["x"] SUBSEP $col["model"]
	c0 = ($col["workload"] == "churn") ? "conns_per_s" : "msgs_per_s"
	for (k = 1; k <= nmet; k++) {
		m = met[k]
		c = (m == "tput") ? c0 : m
		v = $col[c "_med"]
		if (v == "" || v + 0 <= 0)
			continue
		val[file, p, m] = v + 0
		if ($col[c "_min"] + 0 > 0)
			spread[m, ++nspread[m]] = $col[c "_max"] / $col[c "_min"]
		if (file == 1)
			points[p] = 1
	}
}

function sort_arr(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

function stats(a, n) {
	sort_arr(a, n)
	if (n == 0)
		return "—"
	return sprintf("%.2f / %.2f / %.2f", a[int((n + 1) / 2)], a[int(n * 0.95 + 0.999)], a[n])
}

END {
	print "| metric | pairs | f: median / p95 / max | f/drift: median / p95 / max | drift per run (all points) | f/drift > 1.3 / 1.4 / 1.5 / 2 / 3 | repeats' max/min: median / p95 / max |"
	print "|---|---:|---|---|---|---|---|"
	for (k = 1; k <= nmet; k++) {
		m = met[k]
		n = 0
		nn = 0
		drifts = ""
		delete fa
		delete fn
		for (r = 2; r <= file; r++) {
			delete list
			delete byq
			delete nq
			c = 0
			for (p in points)
				if (((r, p, m) in val) && ((1, p, m) in val)) {
					f = (m == "tput") ? val[1, p, m] / val[r, p, m] : val[r, p, m] / val[1, p, m]
					list[++c] = f
					fa[++n] = f
					split(p, a, SUBSEP)
					q = a[1] SUBSEP a[2]
					byq[q, ++nq[q]] = f
					qof[r, p] = q
					fof[r, p] = f
				}
			sort_arr(list, c)
			d = (c == 0) ? 1 : ((c % 2) ? list[(c + 1) / 2] : (list[c / 2] + list[c / 2 + 1]) / 2)
			drifts = drifts (drifts == "" ? "" : " ") sprintf("%.2f", d)
			# As compare.awk: each factor against the median of its point.
			for (q in nq) {
				delete ql
				for (i = 1; i <= nq[q]; i++)
					ql[i] = byq[q, i]
				sort_arr(ql, nq[q])
				k2 = nq[q]
				qd[q] = (k2 < 5) ? d : ((k2 % 2) ? ql[(k2 + 1) / 2] : (ql[k2 / 2] + ql[k2 / 2 + 1]) / 2)
			}
			for (p in points)
				if ((r, p) in qof)
					fn[++nn] = fof[r, p] / qd[qof[r, p]]
			delete qof
			delete fof
		}
		over = ""
		for (t = 1; t <= nthr; t++) {
			cnt = 0
			for (i = 1; i <= nn; i++)
				if (fn[i] > thr[t])
					cnt++
			over = over (t > 1 ? " / " : "") cnt
		}
		delete sp
		for (i = 1; i <= nspread[m]; i++)
			sp[i] = spread[m, i]
		printf "| %s | %d | %s | %s | %s | %s | %s |\n", label[m], n, stats(fa, n), stats(fn, nn), drifts, over, stats(sp, nspread[m])
	}
}
