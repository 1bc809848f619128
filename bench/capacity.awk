# bench/capacity.awk - the capacity at a latency target, per model: the
# capacity chart's data and the first section of a run's README.
#
#   awk -v models="blocking fork ..." -v dat=capacity.dat \
#       -f bench/labels.awk -f bench/capacity.awk raw.csv
#
# The capacity workloads (cap1ms, cap10ms: bench/point.sh) run loadgen
# --search 'p99<=1ms' (10ms) once per model and connection count: the
# highest open-loop rate at which p99 stayed at or under the target, with
# no errors and the rate achieved (capacity_msgs_per_s; 0 when even the
# first step missed). One search per point: the figure has no interval;
# the search stops when the rates that met and missed the target are
# within CAPACITY_RESOLUTION of each other (env.txt, "capacity").
#
# dat gets one row per model of `models` (teaching order): "index model"
# then, for each series (connection count x target, in that order), the
# capacity (NaN for a gap: not run, failed) and a label for its bar ("*"
# when the client was the bottleneck, "< N" when even the first rate tried,
# N, missed the target, "" otherwise). Series: for each connection count,
# p99 <= 1 ms then 10 ms.
# The first line is a comment listing the connection counts ("# 64 1024"),
# the second the targets the run searched ("# targets cap1ms cap10ms": a
# profile may leave one out, as BENCH=quick leaves cap1ms; its series is
# then zeros, and neither the chart's key nor the tables show it).
# stdout gets the Markdown section, or nothing when the run has no
# capacity points. Plain POSIX awk: it runs under mawk, Debian's default.

BEGIN {
	FS = ","
	nmodels = split(models, model, " ")
	ntargets = split("cap1ms cap10ms", target_wl, " ")
}

NR == 1 {
	for (i = 1; i <= NF; i++)
		col[$i] = i
	next
}

$col["workload"] == "cap1ms" || $col["workload"] == "cap10ms" {
	k = $col["model"] SUBSEP $col["workload"] SUBSEP ($col["x"] + 0)
	if (!(($col["x"] + 0) in seen_x)) {
		seen_x[$col["x"] + 0] = 1
		xs[++nx] = $col["x"] + 0
	}
	status[k] = $col["status"]
	reason[k] = $col["reason"]
	capacity[k] = $col["capacity_msgs_per_s"]
	first_rate[k] = $col["rate"]
	bound[k] = $col["client_bound"] == 1
	p99[k] = $col["lat_p99_us"]
	cpu[k] = $col["server_us_per_msg"]
	searched[$col["workload"]] = 1
	any = 1
}

# The cell of a table or a bar's label: "152k", "152k*" (client-bound),
# "< 4k" (even the first rate tried, 4000/s, missed the target), "—" (not
# run), "✗" (failed).
function cell(k) {
	if (!(k in status) || status[k] == "not-run")
		return "—"
	if (status[k] != "ok")
		return "✗"
	if (capacity[k] + 0 == 0)
		return "< " count_label(first_rate[k])
	return figure_label(capacity[k]) (bound[k] ? "*" : "")
}

# The server's CPU per message at the rate found, or "—".
function cpu_cell(k) {
	if (k in status && status[k] == "ok" && capacity[k] + 0 > 0 && cpu[k] != "")
		return sprintf("%.2f", cpu[k])
	return "—"
}

# The target of a capacity workload, as the tables name it.
function target_label(wl) {
	return "p99 ≤ " (wl == "cap1ms" ? "1 ms" : "10 ms")
}

# A Markdown table, a row per model the run has there: a column per
# connection count and workload of wls ("cap1ms cap10ms"), each cell the
# capacity (what = "capacity", the columns named by their target) or the
# CPU per message at it ("cpu", one target, named above the table).
function table(wls, what,    w, n, i, t, m, k, line, sep, shown) {
	n = split(wls, w, " ")
	line = "| model |"
	sep = "|---|"
	for (i = 1; i <= nx; i++)
		for (t = 1; t <= n; t++) {
			line = line " " (what == "capacity" ? target_label(w[t]) ", " : "") \
			    count_label(xs[i]) " conns |"
			sep = sep "---:|"
		}
	print line
	print sep
	for (m = 1; m <= nmodels; m++) {
		line = "| " model[m] " |"
		shown = 0
		for (i = 1; i <= nx; i++)
			for (t = 1; t <= n; t++) {
				k = model[m] SUBSEP w[t] SUBSEP xs[i]
				line = line " " (what == "cpu" ? cpu_cell(k) : cell(k)) " |"
				shown += (k in status)
			}
		if (shown)
			print line
	}
	print ""
}

function sort_xs(    i, j, t) {
	for (i = 2; i <= nx; i++)
		for (j = i; j > 1 && xs[j - 1] > xs[j]; j--) {
			t = xs[j]; xs[j] = xs[j - 1]; xs[j - 1] = t
		}
}

END {
	if (!any)
		exit 0
	sort_xs()
	head = "#"
	for (i = 1; i <= nx; i++)
		head = head " " xs[i]
	print head > dat
	targets = ""
	for (t = 1; t <= ntargets; t++)
		if (target_wl[t] in searched)
			targets = targets (targets == "" ? "" : " ") target_wl[t]
	print "# targets " targets > dat
	# A series no model ran (a workload left out, or every point not run)
	# is drawn as zeros: gnuplot refuses a histogram column of gaps only,
	# and the table says "—" for each.
	for (i = 1; i <= nx; i++)
		for (t = 1; t <= ntargets; t++)
			for (m = 1; m <= nmodels; m++) {
				k = model[m] SUBSEP target_wl[t] SUBSEP xs[i]
				if (k in status && status[k] == "ok")
					ran[i, t] = 1
			}
	for (m = 1; m <= nmodels; m++) {
		line = m " " model[m]
		for (i = 1; i <= nx; i++)
			for (t = 1; t <= ntargets; t++) {
				k = model[m] SUBSEP target_wl[t] SUBSEP xs[i]
				v = (k in status && status[k] == "ok") ? capacity[k] + 0 : ((i, t) in ran ? "NaN" : 0)
				label = cell(k)
				# The bar shows its number; the label marks only what the bar cannot say.
				mark = (label ~ /^</) ? label : (label ~ /\*$/ ? "*" : "\"\"")
				gsub(/ /, "", mark)
				line = line " " v " " mark
			}
		print line > dat
	}

	print "## 1. Capacity at a latency target\n"
	print "![capacity](capacity.png) ([SVG](capacity.svg))\n"
	print "How many messages a second each model sustains while its p99 latency stays"
	print "at or under 1 ms, or 10 ms: the highest open-loop rate at which it did, with no"
	print "errors and the offered rate achieved, each connection a client with one"
	print "message in flight (`loadgen --search 'p99<=1ms' --max-in-flight 1`: rates"
	print "doubling, then bisection; client/README.md, \"Capacity at a latency target\")."
	print "One search per point, so no interval: the capacity lies between the rate"
	print "given and the lowest rate that missed, within the search's resolution, at that"
	print "moment of a shared machine. `*` the load generator used its whole core at that"
	print "rate: the figure is what the client could drive, a floor for the server."
	print "`< N`: even the first rate tried, N, missed the target. `—` not run (its reason"
	print "under [Not run and failed](#not-run-and-failed))."
	if (targets !~ / /)
		print "This run searched at " target_label(targets) " only (its profile leaves the other out)."
	print ""
	table(targets, "capacity")
	# The CPU at the looser target: the rate found there is the higher.
	cpu_target = ("cap10ms" in searched) ? "cap10ms" : "cap1ms"
	print "Server CPU per message at the rate found (µs), " target_label(cpu_target) ":\n"
	table(cpu_target, "cpu")
}
